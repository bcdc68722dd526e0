//! A read cursor over part of a received message: what the decoder walks
//! the protobuf with. Taking a sub-message is taking a sub-slice, with no
//! reference count touched; only the parts the decoded message keeps (frame
//! content, byte attributes) become [`Bytes`] views of the message.

use bytes::{Buf, Bytes};

/// The unread part `rest` of the message `root`.
#[derive(Clone, Copy)]
pub(crate) struct Cur<'a> {
    root: &'a Bytes,
    rest: &'a [u8],
}

impl<'a> Cur<'a> {
    /// All of `root`.
    pub(crate) fn new(root: &'a Bytes) -> Self {
        Self { root, rest: root }
    }

    /// The next `n` bytes, taken off the front. Panics when fewer are
    /// left: the caller checks a length read from the message first.
    pub(crate) fn split_to(&mut self, n: usize) -> Cur<'a> {
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Cur {
            root: self.root,
            rest: head,
        }
    }

    /// The unread bytes as a view of the message, not a copy.
    pub(crate) fn to_bytes(self) -> Bytes {
        self.root.slice_ref(self.rest)
    }
}

impl std::ops::Deref for Cur<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.rest
    }
}

impl Buf for Cur<'_> {
    fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn chunk(&self) -> &[u8] {
        self.rest
    }

    fn advance(&mut self, cnt: usize) {
        self.rest.advance(cnt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_part_is_a_view_of_the_message() {
        let root = Bytes::from_static(b"headbodytail");
        let mut c = Cur::new(&root);
        c.advance(4);
        let body = c.split_to(4).to_bytes();
        assert_eq!(&body[..], b"body");
        assert_eq!(body.as_ptr(), root[4..].as_ptr());
        assert_eq!(c.remaining(), 4);
        assert!(c.split_to(0).to_bytes().is_empty());
    }
}
