//! Runs every example program that needs no camera, each as a subprocess
//! with its default arguments (sockets and outputs in a temporary folder
//! of its own, so the tests run in parallel): each must exit with status
//! 0 within 60 s and print its `sent N, received N` line.
//!
//! The examples are the ones `cargo test` built beside this test
//! (`target/<profile>/examples/`). Run alone (`cargo test --test
//! run_examples`, which builds no examples) they are built first, with
//! the cargo that runs the test, in a target folder of their own: a
//! build into the running test's target folder with other features
//! would overwrite the hash-less `.rlib` of the plugin crates (they are
//! also `cdylib`s) that later links of this `cargo test` use.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Every example this package has (with the default features).
const EXAMPLES: &[&str] = &[
    "custom_source",
    "compose_sources",
    "plugin_so",
    #[cfg(feature = "gstreamer")]
    "video_to_module",
    "receive_into_sinks",
    "pipeline_file",
];

/// `target/<profile>/`, from this test executable's
/// `target/<profile>/deps/run_examples-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test executable is in <profile>/deps/")
        .to_path_buf()
}

/// The folder holding the example executables.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let beside = profile_dir().join("examples");
        if EXAMPLES.iter().all(|e| beside.join(e).is_file()) {
            return beside;
        }
        build_apart()
    })
}

/// Builds the examples (and the plugin `.so` that `plugin_so` loads) into
/// `<target>/tmp/examples`, with this test's profile; their folder.
fn build_apart() -> PathBuf {
    let profile_dir = profile_dir();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("examples");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "-p", "savant-sdk-examples", "--examples"])
        .args(["--profile", &profile])
        .arg("--target-dir")
        .arg(&target);
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = if profile == "dev" { "debug" } else { &profile };
    target.join(dir).join("examples")
}

/// What one run printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs example `name` with `args`; panics unless it exits with 0 within
/// [`TIMEOUT`] (it is killed then).
fn run(name: &str, args: &[&str]) -> Run {
    let exe = examples_dir().join(name);
    let mut child = Command::new(&exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", exe.display()));
    // read both pipes on threads of their own, so a full pipe never blocks it
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = reader(Box::new(child.stdout.take().expect("piped")));
    let stderr = reader(Box::new(child.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the example") {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    match status {
        None => panic!(
            "{name} did not finish within {TIMEOUT:?}\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        ),
        Some(s) if !s.success() => panic!(
            "{name} failed ({s})\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        ),
        Some(_) => run,
    }
}

/// Asserts that `run` printed the line `line`.
fn assert_line(name: &str, run: &Run, line: &str) {
    assert!(
        run.stdout.lines().any(|l| l == line),
        "{name} did not print {line:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn custom_source() {
    let r = run("custom_source", &[]);
    assert_line("custom_source", &r, "sent 30, received 30");
    let r = run("custom_source", &["7"]);
    assert_line("custom_source", &r, "sent 7, received 7");
}

#[test]
fn compose_sources() {
    let r = run("compose_sources", &[]);
    assert_line(
        "compose_sources",
        &r,
        "cam-a: 5 frames (jpeg jpeg jpeg jpeg jpeg)",
    );
    assert_line("compose_sources", &r, "cam-b: 4 frames (png png png png)");
    assert_line("compose_sources", &r, "cam-c: 4 frames (png png png png)");
    assert_line("compose_sources", &r, "sent 13, received 13");
}

#[test]
fn plugin_so() {
    let r = run("plugin_so", &[]);
    assert_line("plugin_so", &r, "sent 20, received 20");
    assert!(r.stdout.contains("synthetic (source"), "{}", r.stdout);
}

#[test]
fn plugin_so_without_the_library_says_how_to_build_it() {
    // the same executable in a folder with no plugin beside it (a hard
    // link: the example looks next to its own path)
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let lonely = dir.path().join("profile").join("examples");
    std::fs::create_dir_all(&lonely).unwrap();
    let exe = lonely.join("plugin_so");
    let original = examples_dir().join("plugin_so");
    if std::fs::hard_link(&original, &exe).is_err() {
        std::fs::copy(&original, &exe).unwrap();
    }
    let out = Command::new(&exe).output().expect("running plugin_so");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cargo build -p savant-sdk-example-synthetic-source"),
        "{stderr}"
    );

    // a path that is no library: an error naming it, status 1
    let out = Command::new(&original)
        .arg(dir.path().join("libnothing.so"))
        .output()
        .expect("running plugin_so");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("libnothing.so"), "{stderr}");
}

#[cfg(feature = "gstreamer")]
#[test]
fn video_to_module() {
    let r = run("video_to_module", &[]);
    assert_line("video_to_module", &r, "sent 60, received 60");
    assert!(r.stdout.contains("60 frames of h264"), "{}", r.stdout);
}

#[test]
fn receive_into_sinks() {
    let r = run("receive_into_sinks", &[]);
    assert_line("receive_into_sinks", &r, "tally: 25 frames, 1 EOS");
    assert_line(
        "receive_into_sinks",
        &r,
        "25 image files, 26 metadata records (frames and EOS)",
    );
    assert_line("receive_into_sinks", &r, "sent 25, received 25");
}

#[test]
fn pipeline_file() {
    let r = run("pipeline_file", &[]);
    assert_line(
        "pipeline_file",
        &r,
        "source boxes: 24 frames, ended [\"synthetic-1\"], completed",
    );
    assert_line("pipeline_file", &r, "sent 24, received 24");
}
