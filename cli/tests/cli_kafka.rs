//! Kafka and Redis between sources and modules (`kafka-sink`,
//! `kafka-source`), against a real broker (tansu, started per test on a
//! free port) and a real redis-server, and against savant-rs 0.3.0 and
//! 1.15.1 for the record layout of Savant's Kafka-Redis adapters.
#![cfg(feature = "kafka")]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{KillOnDrop, BIN};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::{IterSource, SourceFrame, SourceItem};
use savant_sdk_kafka::{admin, KafkaRedisSource, KafkaSourceSettings, OffsetReset};
use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};
use savant_sdk_tests::{free_tcp_port, payload, Peer, SavantRs};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- harness

/// The tansu binary: on PATH or in ~/.cargo/bin (scripts/setup.sh installs it).
fn tansu() -> PathBuf {
    if let Some(p) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("tansu"))
        .find(|p| p.exists())
    {
        return p;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    let p = cargo_home.join("bin/tansu");
    assert!(
        p.exists(),
        "tansu (the Kafka broker of these tests) is missing: run scripts/setup.sh \
         (cargo install tansu --locked --features dynostore)"
    );
    p
}

/// A tansu broker with in-memory storage on a free port.
struct Broker {
    child: KillOnDrop,
    brokers: String,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        let port = free_tcp_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("tansu.log")).unwrap();
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let brokers = format!("127.0.0.1:{port}");
        let child = KillOnDrop(child);
        admin::wait_for_broker(&brokers, WAIT).expect("tansu answers a metadata request");
        Broker { child, brokers }
    }
}

/// A redis-server on a free port, no persistence.
struct RedisServer {
    child: Option<KillOnDrop>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    fn start(dir: &Path) -> RedisServer {
        let mut r = RedisServer {
            child: None,
            port: free_tcp_port(),
            dir: dir.to_path_buf(),
        };
        r.restart();
        r
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/setup.sh installs it)");
        self.child = Some(KillOnDrop(child));
        let start = Instant::now();
        while self.connection().is_err() {
            assert!(start.elapsed() < WAIT, "redis-server not answering");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        self.child = None;
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/0", self.port))?;
        let mut conn = c.get_connection_with_timeout(Duration::from_secs(1))?;
        redis::cmd("PING").query::<String>(&mut conn)?;
        Ok(conn)
    }

    fn spec(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// A `savant-sdk` process whose JSON lines are read as they come.
struct Proc {
    child: KillOnDrop,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
    name: String,
    stderr: PathBuf,
}

impl Proc {
    /// Starts `savant-sdk ARGS`, its stderr into DIR/NAME.stderr.
    fn spawn(dir: &Path, name: &str, args: &[&str]) -> Proc {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let n = name.to_string();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("{n}: {line}"),
                }
            }
        });
        Proc {
            child: KillOnDrop(child),
            lines,
            seen: Vec::new(),
            name: name.to_string(),
            stderr,
        }
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Lines that came since the last call.
    fn drain(&mut self) -> Vec<Value> {
        let new: Vec<Value> = self.lines.try_iter().collect();
        self.seen.extend(new.iter().cloned());
        new
    }

    /// Waits for a line with `"event": event`.
    fn wait_event(&mut self, event: &str, within: Duration) -> Value {
        let start = Instant::now();
        if let Some(v) = self.seen.iter().find(|v| v["event"] == event) {
            return v.clone();
        }
        loop {
            let left = within.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v["event"] == event {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "{}: no {event:?} line within {within:?}; seen {:?}; stderr {}",
                    self.name,
                    self.seen,
                    self.stderr_text()
                ),
            }
        }
    }

    /// SIGTERM, then the exit status and the remaining lines.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<Value>) {
        if self.child.0.try_wait().unwrap().is_none() {
            let pid = self.child.0.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        }
        self.wait_exit()
    }

    fn wait_exit(&mut self) -> (std::process::ExitStatus, Vec<Value>) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.0.try_wait().unwrap() {
                break s;
            }
            assert!(start.elapsed() < WAIT, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        };
        // the reader thread ends at EOF
        for v in self.lines.iter() {
            self.seen.push(v);
        }
        (status, self.seen.clone())
    }

    fn sigkill(&mut self) {
        self.child.0.kill().unwrap();
        let _ = self.child.0.wait();
    }
}

/// Starts `savant-sdk kafka-sink` reading `router+bind:INPUT` into `topic`
/// (created if missing) with `extra` arguments, and waits until it is ready.
fn start_sink(dir: &Path, input: &str, brokers: &str, topic: &str, extra: &[&str]) -> Proc {
    let input = format!("router+bind:{input}");
    let mut args = vec![
        "kafka-sink",
        "--input",
        &input,
        "--brokers",
        brokers,
        "--topic",
        topic,
        "--create-topic",
    ];
    args.extend_from_slice(extra);
    let mut sink = Proc::spawn(dir, "kafka-sink", &args);
    sink.wait_event("kafka_sink_ready", WAIT);
    sink
}

/// Every record of `topic` (one consumer of a group of its own, from the
/// beginning) until `n` came: (partition, key, value).
fn read_records(brokers: &str, topic: &str, n: usize) -> Vec<(i32, String, Bytes)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < n {
        assert!(start.elapsed() < WAIT, "{} of {n} records read", out.len());
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            out.push((
                m.partition(),
                String::from_utf8(m.key().unwrap().to_vec()).unwrap(),
                Bytes::copy_from_slice(m.payload().unwrap()),
            ));
        }
    }
    out
}

