//! The queue reopened after its process was killed with SIGKILL: what a
//! durable push stored is there, in order; removals are lost only back to
//! the last durable commit (they come back, to be sent again), never
//! more. The child is this test binary run again with an environment
//! variable naming the store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bytes::Bytes;
use savant_sdk_buffer::{Admission, Kind, PersistentQueue, StoredMessage};

const CHILD_ENV: &str = "SAVANT_BUFFER_CRASH_CHILD_DIR";

fn msg(i: u32) -> StoredMessage {
    StoredMessage {
        kind: if i % 25 == 24 { Kind::Eos } else { Kind::Frame },
        topic: Bytes::from(format!("cam-{}", i % 4)),
        message: Bytes::from(i.to_le_bytes().to_vec()),
        extra: vec![Bytes::from(vec![i as u8; 200])],
    }
}

fn admission() -> Admission {
    Admission::new(1000, 10, 80)
}

/// The child: 100 stored (durable, in batches of 10), the first 30
/// removed (not durable), 5 more stored (durable: the 30 removals with
/// them), 10 more removed (not durable), then it waits to be killed.
fn child(dir: &str) {
    let q = PersistentQueue::open(std::path::Path::new(dir), admission(), false).unwrap();
    for chunk in (0..100).collect::<Vec<u32>>().chunks(10) {
        let batch: Vec<_> = chunk.iter().map(|&i| msg(i)).collect();
        assert!(q.push(&batch).unwrap().iter().all(|&t| t));
    }
    for (k, _) in q.read_from(0, 30).unwrap() {
        q.remove(&[k]).unwrap();
    }
    let more: Vec<_> = (100..105).map(msg).collect();
    q.push(&more).unwrap();
    let keys: Vec<u64> = q
        .read_from(0, 10)
        .unwrap()
        .iter()
        .map(|(k, _)| *k)
        .collect();
    q.remove(&keys).unwrap();
    assert_eq!(q.len(), 65);
    println!("\nchild-ready");
    loop {
        std::thread::park();
    }
}

#[test]
fn a_queue_killed_with_sigkill_reopens_with_every_durable_message_in_order() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_queue_killed_with_sigkill_reopens_with_every_durable_message_in_order",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended before it was ready"
        );
        if line.trim() == "child-ready" {
            break;
        }
    }
    c.kill().unwrap(); // SIGKILL
    c.wait().unwrap();

    let q = PersistentQueue::open(dir.path(), admission(), false).unwrap();
    let all = q.read_from(0, 1000).unwrap();
    assert_eq!(all.len() as u64, q.len());
    // the 30 first removals were made durable by the push after them; the
    // last 10 may be lost with the process (then sent again)
    assert!(
        q.len() == 65 || q.len() == 75,
        "{} queued after the kill",
        q.len()
    );
    println!(
        "after SIGKILL: {} queued (65: the last 10 removals kept, 75: they come back)",
        q.len()
    );
    let first = 105 - q.len() as u32;
    let expected: Vec<_> = (first..105).map(msg).collect();
    assert_eq!(
        all.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
        expected
    );
    // new messages go after them
    q.push(&[msg(200)]).unwrap();
    assert_eq!(q.read_from(0, 1000).unwrap().last().unwrap().1, msg(200));
}
