//! Transport tests over real ZeroMQ sockets: every socket pair over ipc and
//! tcp, acknowledgements, timeouts, filters, routing ids, ipc files, and
//! bad input from raw sockets.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::model::*;
use savant_sdk_core::transport::*;
use savant_sdk_core::{DecodeError, Error};

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn endpoint(dir: &tempfile::TempDir, tcp: bool, name: &str) -> String {
    if tcp {
        format!("tcp://127.0.0.1:{}", free_tcp_port())
    } else {
        format!("ipc://{}/{name}.ipc", dir.path().display())
    }
}

fn payload(i: usize, len: usize) -> Bytes {
    (0..len)
        .map(|j| ((i + j) % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

fn frame(source: &str, pts: i64) -> Message {
    Message::video_frame(
        VideoFrame::builder(source)
            .size(64, 48)
            .codec("jpeg")
            .pts(pts)
            .content(FrameContent::external_zeromq())
            .build(),
    )
}

fn reader(spec: &str) -> BlockingReader {
    BlockingReader::new(
        ReaderConfig::builder(spec)
            .unwrap()
            .receive_timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn writer(spec: &str) -> BlockingWriter {
    BlockingWriter::new(
        WriterConfig::builder(spec)
            .unwrap()
            .send_timeout(Duration::from_millis(500))
            .ack_timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// Receives until a message arrives or `deadline` passes.
fn next_message(r: &mut BlockingReader, within: Duration) -> Received {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let ReaderResult::Message(m) = r.receive().unwrap() {
            return m;
        }
    }
    panic!("no message within {within:?}");
}

/// Waits until `rd`'s subscription has reached the publisher `wr`: a pub
/// drops what it sends before then, and the subscription travels some
/// time after the connection. Probes on `topic` go out until one arrives;
/// then a last one, read up to, so that the probes still in flight are
/// taken too. What `wr` sends next reaches `rd`.
fn wait_for_subscription(wr: &mut BlockingWriter, rd: &mut BlockingReader, topic: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    let mut probes = 0;
    loop {
        assert!(
            Instant::now() < until,
            "the subscription did not reach the publisher ({probes} probes)"
        );
        wr.send_message(topic, &frame(topic, -1), &[]).unwrap();
        probes += 1;
        if let ReaderResult::Message(_) = rd.receive().unwrap() {
            break;
        }
    }
    wr.send_message(topic, &frame(topic, -2), &[]).unwrap();
    loop {
        assert!(Instant::now() < until, "the last probe did not arrive");
        if let ReaderResult::Message(m) = rd.receive().unwrap() {
            if m.message.as_video_frame().map(|f| f.pts) == Some(-2) {
                return;
            }
        }
    }
}

/// Receives in a thread while the writer works on this one (req/rep and EOS
/// acks need both sides running).
fn spawn_reader(
    mut r: BlockingReader,
    count: usize,
) -> std::thread::JoinHandle<(Vec<Received>, BlockingReader)> {
    std::thread::spawn(move || {
        let got = (0..count)
            .map(|_| next_message(&mut r, Duration::from_secs(10)))
            .collect();
        (got, r)
    })
}

#[test]
fn every_pair_over_ipc_and_tcp_moves_300kb_frames_and_acks_eos() {
    let dir = tempfile::tempdir().unwrap();
    for tcp in [false, true] {
        for (w, r) in [("dealer", "router"), ("req", "rep"), ("pub", "sub")] {
            let ep = endpoint(&dir, tcp, &format!("{w}-{r}"));
            let mut rd = reader(&format!("{r}+bind:{ep}"));
            let mut wr = writer(&format!("{w}+connect:{ep}"));
            if w == "pub" {
                wait_for_subscription(&mut wr, &mut rd, "probe");
            }
            let delivered_before = rd.stats().delivered;
            let handle = spawn_reader(rd, 4);
            for i in 0..3 {
                let out = wr
                    .send_message("cam-1", &frame("cam-1", i), &[payload(i as usize, 300_000)])
                    .unwrap();
                match w {
                    "req" => assert!(matches!(out, WriteOutcome::Acknowledged { .. })),
                    _ => assert!(matches!(out, WriteOutcome::Sent { attempts: 1 })),
                }
            }
            let out = wr.send_eos("cam-1").unwrap();
            if w == "pub" {
                assert!(matches!(out, WriteOutcome::Sent { .. }));
            } else {
                assert!(
                    matches!(out, WriteOutcome::Acknowledged { .. }),
                    "{w}: {out:?}"
                );
            }
            let (got, rd) = handle.join().unwrap();
            for (i, m) in got.iter().take(3).enumerate() {
                assert_eq!(&m.topic[..], b"cam-1");
                assert_eq!(m.message.seq_id, i as u64 + 1, "{w}/{r}");
                assert_eq!(m.message.as_video_frame().unwrap().pts, i as i64);
                assert_eq!(m.content().unwrap(), payload(i, 300_000), "{w}/{r} content");
                assert_eq!(m.routing_id.is_some(), r == "router");
            }
            assert!(got[3].message.is_end_of_stream());
            assert_eq!(got[3].message.seq_id, 4);
            assert!(got[3].extra.is_empty());
            assert_eq!(rd.stats().delivered - delivered_before, 4);
        }
    }
}

#[test]
fn a_dealer_started_before_its_router_delivers_when_the_router_comes() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "late");
    let mut wr = writer(&format!("dealer+connect:{ep}"));
    for i in 0..5 {
        wr.send_message("late", &frame("late", i), &[payload(0, 10)])
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut rd = reader(&format!("router+bind:{ep}"));
    for i in 0..5 {
        let m = next_message(&mut rd, Duration::from_secs(5));
        assert_eq!(m.message.as_video_frame().unwrap().pts, i);
    }
}

#[test]
fn topic_filters_pass_eos_of_every_source() {
    let dir = tempfile::tempdir().unwrap();
    for (filter, passes) in [
        (TopicFilter::SourceId("cam-1".into()), vec!["cam-1"]),
        (TopicFilter::Prefix("cam-".into()), vec!["cam-1", "cam-2"]),
    ] {
        let ep = endpoint(&dir, false, "filter");
        let rd = BlockingReader::new(
            ReaderConfig::builder(&format!("router+bind:{ep}"))
                .unwrap()
                .receive_timeout(Duration::from_millis(100))
                .topic_filter(filter.clone())
                .build()
                .unwrap(),
        )
        .unwrap();
        let mut wr = writer(&format!("dealer+connect:{ep}"));
        let handle = std::thread::spawn(move || {
            let mut rd = rd;
            let mut got = Vec::new();
            let mut filtered = 0;
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && got.len() < passes.len() + 1 {
                match rd.receive().unwrap() {
                    ReaderResult::Message(m) => got.push(m),
                    ReaderResult::Filtered {
                        reason: FilterReason::PrefixMismatch,
                        ..
                    } => filtered += 1,
                    _ => {}
                }
            }
            (got, filtered, passes, rd.stats())
        });
        for s in ["other", "cam-1", "cam-2"] {
            wr.send_message(s, &frame(s, 0), &[]).unwrap();
        }
        // EOS of a filtered-out source is still delivered and acknowledged
        wr.send_eos("other").unwrap();
        let (got, filtered, passes, stats) = handle.join().unwrap();
        let topics: Vec<String> = got.iter().map(|m| m.topic_str().into_owned()).collect();
        let mut want: Vec<String> = passes.iter().map(|s| s.to_string()).collect();
        want.push("other".into());
        assert_eq!(topics, want, "{filter:?}");
        assert!(got.last().unwrap().message.is_end_of_stream());
        assert_eq!(filtered, 3 - passes.len());
        assert_eq!(stats.prefix_mismatch, filtered as u64);
    }
}

#[test]
fn sub_filters_after_receiving_and_passes_other_sources_eos() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "sub");
    let mut rd = BlockingReader::new(
        ReaderConfig::builder(&format!("sub+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_millis(100))
            .topic_filter(TopicFilter::Prefix("keep".into()))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut wr = writer(&format!("pub+connect:{ep}"));
    wait_for_subscription(&mut wr, &mut rd, "keep-probe");
    let handle = spawn_reader(rd, 2);
    wr.send_message("drop-1", &frame("drop-1", 0), &[]).unwrap();
    wr.send_message("keep-1", &frame("keep-1", 1), &[]).unwrap();
    wr.send_eos("drop-1").unwrap();
    let (got, rd) = handle.join().unwrap();
    assert_eq!(&got[0].topic[..], b"keep-1");
    // the subscription is to every topic, so the EOS of a filtered-out
    // source passes (as the filter promises); its frame is filtered here
    assert_eq!(&got[1].topic[..], b"drop-1");
    assert!(got[1].message.is_end_of_stream());
    assert_eq!(rd.stats().prefix_mismatch, 1);
}

#[test]
fn eos_without_a_reader_ack_times_out_and_send_without_peer_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "noack");
    // a raw router that never answers
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::ROUTER).unwrap();
    raw.bind(&ep).unwrap();
    let mut wr = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .ack_timeout(Duration::from_millis(100))
            .ack_retries(1)
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = wr.send_eos("s").unwrap_err();
    assert!(matches!(e, Error::AckTimeout { attempts: 2, .. }), "{e}");

    // a bound dealer with no peer cannot queue anything
    let ep2 = endpoint(&dir, false, "nopeer");
    let mut lonely = BlockingWriter::new(
        WriterConfig::builder(&format!("dealer+bind:{ep2}"))
            .unwrap()
            .send_timeout(Duration::from_millis(50))
            .send_retries(2)
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = lonely.send_message("s", &frame("s", 0), &[]).unwrap_err();
    assert!(matches!(e, Error::SendTimeout { attempts: 3, .. }), "{e}");
}

/// A module that takes a message and dies before answering: the req
/// sends it again to the module that comes back, counts the resend, and
/// the message is acknowledged; with resending off the same send fails.
#[test]
fn a_req_resends_a_message_whose_module_died_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "restart");
    let ctx = zmq::Context::new();
    let (taken_tx, taken_rx) = std::sync::mpsc::channel();
    let ep2 = ep.clone();
    let module = std::thread::spawn(move || {
        let first = ctx.socket(zmq::REP).unwrap();
        first.bind(&ep2).unwrap();
        let lost = first.recv_multipart(0).unwrap();
        drop(first); // dies without answering
                     // away for several ack timeouts: the writer resends meanwhile
        std::thread::sleep(Duration::from_millis(1000));
        let again = ctx.socket(zmq::REP).unwrap();
        again.bind(&ep2).unwrap();
        taken_tx.send(()).unwrap();
        let resent = again.recv_multipart(0).unwrap();
        again.send("OK", 0).unwrap();
        // the resends made while it was away are not delivered as copies
        let copies = again.poll(zmq::POLLIN, 300).unwrap();
        (lost, resent, copies)
    });
    let mut wr = BlockingWriter::new(
        WriterConfig::builder(&format!("req+connect:{ep}"))
            .unwrap()
            .ack_timeout(Duration::from_millis(300))
            .ack_retries(10)
            .build()
            .unwrap(),
    )
    .unwrap();
    let out = wr
        .send_message("cam", &frame("cam", 7), &[payload(1, 1000)])
        .unwrap();
    taken_rx.recv().unwrap();
    let (lost, resent, copies) = module.join().unwrap();
    assert_eq!(lost, resent, "the same parts, seq id included");
    assert_eq!(resent.len(), 3);
    assert_eq!(copies, 0, "one copy reached the module that came back");
    assert!(
        matches!(out, WriteOutcome::Acknowledged { resends, .. } if resends >= 2),
        "{out:?}"
    );

    // the same with resending off: the wait times out and the send fails
    let ep = endpoint(&dir, false, "noresend");
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::REP).unwrap();
    raw.bind(&ep).unwrap();
    let mut wr = BlockingWriter::new(
        WriterConfig::builder(&format!("req+connect:{ep}"))
            .unwrap()
            .ack_timeout(Duration::from_millis(100))
            .ack_retries(2)
            .resend_unacknowledged(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = wr.send_message("cam", &frame("cam", 0), &[]).unwrap_err();
    assert!(matches!(e, Error::AckTimeout { attempts: 3, .. }), "{e}");
    raw.recv_multipart(0).unwrap();
    assert_eq!(
        raw.poll(zmq::POLLIN, 100).unwrap(),
        0,
        "nothing was sent twice"
    );
}

#[test]
fn a_wrong_ack_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "badack");
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::ROUTER).unwrap();
    raw.bind(&ep).unwrap();
    let t = std::thread::spawn(move || {
        let parts = raw.recv_multipart(0).unwrap();
        raw.send_multipart([&parts[0][..], b"NO"], 0).unwrap();
        raw
    });
    let mut wr = writer(&format!("dealer+connect:{ep}"));
    let e = wr.send_eos("s").unwrap_err();
    assert!(
        matches!(e, Error::UnexpectedAck { ref reply, .. } if reply == "NO"),
        "{e}"
    );
    t.join().unwrap();
}

