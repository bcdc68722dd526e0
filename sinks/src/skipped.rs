//! [`Skipped`]: the one rule every sink follows for frames it cannot take:
//! skip them, count them by source id and codec, and warn once per source
//! and codec (not once per frame).

use std::collections::HashMap;

/// Why a sink did not write a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The sink does not take this codec (an image sink and H.264, a video
    /// container and JPEG, ...).
    Codec,
    /// The frame has no content.
    NoContent,
    /// Only keyframes are written, or a file waits for its first keyframe.
    NotKeyframe,
    /// The content does not decode as the codec says.
    Undecodable,
}

impl SkipReason {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Codec => "codec not taken",
            SkipReason::NoContent => "no content",
            SkipReason::NotKeyframe => "not a keyframe",
            SkipReason::Undecodable => "content does not decode",
        }
    }
}

/// Frames a sink skipped, by source id and codec. The first skip of a
/// (source id, codec, reason) is logged; the rest are only counted. A
/// source's entries are released at its EOS ([`Skipped::end_of_stream`]).
#[derive(Debug, Default)]
pub struct Skipped {
    by_source: HashMap<String, HashMap<(String, SkipReason), u64>>,
    total: u64,
}

impl Skipped {
    /// Counts one skipped frame of `source_id` with `codec`; logs the
    /// first of each (source id, codec, reason) for `sink`.
    pub fn record(&mut self, sink: &str, source_id: &str, codec: Option<&str>, reason: SkipReason) {
        self.total += 1;
        let codec = codec.unwrap_or("<none>");
        let counts = match self.by_source.get_mut(source_id) {
            Some(c) => c,
            None => self.by_source.entry(source_id.to_string()).or_default(),
        };
        if let Some(n) = counts.get_mut(&(codec.to_string(), reason)) {
            *n += 1;
            return;
        }
        counts.insert((codec.to_string(), reason), 1);
        tracing::warn!(
            sink,
            source_id,
            codec,
            reason = reason.as_str(),
            "skipping frames this sink cannot take (logged once per source and codec; counted)"
        );
    }

    /// Frames skipped in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Frames of `source_id` with `codec` skipped since its last EOS.
    pub fn count(&self, source_id: &str, codec: Option<&str>) -> u64 {
        let codec = codec.unwrap_or("<none>");
        self.by_source.get(source_id).map_or(0, |c| {
            c.iter()
                .filter(|((k, _), _)| k == codec)
                .map(|(_, n)| n)
                .sum()
        })
    }

    /// Releases `source_id`'s entries (a new stream warns again).
    pub fn end_of_stream(&mut self, source_id: &str) {
        self.by_source.remove(source_id);
    }
}

/// Creates `dir/name` without replacing a file that exists: when `name`
/// is taken, `stem-1.ext`, `stem-2.ext`, ... is used instead, and the name
/// chosen is returned (callers warn when it differs).
pub(crate) fn create_new(
    dir: &std::path::Path,
    name: &str,
    content: &[u8],
) -> std::io::Result<String> {
    use std::io::Write as _;
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut candidate = name.to_string();
    for n in 1u32.. {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(&candidate))
        {
            Ok(mut f) => {
                f.write_all(content)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                candidate = if ext.is_empty() {
                    format!("{stem}-{n}")
                } else {
                    format!("{stem}-{n}.{ext}")
                };
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 names run out")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_warning_per_source_and_codec_and_every_frame_counted() {
        let lines = Lines::default();
        let out = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .finish();
        let mut s = Skipped::default();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..60 {
                s.record("t", "a", Some("h264"), SkipReason::Codec);
                s.record("t", "b", Some("h264"), SkipReason::Codec);
            }
            s.record("t", "a", Some("hevc"), SkipReason::Codec);
            s.end_of_stream("a");
            s.record("t", "a", Some("h264"), SkipReason::Codec);
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        // a/h264, b/h264, a/hevc, then a/h264 again after a's EOS
        assert_eq!(text.lines().count(), 4, "{text}");
        assert_eq!(s.total(), 122);
        assert_eq!(s.count("b", Some("h264")), 60);
        assert_eq!(s.count("a", Some("h264")), 1);
    }
}
