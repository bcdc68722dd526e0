//! One record of a message dump: the msgpack 4-array
//! `[time_ns, topic, message, content]` that Savant's buffer adapter
//! writes and its message dump player reads.

use std::io::{BufRead, Read};

use bytes::Bytes;
use rmp::Marker;
use savant_sdk_core::transport::Received;

use crate::error::{RecordError, Result};

/// One message as it was received.
///
/// In the file: a msgpack array of 4, `[time_ns, topic, message, content]`:
/// `time_ns` an unsigned integer (receive time, nanoseconds since the UNIX
/// epoch), `topic` an array of unsigned integers (its bytes, as Savant
/// writes the `List[int]` savant-rs gives it), `message` a bin (the
/// encoded message part exactly as it arrived), `content` a bin (the
/// extra parts joined, empty when there are none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRecord {
    /// Receive time, nanoseconds since the UNIX epoch.
    pub time_ns: u64,
    /// ZeroMQ part 0 (the source id).
    pub topic: Bytes,
    /// ZeroMQ part 1, the encoded message, as it arrived.
    pub message: Bytes,
    /// Parts 2 and later joined (Savant's dump keeps one content field).
    pub content: Bytes,
}

impl DumpRecord {
    /// The record of a received message, stamped with `time_ns`: its raw
    /// message part (not re-encoded) and its extra parts joined.
    pub fn from_received(received: &Received, time_ns: u64) -> Self {
        let content = match received.extra.len() {
            0 => Bytes::new(),
            1 => received.extra[0].clone(),
            _ => Bytes::from(received.extra.concat()),
        };
        Self {
            time_ns,
            topic: received.topic.clone(),
            message: received.raw_message.clone(),
            content,
        }
    }

    /// The current wall-clock time in nanoseconds since the UNIX epoch.
    pub fn now_ns() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// Appends the msgpack encoding of this record to `out`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use savant_sdk_record::DumpRecord;
    /// let r = DumpRecord {
    ///     time_ns: 1,
    ///     topic: Bytes::from_static(b"cam"),
    ///     message: Bytes::from_static(b"m"),
    ///     content: Bytes::new(),
    /// };
    /// let mut out = Vec::new();
    /// r.encode(&mut out)?;
    /// // [1, [99, 97, 109], bin "m", bin ""]
    /// assert_eq!(out, [0x94, 0x01, 0x93, 99, 97, 109, 0xc4, 1, b'm', 0xc4, 0]);
    /// # Ok::<(), savant_sdk_record::RecordError>(())
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let len32 = |n: usize| u32::try_from(n).map_err(|_| RecordError::TooLarge(n));
        // Writing into a Vec cannot fail: this error is never made.
        let infallible = |_| RecordError::TooLarge(usize::MAX);
        rmp::encode::write_array_len(out, 4).map_err(infallible)?;
        rmp::encode::write_uint(out, self.time_ns).map_err(infallible)?;
        rmp::encode::write_array_len(out, len32(self.topic.len())?).map_err(infallible)?;
        for &b in self.topic.iter() {
            rmp::encode::write_uint(out, u64::from(b)).map_err(infallible)?;
        }
        len32(self.message.len())?;
        rmp::encode::write_bin(out, &self.message).map_err(infallible)?;
        len32(self.content.len())?;
        rmp::encode::write_bin(out, &self.content).map_err(infallible)?;
        Ok(())
    }
}

/// Why a record could not be decoded.
#[derive(Debug)]
pub(crate) enum Bad {
    /// The data ends inside the record.
    Truncated,
    /// The data is not a record of the layout.
    Invalid(String),
    /// Reading failed.
    Io(std::io::Error),
}

impl From<std::io::Error> for Bad {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Bad::Truncated
        } else {
            Bad::Io(e)
        }
    }
}

