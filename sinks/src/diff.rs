//! Comparing two runs: the metadata JSON lines ([`crate::metadata`], what
//! [`crate::MetadataJsonSink`] and `savant-sdk receive --out-json` write)
//! of the same input, frame by frame and object by object.
//!
//! - Frames are matched by (source id, pts); a pts seen twice in a source
//!   (a looped input) matches by its occurrence. Frames of one side only
//!   are [`Change::FrameOnlyInA`] / [`Change::FrameOnlyInB`].
//! - In each matched frame, objects are matched per label (namespace and
//!   label) greedily by best IoU: the pair with the highest IoU first, then
//!   the next among those left, down to the threshold ([`DiffOptions::iou`],
//!   default 0.5). IoU is computed on axis-aligned boxes: the angle of a
//!   rotated box is ignored.
//! - An object of A without a match is [`Change::ObjectRemoved`], one of B
//!   [`Change::ObjectAdded`]. A matched pair whose box centre moved more
//!   than [`DiffOptions::move_px`] (1 px) is [`Change::ObjectMoved`]; each
//!   attribute (namespace, name) whose values differ, or that only one has,
//!   is [`Change::AttributeChanged`].
//! - EOS records are not compared.
//!
//! ```
//! use savant_sdk_sinks::diff::{diff, DiffOptions};
//! let report = diff(&[], &[], &DiffOptions::default());
//! assert!(report.is_empty());
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use serde::Serialize;

use crate::error::SinkError;
use crate::metadata::{AttributeRecord, BoxRecord, FrameRecord, ObjectRecord, Record, ValueRecord};

/// How two runs are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiffOptions {
    /// The least IoU of two boxes of one label to be the same object, in
    /// (0, 1] (default 0.5).
    pub iou: f64,
    /// A matched object whose box centre moved more than this many pixels
    /// is reported as moved (default 1).
    pub move_px: f64,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            iou: 0.5,
            move_px: 1.0,
        }
    }
}

impl DiffOptions {
    /// Checks the settings: `iou` in (0, 1], `move_px` finite and not
    /// negative.
    pub fn check(&self) -> Result<(), SinkError> {
        if !(self.iou > 0.0 && self.iou <= 1.0) {
            return Err(SinkError::InvalidSetting(format!(
                "IoU threshold {} is not in (0, 1]",
                self.iou
            )));
        }
        if !(self.move_px.is_finite() && self.move_px >= 0.0) {
            return Err(SinkError::InvalidSetting(format!(
                "move threshold {} px is not a distance",
                self.move_px
            )));
        }
        Ok(())
    }
}

/// The frame records of a metadata JSON-lines file, in file order (EOS
/// records and blank lines skipped). A line that is not a record is
/// [`SinkError::BadRecord`] with its number.
pub fn read_frames(path: impl AsRef<Path>) -> Result<Vec<FrameRecord>, SinkError> {
    let path = path.as_ref();
    let read = |source| SinkError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut frames = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read)?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(Record::Frame(f)) => frames.push(f),
            Ok(Record::Eos { .. }) => {}
            Err(e) => {
                return Err(SinkError::BadRecord {
                    path: path.to_path_buf(),
                    line: i + 1,
                    detail: e.to_string(),
                })
            }
        }
    }
    Ok(frames)
}

/// The intersection over union of two boxes, as axis-aligned boxes (a
/// rotated box's angle is ignored); 0 for boxes without area.
pub fn iou(a: &BoxRecord, b: &BoxRecord) -> f64 {
    let edges = |r: &BoxRecord| {
        let (w, h) = (f64::from(r.width), f64::from(r.height));
        let (x, y) = (f64::from(r.xc), f64::from(r.yc));
        (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0, w * h)
    };
    let (al, at, ar, ab, aa) = edges(a);
    let (bl, bt, br, bb, ba) = edges(b);
    let w = (ar.min(br) - al.max(bl)).max(0.0);
    let h = (ab.min(bb) - at.max(bt)).max(0.0);
    let inter = w * h;
    let union = aa + ba - inter;
    if union > 0.0 && inter > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// An object as a difference names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectRef {
    /// Its id in its run.
    pub id: i64,
    /// `namespace/label`.
    pub label: String,
    /// Its detection box.
    pub detection_box: BoxRecord,
}

