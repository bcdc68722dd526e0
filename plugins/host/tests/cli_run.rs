//! `savant-sdk run PIPELINE.toml` end to end, as a process: the plugin
//! source and the built-in image-folder source through the loopback
//! module into the plugin sink; and a pipeline with an unknown key,
//! refused with its line.

mod support;

use std::process::Command;

use savant_sdk_example_frame_counter::Summary;
use support::{library, savant_sdk, SINK_LIB, SOURCE_LIB};

fn jpeg(path: &std::path::Path, shade: u8) {
    let img = image::RgbImage::from_pixel(32, 24, image::Rgb([shade, 80, 160]));
    img.save_with_format(path, image::ImageFormat::Jpeg)
        .unwrap();
}

#[test]
fn pipeline_of_plugins_and_builtin_images() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("frames")).unwrap();
    jpeg(&d.join("frames/a.jpg"), 10);
    jpeg(&d.join("frames/b.jpg"), 200);
    // the plugins in a folder of their own, found relative to the file
    std::fs::create_dir(d.join("plugins")).unwrap();
    for lib in [SOURCE_LIB, SINK_LIB] {
        let from = library(lib);
        std::fs::copy(&from, d.join("plugins").join(from.file_name().unwrap())).unwrap();
    }
    let summary = d.join("summary.json");
    let pipeline = format!(
        r#"plugins = ["plugins"]

[loopback]
input = "router+bind:ipc://{d}/in.ipc"
output = "dealer+connect:ipc://{d}/out.ipc"

[module]
input = "dealer+connect:ipc://{d}/in.ipc"
output = "router+bind:ipc://{d}/out.ipc"

[[source]]
type = "synthetic"
frames = 5
source_id = "cam-1"
width = 64
height = 48

[[source]]
type = "image_folder"           # a built-in, relative to this file
path = "frames"
source_id = "cam-2"

[[sink]]
type = "frame-counter"
idle_timeout = 30               # the pipeline ends the reader when every stream came back
settings = {{ summary = "{summary}" }}
"#,
        d = d.display(),
        summary = summary.display()
    );
    std::fs::write(d.join("pipeline.toml"), pipeline).unwrap();
    let out = Command::new(savant_sdk())
        .arg("run")
        .arg(d.join("pipeline.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done = |event: &str, key: &str, name: &str| {
        lines
            .iter()
            .find(|l| l["event"] == event && l[key] == name)
            .unwrap_or_else(|| panic!("no {event} for {name}: {stdout}"))
            .clone()
    };
    assert_eq!(done("source_done", "source", "synthetic#1")["frames"], 5);
    assert_eq!(done("source_done", "source", "image_folder#2")["frames"], 2);
    let sink = done("sink_done", "sink", "frame-counter#1");
    assert_eq!(
        (sink["messages"].clone(), sink["outcome"].clone()),
        (9.into(), "finished".into())
    );

    let s: Summary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s.total_frames, 7);
    assert_eq!((s.sources["cam-1"].frames, s.sources["cam-1"].eos), (5, 1));
    assert_eq!((s.sources["cam-2"].frames, s.sources["cam-2"].eos), (2, 1));
    assert!(s.sources["cam-1"].trace_ids.iter().all(|t| t.len() == 32));
}

#[test]
fn unknown_key_fails_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        format!(
            "plugins = [{:?}]\n[[source]]\ntype = \"synthetic\"\nsocket = \"ipc:///tmp/x.ipc\"\nframs = 3\n",
            library(SOURCE_LIB)
        ),
    )
    .unwrap();
    let out = Command::new(savant_sdk())
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 5") && stderr.contains("frams"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.toml"), "{stderr}");
}

#[test]
fn bad_plugin_settings_fail_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        format!(
            "plugins = [{:?}]\n\n[[source]]\ntype = \"synthetic\"\nsocket = \"ipc://{}/x.ipc\"\nsettings = {{ frams = 3 }}\n",
            library(SOURCE_LIB),
            dir.path().display()
        ),
    )
    .unwrap();
    let out = Command::new(savant_sdk())
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 6") && stderr.contains("synthetic") && stderr.contains("frams"),
        "{stderr}"
    );
}