/// Reads one record; `Ok(None)` at a clean end of data. `remaining` is
/// what is left of the file: no length larger than that is allocated.
pub(crate) fn decode<R: BufRead>(r: &mut R, remaining: u64) -> Result<Option<DumpRecord>, Bad> {
    if r.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let mut rd = Limited { r, remaining };
    let n = match rd.marker()? {
        Marker::FixArray(n) => u32::from(n),
        Marker::Array16 => u32::from(rd.u16()?),
        Marker::Array32 => rd.u32()?,
        m => return Err(Bad::Invalid(format!("a record is an array, found {m:?}"))),
    };
    if n != 4 {
        return Err(Bad::Invalid(format!(
            "a record is an array of 4, found {n} items"
        )));
    }
    let time_ns = rd.uint("time_ns")?;
    let topic = rd.topic()?;
    let message = rd.bytes("message")?;
    let content = match Marker::from_u8(rd.peek()?) {
        Marker::Null => {
            rd.marker()?;
            Bytes::new()
        }
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
            // a list of parts: joined, as Savant's sink joins them
            let n = rd.array_len()?;
            let mut all = Vec::new();
            for _ in 0..n {
                all.extend_from_slice(&rd.bytes("content part")?);
            }
            Bytes::from(all)
        }
        _ => rd.bytes("content")?,
    };
    Ok(Some(DumpRecord {
        time_ns,
        topic,
        message,
        content,
    }))
}

/// A reader that refuses lengths beyond what the file still holds.
struct Limited<'a, R> {
    r: &'a mut R,
    remaining: u64,
}

