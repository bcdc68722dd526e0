//! Throughput of the paths users take (issue "Fast where users are"),
//! over ipc, dealer -> router, all measured in one run, alternating:
//!
//! * the CLI: a `savant-sdk send` process -> a `savant-sdk receive`
//!   process (`--repeat N` of one image; receive stops at the EOS). Timed
//!   from the start of `send` (the receiver already bound) to the exit of
//!   `receive`; printed both end to end (N / time) and as the steady rate
//!   ((N - N/10) / (time(N) - time(N/10)): the process start, the connect
//!   and the reader's linger at exit, the same for any N, cancel out).
//!   The steady rate is what the targets compare, as the savant-rs
//!   figure is its reader's first frame to its last;
//! * `SourceRunner::send_stream` -> `SinkRunner` (one process, a tokio
//!   runtime of two workers), timed at the sink from its first frame to
//!   its last;
//! * savant-rs 0.3.0 and 1.15.1: their Python `BlockingWriter` ->
//!   `BlockingReader` (`savant_peer.py bench-writer` / `bench-reader`),
//!   timed at the reader from its first frame to its last;
//! * our raw `BlockingWriter` -> `BlockingReader` and a bare `zmq` crate
//!   loop (the same parts, no codec, no runner, the payload passed
//!   without a copy: the ceiling of any path on libzmq here), timed the
//!   same way, each in one process (two threads) and in two (the sender a
//!   child process of this bench). The runners are compared with the
//!   one-process ceiling, the CLI with the two-process one.
//!
//! Ours with telemetry off and with a trace per frame (Jaeger
//! `uber-trace-id`, no exporter), for metadata-only frames (a 2x2 PNG),
//! 170 KB and 300 KB JPEG frames.
//!
//! Every process of ours (the CLI, this bench and its sender children)
//! calls `transport::reuse_message_memory` first, as `savant-sdk` does;
//! the savant-rs peers run with glibc's defaults, as they ship.
//!
//! `cargo bench -p savant-sdk-tests --bench user_paths [-- --quick]`
//! (builds the CLI in release first).
//!
//! Targets: both our paths >= 3x each savant-rs's msg/s for metadata-only
//! frames and >= 1.3x its MB/s for 170 KB and 300 KB frames, traces on
//! and off; for 300 KB frames the raw writer/reader and the runners >=
//! 0.9x of the bare zmq loop's MB/s, the CLI >= 0.8x; peak RSS of `send`
//! and `receive` under 100 MB. Allocations per frame of the runner path
//! are counted (both ends, this process) in a run of their own, and
//! printed.

use std::alloc::{GlobalAlloc, Layout};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use savant_sdk_core::client::{SinkBuilder, SourceBuilder};
use savant_sdk_core::source::Source;
use savant_sdk_core::telemetry::Propagation;
use savant_sdk_sources::{JpegSource, PngSource, SourceExt};
use savant_sdk_tests::bench::{
    bare_zmq, best, raw_read_all, raw_reader, raw_send_all, raw_transport, savant_rs_pair,
    zmq_read_all, zmq_router, zmq_send_all, Figure,
};
use savant_sdk_tests::{two_worker_runtime, workspace_root, SavantRs};

/// mimalloc (the global allocator of the CLI the bench builds, with its
/// `mimalloc` feature, so that both paths are measured alike), counting allocations while
/// `COUNTING` is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded as it came
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as it came
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded as it came
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The CLI binary, built in release into this bench's own target folder
/// (found from where this binary is, so that it is right however the
/// bench was started).
fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("this binary's path");
    // <target>/release/deps/user_paths-<hash>
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("in <target>/release/deps")
        .to_path_buf();
    let target = release.parent().expect("in <target>/release").to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "savant-sdk-cli",
            "--bin",
            "savant-sdk",
            // the allocator the runners are measured with too
            "--features",
            "mimalloc",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(workspace_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the CLI failed");
    let bin = release.join("savant-sdk");
    assert!(bin.exists(), "{} is missing", bin.display());
    bin
}

/// Noise that JPEG cannot squeeze much.
fn noise(w: u32, h: u32) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..w * h * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode(&noise(w, h), w, h, image::ExtendedColorType::Rgb8)
        .expect("encodes");
    out
}