#[test]
fn a_replaced_sender_is_filtered_by_routing_id() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "rid");
    let mut rd = reader(&format!("router+bind:{ep}"));
    let ctx = zmq::Context::new();
    let old = ctx.socket(zmq::DEALER).unwrap();
    old.connect(&ep).unwrap();
    let new = ctx.socket(zmq::DEALER).unwrap();
    new.connect(&ep).unwrap();
    let msg = savant_sdk_core::codec::encode_message(&frame("cam", 0)).unwrap();
    old.send_multipart([&b"cam"[..], &msg[..]], 0).unwrap();
    next_message(&mut rd, Duration::from_secs(5));
    new.send_multipart([&b"cam"[..], &msg[..]], 0).unwrap();
    next_message(&mut rd, Duration::from_secs(5));
    old.send_multipart([&b"cam"[..], &msg[..]], 0).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match rd.receive().unwrap() {
            ReaderResult::Filtered {
                reason: FilterReason::RoutingIdMismatch,
                ..
            } => break,
            ReaderResult::Timeout if Instant::now() < end => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rd.stats().routing_id_mismatch, 1);
}

#[test]
fn ipc_bind_creates_folders_and_sets_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/in.ipc");
    let _r = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:ipc://{}", path.display()))
            .unwrap()
            .ipc_permissions(Some(0o770))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o770);
    // a folder where the socket should be
    let e = BlockingReader::new(
        ReaderConfig::builder(&format!(
            "router+bind:ipc://{}",
            dir.path().join("a").display()
        ))
        .unwrap()
        .build()
        .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

#[test]
fn bad_input_is_skipped_and_counted_and_the_next_message_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "bad");
    let mut rd = reader(&format!("router+bind:{ep}"));
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::DEALER).unwrap();
    raw.connect(&ep).unwrap();

    let good = savant_sdk_core::codec::encode_message(&frame("cam", 7)).unwrap();
    // a version of no known generation: "1.15.0" rewritten to "9.15.0"
    let mut unknown_version = savant_sdk_core::codec::encode_message(&frame("cam", 1))
        .unwrap()
        .to_vec();
    assert_eq!(&unknown_version[2..8], b"1.15.0");
    unknown_version[2] = b'9';
    let wrong_version = unknown_version;
    let unknown_variant = [0x0a, 0x05, b'0', b'.', b'2', b'.', b'0', 0x62, 0x00];
    let claims_4gib = [
        0x0a, 0x05, b'0', b'.', b'2', b'.', b'0', 0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3,
    ];
    // a 1.x frame claiming the 2.x layout ("1.15.0" -> "2.15.0"), and a
    // 2.x frame claiming 1.x ("2.1.1" -> "1.1.1")
    let mut v1_as_v2 = savant_sdk_core::codec::encode_message(&frame("cam", 2))
        .unwrap()
        .to_vec();
    v1_as_v2[2] = b'2';
    let v2 = savant_sdk_core::protocol::ProtocolVersion::parse("2.1.1").unwrap();
    let mut v2_as_v1 = savant_sdk_core::codec::encode_message_as(&frame("cam", 3), &v2, 1, "sys")
        .unwrap()
        .to_vec();
    assert_eq!(&v2_as_v1[2..7], b"2.1.1");
    v2_as_v1[2] = b'1';
    // a 1.15 EOS whose system_id (written last) is cut short
    let v115 = savant_sdk_core::protocol::ProtocolVersion::parse("1.15.1").unwrap();
    let eos = Message::end_of_stream(EndOfStream::new("cam"));
    let whole = savant_sdk_core::codec::encode_message_as(&eos, &v115, 1, "0123456789").unwrap();
    let truncated_system_id = &whole[..whole.len() - 4];
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"cam"],                      // 1 part (router sees 2 with the id)
        vec![b"cam", b"\xff\xfe garbage"], // garbage message
        vec![b"cam", &wrong_version],
        vec![b"cam", &unknown_variant],
        vec![b"cam", &claims_4gib],
        vec![b"cam", &v1_as_v2],
        vec![b"cam", &v2_as_v1],
        vec![b"cam", truncated_system_id],
    ];
    for parts in &cases {
        raw.send_multipart(parts.iter().copied(), 0).unwrap();
    }
    raw.send_multipart([&b"cam"[..], &good[..], b"payload"], 0)
        .unwrap();
    let mut outcomes = Vec::new();
    let end = Instant::now() + Duration::from_secs(5);
    let good_msg = loop {
        assert!(
            Instant::now() < end,
            "good message never arrived: {outcomes:?}"
        );
        match rd.receive().unwrap() {
            ReaderResult::Message(m) => break m,
            ReaderResult::Timeout => {}
            other => outcomes.push(other),
        }
    };
    assert_eq!(good_msg.message.as_video_frame().unwrap().pts, 7);
    assert_eq!(&good_msg.content().unwrap()[..], b"payload");
    assert_eq!(outcomes.len(), 8, "{outcomes:?}");
    let malformed = |r: &ReaderResult| match r {
        ReaderResult::Malformed(m) => m.clone(),
        other => panic!("not malformed: {other:?}"),
    };
    assert!(matches!(
        malformed(&outcomes[0]),
        Malformed::TooShort { parts: 2, min: 3 }
    ));
    assert!(matches!(
        malformed(&outcomes[1]),
        Malformed::Decode(DecodeError::Protobuf(_))
    ));
    assert!(
        matches!(
            &outcomes[2],
            ReaderResult::VersionRefused { topic, error: DecodeError::UnknownGeneration(v) }
                if &topic[..] == b"cam" && v == "9.15.0"
        ),
        "{:?}",
        outcomes[2]
    );
    assert!(matches!(
        malformed(&outcomes[3]),
        Malformed::Decode(DecodeError::UnknownVariant(_))
    ));
    for (i, o) in outcomes.iter().enumerate().skip(4) {
        assert!(
            matches!(malformed(o), Malformed::Decode(DecodeError::Protobuf(_))),
            "case {i}: {o:?}"
        );
    }
    let s = rd.stats();
    assert_eq!(
        (s.too_short, s.decode_errors, s.version_refused, s.delivered),
        (1, 6, 1, 1)
    );
}

