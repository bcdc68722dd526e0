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
    /// Frames placed in the current segment (0: it has not started).
    in_segment: u64,
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

/// A frame rate in ticks of a time base: frame `i` is at
/// `i * ticks / frames` (computed from the index, never accumulated).
#[derive(Debug, Clone, Copy)]
struct Rate {
    ticks: i128,
    frames: i128,
}

impl Rate {
    /// The rate of `frame`'s `framerate` ("N/D") in its time base.
    fn of(frame: &VideoFrame) -> Option<Rate> {
        let (n, d) = frame.framerate.split_once('/')?;
        let (n, d): (i128, i128) = (n.parse().ok()?, d.parse().ok()?);
        let (tb_n, tb_d) = (
            i128::from(frame.time_base.numerator),
            i128::from(frame.time_base.denominator),
        );
        if n <= 0 || d <= 0 || tb_n <= 0 || tb_d <= 0 {
            return None;
        }
        // frames of d/n seconds each, in ticks of tb_n/tb_d seconds
        Some(Rate {
            ticks: d * tb_d,
            frames: n * tb_n,
        })
    }

    /// The pts of frame `index`.
    fn pts(self, index: u64) -> Option<i64> {
        i64::try_from(i128::from(index) * self.ticks / self.frames).ok()
    }
}

impl Timeline {
    /// A new segment begins (a new round, the next source of a chain).
    pub(crate) fn next_segment(&mut self) {
        for t in self.tracks.values_mut() {
            t.in_segment = 0;
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
        let by_index = Rate::of(frame).and_then(|rate| {
            if rate.pts(track.in_segment)? != frame.pts {
                return None;
            }
            let own = rate.pts(track.in_segment + 1)? - frame.pts;
            // a constant duration is off by one tick where the index pts
            // round differently
            if frame.duration.is_some_and(|d| (d - own).abs() > 1) {
                return None;
            }
            let pts = rate.pts(track.placed)?;
            Some((pts, rate.pts(track.placed + 1)? - pts))
        });
        if track.in_segment == 0 {
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