fn frame(source_id: &str, pts: i64, keyframe: bool) -> VideoFrame {
    VideoFrame::builder(source_id)
        .pts(pts)
        .keyframe(keyframe)
        .codec("h264")
        .build()
}

/// The payload of frame `pts` of stream `stream`.
fn content_of(stream: usize, pts: i64, len: usize) -> Bytes {
    payload(stream * 7919 + pts as usize, len)
}

fn ipc(dir: &Path, name: &str) -> String {
    format!("ipc://{}", dir.join(name).display())
}

// ---------------------------------------------------------- compatibility

/// Records our sink writes follow Savant's layout and decode with
/// savant-rs 0.3.0 and 1.15.1: key = source id, value = the message
/// stamped with the peer's version, content External("redis",
/// "127.0.0.1:<port>:0/savant:frames:<uuid>") with the bytes at that key
/// and a TTL of at most 60 s; without Redis, inline. --dedup renews a key
/// already there instead of a SET.
#[test]
fn records_of_our_sink_decode_with_savant_rs_in_the_layout_of_savants_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let redis = RedisServer::start(dir.path());
    let rt = savant_sdk_tests::two_worker_runtime();
    for (round, savant) in SavantRs::ALL.into_iter().enumerate() {
        for with_redis in [true, false] {
            let topic = format!("out-{round}-{with_redis}");
            let input = ipc(dir.path(), &format!("sink-{round}-{with_redis}.ipc"));
            let version = savant.protocol_version();
            let spec = redis.spec();
            let mut extra = vec!["--protocol-version", version.as_str()];
            if with_redis {
                extra.extend(["--redis", &spec, "--dedup"]);
            }
            let sink = start_sink(dir.path(), &input, &broker.brokers, &topic, &extra);
            // 4 frames, the last one twice (same uuid: dedup renews it), and an EOS
            let frames: Vec<VideoFrame> = (0..4).map(|p| frame("cam-1", p, p % 2 == 0)).collect();
            let mut items: Vec<SourceItem> = frames
                .iter()
                .map(|f| SourceFrame::new(f.clone(), content_of(1, f.pts, 3000)).into())
                .collect();
            items.push(SourceFrame::new(frames[3].clone(), content_of(1, 3, 3000)).into());
            rt.block_on(async {
                let src = SourceBuilder::new(format!("dealer+connect:{input}"))
                    .telemetry_off()
                    .build()
                    .await
                    .unwrap();
                src.send_stream(IterSource::new(items.into_iter()))
                    .await
                    .unwrap();
                src.close().await;
            });
            let records = read_records(&broker.brokers, &topic, 6);
            let (status, lines) = sink.terminate();
            assert!(status.success(), "{lines:?}");
            let stats = &lines
                .iter()
                .find(|v| v["event"] == "kafka_sink_stopped")
                .unwrap()["stats"];
            assert_eq!(stats["frames"], 5, "{stats}");
            assert_eq!(stats["eos"], 1, "{stats}");
            assert_eq!(stats["failed"], 0, "{stats}");
            if with_redis {
                assert_eq!(stats["redis_sets"], 4, "{stats}");
                assert_eq!(stats["redis_renewed"], 1, "{stats}");
            } else {
                assert_eq!(stats["inline_bytes"], 5 * 3000, "{stats}");
            }
            // the values, as files, decoded by savant-rs
            let vdir = dir.path().join(&topic);
            std::fs::create_dir_all(&vdir).unwrap();
            for (i, (_, key, value)) in records.iter().enumerate() {
                assert_eq!(key, "cam-1");
                std::fs::write(vdir.join(format!("{i:04}.bin")), value).unwrap();
            }
            let script = savant_sdk_tests::workspace_root().join("tests/python/kafka_layout.py");
            let (st, decoded) =
                Peer::spawn_script(savant, &script, &["decode", vdir.to_str().unwrap()])
                    .unwrap()
                    .finish(WAIT)
                    .unwrap();
            assert!(st.success(), "{savant}: {decoded:?}");
            assert_eq!(decoded.len(), 6, "{savant}: {decoded:?}");
            let mut conn = redis.connection().unwrap();
            for (i, d) in decoded.iter().enumerate() {
                if i == 5 {
                    assert_eq!(d["kind"], "eos", "{savant}: {d}");
                    assert_eq!(d["source_id"], "cam-1");
                    continue;
                }
                let pts = [0, 1, 2, 3, 3][i];
                assert_eq!(d["kind"], "frame", "{savant}: {d}");
                assert_eq!(d["pts"], pts, "{savant}: {d}");
                assert_eq!(d["keyframe"], pts % 2 == 0, "{savant}: {d}");
                assert_eq!(
                    d["uuid"],
                    frames[pts as usize].uuid.to_string(),
                    "{savant}: {d}"
                );
                let c = &d["content"];
                if with_redis {
                    let key = format!("savant:frames:{}", frames[pts as usize].uuid);
                    assert_eq!(c["kind"], "external", "{savant}: {d}");
                    assert_eq!(c["method"], "redis", "{savant}: {d}");
                    assert_eq!(
                        c["location"],
                        format!("127.0.0.1:{}:0/{key}", redis.port),
                        "{savant}: {d}"
                    );
                    let bytes: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
                    assert_eq!(bytes, content_of(1, pts, 3000));
                    let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut conn).unwrap();
                    assert!((1..=60).contains(&ttl), "TTL {ttl}");
                } else {
                    assert_eq!(c["kind"], "internal", "{savant}: {d}");
                    assert_eq!(c["len"], 3000, "{savant}: {d}");
                }
            }
            println!("{savant}, redis {with_redis}: 6 records decoded in Savant's layout");
        }
    }
}

