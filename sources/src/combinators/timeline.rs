//! [`Timeline`]: one source id's timestamps kept increasing when its frames
//! come from several segments (the rounds of [`super::Repeat`], the parts
//! of a [`super::Chain`]). Savant stops a stream whose timestamps jump back.

use std::collections::HashMap;

use savant_sdk_core::model::VideoFrame;

/// Where one source id's stream stands.
#[derive(Debug, Default, Clone)]
struct Track {
    /// Frames placed so far, over all segments.
    placed: u64,
    /// Frames placed in the current segment.
    in_segment: u64,
    /// Whether the current segment has placed a frame yet.
    segment_started: bool,
    /// Added to pts and dts in the current segment (when not index-based).
    offset: i64,
    /// The end of the latest frame placed (pts + duration).
    end: i64,
}

/// Shifts frames so that each source id's pts keep increasing across
/// segments.
///
/// A frame whose pts is the one its frame rate gives its index in the
/// segment (pts = index × frame duration, computed from the index, not
/// accumulated; with the duration of one frame, within a tick, or none) gets the pts of
/// its index in the whole stream, so `repeat` and `chain` of such sources
/// give exactly what one longer source would. Other frames are shifted to
/// start where the source id's previous segment ended; a segment that
/// already starts later is left as it is.
#[derive(Debug, Default, Clone)]
pub(crate) struct Timeline {
    tracks: HashMap<String, Track>,
}

/// The pts of frame `index` at `framerate` ("N/D") in `time_base` ticks.
fn index_pts(index: u64, frame: &VideoFrame) -> Option<i64> {
    let (n, d) = frame.framerate.split_once('/')?;
    let (n, d): (i128, i128) = (n.parse().ok()?, d.parse().ok()?);
    let (tb_n, tb_d) = (
        i128::from(frame.time_base.numerator),
        i128::from(frame.time_base.denominator),
    );
    if n <= 0 || d <= 0 || tb_n <= 0 || tb_d <= 0 {
        return None;
    }
    // index frames of d/n seconds each, in ticks of tb_n/tb_d seconds
    i64::try_from(i128::from(index) * d * tb_d / (n * tb_n)).ok()
}

impl Timeline {
    /// A new segment begins (a new round, the next source of a chain).
    pub(crate) fn next_segment(&mut self) {
        for t in self.tracks.values_mut() {
            t.in_segment = 0;
            t.segment_started = false;
        }
    }

    /// Places `frame` on its source id's timeline.
    pub(crate) fn place(&mut self, frame: &mut VideoFrame) {
        let track = match self.tracks.get_mut(&frame.source_id) {
            Some(t) => t,
            None => self.tracks.entry(frame.source_id.clone()).or_default(),
        };
        // (pts, duration) of the frame's index in the whole stream, when
        // its pts and duration are those of its index in the segment
        let by_index = index_pts(track.in_segment, frame)
            .filter(|p| *p == frame.pts)
            .and_then(|_| {
                let own = index_pts(track.in_segment + 1, frame)? - frame.pts;
                // a constant duration is off by one tick where the index
                // pts round differently
                frame
                    .duration
                    .is_none_or(|d| (d - own).abs() <= 1)
                    .then_some(())
            })
            .and_then(|_| {
                let pts = index_pts(track.placed, frame)?;
                Some((pts, index_pts(track.placed + 1, frame)? - pts))
            });
        if !track.segment_started {
            track.segment_started = true;
            track.offset = if track.placed == 0 {
                0
            } else {
                (track.end - frame.pts).max(0)
            };
        }
        let delta = match by_index {
            Some((pts, duration)) if track.placed > 0 && pts >= track.end => {
                if frame.duration.is_some() {
                    frame.duration = Some(duration);
                }
                pts - frame.pts
            }
            _ => track.offset,
        };
        frame.pts += delta;
        if let Some(dts) = &mut frame.dts {
            *dts += delta;
        }
        track.end = track
            .end
            .max(frame.pts + frame.duration.unwrap_or(1).max(1));
        track.placed += 1;
        track.in_segment += 1;
    }
}