/// A JPEG of about `target` bytes (within a few percent).
fn jpeg_of_about(target: usize) -> Vec<u8> {
    let trial = jpeg(256, 256);
    let per_pixel = trial.len() as f64 / (256.0 * 256.0);
    let mut side = ((target as f64 / per_pixel).sqrt() as u32) & !7;
    let mut out = jpeg(side, side);
    for _ in 0..4 {
        let err = out.len() as f64 / target as f64;
        if (err - 1.0).abs() < 0.03 {
            break;
        }
        side = (((side as f64) / err.sqrt()) as u32).max(16) & !7;
        out = jpeg(side, side);
    }
    out
}

fn png_2x2() -> Vec<u8> {
    let mut out = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut out),
        &[255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255],
        2,
        2,
        image::ExtendedColorType::Rgb8,
    )
    .expect("encodes");
    out
}

/// A frame kind of the bench.
struct Case {
    label: &'static str,
    file: PathBuf,
    content: Bytes,
    png: bool,
    /// Frames through the CLI, the runners, the raw pair and zmq.
    n: usize,
    /// Frames through savant-rs (slower: fewer for the same time).
    n_python: usize,
    /// The target compares msg/s (else MB/s).
    target_msgs: bool,
    /// Compared with the bare zmq loop too.
    ceiling: bool,
}

/// One CLI run: seconds from the start of `send` to the exit of
/// `receive`, and the peak RSS (KB) of each.
struct CliRun {
    secs: f64,
    send_rss_kb: i64,
    recv_rss_kb: i64,
}

/// GNU time, which reports the peak RSS of the one process it runs (the
/// bench's own, inherited through `fork`, would hide it otherwise).
const TIME: &str = "/usr/bin/time";