/// What one receiver saw.
#[derive(Debug, Clone)]
struct Rec {
    module: usize,
    source_id: String,
    /// None for an EOS.
    pts: Option<i64>,
    keyframe: bool,
    content: Option<Bytes>,
    at: Instant,
}

/// Reads `output` (router+bind) into `recs` until aborted.
fn spawn_receiver(
    rt: &tokio::runtime::Runtime,
    module: usize,
    output: String,
    recs: Arc<Mutex<Vec<Rec>>>,
) -> tokio::task::JoinHandle<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = rt.spawn(async move {
        let mut sink = SinkBuilder::new(format!("router+bind:{output}"))
            .build()
            .await
            .unwrap();
        ready_tx.send(()).unwrap();
        while let Some(r) = sink.next().await {
            let r = r.unwrap();
            let rec = Rec {
                module,
                source_id: r.source_id().to_string(),
                pts: r.pts(),
                keyframe: r.frame().and_then(|f| f.keyframe).unwrap_or(false),
                content: r.content.clone(),
                at: Instant::now(),
            };
            if r.frame().is_some() || r.is_end_of_stream() {
                recs.lock().unwrap().push(rec);
            }
        }
    });
    ready_rx.recv_timeout(WAIT).unwrap();
    h
}

/// Records written as Savant's sink adapter writes them (by savant-rs
/// 0.3.0 and 1.15.1, bytes SET in Redis by this test) are read by our
/// source and reach a module with their bytes; a key that is gone (TTL
/// expired) is counted and the stream goes on.
#[test]
fn records_in_savants_layout_reach_a_module_through_our_source() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let redis = RedisServer::start(dir.path());
    let rt = savant_sdk_tests::two_worker_runtime();
    for (round, savant) in SavantRs::ALL.into_iter().enumerate() {
        let topic = format!("in-{round}");
        admin::ensure_topic(&broker.brokers, &topic, 1, WAIT).unwrap();
        let rdir = dir.path().join(&topic);
        let script = savant_sdk_tests::workspace_root().join("tests/python/kafka_layout.py");
        let prefix = format!("127.0.0.1:{}:0", redis.port);
        let (st, written) = Peer::spawn_script(
            savant,
            &script,
            &[
                "encode",
                rdir.to_str().unwrap(),
                "--source-id",
                "cam-9",
                "--count",
                "10",
                "--location-prefix",
                &prefix,
                "--content-size",
                "5000",
                "--keyframe-every",
                "5",
            ],
        )
        .unwrap()
        .finish(WAIT)
        .unwrap();
        assert!(st.success(), "{written:?}");
        let records: Vec<&Value> = written.iter().filter(|v| v.get("file").is_some()).collect();
        assert_eq!(records.len(), 11);
        let mut conn = redis.connection().unwrap();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &broker.brokers)
            .create()
            .unwrap();
        let mut expected = BTreeMap::new();
        for r in &records {
            let value = std::fs::read(rdir.join(r["file"].as_str().unwrap())).unwrap();
            if r["kind"] == "frame" {
                let content = std::fs::read(rdir.join(r["content"].as_str().unwrap())).unwrap();
                let pts = r["pts"].as_i64().unwrap();
                // the key of pts 3 expired before the source read it
                if pts != 3 {
                    let key = r["redis_key"].as_str().unwrap();
                    let _: () = redis::cmd("SET")
                        .arg(key)
                        .arg(&content)
                        .arg("EX")
                        .arg(60)
                        .query(&mut conn)
                        .unwrap();
                    expected.insert(pts, content);
                }
            }
            producer
                .send(BaseRecord::to(&topic).key("cam-9").payload(&value))
                .unwrap();
        }
        producer.flush(WAIT).unwrap();

        let input = ipc(dir.path(), &format!("in-{round}.ipc"));
        let output = ipc(dir.path(), &format!("out-{round}.ipc"));
        let recs = Arc::new(Mutex::new(Vec::new()));
        let receiver = spawn_receiver(&rt, 0, output.clone(), recs.clone());
        let module = LoopbackModule::start(LoopbackConfig::new(
            format!("router+bind:{input}"),
            format!("dealer+connect:{output}"),
        ))
        .unwrap();
        let mut settings = KafkaSourceSettings::new(&broker.brokers, &topic, format!("g-{round}"));
        settings.offset_reset = OffsetReset::Earliest;
        let source = KafkaRedisSource::start(settings, None).unwrap();
        let handle = source.handle();
        let sending = rt.spawn(async move {
            let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
                .telemetry_off()
                .build()
                .await
                .unwrap();
            runner.send_stream(source).await
        });
        let start = Instant::now();
        while !recs.lock().unwrap().iter().any(|r| r.pts.is_none()) {
            assert!(
                start.elapsed() < WAIT,
                "no EOS; got {:?}",
                recs.lock().unwrap().len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sending.abort();
        handle.stop_and_join();
        receiver.abort();
        module.stop().unwrap();
        let recs = recs.lock().unwrap().clone();
        let got: Vec<(i64, Bytes)> = recs
            .iter()
            .filter_map(|r| Some((r.pts?, r.content.clone().unwrap())))
            .collect();
        let want: Vec<(i64, Bytes)> = expected
            .into_iter()
            .map(|(p, c)| (p, Bytes::from(c)))
            .collect();
        assert_eq!(
            got, want,
            "{savant}: frames in order with their bytes, pts 3 missing"
        );
        assert!(recs.iter().all(|r| r.source_id == "cam-9"));
        let stats = handle.stats();
        assert_eq!(stats.missing_keys, 1, "{stats:?}");
        assert_eq!(stats.frames, 9, "{stats:?}");
        assert_eq!(stats.eos, 1, "{stats:?}");
        println!("{savant}: 9 frames and the EOS through our source, 1 missing key counted");
    }
}