impl ObjectRef {
    fn of(o: &ObjectRecord) -> Self {
        Self {
            id: o.id,
            label: label_key(o),
            detection_box: o.detection_box,
        }
    }
}

fn label_key(o: &ObjectRecord) -> String {
    format!("{}/{}", o.namespace, o.label)
}

/// One difference between the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The frame is in A only.
    FrameOnlyInA,
    /// The frame is in B only.
    FrameOnlyInB,
    /// An object of A has no match in B.
    ObjectRemoved {
        /// The object of A.
        object: ObjectRef,
    },
    /// An object of B has no match in A.
    ObjectAdded {
        /// The object of B.
        object: ObjectRef,
    },
    /// A matched object whose box centre moved more than the move threshold.
    ObjectMoved {
        /// The object in A.
        a: ObjectRef,
        /// The object in B.
        b: ObjectRef,
        /// Their IoU.
        iou: f64,
        /// How far the centre moved, pixels.
        shift: f64,
    },
    /// An attribute of a matched object differs (or only one has it).
    AttributeChanged {
        /// The object in A.
        a: ObjectRef,
        /// The object in B.
        b: ObjectRef,
        /// The attribute's namespace.
        namespace: String,
        /// The attribute's name.
        name: String,
        /// Its values in A (`None`: A has no such attribute).
        before: Option<Vec<ValueRecord>>,
        /// Its values in B (`None`: B has no such attribute).
        after: Option<Vec<ValueRecord>>,
    },
}

impl Change {
    /// The short name of the kind of change (as in the JSON's `change`).
    pub fn kind(&self) -> &'static str {
        match self {
            Change::FrameOnlyInA => "frame_only_in_a",
            Change::FrameOnlyInB => "frame_only_in_b",
            Change::ObjectRemoved { .. } => "object_removed",
            Change::ObjectAdded { .. } => "object_added",
            Change::ObjectMoved { .. } => "object_moved",
            Change::AttributeChanged { .. } => "attribute_changed",
        }
    }

    /// The object's `namespace/label` (`None` for whole frames).
    pub fn label(&self) -> Option<&str> {
        match self {
            Change::FrameOnlyInA | Change::FrameOnlyInB => None,
            Change::ObjectRemoved { object } | Change::ObjectAdded { object } => {
                Some(&object.label)
            }
            Change::ObjectMoved { a, .. } | Change::AttributeChanged { a, .. } => Some(&a.label),
        }
    }
}

/// A difference in one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The frame's source id.
    pub source_id: String,
    /// The frame's pts.
    pub pts: i64,
    /// What differs.
    #[serde(flatten)]
    pub change: Change,
}

/// Counts of differences (per source or per label).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Frames in both runs (per source only).
    pub frames_compared: u64,
    /// Frames in A only.
    pub frames_only_in_a: u64,
    /// Frames in B only.
    pub frames_only_in_b: u64,
    /// Objects of A without a match.
    pub objects_removed: u64,
    /// Objects of B without a match.
    pub objects_added: u64,
    /// Matched objects that moved.
    pub objects_moved: u64,
    /// Attribute changes of matched objects.
    pub attributes_changed: u64,
}

impl Counts {
    fn add(&mut self, change: &Change) {
        match change {
            Change::FrameOnlyInA => self.frames_only_in_a += 1,
            Change::FrameOnlyInB => self.frames_only_in_b += 1,
            Change::ObjectRemoved { .. } => self.objects_removed += 1,
            Change::ObjectAdded { .. } => self.objects_added += 1,
            Change::ObjectMoved { .. } => self.objects_moved += 1,
            Change::AttributeChanged { .. } => self.attributes_changed += 1,
        }
    }