impl<R: BufRead> Limited<'_, R> {
    fn take(&mut self, n: u64) -> Result<(), Bad> {
        if n > self.remaining {
            return Err(Bad::Truncated);
        }
        self.remaining -= n;
        Ok(())
    }

    fn exact<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        self.take(N as u64)?;
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }

    fn peek(&mut self) -> Result<u8, Bad> {
        match self.r.fill_buf()?.first() {
            Some(&b) => Ok(b),
            None => Err(Bad::Truncated),
        }
    }

    fn marker(&mut self) -> Result<Marker, Bad> {
        Ok(Marker::from_u8(self.exact::<1>()?[0]))
    }

    fn u16(&mut self) -> Result<u16, Bad> {
        Ok(u16::from_be_bytes(self.exact()?))
    }

    fn u32(&mut self) -> Result<u32, Bad> {
        Ok(u32::from_be_bytes(self.exact()?))
    }

    fn array_len(&mut self) -> Result<u32, Bad> {
        match self.marker()? {
            Marker::FixArray(n) => Ok(u32::from(n)),
            Marker::Array16 => Ok(u32::from(self.u16()?)),
            Marker::Array32 => self.u32(),
            m => Err(Bad::Invalid(format!("expected an array, found {m:?}"))),
        }
    }

    fn uint(&mut self, what: &str) -> Result<u64, Bad> {
        let v: i128 = match self.marker()? {
            Marker::FixPos(v) => v.into(),
            Marker::U8 => self.exact::<1>()?[0].into(),
            Marker::U16 => self.u16()?.into(),
            Marker::U32 => self.u32()?.into(),
            Marker::U64 => u64::from_be_bytes(self.exact()?).into(),
            Marker::FixNeg(v) => v.into(),
            Marker::I8 => i8::from_be_bytes(self.exact()?).into(),
            Marker::I16 => i16::from_be_bytes(self.exact()?).into(),
            Marker::I32 => i32::from_be_bytes(self.exact()?).into(),
            Marker::I64 => i64::from_be_bytes(self.exact()?).into(),
            m => {
                return Err(Bad::Invalid(format!(
                    "{what}: expected an integer, found {m:?}"
                )))
            }
        };
        u64::try_from(v).map_err(|_| Bad::Invalid(format!("{what}: negative ({v})")))
    }

    fn data(&mut self, n: u64) -> Result<Bytes, Bad> {
        self.take(n)?;
        let mut v = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        (&mut *self.r).take(n).read_to_end(&mut v)?;
        if (v.len() as u64) < n {
            return Err(Bad::Truncated);
        }
        Ok(Bytes::from(v))
    }

    /// A bin or a str.
    fn bytes(&mut self, what: &str) -> Result<Bytes, Bad> {
        let n: u64 = match self.marker()? {
            Marker::Bin8 | Marker::Str8 => self.exact::<1>()?[0].into(),
            Marker::Bin16 | Marker::Str16 => self.u16()?.into(),
            Marker::Bin32 | Marker::Str32 => self.u32()?.into(),
            Marker::FixStr(n) => n.into(),
            m => return Err(Bad::Invalid(format!("{what}: expected bytes, found {m:?}"))),
        };
        self.data(n)
    }

    /// An array of byte values (what Savant writes), a bin or a str.
    fn topic(&mut self) -> Result<Bytes, Bad> {
        let b = self.peek()?;
        if !matches!(
            Marker::from_u8(b),
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32
        ) {
            return self.bytes("topic");
        }
        let n = self.array_len()?;
        let mut out = Vec::with_capacity(usize::try_from(n.min(4096)).unwrap_or(0));
        for _ in 0..n {
            let v = self.uint("topic byte")?;
            out.push(
                u8::try_from(v).map_err(|_| Bad::Invalid(format!("topic: {v} is not a byte")))?,
            );
        }
        Ok(Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u8) -> DumpRecord {
        DumpRecord {
            time_ns: 1_700_000_000_000_000_000 + u64::from(i),
            topic: Bytes::from(format!("cam-{i}")),
            message: Bytes::from(vec![i; 300]),
            content: Bytes::from(vec![i; 70_000]),
        }
    }

    #[test]
    fn records_round_trip() {
        let mut buf = Vec::new();
        for i in 0..3 {
            rec(i).encode(&mut buf).unwrap();
        }
        let mut r = std::io::Cursor::new(&buf);
        for i in 0..3 {
            let len = buf.len() as u64 - r.position();
            assert_eq!(decode(&mut r, len).unwrap(), Some(rec(i)));
        }
        assert!(decode(&mut r, 0).unwrap().is_none());
    }

    #[test]
    fn a_cut_record_is_truncated() {
        let mut buf = Vec::new();
        rec(1).encode(&mut buf).unwrap();
        for cut in [1, 5, 20, buf.len() - 1] {
            let part = &buf[..cut];
            let got = decode(&mut std::io::Cursor::new(part), part.len() as u64);
            assert!(matches!(got, Err(Bad::Truncated)), "cut {cut}: {got:?}");
        }
    }

    #[test]
    fn bin_topics_nil_and_listed_content_are_read() {
        // [5, bin "t", bin "m", nil] and [5, str "t", bin "m", [bin "a", bin "b"]]
        let a = [0x94, 5, 0xc4, 1, b't', 0xc4, 1, b'm', 0xc0];
        let got = decode(&mut std::io::Cursor::new(&a), 9).unwrap().unwrap();
        assert_eq!((&got.topic[..], &got.content[..]), (&b"t"[..], &b""[..]));
        let b = [
            0x94, 5, 0xa1, b't', 0xc4, 1, b'm', 0x92, 0xc4, 1, b'a', 0xc4, 1, b'b',
        ];
        let got = decode(&mut std::io::Cursor::new(&b), 14).unwrap().unwrap();
        assert_eq!((&got.topic[..], &got.content[..]), (&b"t"[..], &b"ab"[..]));
    }

    #[test]
    fn other_shapes_are_invalid() {
        let a = [0x93, 5, 0xc4, 1, b't', 0xc4, 1, b'm'];
        assert!(matches!(
            decode(&mut std::io::Cursor::new(&a), 8),
            Err(Bad::Invalid(_))
        ));
    }
}