// ------------------------------------------------------------- scale-out

/// Sinks, brokers, sources and modules of the scale-out tests.
struct Cluster {
    dir: tempfile::TempDir,
    brokers: String,
    /// --session-timeout and the extra arguments of every kafka-source.
    source_args: Vec<String>,
    _broker: Broker,
    _redis: RedisServer,
    rt: tokio::runtime::Runtime,
    sink: Proc,
    sink_input: String,
    sources: Vec<Proc>,
    _modules: Vec<savant_sdk_loopback::LoopbackHandle>,
    receivers: Vec<tokio::task::JoinHandle<()>>,
    recs: Arc<Mutex<Vec<Rec>>>,
    /// Instance -> its current partitions.
    assigned: Vec<BTreeSet<i64>>,
}

const PARTITIONS: i64 = 6;
const INSTANCES: usize = 3;

impl Cluster {
    /// Broker, Redis, the sink, 3 modules with their receivers, and the
    /// first `initial` kafka-source instances, waited for until they hold
    /// every partition.
    fn start(session_timeout: &str, extra: &[&str], initial: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::start(dir.path());
        let redis = RedisServer::start(dir.path());
        let rt = savant_sdk_tests::two_worker_runtime();
        let recs = Arc::new(Mutex::new(Vec::new()));
        let sink_input = ipc(dir.path(), "sink.ipc");
        let partitions = PARTITIONS.to_string();
        let sink = start_sink(
            dir.path(),
            &sink_input,
            &broker.brokers,
            "frames",
            &["--partitions", &partitions, "--redis", &redis.spec()],
        );
        let mut modules = Vec::new();
        let mut receivers = Vec::new();
        for i in 0..INSTANCES {
            let input = ipc(dir.path(), &format!("in-{i}.ipc"));
            let output = ipc(dir.path(), &format!("out-{i}.ipc"));
            receivers.push(spawn_receiver(&rt, i, output.clone(), recs.clone()));
            modules.push(
                LoopbackModule::start(LoopbackConfig::new(
                    format!("router+bind:{input}"),
                    format!("dealer+connect:{output}"),
                ))
                .unwrap(),
            );
        }
        let mut c = Cluster {
            dir,
            brokers: broker.brokers.clone(),
            source_args: std::iter::once(format!("--session-timeout={session_timeout}"))
                .chain(extra.iter().map(|a| a.to_string()))
                .collect(),
            _broker: broker,
            _redis: redis,
            rt,
            sink,
            sink_input,
            sources: Vec::new(),
            _modules: modules,
            receivers,
            recs,
            assigned: vec![BTreeSet::new(); INSTANCES],
        };
        for _ in 0..initial {
            c.start_source();
        }
        c.wait_stable(&(0..initial).collect::<Vec<_>>(), WAIT);
        c
    }

    /// Starts the next kafka-source instance, feeding module `i`.
    fn start_source(&mut self) {
        let i = self.sources.len();
        let socket = format!(
            "dealer+connect:{}",
            ipc(self.dir.path(), &format!("in-{i}.ipc"))
        );
        let mut args = vec![
            "kafka-source",
            "--socket",
            &socket,
            "--brokers",
            &self.brokers,
            "--topic",
            "frames",
            "--group",
            "modules",
            "--auto-offset-reset",
            "earliest",
            "--stats-interval",
            "1",
        ];
        args.extend(self.source_args.iter().map(String::as_str));
        let p = Proc::spawn(self.dir.path(), &format!("kafka-source-{i}"), &args);
        self.sources.push(p);
    }

