//! `savant-sdk view` and the `viewer` sink of pipeline files, as
//! processes: a real `savant-sdk loopback`, `savant-sdk send` for two
//! source ids, the view's JSON endpoint counting what was sent, its
//! pictures, and SIGTERM ending it within 5 s. The browser itself is
//! tested in the viewer crate (`viewer/tests/browser.rs`, headless
//! chromium).
//!
//! Readiness is read from the processes' output (the loopback's `ready`
//! line, the view's `viewer` line with its URL), and every wait polls a
//! condition with a deadline.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_lines, run, KillOnDrop, BIN};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
/// How long a process may take to exit after SIGTERM.
const BOUND: Duration = Duration::from_secs(5);

fn ipc(dir: &tempfile::TempDir, name: &str) -> String {
    format!("ipc://{}/{name}.ipc", dir.path().display())
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let mut r = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_vec()
        .unwrap();
    (status, body)
}

fn stream(snapshot: &Value, id: &str) -> Value {
    snapshot["streams"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["source_id"] == id))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Polls `/api/streams` until `ok` holds; fails after the deadline.
fn wait_for(base: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = get(&format!("{base}api/streams"));
        assert_eq!(status, 200);
        let s: Value = serde_json::from_slice(&body).unwrap();
        if ok(&s) {
            return s;
        }
        assert!(started.elapsed() < DEADLINE, "{what}: still {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit after a signal: its exit code within the bound.
fn exits_in_time(child: &mut KillOnDrop, what: &str) -> i32 {
    let asked = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(
            asked.elapsed() < BOUND,
            "{what} did not exit within {BOUND:?} of the signal"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads the first JSON line of `child`'s stdout that satisfies `until`.
fn first_line(
    lines: &mut BufReader<std::process::ChildStdout>,
    until: impl Fn(&Value) -> bool,
) -> Value {
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines.read_line(&mut line).unwrap();
        assert!(n > 0, "the process ended before it was ready");
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if until(&v) {
                return v;
            }
        }
    }
}

#[test]
fn view_counts_what_send_sent_serves_the_pictures_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    let jpeg = dir.path().join("a.jpeg");
    image::RgbImage::from_pixel(64, 48, image::Rgb([200, 30, 30]))
        .save(&jpeg)
        .unwrap();
    let png = dir.path().join("b.png");
    image::RgbImage::from_pixel(32, 24, image::Rgb([30, 200, 30]))
        .save(&png)
        .unwrap();

    let mut view = KillOnDrop(
        Command::new(BIN)
            .args(["view", "--socket", &format!("router+bind:{output}")])
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut view_out = BufReader::new(view.0.stdout.take().unwrap());
    let ready = first_line(&mut view_out, |v| v["event"] == "viewer");
    let base = ready["url"].as_str().expect("a url").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{ready}");

    let mut loopback = KillOnDrop(
        Command::new(BIN)
            .args(["loopback", "--input", &format!("router+bind:{input}")])
            .args(["--output", &format!("dealer+connect:{output}")])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut loopback_out = BufReader::new(loopback.0.stdout.take().unwrap());
    first_line(&mut loopback_out, |v| v["event"] == "ready");

    // nothing yet: an empty list
    let (status, body) = get(&format!("{base}api/streams"));
    assert_eq!(status, 200);
    let empty: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(empty["streams"], serde_json::json!([]), "{empty}");

    let socket = format!("dealer+connect:{input}");
    for (id, file, n) in [("cam-1", &jpeg, "20"), ("cam-2", &png, "10")] {
        let (code, _, err) = run(&[
            "send",
            "--socket",
            &socket,
            "--source-id",
            id,
            "--repeat",
            n,
            file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "send {id}: {err}");
    }
    let done = wait_for(&base, "every frame counted, both ended", |s| {
        stream(s, "cam-1")["frames"] == 20
            && stream(s, "cam-1")["ended"] == true
            && stream(s, "cam-2")["frames"] == 10
            && stream(s, "cam-2")["ended"] == true
    });
    for (id, w, h) in [("cam-1", 64, 48), ("cam-2", 32, 24)] {
        let s = stream(&done, id);
        assert_eq!(
            (s["width"].as_u64(), s["height"].as_u64()),
            (Some(w), Some(h)),
            "{s}"
        );
        // no sender in this process: latency unknown
        assert_eq!(s["latency_ms"], Value::Null, "{s}");
        assert_eq!(s["picture"], true, "{s}");
        let (status, body) = get(&format!("{base}api/streams/{id}/frame.jpg"));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let img = image::load_from_memory_with_format(&body, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((u64::from(img.width()), u64::from(img.height())), (w, h));
    }
    let (status, page) = get(&base);
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<title>Savant viewer</title>"));

    signal(&view.0, "TERM");
    assert_eq!(exits_in_time(&mut view, "view"), 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut view_out, &mut rest).unwrap();
    let stopped = json_lines(&rest)
        .into_iter()
        .find(|v| v["event"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped line in {rest:?}"));
    assert_eq!(
        (&stopped["reason"], &stopped["sources"], &stopped["frames"]),
        (
            &serde_json::json!("SIGTERM"),
            &serde_json::json!(2),
            &serde_json::json!(30)
        ),
        "{stopped}"
    );
    signal(&loopback.0, "TERM");
    assert_eq!(exits_in_time(&mut loopback, "loopback"), 0);
}

/// The `viewer` sink of a pipeline file run by `savant-sdk run` with the
/// embedded loopback: the page is served while the pipeline runs, and the
/// round-trip latency of the pipeline's own frames is shown.
#[test]
fn a_pipeline_file_viewer_sink_shows_round_trip_latency() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (ipc(&dir, "in"), ipc(&dir, "out"));
    image::RgbImage::from_pixel(48, 32, image::Rgb([20, 20, 200]))
        .save(dir.path().join("a.jpeg"))
        .unwrap();
    let pipeline = format!(
        "[loopback]\ninput = 'router+bind:{input}'\noutput = 'dealer+connect:{output}'\n\
         [module]\ninput = 'dealer+connect:{input}'\noutput = 'router+bind:{output}'\n\
         [[source]]\ntype = 'jpeg_file'\npath = 'a.jpeg'\nsource_id = 'cam-1'\nrepeat = 0\npace = true\nframerate = '25'\n\
         [[sink]]\ntype = 'viewer'\nport = 0\n"
    );
    let file = dir.path().join("p.toml");
    std::fs::write(&file, pipeline).unwrap();
    let mut child = KillOnDrop(
        Command::new(BIN)
            .args(["run", file.to_str().unwrap()])
            // the URL of port 0 is logged at info level
            .env("RUST_LOG", "savant_sdk_viewer=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let base = {
        let mut line = String::new();
        loop {
            line.clear();
            let n = err.read_line(&mut line).unwrap();
            assert!(n > 0, "run ended before it served the viewer");
            if let Some(at) = line.find("http://127.0.0.1:") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\u{1b}')
                    .collect();
                break url;
            }
        }
    };
    // stderr drained from here on: a full pipe would block the process
    let draining = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        rest
    });
    let s = wait_for(&base, "frames with a latency", |s| {
        stream(s, "cam-1")["frames"].as_u64() >= Some(5)
            && stream(s, "cam-1")["latency_ms"].is_number()
    });
    let cam = stream(&s, "cam-1");
    assert!(
        cam["latency_mean_ms"].as_f64().is_some_and(|l| l >= 0.0),
        "{cam}"
    );
    let (status, body) = get(&format!("{base}api/streams/cam-1/frame.jpg"));
    assert_eq!(status, 200);
    let img = image::load_from_memory(&body).unwrap();
    assert_eq!((img.width(), img.height()), (48, 32));
    signal(&child.0, "TERM");
    let code = exits_in_time(&mut child, "run");
    let rest = draining.join().unwrap();
    assert_eq!(code, 0, "{rest}");
    // the sink finished: the server is gone
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent();
    assert!(agent.get(&format!("{base}api/streams")).call().is_err());
}

/// `run --list` names the `viewer` sink with its keys: the CLI links it.
#[test]
fn run_list_has_the_viewer_sink() {
    let (code, list, err) = run(&["run", "--list"]);
    assert_eq!(code, 0, "{err}");
    assert!(list.contains("sink viewer"), "{list}");
    let at = list.find("sink viewer").unwrap();
    assert!(list[at..].contains("port"), "{list}");
}