#[test]
fn a_rep_reader_answers_bad_input_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "rep-bad");
    let mut rd = reader(&format!("rep+bind:{ep}"));
    let ctx = zmq::Context::new();
    let raw = ctx.socket(zmq::REQ).unwrap();
    raw.set_rcvtimeo(5000).unwrap();
    raw.connect(&ep).unwrap();
    let t = std::thread::spawn(move || {
        let good = savant_sdk_core::codec::encode_message(&frame("cam", 3)).unwrap();
        for parts in [
            vec![&b"only-one"[..]],
            vec![b"cam", b"garbage\xff"],
            vec![b"cam", &good[..]],
        ] {
            raw.send_multipart(parts, 0).unwrap();
            assert_eq!(raw.recv_multipart(0).unwrap(), vec![b"OK".to_vec()]);
        }
    });
    let m = next_message(&mut rd, Duration::from_secs(5));
    assert_eq!(m.message.as_video_frame().unwrap().pts, 3);
    t.join().unwrap();
    assert_eq!(rd.stats().malformed(), 2);
}

#[test]
fn a_part_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "big");
    let mut rd = BlockingReader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_millis(100))
            .max_message_size(1000)
            .build()
            .unwrap(),
    )
    .unwrap();
    // parts that fit one by one but not together: counted as too large
    let mut wr = writer(&format!("dealer+connect:{ep}"));
    wr.send_message("cam", &frame("cam", 0), &[payload(0, 600), payload(1, 600)])
        .unwrap();
    wr.send_message("cam", &frame("cam", 1), &[payload(0, 100)])
        .unwrap();
    let mut skipped = 0;
    let end = Instant::now() + Duration::from_secs(5);
    let m = loop {
        assert!(Instant::now() < end);
        match rd.receive().unwrap() {
            ReaderResult::Message(m) => break m,
            ReaderResult::Malformed(Malformed::Decode(DecodeError::TooLarge { .. })) => {
                skipped += 1
            }
            _ => {}
        }
    };
    assert_eq!(skipped, 1);
    assert_eq!(m.message.as_video_frame().unwrap().pts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_writer_and_reader() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "async");
    let mut rd = Reader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_millis(50))
            .channel_capacity(4)
            .build()
            .unwrap(),
    )
    .unwrap();
    let wr = Writer::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    let sender = tokio::spawn(async move {
        for i in 0..20 {
            wr.send_message("a", frame("a", i), vec![payload(i as usize, 1000)])
                .await
                .unwrap();
        }
        let out = wr.send_eos("a").await.unwrap();
        assert!(matches!(out, WriteOutcome::Acknowledged { .. }));
        wr.close().await;
    });
    for i in 0..20 {
        let m = rd.recv().await.unwrap();
        assert_eq!(m.message.as_video_frame().unwrap().pts, i);
        assert_eq!(m.content().unwrap(), payload(i as usize, 1000));
    }
    assert!(rd.recv().await.unwrap().message.is_end_of_stream());
    sender.await.unwrap();
    assert_eq!(rd.stats().delivered, 21);
    rd.close().await;
    // the endpoint is free again
    let _again = Reader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
}

