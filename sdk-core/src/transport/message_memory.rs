//! Keeping the memory of received messages for the next ones.
//!
//! libzmq allocates each received part with the C library's `malloc`, on
//! its I/O thread, and frees it when the last [`Bytes`](bytes::Bytes)
//! pointing into it is dropped. glibc serves a part above its mmap
//! threshold (128 KB at first) with a fresh `mmap`, and gives the top of
//! an arena back to the kernel once more than twice that is free. With
//! frames of a few hundred kilobytes in flight, the memory of nearly every
//! frame goes back to the kernel and comes back as new pages that the
//! kernel zeroes on the first touch: measured on `savant-sdk receive` with
//! 218 KB frames, 2 to 4 page faults a frame and a quarter of its CPU time
//! in `clear_page`.
//!
//! [`reuse_message_memory`] raises both thresholds once, at the start of
//! a program, so that freed frames are reused by the next ones. The
//! memory a program holds at its peak is unchanged; what it gives back to
//! the kernel after a burst is less.

/// The largest part served from glibc's arenas rather than by its own
/// `mmap` after [`reuse_message_memory`]: glibc's own ceiling for its
/// dynamic threshold on 64-bit targets.
pub const MMAP_THRESHOLD: usize = 32 << 20;

/// How much free memory the top of an arena keeps after
/// [`reuse_message_memory`] before glibc gives it back: twice
/// [`MMAP_THRESHOLD`], the ratio glibc keeps when it moves the threshold
/// itself.
pub const TRIM_THRESHOLD: usize = 2 * MMAP_THRESHOLD;

/// What [`reuse_message_memory`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageMemory {
    /// glibc's thresholds are now [`MMAP_THRESHOLD`] and
    /// [`TRIM_THRESHOLD`].
    Reused,
    /// glibc refused a setting (`mallopt` returned 0); its defaults stay.
    Refused,
    /// Not glibc (musl, macOS, ...): nothing was changed.
    NotGlibc,
}

/// Makes glibc's `malloc` keep the memory of freed message parts for the
/// next ones instead of giving it back to the kernel at every frame.
///
/// libzmq allocates each received part with the C library's `malloc`;
/// with glibc's defaults a part above 128 KB is a fresh `mmap`, and the
/// top of an arena goes back to the kernel once a little more is free,
/// so each large frame gets new pages that the kernel zeroes. This raises
/// the mmap threshold to [`MMAP_THRESHOLD`] and the trim threshold to
/// [`TRIM_THRESHOLD`].
///
/// Process-wide: call it once, early, in a program that receives large
/// frames (`savant-sdk` does, for every command). The library never calls
/// it by itself.
///
/// ```
/// use savant_sdk_core::transport::{reuse_message_memory, MessageMemory};
///
/// let outcome = reuse_message_memory();
/// assert_ne!(outcome, MessageMemory::Refused);
/// ```
pub fn reuse_message_memory() -> MessageMemory {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets two of glibc's tunables; both values
        // are within the range it accepts (at most HEAP_MAX_SIZE / 2 for
        // the mmap threshold)
        let set = unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int) == 1
        };
        if set {
            MessageMemory::Reused
        } else {
            MessageMemory::Refused
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        MessageMemory::NotGlibc
    }
}
