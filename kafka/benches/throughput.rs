//! Frames/s and MB/s through Kafka + Redis against direct ZeroMQ, for
//! 4 KB and 300 KB frames, in one run:
//!
//! - direct: SourceRunner (dealer) -> SinkRunner (router), one stream;
//! - Kafka + Redis: SourceRunner -> SinkRunner + `KafkaRedisSink` (payload
//!   SET in Redis, record produced) -> tansu -> `KafkaRedisSource` (record
//!   consumed, payload GET from Redis) -> SourceRunner -> SinkRunner; timed
//!   from the first send to the last frame received.
//!
//! `cargo bench -p savant-sdk-kafka --bench throughput [-- --frames-4k N --frames-300k N]`
//!
//! Needs tansu (scripts/setup.sh installs it into ~/.cargo/bin) and
//! redis-server; both are started here on free ports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::model::VideoFrame;
use savant_sdk_core::source::SourceFrame;
use savant_sdk_kafka::{
    admin, KafkaRedisSink, KafkaRedisSource, KafkaSinkSettings, KafkaSourceSettings, OffsetReset,
    RedisAddress, RedisSettings,
};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn tansu() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("tansu"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
                });
            home.join("bin/tansu")
        })
}

fn start_services(dir: &Path) -> (Killed, String, Killed, u16) {
    let kport = free_port();
    let url = format!("tcp://127.0.0.1:{kport}");
    let tansu = Command::new(tansu())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu (scripts/setup.sh installs it)");
    let brokers = format!("127.0.0.1:{kport}");
    admin::wait_for_broker(&brokers, Duration::from_secs(60)).expect("tansu ready");
    let rport = free_port();
    let redis = Command::new("redis-server")
        .args([
            "--port",
            &rport.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", rport)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "redis-server not up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (Killed(tansu), brokers, Killed(redis), rport)
}

fn frames(n: usize, size: usize) -> Vec<SourceFrame> {
    let content = Bytes::from(vec![0x5au8; size]);
    (0..n)
        .map(|i| {
            let f = VideoFrame::builder("bench")
                .pts(i as i64)
                .keyframe(true)
                .codec("jpeg")
                .build();
            SourceFrame::new(f, content.clone())
        })
        .collect()
}

/// Direct: frames/s.
async fn direct(dir: &Path, n: usize, size: usize) -> f64 {
    let ep = format!("ipc://{}/direct-{size}.ipc", dir.display());
    let mut sink = SinkBuilder::new(format!("router+bind:{ep}"))
        .stop_after_frames(n as u64)
        .build()
        .await
        .unwrap();
    let src = SourceBuilder::new(format!("dealer+connect:{ep}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let items = frames(n, size);
    let start = Instant::now();
    let reading = tokio::spawn(async move {
        let mut got = 0;
        while let Some(r) = sink.next().await {
            if r.unwrap().frame().is_some() {
                got += 1;
            }
        }
        got
    });
    for f in items {
        src.send(f).await.unwrap();
    }
    assert_eq!(reading.await.unwrap(), n);
    let fps = n as f64 / start.elapsed().as_secs_f64();
    src.close().await;
    fps
}

/// Through Kafka + Redis: frames/s.
async fn kafka(dir: &Path, brokers: &str, redis_port: u16, n: usize, size: usize) -> f64 {
    let topic = format!("bench-{size}");
    let (b, t) = (brokers.to_string(), topic.clone());
    tokio::task::spawn_blocking(move || admin::ensure_topic(&b, &t, 1, Duration::from_secs(30)))
        .await
        .unwrap()
        .unwrap();
    let a = format!("ipc://{}/kin-{size}.ipc", dir.display());
    let c = format!("ipc://{}/kout-{size}.ipc", dir.display());
    // the sink side
    let mut settings = KafkaSinkSettings::new(brokers, &topic);
    settings.redis = Some(RedisSettings::new(RedisAddress {
        host: "127.0.0.1".into(),
        port: redis_port,
        db: 0,
    }));
    let mut ksink = KafkaRedisSink::new(settings).unwrap();
    let mut reader_a = SinkBuilder::new(format!("router+bind:{a}"))
        .stop_after_frames(n as u64)
        .build()
        .await
        .unwrap();
    let sinking = tokio::spawn(async move {
        use savant_sdk_core::sink::Sink;
        reader_a.run(&mut ksink).await.unwrap();
        ksink.finish().await.unwrap();
    });
    // the source side
    let mut reader_c = SinkBuilder::new(format!("router+bind:{c}"))
        .stop_after_frames(n as u64)
        .build()
        .await
        .unwrap();
    let mut ssettings = KafkaSourceSettings::new(brokers, &topic, format!("bench-{size}"));
    ssettings.offset_reset = OffsetReset::Earliest;
    let ksource = KafkaRedisSource::start(ssettings, None).unwrap();
    let handle = ksource.handle();
    let writer_b = SourceBuilder::new(format!("dealer+connect:{c}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let forwarding = tokio::spawn(async move { writer_b.send_stream(ksource).await });
    let src = SourceBuilder::new(format!("dealer+connect:{a}"))
        .telemetry_off()
        .build()
        .await
        .unwrap();
    let items = frames(n, size);
    let start = Instant::now();
    let reading = tokio::spawn(async move {
        let mut got = 0;
        while let Some(r) = reader_c.next().await {
            let r = r.unwrap();
            if r.frame().is_some() {
                assert_eq!(r.content.as_ref().map(|c| c.len()), Some(size));
                got += 1;
            }
        }
        got
    });
    for f in items {
        src.send(f).await.unwrap();
    }
    assert_eq!(reading.await.unwrap(), n);
    let fps = n as f64 / start.elapsed().as_secs_f64();
    sinking.await.unwrap();
    forwarding.abort();
    tokio::task::spawn_blocking(move || handle.stop_and_join())
        .await
        .unwrap();
    src.close().await;
    fps
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n4 = arg("--frames-4k", 5000);
    let n300 = arg("--frames-300k", 500);
    let dir = tempfile::tempdir().unwrap();
    let (_tansu, brokers, _redis, rport) = start_services(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("frames  size    direct fps  direct MB/s   kafka fps  kafka MB/s  ratio");
    for (n, size) in [(n4, 4096usize), (n300, 300 * 1024)] {
        let d = rt.block_on(direct(dir.path(), n, size));
        let k = rt.block_on(kafka(dir.path(), &brokers, rport, n, size));
        let mb = |fps: f64| fps * size as f64 / 1e6;
        println!(
            "{n:>6} {:>4} KB {d:>11.0} {:>12.1} {k:>11.0} {:>11.1} {:>6.3}",
            size / 1024,
            mb(d),
            mb(k),
            k / d
        );
    }
}
