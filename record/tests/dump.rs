//! DumpWriter and DumpReader on disk: rotation, order, truncation.

use std::io::Write;

use bytes::Bytes;
use savant_sdk_record::{DumpItem, DumpReader, DumpRecord, DumpWriter, SegmentPolicy, PLAYLIST};

fn rec(i: u64) -> DumpRecord {
    DumpRecord {
        time_ns: 1_000 + i,
        topic: Bytes::from(format!("cam-{}", i % 3)),
        message: Bytes::from(format!("message {i}").into_bytes()),
        content: Bytes::from(vec![i as u8; 1000]),
    }
}

fn write(dir: &std::path::Path, n: u64, policy: SegmentPolicy) -> Vec<std::path::PathBuf> {
    let mut w = DumpWriter::create(dir, policy).unwrap();
    for i in 0..n {
        w.write(&rec(i)).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn segments_rotate_by_count_and_size_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let by_count = dir.path().join("count");
    let segs = write(
        &by_count,
        10,
        SegmentPolicy {
            max_messages: Some(3),
            ..SegmentPolicy::default()
        },
    );
    assert_eq!(segs.len(), 4);
    let mut sorted = segs.clone();
    sorted.sort();
    assert_eq!(sorted, segs, "names sort in writing order");
    let got: Vec<_> = DumpReader::open(&by_count)
        .unwrap()
        .records()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, (0..10).map(rec).collect::<Vec<_>>());

    let by_size = dir.path().join("size");
    let segs = write(
        &by_size,
        10,
        SegmentPolicy {
            max_bytes: 2500,
            ..SegmentPolicy::default()
        },
    );
    assert_eq!(segs.len(), 5, "two records of ~1 KB a segment");
    for s in &segs {
        assert!(std::fs::metadata(s).unwrap().len() <= 2500);
    }
    // the playlist lists them, and reads the same
    let playlist = std::fs::read_to_string(by_size.join(PLAYLIST)).unwrap();
    assert_eq!(playlist.lines().count(), 5);
    let got: Vec<_> = DumpReader::open(by_size.join(PLAYLIST))
        .unwrap()
        .records()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, (0..10).map(rec).collect::<Vec<_>>());
}

#[test]
fn a_truncated_last_record_is_reported_and_the_rest_read() {
    let dir = tempfile::tempdir().unwrap();
    let segs = write(
        dir.path(),
        6,
        SegmentPolicy {
            max_messages: Some(3),
            ..SegmentPolicy::default()
        },
    );
    // the first segment loses the end of its last record
    let len = std::fs::metadata(&segs[0]).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[0])
        .unwrap();
    f.set_len(len - 10).unwrap();
    // the second segment gets a garbage tail
    std::fs::OpenOptions::new()
        .append(true)
        .open(&segs[1])
        .unwrap()
        .write_all(&[0xc3, 0x01])
        .unwrap();
    let items: Vec<_> = DumpReader::open(dir.path())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let records: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            DumpItem::Record(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(records, [rec(0), rec(1), rec(3), rec(4), rec(5)]);
    match &items[2] {
        DumpItem::Damaged {
            segment,
            truncated,
            skipped,
            ..
        } => {
            assert_eq!(segment, &segs[0]);
            assert!(truncated);
            assert!(*skipped > 1000);
        }
        other => panic!("{other:?}"),
    }
    match &items[6] {
        DumpItem::Damaged {
            truncated, skipped, ..
        } => {
            assert!(!truncated);
            assert_eq!(*skipped, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(DumpReader::open(dir.path()).is_err());
    assert!(DumpReader::open(dir.path().join("missing")).is_err());
}

#[test]
fn two_writers_in_one_directory_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = DumpWriter::create(dir.path(), SegmentPolicy::default()).unwrap();
    let mut b = DumpWriter::create(dir.path(), SegmentPolicy::default()).unwrap();
    a.write(&rec(0)).unwrap();
    b.write(&rec(1)).unwrap();
    let (a, b) = (a.finish().unwrap(), b.finish().unwrap());
    assert_ne!(a, b);
    let n = DumpReader::open(dir.path()).unwrap().records().count();
    assert_eq!(n, 2);
}
