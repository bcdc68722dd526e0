//! `savant-sdk diff A.jsonl B.jsonl`: known changes between two metadata
//! outputs are reported exactly, identical runs exit 0, bad input exits 2.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod common;

use common::{json_lines, run, KillOnDrop, BIN};

fn object(id: i64, label: &str, xc: f64, yc: f64, colour: &str) -> Value {
    json!({
        "id": id, "parent_id": null, "namespace": "det", "label": label,
        "draw_label": null, "confidence": 0.9,
        "detection_box": {"xc": xc, "yc": yc, "width": 20.0, "height": 20.0, "angle": null},
        "track_box": null, "track_id": null,
        "attributes": [{"namespace": "cls", "name": "colour", "hint": null, "is_hidden": false,
            "values": [{"kind": "string", "value": colour, "confidence": null}]}],
    })
}

fn frame(source_id: &str, pts: i64, objects: Vec<Value>) -> Value {
    json!({
        "event": "frame", "source_id": source_id, "uuid": "0190b6d0-0000-7000-8000-000000000000",
        "pts": pts, "dts": null, "duration": null, "time_base": [1, 1_000_000_000],
        "codec": "jpeg", "width": 160, "height": 120, "keyframe": null, "trace_id": null,
        "content_bytes": 100, "attributes": [], "objects": objects,
    })
}

fn write(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Run A: two frames of cam-1 with a person, a car and a dog.
fn run_a() -> Vec<Value> {
    vec![
        frame(
            "cam-1",
            0,
            vec![
                object(1, "person", 30.0, 30.0, "red"),
                object(2, "car", 100.0, 60.0, "red"),
                object(3, "dog", 130.0, 100.0, "brown"),
            ],
        ),
        frame("cam-1", 40, vec![object(1, "person", 40.0, 30.0, "red")]),
        json!({"event": "eos", "source_id": "cam-1"}),
    ]
}

#[test]
fn known_changes_are_reported_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    write(&a, &run_a());
    write(
        &b,
        &[
            frame(
                "cam-1",
                0,
                vec![
                    // moved 4 px: IoU 0.67, within the threshold: moved
                    object(1, "person", 34.0, 30.0, "red"),
                    // same box, another colour: an attribute change
                    object(2, "car", 100.0, 60.0, "blue"),
                    // the dog is gone: removed
                ],
            ),
            // moved 15 px: IoU 0.14, beyond the threshold: removed and added
            frame("cam-1", 40, vec![object(7, "person", 55.0, 30.0, "red")]),
        ],
    );
    let (code, out, err) = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{err}");
    let lines = json_lines(&out);
    let changes: Vec<(i64, &str, &str)> = lines
        .iter()
        .filter(|l| l["event"] == "difference")
        .map(|l| {
            let label = l["object"]["label"]
                .as_str()
                .or(l["a"]["label"].as_str())
                .unwrap();
            (
                l["pts"].as_i64().unwrap(),
                l["change"].as_str().unwrap(),
                label,
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (0, "attribute_changed", "det/car"),
            (0, "object_removed", "det/dog"),
            (0, "object_moved", "det/person"),
            (40, "object_removed", "det/person"),
            (40, "object_added", "det/person"),
        ]
    );
    let attr = &lines[0];
    assert_eq!(attr["name"], "colour");
    assert_eq!(attr["before"][0]["value"], "red");
    assert_eq!(attr["after"][0]["value"], "blue");
    let moved = &lines[2];
    assert!(
        (moved["shift"].as_f64().unwrap() - 4.0).abs() < 1e-6,
        "{moved}"
    );
    let total = lines.iter().find(|l| l["event"] == "total").unwrap();
    assert_eq!(total["differences"], 5);
    assert_eq!(total["frames_compared"], 2);
    let person = lines
        .iter()
        .find(|l| l["event"] == "summary" && l["label"] == "det/person")
        .unwrap();
    assert_eq!(
        (
            &person["objects_moved"],
            &person["objects_removed"],
            &person["objects_added"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );

    // the table names the same changes
    let (code, table, _) = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(table.starts_with("SOURCE"), "{table}");
    for needle in [
        "object_moved",
        "det/dog",
        "cls/colour \"red\" -> \"blue\"",
        "5 difference(s)",
    ] {
        assert!(table.contains(needle), "{needle}: {table}");
    }

    // a looser IoU threshold matches the 15 px move: moved, not removed and added
    let (code, out, _) = run(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--json",
        "--iou",
        "0.1",
    ]);
    assert_eq!(code, 1);
    let total = json_lines(&out)
        .into_iter()
        .find(|l| l["event"] == "total")
        .unwrap();
    assert_eq!(
        (&total["objects_moved"], &total["objects_added"]),
        (&json!(2), &json!(0))
    );

    // frames of one run only
    write(&b, &run_a()[..1]);
    let (code, out, _) = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    assert_eq!(json_lines(&out)[0]["change"], "frame_only_in_a");
}

#[test]
fn identical_runs_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    write(&a, &run_a());
    write(&b, &run_a());
    let (code, out, err) = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "no differences (2 frames compared)");

    std::fs::write(&b, "{\"event\":\"frame\"}\n").unwrap();
    let (code, _, err) = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("b.jsonl:1: not a metadata record"), "{err}");
    let (code, _, err) = run(&["diff", a.to_str().unwrap(), "/nonexistent.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent.jsonl"), "{err}");
    let (code, _, err) = run(&[
        "diff",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "--iou",
        "0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("IoU"), "{err}");
}

/// Two real runs (`receive --out-json`) of the same images: no differences.
#[test]
fn two_real_runs_of_the_same_input_do_not_differ() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("a.jpg");
    image::RgbImage::from_pixel(16, 16, image::Rgb([10, 10, 200]))
        .save(&jpeg)
        .unwrap();
    let mut outputs = Vec::new();
    for n in 0..2 {
        let endpoint = format!("ipc://{}/out{n}.ipc", dir.path().display());
        let json_out = dir.path().join(format!("run{n}.jsonl"));
        let mut receiver = KillOnDrop(
            Command::new(BIN)
                .args(["receive", "--socket", &format!("router+bind:{endpoint}")])
                .args(["--eos-count", "1", "--idle-timeout", "60"])
                .args(["--out-json", json_out.to_str().unwrap()])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let (code, _, err) = run(&[
            "send",
            "--socket",
            &format!("dealer+connect:{endpoint}"),
            "--source-id",
            "cam",
            "--repeat",
            "5",
            jpeg.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(receiver.0.wait().unwrap().success());
        outputs.push(json_out);
    }
    let (code, out, err) = run(&[
        "diff",
        outputs[0].to_str().unwrap(),
        outputs[1].to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "no differences (5 frames compared)");
}