    /// Follows the assignment events of every instance.
    fn poll_events(&mut self) {
        for (i, s) in self.sources.iter_mut().enumerate() {
            for v in s.drain() {
                let parts = || -> BTreeSet<i64> {
                    v["partitions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_i64().unwrap())
                        .collect()
                };
                match v["event"].as_str() {
                    Some("assigned") => self.assigned[i].extend(parts()),
                    Some("revoked") => {
                        for p in parts() {
                            self.assigned[i].remove(&p);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Waits until the instances `live` hold every partition, each some,
    /// none twice.
    fn wait_stable(&mut self, live: &[usize], within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            self.poll_events();
            let all: Vec<i64> = live
                .iter()
                .flat_map(|&i| self.assigned[i].iter().copied())
                .collect();
            let distinct: BTreeSet<i64> = all.iter().copied().collect();
            if all.len() as i64 == PARTITIONS
                && distinct.len() as i64 == PARTITIONS
                && live.iter().all(|&i| !self.assigned[i].is_empty())
            {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "group not stable within {within:?}: {:?}",
                self.assigned
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `streams` x `frames` (4 KB, a keyframe every 5), round by
    /// round, `pace` between rounds, then an EOS per stream.
    fn send(&self, streams: usize, frames: i64, pace: Duration) -> tokio::task::JoinHandle<()> {
        self.send_gated(streams, frames, pace, None)
    }

    /// [`Cluster::send`], waiting for `gate` before the round of its pts.
    fn send_gated(
        &self,
        streams: usize,
        frames: i64,
        pace: Duration,
        mut gate: Option<(i64, tokio::sync::oneshot::Receiver<()>)>,
    ) -> tokio::task::JoinHandle<()> {
        let input = self.sink_input.clone();
        self.rt.spawn(async move {
            let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
                .telemetry_off()
                .build()
                .await
                .unwrap();
            for pts in 0..frames {
                if gate.as_ref().is_some_and(|(at, _)| *at == pts) {
                    gate.take().unwrap().1.await.unwrap();
                }
                for s in 0..streams {
                    let f = frame(&format!("cam-{s:02}"), pts, pts % 5 == 0);
                    runner
                        .send(SourceFrame::new(f, content_of(s, pts, 4096)))
                        .await
                        .unwrap();
                }
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
            }
            for s in 0..streams {
                runner.send_eos(&format!("cam-{s:02}")).await.unwrap();
            }
            runner.close().await;
        })
    }

    fn frames_received(&self) -> usize {
        self.recs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.pts.is_some())
            .count()
    }

    /// Waits for the EOS of every stream after its last frame.
    fn wait_all_ended(&self, streams: usize, last_pts: i64, within: Duration) {
        let start = Instant::now();
        loop {
            let done = {
                let recs = self.recs.lock().unwrap();
                let mut ended = BTreeSet::new();
                let mut last = HashMap::new();
                for r in recs.iter() {
                    match r.pts {
                        Some(p) => {
                            last.insert(r.source_id.clone(), p);
                        }
                        None if last.get(&r.source_id) == Some(&last_pts) => {
                            ended.insert(r.source_id.clone());
                        }
                        None => {}
                    }
                }
                ended.len() == streams
            };
            if done {
                return;
            }
            assert!(
                start.elapsed() < within,
                "not every stream ended within {within:?}: {} frames received",
                self.frames_received()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) -> Vec<Vec<Value>> {
        let mut lines = Vec::new();
        for s in self.sources.drain(..) {
            let (_, l) = s.terminate();
            lines.push(l);
        }
        let (status, l) = self.sink.terminate();
        assert!(status.success(), "kafka-sink: {l:?}");
        for r in &self.receivers {
            r.abort();
        }
        let _ = &self.dir;
        lines
    }
}

/// A stream's receptions as segments: (module, recs) runs.
fn segments(recs: &[Rec]) -> BTreeMap<String, Vec<(usize, Vec<Rec>)>> {
    let mut by_stream: BTreeMap<String, Vec<Rec>> = BTreeMap::new();
    let mut sorted = recs.to_vec();
    sorted.sort_by_key(|r| r.at);
    for r in sorted {
        by_stream.entry(r.source_id.clone()).or_default().push(r);
    }
    by_stream
        .into_iter()
        .map(|(s, rs)| {
            let mut segs: Vec<(usize, Vec<Rec>)> = Vec::new();
            for r in rs {
                match segs.last_mut() {
                    Some((m, v)) if *m == r.module && v.last().is_some_and(|l| l.pts.is_some()) => {
                        v.push(r)
                    }
                    _ => segs.push((r.module, vec![r])),
                }
            }
            (s, segs)
        })
        .collect()
}

/// The acceptance run: 50 streams x 100 frames (4 KB) from our source ->
/// kafka-sink -> tansu (6 partitions) + Redis -> 3 kafka-source in one
/// group -> 3 loopback modules -> receivers: every frame arrives once,
/// in order, each stream at one module only, with its bytes.
#[test]
fn fifty_streams_through_kafka_reach_three_modules_whole_and_in_order() {
    const STREAMS: usize = 50;
    const FRAMES: i64 = 100;
    let mut c = Cluster::start("10", &[], INSTANCES);
    let started = Instant::now();
    let sending = c.send(STREAMS, FRAMES, Duration::ZERO);
    c.wait_all_ended(STREAMS, FRAMES - 1, Duration::from_secs(120));
    let elapsed = started.elapsed();
    c.rt.block_on(sending).unwrap();
    c.poll_events();
    let recs = c.recs.lock().unwrap().clone();
    let segs = segments(&recs);
    assert_eq!(segs.len(), STREAMS);
    let mut per_module = [0usize; INSTANCES];
    for (s, segs) in &segs {
        assert_eq!(
            segs.len(),
            1,
            "{s} at more than one module (or resumed): {:?}",
            segs.iter().map(|(m, v)| (*m, v.len())).collect::<Vec<_>>()
        );
        let (m, rs) = &segs[0];
        per_module[*m] += 1;
        let stream: usize = s.strip_prefix("cam-").unwrap().parse().unwrap();
        let pts: Vec<i64> = rs.iter().filter_map(|r| r.pts).collect();
        assert_eq!(
            pts,
            (0..FRAMES).collect::<Vec<_>>(),
            "{s}: every frame once, in order"
        );
        for r in rs.iter().filter(|r| r.pts.is_some()) {
            assert_eq!(
                r.content.as_ref(),
                Some(&content_of(stream, r.pts.unwrap(), 4096)),
                "{s}"
            );
        }
        assert!(rs.last().unwrap().pts.is_none(), "{s} ends with its EOS");
    }
    assert!(
        per_module.iter().all(|&n| n > 0),
        "streams per module {per_module:?}"
    );
    let lines = c.stop();
    for (i, l) in lines.iter().enumerate() {
        let st = &l
            .iter()
            .rev()
            .find(|v| v["event"] == "kafka_source_stopped")
            .unwrap()["stats"];
        assert_eq!(st["missing_keys"], 0, "{st}");
        println!("kafka-source {i}: {st}");
    }
    println!(
        "{STREAMS} streams x {FRAMES} frames of 4 KB through Kafka + Redis to {INSTANCES} modules \
         in {elapsed:.2?}; streams per module {per_module:?}"
    );
}

/// One kafka-source SIGKILLed mid-run: its partitions move to the other
/// two within the session timeout; every stream the survivors held at the
/// rebalance gets an EOS before it goes on elsewhere; a moved stream goes
/// on at a keyframe; nothing is lost but frames after the dead instance's
/// last commit that preceded the keyframe its stream resumed at;
/// duplicates are counted and reported.
#[test]
fn a_killed_kafka_source_gives_its_streams_to_the_others() {
    const STREAMS: usize = 30;
    const FRAMES: i64 = 60;
    const SESSION: u64 = 6;
    // tansu 0.6.0 does not reassign a dead member's partitions under the
    // eager protocol (roundrobin): the survivor whose heartbeat notices
    // rejoins, the other is never told to, and the dead member's
    // partitions stay unowned. Under the cooperative protocol it does.
    let mut c = Cluster::start(
        &SESSION.to_string(),
        &[
            "--kafka-config",
            "partition.assignment.strategy=cooperative-sticky",
        ],
        INSTANCES,
    );
    let sending = c.send(STREAMS, FRAMES, Duration::from_millis(40));
    let start = Instant::now();
    while c.frames_received() < STREAMS * FRAMES as usize / 3 {
        assert!(start.elapsed() < WAIT, "frames not flowing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = 0;
    let victim_parts = c.assigned[victim].clone();
    c.sources[victim].sigkill();
    let moved = c.wait_stable(&[1, 2], Duration::from_secs(SESSION + 30));
    c.assigned[victim].clear();
    println!("partitions {victim_parts:?} of the killed instance moved after {moved:.2?} (session timeout {SESSION} s)");
    c.wait_all_ended(STREAMS, FRAMES - 1, Duration::from_secs(120));
    c.rt.block_on(sending).unwrap();
    let recs = c.recs.lock().unwrap().clone();
    let segs = segments(&recs);
    let (mut duplicates, mut lost, mut moved_streams, mut eos_at_move) = (0, 0, 0, 0);
    for (s, segs) in &segs {
        // received frames, duplicates counted
        let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
        for (_, rs) in segs {
            for r in rs.iter().filter(|r| r.pts.is_some()) {
                *seen.entry(r.pts.unwrap()).or_default() += 1;
            }
        }
        duplicates += seen.values().map(|n| n - 1).sum::<usize>();
        // a missing frame: only before a keyframe that was received, of a
        // stream that was at the killed instance's module
        let at_victim = segs.iter().any(|(m, _)| *m == victim);
        for p in 0..FRAMES {
            if seen.contains_key(&p) {
                continue;
            }
            lost += 1;
            assert!(
                at_victim,
                "{s}: pts {p} lost though its stream never was at the killed instance"
            );
            assert!(p % 5 != 0, "{s}: keyframe {p} lost");
            let next_key = (p / 5 + 1) * 5;
            assert!(
                next_key >= FRAMES || seen.contains_key(&next_key),
                "{s}: lost {p} and the keyframe after it"
            );
        }
        for w in segs.windows(2) {
            let ((m0, a), (m1, b)) = (&w[0], &w[1]);
            moved_streams += 1;
            let first = &b[0];
            assert!(
                first.pts.is_none() || first.keyframe,
                "{s}: resumed at module {m1} at a non-keyframe {:?}",
                first.pts
            );
            if *m0 != victim {
                // the survivors' streams end with an EOS before going on
                assert!(
                    a.last().unwrap().pts.is_none(),
                    "{s}: left module {m0} without an EOS"
                );
                eos_at_move += 1;
            }
        }
        let last = &segs.last().unwrap().1;
        assert!(last.last().unwrap().pts.is_none(), "{s} ends with its EOS");
    }
    let lines = c.stop();
    let skipped: u64 = lines
        .iter()
        .filter_map(|l| {
            l.iter()
                .rev()
                .find(|v| v["event"] == "kafka_source_stopped")
        })
        .map(|v| v["stats"]["skipped_until_keyframe"].as_u64().unwrap())
        .sum();
    println!(
        "{STREAMS} streams x {FRAMES} frames, instance {victim} SIGKILLed: {moved_streams} stream moves \
         ({eos_at_move} with an EOS at the module left; the killed one's module gets none), {duplicates} \
         duplicates, {lost} frames lost after the dead instance's last commit before a keyframe, \
         {skipped} frames skipped until a keyframe by the survivors"
    );
}

/// A third member joining mid-run under the eager protocol (roundrobin,
/// Savant's default): the rebalance takes every partition from the first
/// two; every stream they were sending gets an EOS at its module, sent and
/// its offsets stored before the partitions go, so it arrives before the
/// stream goes on at whichever module owns it now, at a keyframe. A frame
/// is missing only if the new owner skipped it (counted) for the keyframe.
#[test]
fn a_member_joining_mid_run_ends_every_moved_stream_before_it_goes_on() {
    const STREAMS: usize = 30;
    const FRAMES: i64 = 60;
    let mut c = Cluster::start("10", &[], 2);
    // the member joins while every stream is open: the sender goes on
    // once the group is stable again (a slow start under load must not
    // find every stream already ended), at pts 32, between keyframes 30
    // and 35, so each stream resumes by skipping 32 to 34
    let (go, gate) = tokio::sync::oneshot::channel();
    let sending = c.send_gated(
        STREAMS,
        FRAMES,
        Duration::from_millis(10),
        Some((FRAMES / 2 + 2, gate)),
    );
    let start = Instant::now();
    while c.frames_received() < STREAMS * FRAMES as usize / 3 {
        assert!(start.elapsed() < WAIT, "frames not flowing");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.start_source();
    let took = c.wait_stable(&[0, 1, 2], WAIT);
    go.send(()).unwrap();
    println!(
        "the third member holds its partitions after {took:.2?}: {:?}",
        c.assigned
    );
    c.wait_all_ended(STREAMS, FRAMES - 1, Duration::from_secs(120));
    c.rt.block_on(sending).unwrap();
    let recs = c.recs.lock().unwrap().clone();
    let segs = segments(&recs);
    let (mut duplicates, mut lost, mut moves, mut to_new) = (0usize, 0u64, 0, 0);
    for (s, segs) in &segs {
        let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
        for (_, rs) in segs {
            for r in rs.iter().filter(|r| r.pts.is_some()) {
                *seen.entry(r.pts.unwrap()).or_default() += 1;
            }
        }
        duplicates += seen.values().map(|n| n - 1).sum::<usize>();
        for p in (0..FRAMES).filter(|p| !seen.contains_key(p)) {
            lost += 1;
            assert!(p % 5 != 0, "{s}: keyframe {p} lost");
            let next_key = (p / 5 + 1) * 5;
            assert!(
                next_key >= FRAMES || seen.contains_key(&next_key),
                "{s}: lost {p} and the keyframe after it"
            );
        }
        for w in segs.windows(2) {
            let ((m0, a), (m1, b)) = (&w[0], &w[1]);
            moves += 1;
            if *m1 == 2 {
                to_new += 1;
            }
            assert!(
                a.last().unwrap().pts.is_none(),
                "{s}: went on at module {m1} before its EOS at module {m0}"
            );
            assert!(
                b[0].pts.is_none() || b[0].keyframe,
                "{s}: went on at module {m1} at a non-keyframe {:?}",
                b[0].pts
            );
        }
        assert!(
            segs.last().unwrap().1.last().unwrap().pts.is_none(),
            "{s} ends with its EOS"
        );
    }
    let lines = c.stop();
    let total = |key: &str| -> u64 {
        lines
            .iter()
            .filter_map(|l| {
                l.iter()
                    .rev()
                    .find(|v| v["event"] == "kafka_source_stopped")
            })
            .map(|v| v["stats"][key].as_u64().unwrap())
            .sum()
    };
    let (skipped, rebalance_eos) = (total("skipped_until_keyframe"), total("rebalance_eos"));
    assert!(rebalance_eos > 0, "the rebalance ended streams");
    assert!(to_new > 0, "streams went to the new member");
    assert!(
        lost <= skipped,
        "{lost} frames missing but only {skipped} skipped for a keyframe"
    );
    println!(
        "{STREAMS} streams x {FRAMES} frames, a member joined: {rebalance_eos} EOS at the rebalance, \
         {moves} resumptions ({to_new} at the new member's module), each after its EOS and at a \
         keyframe; {lost} frames not delivered, all skipped for a keyframe ({skipped} skipped); \
         {duplicates} duplicates"
    );
}

/// Redis down for a few seconds: the sink waits (retrying) and loses
/// nothing; every record comes in order. Redis down for longer than
/// --backpressure-timeout: the sink fails with a clear error.
#[test]
fn redis_down_blocks_the_sink_and_then_fails_it_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let mut redis = RedisServer::start(dir.path());
    let rt = savant_sdk_tests::two_worker_runtime();
    let input = ipc(dir.path(), "sink.ipc");
    let spec = redis.spec();
    let sink = start_sink(
        dir.path(),
        &input,
        &broker.brokers,
        "t",
        &["--redis", &spec, "--backpressure-timeout", "20"],
    );
    const FRAMES: i64 = 100;
    let (gate_tx, gate_rx) = tokio::sync::oneshot::channel::<()>();
    let sending = rt.spawn(async move {
        let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
            .telemetry_off()
            .build()
            .await
            .unwrap();
        let mut gate = Some(gate_rx);
        for pts in 0..FRAMES {
            if pts == 30 {
                // redis goes down here
                gate.take().unwrap().await.unwrap();
            }
            runner
                .send(SourceFrame::new(
                    frame("cam", pts, true),
                    content_of(0, pts, 4096),
                ))
                .await
                .unwrap();
        }
        runner.send_eos("cam").await.unwrap();
        runner.close().await;
    });
    // 30 records in, then Redis goes away for 3 s while frames keep coming
    read_records(&broker.brokers, "t", 30);
    redis.kill();
    gate_tx.send(()).unwrap();
    std::thread::sleep(Duration::from_secs(3)); // the outage itself
    redis.restart();
    rt.block_on(sending).unwrap();
    let records = read_records(&broker.brokers, "t", FRAMES as usize + 1);
    let opts = savant_sdk_core::codec::DecodeOptions::default();
    let pts: Vec<i64> = records
        .iter()
        .filter_map(|(_, _, v)| {
            let m = savant_sdk_core::codec::decode_message(v.clone(), &opts).unwrap();
            m.as_video_frame().map(|f| f.pts)
        })
        .collect();
    assert_eq!(
        pts,
        (0..FRAMES).collect::<Vec<_>>(),
        "every frame, in order"
    );
    let (status, lines) = sink.terminate();
    assert!(status.success(), "{lines:?}");
    let stats = &lines
        .iter()
        .find(|v| v["event"] == "kafka_sink_stopped")
        .unwrap()["stats"];
    assert_eq!(stats["frames"], FRAMES, "{stats}");
    assert_eq!(stats["redis_sets"], FRAMES, "{stats}");
    assert!(stats["redis_retries"].as_u64().unwrap() > 0, "{stats}");
    println!("Redis down 3 s: the sink retried ({stats}) and lost nothing");

    // down for good: a clear error within the timeout
    let input = ipc(dir.path(), "sink2.ipc");
    let mut sink = start_sink(
        dir.path(),
        &input,
        &broker.brokers,
        "t2",
        &["--redis", &spec, "--backpressure-timeout", "2"],
    );
    redis.kill();
    let sending = rt.spawn(async move {
        let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
            .telemetry_off()
            .build()
            .await
            .unwrap();
        // the sink fails on the first: what follows may not be acknowledged
        let _ = runner
            .send(SourceFrame::new(
                frame("cam", 0, true),
                content_of(0, 0, 4096),
            ))
            .await;
    });
    let (status, lines) = sink.wait_exit();
    let err = sink.stderr_text();
    assert!(!status.success(), "the sink exits non-zero: {lines:?}");
    assert!(
        err.contains("redis SET") && err.contains("giving up") && err.contains("redis-server"),
        "a clear error: {err}"
    );
    println!(
        "Redis down for good: {}",
        err.lines().last().unwrap_or_default()
    );
    let stats = &lines
        .iter()
        .find(|v| v["event"] == "kafka_sink_stopped")
        .unwrap()["stats"];
    assert_eq!(stats["frames"], 0, "{stats}");
    rt.block_on(sending).unwrap();
}

/// The broker gone: the sink's queue (--queue-max-messages) fills, the
/// sink waits, then fails with a clear error; it never grows past it.
#[test]
fn a_broker_gone_fills_the_bounded_queue_and_fails_the_sink_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let rt = savant_sdk_tests::two_worker_runtime();
    let input = ipc(dir.path(), "sink.ipc");
    let mut sink = start_sink(
        dir.path(),
        &input,
        &broker.brokers,
        "t",
        &[
            "--queue-max-messages",
            "20",
            "--backpressure-timeout",
            "3",
            "--flush-interval",
            "3600",
        ],
    );
    let _ = broker.child.0.kill();
    let _ = broker.child.0.wait();
    let sending = rt.spawn(async move {
        let runner = SourceBuilder::new(format!("dealer+connect:{input}"))
            .telemetry_off()
            .send_timeout(Duration::from_secs(1))
            .send_retries(1)
            .build()
            .await
            .unwrap();
        // the sink stops taking frames: later sends time out
        for pts in 0..100 {
            let f = SourceFrame::new(frame("cam", pts, true), content_of(0, pts, 4096));
            if runner.send(f).await.is_err() {
                break;
            }
        }
    });
    let (status, lines) = sink.wait_exit();
    let err = sink.stderr_text();
    assert!(!status.success(), "{lines:?}");
    assert!(
        err.contains("producer queue full") && err.contains("is it running"),
        "a clear error: {err}"
    );
    let stats = &lines
        .iter()
        .find(|v| v["event"] == "kafka_sink_stopped")
        .unwrap()["stats"];
    assert!(
        stats["frames"].as_u64().unwrap() <= 21,
        "never more than the queue: {stats}"
    );
    assert!(stats["queue_full_waits"].as_u64().unwrap() > 0, "{stats}");
    println!(
        "broker gone: {} ({stats})",
        err.lines().last().unwrap_or_default()
    );
    rt.block_on(sending).unwrap();
}