fn deferred_reader(spec: &str) -> BlockingReader {
    BlockingReader::new(
        ReaderConfig::builder(spec)
            .unwrap()
            .receive_timeout(Duration::from_millis(200))
            .deferred_ack(true)
            .build()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn deferred_acks_wait_for_acknowledge_on_rep_and_router() {
    let dir = tempfile::tempdir().unwrap();
    // rep: the req's send waits until the reader acknowledges
    let ep = endpoint(&dir, false, "deferred-rep");
    let mut rd = deferred_reader(&format!("rep+bind:{ep}"));
    let mut wr = BlockingWriter::new(
        WriterConfig::builder(&format!("req+connect:{ep}"))
            .unwrap()
            .ack_timeout(Duration::from_millis(300))
            .ack_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let sender = std::thread::spawn(move || {
        // the first times out: nothing acknowledges it in time
        tx.send(wr.send_message("cam", &frame("cam", 1), &[]))
            .unwrap();
        tx.send(wr.send_message("cam", &frame("cam", 2), &[]))
            .unwrap();
    });
    let m = next_message(&mut rd, Duration::from_secs(10));
    assert_eq!(m.message.as_video_frame().unwrap().pts, 1);
    assert_eq!(rd.pending_acks(), 1);
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(matches!(first, Err(Error::AckTimeout { .. })), "{first:?}");
    // a rep cannot receive before it has answered
    assert!(matches!(rd.receive(), Err(Error::Config(_))));
    assert_eq!(rd.acknowledge().unwrap(), 1);
    assert_eq!(rd.pending_acks(), 0);
    // the second send: acknowledged only after acknowledge()
    let m = next_message(&mut rd, Duration::from_secs(10));
    assert_eq!(m.message.as_video_frame().unwrap().pts, 2);
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    assert_eq!(rd.acknowledge().unwrap(), 1);
    let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        matches!(second, Ok(WriteOutcome::Acknowledged { .. })),
        "{second:?}"
    );
    sender.join().unwrap();

    // router: frames need no ack, the EOS's waits for acknowledge()
    let ep = endpoint(&dir, true, "deferred-router");
    let mut rd = deferred_reader(&format!("router+bind:{ep}"));
    let mut wr = writer(&format!("dealer+connect:{ep}"));
    let sender = std::thread::spawn(move || {
        wr.send_message("cam", &frame("cam", 1), &[]).unwrap();
        wr.send_eos("cam")
    });
    let m = next_message(&mut rd, Duration::from_secs(10));
    assert!(m.message.as_video_frame().is_some());
    assert_eq!(rd.pending_acks(), 0);
    let m = next_message(&mut rd, Duration::from_secs(10));
    assert!(m.message.is_end_of_stream());
    assert_eq!(rd.pending_acks(), 1);
    assert_eq!(rd.acknowledge().unwrap(), 1);
    let eos = sender.join().unwrap();
    assert!(
        matches!(eos, Ok(WriteOutcome::Acknowledged { .. })),
        "{eos:?}"
    );
    assert_eq!(rd.acknowledge().unwrap(), 0);
}

#[test]
fn the_async_reader_refuses_deferred_acks() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "deferred-async");
    let config = ReaderConfig::builder(&format!("router+bind:{ep}"))
        .unwrap()
        .deferred_ack(true)
        .build()
        .unwrap();
    assert!(config.deferred_ack());
    assert!(matches!(Reader::new(config), Err(Error::Config(_))));
}