    /// The number of differences counted.
    pub fn differences(&self) -> u64 {
        self.frames_only_in_a
            + self.frames_only_in_b
            + self.objects_removed
            + self.objects_added
            + self.objects_moved
            + self.attributes_changed
    }
}

/// What [`diff`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiffReport {
    /// Every difference, by source id, then pts.
    pub differences: Vec<Difference>,
    /// Per source id.
    pub by_source: BTreeMap<String, Counts>,
    /// Per `namespace/label` (object differences only).
    pub by_label: BTreeMap<String, Counts>,
    /// Everything.
    pub total: Counts,
}

impl DiffReport {
    /// Whether the runs are the same.
    pub fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }

    fn push(&mut self, source_id: &str, pts: i64, change: Change) {
        self.by_source
            .entry(source_id.to_string())
            .or_default()
            .add(&change);
        if let Some(label) = change.label() {
            self.by_label
                .entry(label.to_string())
                .or_default()
                .add(&change);
        }
        self.total.add(&change);
        self.differences.push(Difference {
            source_id: source_id.to_string(),
            pts,
            change,
        });
    }
}

/// (source id, pts, occurrence) of each frame.
fn keyed(frames: &[FrameRecord]) -> BTreeMap<(&str, i64, u32), &FrameRecord> {
    let mut seen: HashMap<(&str, i64), u32> = HashMap::new();
    let mut out = BTreeMap::new();
    for f in frames {
        let n = seen.entry((&f.source_id, f.pts)).or_default();
        out.insert((f.source_id.as_str(), f.pts, *n), f);
        *n += 1;
    }
    out
}

/// Compares run A with run B (see the module's documentation).
pub fn diff(a: &[FrameRecord], b: &[FrameRecord], options: &DiffOptions) -> DiffReport {
    let (ka, kb) = (keyed(a), keyed(b));
    let mut report = DiffReport::default();
    let mut keys: Vec<_> = ka.keys().chain(kb.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    for key @ (source_id, pts, _) in keys {
        match (ka.get(&key), kb.get(&key)) {
            (Some(fa), Some(fb)) => {
                report
                    .by_source
                    .entry(source_id.to_string())
                    .or_default()
                    .frames_compared += 1;
                report.total.frames_compared += 1;
                for change in frame_changes(fa, fb, options) {
                    report.push(source_id, pts, change);
                }
            }
            (Some(_), None) => report.push(source_id, pts, Change::FrameOnlyInA),
            (None, Some(_)) => report.push(source_id, pts, Change::FrameOnlyInB),
            (None, None) => unreachable!("a key of one side"),
        }
    }
    report
}

/// The changes between two frames of the same (source id, pts).
fn frame_changes(a: &FrameRecord, b: &FrameRecord, options: &DiffOptions) -> Vec<Change> {
    let mut labels: BTreeMap<String, (Vec<&ObjectRecord>, Vec<&ObjectRecord>)> = BTreeMap::new();
    for o in &a.objects {
        labels.entry(label_key(o)).or_default().0.push(o);
    }
    for o in &b.objects {
        labels.entry(label_key(o)).or_default().1.push(o);
    }
    let mut changes = Vec::new();
    for (oa, ob) in labels.values() {
        // every pair at or above the threshold, best first
        let mut pairs = Vec::new();
        for (i, x) in oa.iter().enumerate() {
            for (j, y) in ob.iter().enumerate() {
                let v = iou(&x.detection_box, &y.detection_box);
                if v >= options.iou {
                    pairs.push((v, i, j));
                }
            }
        }
        pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then((p.1, p.2).cmp(&(q.1, q.2))));
        let (mut used_a, mut used_b) = (vec![false; oa.len()], vec![false; ob.len()]);
        let mut matched = Vec::new();
        for (v, i, j) in pairs {
            if !used_a[i] && !used_b[j] {
                used_a[i] = true;
                used_b[j] = true;
                matched.push((v, i, j));
            }
        }
        matched.sort_by_key(|m| m.1);
        for (v, i, j) in matched {
            let (x, y) = (oa[i], ob[j]);
            let (bx, by) = (&x.detection_box, &y.detection_box);
            let shift = f64::from(bx.xc - by.xc).hypot(f64::from(bx.yc - by.yc));
            if shift > options.move_px {
                changes.push(Change::ObjectMoved {
                    a: ObjectRef::of(x),
                    b: ObjectRef::of(y),
                    iou: v,
                    shift,
                });
            }
            changes.extend(attribute_changes(x, y));
        }
        for (x, _) in oa.iter().zip(&used_a).filter(|(_, used)| !**used) {
            changes.push(Change::ObjectRemoved {
                object: ObjectRef::of(x),
            });
        }
        for (y, _) in ob.iter().zip(&used_b).filter(|(_, used)| !**used) {
            changes.push(Change::ObjectAdded {
                object: ObjectRef::of(y),
            });
        }
    }
    changes
}