#[test]
fn sigint_stops_an_endless_pipeline_and_sinks_still_finish() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let summary = d.join("summary.json");
    let pipeline = format!(
        r#"plugins = [{source:?}, {sink:?}]

[loopback]
input = "router+bind:ipc://{d}/in.ipc"
output = "dealer+connect:ipc://{d}/out.ipc"

[[source]]
type = "synthetic"
socket = "dealer+connect:ipc://{d}/in.ipc"
settings = {{ frames = 0, fps = 50, width = 32, height = 32 }}

[[sink]]
type = "frame-counter"
socket = "router+bind:ipc://{d}/out.ipc"
idle_timeout = 0
settings = {{ summary = "{summary}" }}
"#,
        source = library(SOURCE_LIB),
        sink = library(SINK_LIB),
        d = d.display(),
        summary = summary.display()
    );
    std::fs::write(d.join("pipeline.toml"), pipeline).unwrap();
    let mut child = Command::new(savant_sdk())
        .arg("run")
        .arg(d.join("pipeline.toml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running: the source never ends"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"sink_done\""), "{stdout}");
    let s: Summary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert!(
        s.total_frames > 5,
        "frames flowed before SIGINT: {}",
        s.total_frames
    );
}

/// Runs `savant-sdk run` on `pipeline` (written to a file in `dir`).
fn run_pipeline(dir: &tempfile::TempDir, pipeline: &str) -> (bool, String) {
    let path = dir.path().join("p.toml");
    std::fs::write(&path, pipeline).unwrap();
    let out = Command::new(savant_sdk())
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_wrong_settings_value_names_its_key_and_line_in_the_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    let head = format!(
        "plugins = [{:?}]\n\n[[source]]\ntype = \"synthetic\"\nsocket = \"dealer+connect:ipc://{}/x.ipc\"\n",
        library(SOURCE_LIB),
        dir.path().display()
    );
    // a table of its own: the bad value on line 9
    let (ok, err) = run_pipeline(
        &dir,
        &format!("{head}\n[source.settings]\nsource_id = \"cam\"\nframes = \"many\"\nwidth = 64\n"),
    );
    assert!(!ok);
    assert!(err.contains("line 9") && err.contains("`frames`"), "{err}");
    assert!(
        !err.contains("column"),
        "no position inside re-serialised settings: {err}"
    );
    // inline, on the [[source]]'s line 6
    let (ok, err) = run_pipeline(
        &dir,
        &format!("{head}settings = {{ width = 64, frames = -3 }}\n"),
    );
    assert!(!ok);
    assert!(err.contains("line 6") && err.contains("frames"), "{err}");
}

#[test]
fn a_panicking_plugin_ends_its_stream_with_eos_is_reported_once_and_the_others_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let summary = d.join("summary.json");
    let pipeline = format!(
        r#"plugins = [{panicking:?}, {source:?}, {sink:?}]

[loopback]
input = "router+bind:ipc://{d}/in.ipc"
output = "dealer+connect:ipc://{d}/out.ipc"

[module]
input = "dealer+connect:ipc://{d}/in.ipc"
output = "router+bind:ipc://{d}/out.ipc"

[[source]]
type = "panicking"

[[source]]
type = "synthetic"
frames = 20
source_id = "healthy"
width = 32
height = 32

[[sink]]
type = "frame-counter"
idle_timeout = 30
summary = "{summary}"
"#,
        panicking = library("savant_sdk_fixture_panicking"),
        source = library(SOURCE_LIB),
        sink = library(SINK_LIB),
        d = d.display(),
        summary = summary.display()
    );
    let path = d.join("p.toml");
    std::fs::write(&path, pipeline).unwrap();
    let out = Command::new(savant_sdk())
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !out.status.success(),
        "a failed source fails the run: {err}"
    );
    // one error line for the panic, saying it once
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("boom in next")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0].matches("boom in next").count(), 1, "{err}");
    let panicked = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["source"] == "panicking#1")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(panicked["outcome"], "failed", "{stdout}");
    // its stream ended with an EOS, the other source completed
    let s: Summary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(
        (s.sources["p"].frames, s.sources["p"].eos),
        (1, 1),
        "{stdout}"
    );
    assert_eq!(
        (s.sources["healthy"].frames, s.sources["healthy"].eos),
        (20, 1)
    );
}