/// The async reader's queue holds its channel capacity in messages however
/// they arrive (one by one here, so one batch each), and no more: a
/// consumer that does not read lets `capacity` messages in and no more;
/// once it reads, the rest and the EOS come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_readers_queue_is_bounded_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let ep = endpoint(&dir, false, "bounded");
    let capacity = 8;
    let mut rd = Reader::new(
        ReaderConfig::builder(&format!("router+bind:{ep}"))
            .unwrap()
            .receive_timeout(Duration::from_millis(50))
            .channel_capacity(capacity)
            .build()
            .unwrap(),
    )
    .unwrap();
    let wr = Writer::new(
        WriterConfig::builder(&format!("dealer+connect:{ep}"))
            .unwrap()
            .build()
            .unwrap(),
    )
    .unwrap();
    for i in 0..capacity as i64 {
        wr.send_message("a", frame("a", i), vec![]).await.unwrap();
        // one at a time: each its own batch
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // all of them handed over although nobody reads...
    let until = Instant::now() + Duration::from_secs(5);
    while rd.stats().delivered < capacity as u64 {
        assert!(Instant::now() < until, "{:?}", rd.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...and nothing past the bound is taken from the socket
    for i in 0..4 {
        wr.send_message("a", frame("a", 100 + i), vec![])
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rd.stats().delivered, capacity as u64, "bounded");
    for i in 0..capacity as i64 {
        assert_eq!(
            rd.recv()
                .await
                .unwrap()
                .message
                .as_video_frame()
                .unwrap()
                .pts,
            i
        );
    }
    for i in 0..4 {
        let m = rd.recv().await.unwrap();
        assert_eq!(m.message.as_video_frame().unwrap().pts, 100 + i);
    }
    let eos = tokio::spawn(async move {
        let out = wr.send_eos("a").await.unwrap();
        wr.close().await;
        out
    });
    assert!(rd.recv().await.unwrap().message.is_end_of_stream());
    assert!(matches!(
        eos.await.unwrap(),
        WriteOutcome::Acknowledged { .. }
    ));
    rd.close().await;
}