fn attribute_changes(x: &ObjectRecord, y: &ObjectRecord) -> Vec<Change> {
    let index = |attrs: &[AttributeRecord]| {
        attrs
            .iter()
            .map(|at| ((at.namespace.clone(), at.name.clone()), at.values.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let (ia, ib) = (index(&x.attributes), index(&y.attributes));
    let mut names: Vec<_> = ia.keys().chain(ib.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|key| {
            let (before, after) = (ia.get(&key).cloned(), ib.get(&key).cloned());
            (before != after).then(|| Change::AttributeChanged {
                a: ObjectRef::of(x),
                b: ObjectRef::of(y),
                namespace: key.0,
                name: key.1,
                before,
                after,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: i64, label: &str, xc: f32, yc: f32) -> ObjectRecord {
        ObjectRecord {
            id,
            parent_id: None,
            namespace: "det".into(),
            label: label.into(),
            draw_label: None,
            confidence: Some(0.9),
            detection_box: BoxRecord {
                xc,
                yc,
                width: 20.0,
                height: 20.0,
                angle: None,
            },
            track_box: None,
            track_id: None,
            attributes: vec![],
        }
    }

    fn frame(source_id: &str, pts: i64, objects: Vec<ObjectRecord>) -> FrameRecord {
        FrameRecord {
            source_id: source_id.into(),
            uuid: format!("{source_id}-{pts}"),
            pts,
            dts: None,
            duration: None,
            time_base: [1, 1_000_000_000],
            codec: Some("h264".into()),
            width: 160,
            height: 120,
            keyframe: None,
            trace_id: None,
            content_bytes: 10,
            attributes: vec![],
            objects,
        }
    }

    fn colour(value: &str) -> AttributeRecord {
        AttributeRecord {
            namespace: "cls".into(),
            name: "colour".into(),
            hint: None,
            is_hidden: false,
            values: vec![ValueRecord {
                kind: "string".into(),
                value: serde_json::json!(value),
                confidence: None,
            }],
        }
    }

    fn run_a() -> Vec<FrameRecord> {
        let mut car = object(2, "car", 100.0, 60.0);
        car.attributes.push(colour("red"));
        vec![
            frame("cam", 0, vec![object(1, "person", 30.0, 30.0), car]),
            frame("cam", 40, vec![object(1, "person", 32.0, 30.0)]),
        ]
    }

    #[test]
    fn identical_runs_have_no_differences() {
        let report = diff(&run_a(), &run_a(), &DiffOptions::default());
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(report.total.frames_compared, 2);
    }

    #[test]
    fn known_changes_are_reported_exactly() {
        let a = run_a();
        let mut b = run_a();
        // frame 0: the person moved 3 px (IoU 0.74 >= 0.5: moved), the car's colour changed
        b[0].objects[0].detection_box.xc += 3.0;
        b[0].objects[1].attributes[0].values[0].value = serde_json::json!("blue");
        // frame 40: the person moved 15 px (IoU < 0.5: removed and added)
        b[1].objects[0].detection_box.xc += 15.0;
        // a frame only in B, a removed object elsewhere
        b.push(frame("cam", 80, vec![]));
        let mut a = a;
        a.push(frame("other", 0, vec![object(5, "dog", 10.0, 10.0)]));
        b.push(frame("other", 0, vec![]));
        let report = diff(&a, &b, &DiffOptions::default());
        let kinds: Vec<(&str, i64, &str)> = report
            .differences
            .iter()
            .map(|d| (d.source_id.as_str(), d.pts, d.change.kind()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("cam", 0, "attribute_changed"),
                ("cam", 0, "object_moved"),
                ("cam", 40, "object_removed"),
                ("cam", 40, "object_added"),
                ("cam", 80, "frame_only_in_b"),
                ("other", 0, "object_removed"),
            ]
        );
        let Change::ObjectMoved { iou, shift, .. } = &report.differences[1].change else {
            panic!()
        };
        assert!(
            (shift - 3.0).abs() < 1e-6 && *iou > 0.7 && *iou < 0.75,
            "{iou}"
        );
        let Change::AttributeChanged {
            before,
            after,
            name,
            ..
        } = &report.differences[0].change
        else {
            panic!()
        };
        assert_eq!(name, "colour");
        assert_eq!(before.as_ref().unwrap()[0].value, "red");
        assert_eq!(after.as_ref().unwrap()[0].value, "blue");
        assert_eq!(report.by_label["det/person"].objects_moved, 1);
        assert_eq!(report.by_label["det/person"].objects_removed, 1);
        assert_eq!(report.by_source["other"].objects_removed, 1);
        assert_eq!(report.total.differences(), 6);
        // a looser threshold matches the 15 px move: moved, not removed/added
        let loose = diff(
            &a,
            &b,
            &DiffOptions {
                iou: 0.1,
                move_px: 1.0,
            },
        );
        assert_eq!(loose.by_label["det/person"].objects_moved, 2);
        assert_eq!(loose.by_label["det/person"].objects_added, 0);
    }

    #[test]
    fn a_move_within_a_pixel_is_not_a_move_and_matching_is_greedy() {
        let a = vec![frame(
            "cam",
            0,
            vec![object(1, "p", 50.0, 50.0), object(2, "p", 60.0, 50.0)],
        )];
        let mut b = a.clone();
        b[0].objects[0].detection_box.xc += 0.5;
        // the same boxes in the other order: matched to their best IoU
        b[0].objects.swap(0, 1);
        let report = diff(&a, &b, &DiffOptions::default());
        assert!(report.is_empty(), "{report:?}");
    }

    #[test]
    fn iou_of_axis_aligned_boxes() {
        let b = |xc, yc, w, h| BoxRecord {
            xc,
            yc,
            width: w,
            height: h,
            angle: None,
        };
        assert!((iou(&b(5.0, 5.0, 10.0, 10.0), &b(5.0, 5.0, 10.0, 10.0)) - 1.0).abs() < 1e-9);
        assert_eq!(
            iou(&b(5.0, 5.0, 10.0, 10.0), &b(50.0, 5.0, 10.0, 10.0)),
            0.0
        );
        // half overlap: 50 / 150
        let v = iou(&b(5.0, 5.0, 10.0, 10.0), &b(10.0, 5.0, 10.0, 10.0));
        assert!((v - 1.0 / 3.0).abs() < 1e-9, "{v}");
        assert_eq!(iou(&b(0.0, 0.0, 0.0, 0.0), &b(0.0, 0.0, 0.0, 0.0)), 0.0);
    }

    #[test]
    fn bad_input_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(
            &path,
            "{\"event\":\"eos\",\"source_id\":\"a\"}\n\nnot json\n",
        )
        .unwrap();
        let e = read_frames(&path).unwrap_err().to_string();
        assert!(e.contains("a.jsonl:3"), "{e}");
        assert!(read_frames(dir.path().join("none")).is_err());
        assert!(DiffOptions {
            iou: 0.0,
            move_px: 1.0
        }
        .check()
        .is_err());
        assert!(DiffOptions {
            iou: f64::NAN,
            move_px: 1.0
        }
        .check()
        .is_err());
        DiffOptions::default().check().unwrap();
    }
}