/// `bin` run under [`TIME`] (when there is one), its peak RSS written to
/// `rss`.
fn measured(bin: &Path, rss: &Path) -> Command {
    if Path::new(TIME).exists() {
        let mut c = Command::new(TIME);
        c.args(["-f", "%M", "-o"]).arg(rss).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// The peak RSS (KB) [`TIME`] wrote, or 0.
fn peak_rss_kb(rss: &Path) -> i64 {
    std::fs::read_to_string(rss)
        .ok()
        .and_then(|t| t.lines().last()?.trim().parse().ok())
        .unwrap_or(0)
}

fn count_lines(path: &Path) -> usize {
    let text = std::fs::read(path).expect("the output file");
    text.iter().filter(|b| **b == b'\n').count()
}

fn cli_run(bin: &Path, dir: &Path, case: &Case, n: usize, trace: &str, run: usize) -> CliRun {
    let socket = dir.join(format!("cli-{run}-{n}-{trace}.ipc"));
    let recv_out = dir.join("receive.out");
    let send_out = dir.join("send.out");
    let (send_rss, recv_rss) = (dir.join("send.rss"), dir.join("receive.rss"));
    let mut receive = measured(bin, &recv_rss)
        .args(["receive", "--socket"])
        .arg(format!("router+bind:ipc://{}", socket.display()))
        .args(["--eos-count", "1", "--idle-timeout", "60"])
        .stdout(std::fs::File::create(&recv_out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("receive starts");
    let until = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < until, "receive did not bind");
        std::thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    let mut send = measured(bin, &send_rss)
        .args(["send", "--socket"])
        .arg(format!("dealer+connect:ipc://{}", socket.display()))
        .args(["--trace", trace, "--repeat", &n.to_string()])
        .arg(&case.file)
        .stdout(std::fs::File::create(&send_out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("send starts");
    let send_status = send.wait().expect("send runs");
    let recv_status = receive.wait().expect("receive runs");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        send_status.success() && recv_status.success(),
        "send or receive failed"
    );
    // a line per frame and one for the EOS
    assert_eq!(count_lines(&recv_out), n + 1, "receive's lines");
    assert_eq!(count_lines(&send_out), n + 1, "send's lines");
    CliRun {
        secs,
        send_rss_kb: peak_rss_kb(&send_rss),
        recv_rss_kb: peak_rss_kb(&recv_rss),
    }
}

/// `SourceRunner::send_stream` -> `SinkRunner` with `n` frames; the
/// figure at the sink and, when `count_allocations`, the allocations per
/// frame (both ends). The counter is one atomic that every thread's
/// allocations touch: a counted run is slower than the timed ones, which
/// therefore run without it.
fn runners(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    case: &Case,
    n: usize,
    traces: bool,
    count_allocations: bool,
    run: usize,
) -> (Figure, f64) {
    let ep = format!(
        "ipc://{}/runners-{run}-{traces}-{count_allocations}.ipc",
        dir.display()
    );
    rt.block_on(async {
        let mut sink = SinkBuilder::new(format!("router+bind:{ep}"))
            .stop_when_all_ended()
            .idle_timeout(Duration::from_secs(30))
            .build()
            .await
            .unwrap();
        let reading = tokio::spawn(async move {
            let (mut first, mut last) = (None, Instant::now());
            let (mut frames, mut bytes) = (0usize, 0usize);
            while let Some(r) = sink.next().await {
                let r = r.unwrap();
                if r.frame().is_some() {
                    last = Instant::now();
                    first.get_or_insert(last);
                    frames += 1;
                    bytes += r.content.as_ref().map_or(0, Bytes::len);
                }
            }
            sink.close().await;
            (first.unwrap(), last, frames, bytes)
        });
        let builder = SourceBuilder::new(format!("dealer+connect:{ep}"));
        let builder = if traces {
            builder.propagation(Propagation::Jaeger)
        } else {
            builder.telemetry_off()
        };
        let source = builder.build().await.unwrap();
        let frames: Box<dyn Source> = if case.png {
            Box::new(
                PngSource::from_bytes("bench", case.content.clone())
                    .unwrap()
                    .repeat(Some(n as u64)),
            )
        } else {
            Box::new(
                JpegSource::from_bytes("bench", case.content.clone())
                    .unwrap()
                    .repeat(Some(n as u64)),
            )
        };
        ALLOCS.store(0, Ordering::Relaxed);
        COUNTING.store(count_allocations, Ordering::Relaxed);
        let summary = source.send_stream(frames).await.unwrap();
        let (first, last, frames, bytes) = reading.await.unwrap();
        COUNTING.store(false, Ordering::Relaxed);
        let allocs = ALLOCS.load(Ordering::Relaxed) as f64 / n as f64;
        source.close().await;
        assert_eq!(summary.frames as usize, n);
        assert_eq!(frames, n);
        (
            Figure::new(frames, bytes, (last - first).as_secs_f64()),
            allocs,
        )
    })
}

/// The sender of a two-process pair, run as a child of this bench:
/// `--send-child raw|zmq ENDPOINT COUNT SIZE`.
fn send_child(args: &[String]) {
    let [kind, ep, count, size] = args else {
        panic!("--send-child KIND ENDPOINT COUNT SIZE, not {args:?}");
    };
    let (count, size) = (count.parse().unwrap(), size.parse().unwrap());
    match kind.as_str() {
        "raw" => {
            raw_send_all(ep, count, size);
            savant_sdk_core::transport::terminate_context(Duration::from_secs(10));
        }
        "zmq" => {
            let ctx = zmq::Context::new();
            zmq_send_all(&ctx, ep, count, size);
            drop(ctx); // waits until everything is sent
        }
        other => panic!("unknown sender {other}"),
    }
}

/// The raw pair or the bare zmq loop with the sender in a process of its
/// own (as the CLI's and savant-rs's pairs are), the reader here.
fn two_processes(kind: &str, dir: &Path, count: usize, size: usize, run: usize) -> Figure {
    let ep = format!("ipc://{}/{kind}-2p-{size}-{run}.ipc", dir.display());
    let spawn = || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--send-child",
                kind,
                &ep,
                &count.to_string(),
                &size.to_string(),
            ])
            .spawn()
            .expect("the sender starts")
    };
    let (mut child, arrivals) = if kind == "raw" {
        let reader = raw_reader(&ep);
        let child = spawn();
        (child, raw_read_all(reader))
    } else {
        let ctx = zmq::Context::new();
        let router = zmq_router(&ctx, &ep);
        let child = spawn();
        (child, zmq_read_all(router))
    };
    assert!(child.wait().unwrap().success(), "the {kind} sender failed");
    assert_eq!(arrivals.2, count);
    Figure::of(arrivals)
}

fn ratio(ours: f64, theirs: f64) -> f64 {
    ours / theirs
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "NOT MET"
    }
}

