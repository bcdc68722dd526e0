//! `reuse_message_memory`: 300 KB frames through a real dealer -> router
//! pair over ipc reuse the memory of the frames before them instead of
//! faulting in new pages. Alone in its test binary: the setting is
//! process-wide.
//!
//! With glibc's defaults the same loop took 1,300 to 11,700 page faults
//! for the 1,500 frames measured (libzmq's receive buffers go back to the
//! kernel and come back zeroed), with the call 0 to 42, also with both
//! cores busy: checked by leaving the call out.

use std::time::Duration;

use bytes::Bytes;
use savant_sdk_core::model::*;
use savant_sdk_core::transport::*;

/// Minor page faults of this process so far (every thread).
fn minor_faults() -> i64 {
    // SAFETY: getrusage fills the zeroed struct it is given
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage.ru_minflt
    }
}

#[test]
fn received_frames_reuse_the_memory_of_the_ones_before() {
    assert_eq!(reuse_message_memory(), MessageMemory::Reused);
    const WARM_UP: usize = 300;
    const MEASURED: usize = 1_500;
    let dir = tempfile::tempdir().unwrap();
    let ep = format!("ipc://{}/frames.ipc", dir.path().display());
    let mut reader = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut writer = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let receiving = std::thread::spawn(move || {
        // the writer fills the high-water marks first: the most frames the
        // reader ever holds at once are then in memory from the start
        std::thread::sleep(Duration::from_millis(300));
        let (mut frames, mut at_warm_up) = (0, 0);
        while frames < WARM_UP + MEASURED {
            if let ReaderResult::Message(m) = reader.receive().unwrap() {
                assert_eq!(m.content().map(|c| c.len()), Some(300_000));
                frames += 1; // the frame's memory is freed here
                if frames == WARM_UP {
                    at_warm_up = minor_faults();
                }
            }
        }
        minor_faults() - at_warm_up
    });
    let content = Bytes::from(vec![7u8; 300_000]);
    for pts in 0..(WARM_UP + MEASURED) as i64 {
        let frame = Message::video_frame(
            VideoFrame::builder("cam-1")
                .size(640, 480)
                .codec("jpeg")
                .pts(pts)
                .content(FrameContent::external_zeromq())
                .build(),
        );
        writer
            .send_message("cam-1", &frame, std::slice::from_ref(&content))
            .unwrap();
    }
    let faults = receiving.join().unwrap();
    // a frame is 74 pages; what is left is the odd new page of the
    // arenas and the threads' stacks
    assert!(
        faults < (MEASURED / 10) as i64,
        "{faults} page faults for {MEASURED} frames of 300 KB"
    );
}
