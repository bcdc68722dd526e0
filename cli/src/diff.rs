//! `savant-sdk diff A.jsonl B.jsonl`: what differs between two runs'
//! metadata JSON lines (`receive --out-json`), by
//! `savant_sdk_sinks::diff`. Exit status 0 when nothing differs, 1 when
//! something does, 2 on bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use savant_sdk_sinks::diff::{diff, read_frames, Change, Counts, DiffOptions, DiffReport};
use serde_json::json;

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first run's metadata JSON lines (receive --out-json FILE).
    a: PathBuf,
    /// The second run's.
    b: PathBuf,
    /// The least IoU of two boxes of one label to be the same object, in
    /// (0, 1]; boxes are compared axis-aligned (a rotated box's angle is
    /// ignored).
    #[arg(long, default_value_t = 0.5)]
    iou: f64,
    /// A matched object whose box centre moved more than this many pixels
    /// is reported as moved.
    #[arg(long, default_value_t = 1.0)]
    move_px: f64,
    /// One JSON line per difference, then the summaries, instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs `diff`: 0 same, 1 different, 2 bad input.
pub fn run(a: &DiffArgs) -> ExitCode {
    let options = DiffOptions {
        iou: a.iou,
        move_px: a.move_px,
    };
    let read = || -> Result<DiffReport, savant_sdk_sinks::SinkError> {
        options.check()?;
        let (fa, fb) = (read_frames(&a.a)?, read_frames(&a.b)?);
        Ok(diff(&fa, &fb, &options))
    };
    let report = match read() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("savant-sdk: error: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if a.json {
        json_lines(&report)
    } else {
        tables(&report)
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    ExitCode::from(u8::from(!report.is_empty()))
}

fn json_lines(r: &DiffReport) -> String {
    let mut s = String::new();
    let mut line = |v: serde_json::Value| {
        s.push_str(&v.to_string());
        s.push('\n');
    };
    for d in &r.differences {
        let mut v = serde_json::to_value(d).unwrap_or_default();
        v["event"] = json!("difference");
        line(v);
    }
    for (source, c) in &r.by_source {
        let mut v = serde_json::to_value(c).unwrap_or_default();
        v["event"] = json!("summary");
        v["source_id"] = json!(source);
        line(v);
    }
    for (label, c) in &r.by_label {
        let mut v = serde_json::to_value(c).unwrap_or_default();
        v["event"] = json!("summary");
        v["label"] = json!(label);
        line(v);
    }
    let mut v = serde_json::to_value(r.total).unwrap_or_default();
    v["event"] = json!("total");
    v["differences"] = json!(r.total.differences());
    line(v);
    s
}

/// Rows under a header, columns padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut s = String::new();
    let mut put = |cells: Vec<&str>| {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    };
    put(header.to_vec());
    for row in rows {
        put(row.iter().map(String::as_str).collect());
    }
    s
}

fn detail(c: &Change) -> String {
    let b = |r: &savant_sdk_sinks::metadata::BoxRecord| {
        format!("({:.1},{:.1} {:.1}x{:.1})", r.xc, r.yc, r.width, r.height)
    };
    match c {
        Change::FrameOnlyInA => "frame in A only".into(),
        Change::FrameOnlyInB => "frame in B only".into(),
        Change::ObjectRemoved { object } => {
            format!("id {} {}", object.id, b(&object.detection_box))
        }
        Change::ObjectAdded { object } => format!("id {} {}", object.id, b(&object.detection_box)),
        Change::ObjectMoved {
            a,
            b: ob,
            iou,
            shift,
        } => format!(
            "id {} -> {}: {} -> {}, {shift:.1} px, IoU {iou:.2}",
            a.id,
            ob.id,
            b(&a.detection_box),
            b(&ob.detection_box)
        ),
        Change::AttributeChanged {
            a,
            namespace,
            name,
            before,
            after,
            ..
        } => {
            let values = |v: &Option<Vec<savant_sdk_sinks::metadata::ValueRecord>>| match v {
                None => "(none)".to_string(),
                Some(v) => v
                    .iter()
                    .map(|x| x.value.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            format!(
                "id {}: {namespace}/{name} {} -> {}",
                a.id,
                values(before),
                values(after)
            )
        }
    }
}

fn count_row(key: &str, c: &Counts, with_frames: bool) -> Vec<String> {
    let mut row = vec![key.to_string()];
    if with_frames {
        row.extend(
            [c.frames_compared, c.frames_only_in_a, c.frames_only_in_b].map(|n| n.to_string()),
        );
    }
    row.extend(
        [
            c.objects_removed,
            c.objects_added,
            c.objects_moved,
            c.attributes_changed,
        ]
        .map(|n| n.to_string()),
    );
    row
}

fn tables(r: &DiffReport) -> String {
    let mut s = String::new();
    if r.is_empty() {
        s.push_str(&format!(
            "no differences ({} frames compared)\n",
            r.total.frames_compared
        ));
        return s;
    }
    let rows: Vec<Vec<String>> = r
        .differences
        .iter()
        .map(|d| {
            vec![
                d.source_id.clone(),
                d.pts.to_string(),
                d.change.kind().to_string(),
                d.change.label().unwrap_or("-").to_string(),
                detail(&d.change),
            ]
        })
        .collect();
    s.push_str(&table(
        &["SOURCE", "PTS", "CHANGE", "LABEL", "DETAIL"],
        &rows,
    ));
    s.push('\n');
    let rows: Vec<_> = r
        .by_source
        .iter()
        .map(|(k, c)| count_row(k, c, true))
        .collect();
    s.push_str(&table(
        &[
            "SOURCE", "FRAMES", "ONLY_A", "ONLY_B", "REMOVED", "ADDED", "MOVED", "ATTRS",
        ],
        &rows,
    ));
    if !r.by_label.is_empty() {
        s.push('\n');
        let rows: Vec<_> = r
            .by_label
            .iter()
            .map(|(k, c)| count_row(k, c, false))
            .collect();
        s.push_str(&table(
            &["LABEL", "REMOVED", "ADDED", "MOVED", "ATTRS"],
            &rows,
        ));
    }
    s.push_str(&format!(
        "\n{} difference(s) in {} frames compared\n",
        r.total.differences(),
        r.total.frames_compared
    ));
    s
}