fn main() {
    // as `savant-sdk` does: the runners, the raw pair and the bare loop
    // (and the senders of the two-process pairs, this same program) alike
    savant_sdk_core::transport::reuse_message_memory();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--send-child") {
        return send_child(&args[i + 1..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    // `--runners-only off|jaeger`: the runner path alone, metadata-only
    // frames, for a profiler
    if let Some(i) = args.iter().position(|a| a == "--runners-only") {
        let traces = args.get(i + 1).is_some_and(|t| t == "jaeger");
        let dir = tempfile::tempdir().unwrap();
        let rt = two_worker_runtime();
        let case = Case {
            label: "metadata-only (2x2 PNG)",
            file: PathBuf::new(),
            content: Bytes::from(png_2x2()),
            png: true,
            n: 500_000,
            n_python: 0,
            target_msgs: true,
            ceiling: false,
        };
        let (f, _) = runners(&rt, dir.path(), &case, case.n, traces, false, 0);
        let (_, allocs) = runners(&rt, dir.path(), &case, case.n / 10, traces, true, 1);
        println!(
            "{}: {:.0} msg/s, {allocs:.1} allocations a frame",
            case.label, f.msgs_per_sec
        );
        return;
    }
    // two processes on two cores swing by a third between runs (ours and
    // savant-rs's alike): the best of five is what each path can do
    let runs = if quick { 1 } else { 5 };
    let bin = cli_binary();
    let dir = tempfile::tempdir().unwrap();
    let rt = two_worker_runtime();
    let media = |name: &str, data: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, &data).unwrap();
        (path, Bytes::from(data))
    };
    let (png_path, png) = media("tiny.png", png_2x2());
    let (j170_path, j170) = media("170k.jpg", jpeg_of_about(170_000));
    let (j300_path, j300) = media("300k.jpg", jpeg_of_about(300_000));
    let scale = |n: usize| if quick { n / 5 } else { n };
    // the CLI's steady rate is a difference of two runs: enough frames that
    // it is not lost in the noise of the process starts
    let cases = [
        Case {
            label: "metadata-only (2x2 PNG)",
            file: png_path,
            content: png,
            png: true,
            n: scale(200_000),
            n_python: scale(50_000),
            target_msgs: true,
            ceiling: false,
        },
        Case {
            label: "170 KB JPEG",
            file: j170_path,
            content: j170,
            png: false,
            n: scale(20_000),
            n_python: scale(3_000),
            target_msgs: false,
            ceiling: false,
        },
        Case {
            label: "300 KB JPEG",
            file: j300_path,
            content: j300,
            png: false,
            n: scale(15_000),
            n_python: scale(3_000),
            target_msgs: false,
            ceiling: true,
        },
    ];
    println!(
        "user paths over ipc, dealer -> router, default settings; best of {runs} alternating runs; \
         load average at start: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let mut all_met = true;
    let mut peak_rss_kb = (0i64, 0i64);
    for case in &cases {
        let size = case.content.len();
        println!(
            "\n== {} ({} bytes a frame; {} frames ours, {} savant-rs) ==",
            case.label, size, case.n, case.n_python
        );
        let mut cli = [Vec::new(), Vec::new()];
        let mut cli_small = [Vec::new(), Vec::new()];
        let mut run_fig = [Vec::new(), Vec::new()];
        let mut allocs = [0.0, 0.0];
        let (mut v03, mut v115, mut raw, mut zmq) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut raw2, mut zmq2) = (Vec::new(), Vec::new());
        for run in 0..runs {
            for (t, trace) in ["off", "jaeger"].iter().enumerate() {
                let small = (case.n / 10).max(1);
                let big = cli_run(&bin, dir.path(), case, case.n, trace, run);
                let little = cli_run(&bin, dir.path(), case, small, trace, run);
                peak_rss_kb.0 = peak_rss_kb.0.max(big.send_rss_kb.max(little.send_rss_kb));
                peak_rss_kb.1 = peak_rss_kb.1.max(big.recv_rss_kb.max(little.recv_rss_kb));
                cli[t].push(big.secs);
                cli_small[t].push(little.secs);
                let (f, _) = runners(&rt, dir.path(), case, case.n, t == 1, false, run);
                run_fig[t].push(f);
                if run == 0 {
                    let counted = (case.n / 10).max(1);
                    let (_, a) = runners(&rt, dir.path(), case, counted, t == 1, true, run);
                    allocs[t] = a;
                }
            }
            v03.push(savant_rs_pair(
                SavantRs::V0_3,
                dir.path(),
                case.n_python,
                size,
                run,
            ));
            v115.push(savant_rs_pair(
                SavantRs::V1_15,
                dir.path(),
                case.n_python,
                size,
                run,
            ));
            raw.push(raw_transport(dir.path(), case.n, size, run));
            zmq.push(bare_zmq(dir.path(), case.n, size, run));
            raw2.push(two_processes("raw", dir.path(), case.n, size, run));
            zmq2.push(two_processes("zmq", dir.path(), case.n, size, run));
        }
        let (v03, v115, raw, zmq) = (best(v03), best(v115), best(raw), best(zmq));
        let (raw2, zmq2) = (best(raw2), best(zmq2));
        let pick = |f: &Figure| {
            if case.target_msgs {
                f.msgs_per_sec
            } else {
                f.mb_per_sec
            }
        };
        let (unit, target) = if case.target_msgs {
            ("msg/s", 3.0)
        } else {
            ("MB/s", 1.3)
        };
        let show = |name: &str, f: &Figure| {
            println!(
                "  {name:<34} {:>10.0} msg/s {:>8.1} MB/s",
                f.msgs_per_sec, f.mb_per_sec
            );
        };
        show("savant-rs 0.3.0 writer -> reader", &v03);
        show("savant-rs 1.15.1 writer -> reader", &v115);
        show("bare zmq loop (ceiling), 1 process", &zmq);
        show("bare zmq loop, 2 processes", &zmq2);
        show("ours raw writer -> reader, 1 process", &raw);
        show("ours raw writer -> reader, 2 proc.", &raw2);
        let mut ours: Vec<(String, Figure, bool)> = Vec::new();
        for (t, trace) in ["off", "jaeger"].iter().enumerate() {
            let shortest = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
            let (tb, ts) = (shortest(&cli[t]), shortest(&cli_small[t]));
            let small = (case.n / 10).max(1);
            let e2e = Figure::new(case.n, case.n * size, tb);
            let steady = Figure::new(case.n - small, (case.n - small) * size, tb - ts);
            show(
                &format!("CLI send -> receive, trace {trace}, end to end"),
                &e2e,
            );
            println!(
                "  {:<34} ({:.3} s for {} frames, {:.3} s for {})",
                "", tb, case.n, ts, small
            );
            show(
                &format!("CLI send -> receive, trace {trace}, steady"),
                &steady,
            );
            let r = best(run_fig[t].clone());
            show(&format!("SourceRunner -> SinkRunner, trace {trace}"), &r);
            println!(
                "  {:<34} {:.1} allocations a frame (both ends)",
                "", allocs[t]
            );
            ours.push((format!("CLI (steady), trace {trace}"), steady, true));
            ours.push((format!("runners, trace {trace}"), r, false));
        }
        for (name, f, is_cli) in &ours {
            let (r03, r115) = (ratio(pick(f), pick(&v03)), ratio(pick(f), pick(&v115)));
            let met = r03 >= target && r115 >= target;
            all_met &= met;
            print!(
                "  {name:<30} {unit} x{r03:.2} savant-rs 0.3.0, x{r115:.2} 1.15.1 (target {target}x) {}",
                verdict(met)
            );
            if case.ceiling {
                // like with like: the CLI is two processes, the runners one
                let (ceiling, want, what) = if *is_cli {
                    (&zmq2, 0.8, "2-process")
                } else {
                    (&zmq, 0.9, "1-process")
                };
                let c = ratio(f.mb_per_sec, ceiling.mb_per_sec);
                let met = c >= want;
                all_met &= met;
                print!(
                    " | x{c:.2} of bare zmq {what} (target {want}x) {}",
                    verdict(met)
                );
                if *is_cli {
                    print!(
                        " (x{:.2} of 1-process)",
                        ratio(f.mb_per_sec, zmq.mb_per_sec)
                    );
                }
            }
            println!();
        }
        if case.ceiling {
            for (name, ours, ceiling) in [
                ("raw writer -> reader, 1 process", &raw, &zmq),
                ("raw writer -> reader, 2 proc.", &raw2, &zmq2),
            ] {
                let c = ratio(ours.mb_per_sec, ceiling.mb_per_sec);
                let met = c >= 0.9;
                all_met &= met;
                println!(
                    "  {name:<30} x{c:.2} of bare zmq, as many processes (target 0.9x) {}",
                    verdict(met)
                );
            }
        }
    }
    let rss_met = peak_rss_kb.0 < 100_000 && peak_rss_kb.1 < 100_000;
    all_met &= rss_met;
    println!(
        "\npeak RSS: send {:.1} MB, receive {:.1} MB (target < 100 MB) {}",
        peak_rss_kb.0 as f64 / 1e3,
        peak_rss_kb.1 as f64 / 1e3,
        verdict(rss_met)
    );
    println!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "targets: {}",
        if all_met { "all met" } else { "NOT all met" }
    );
}
