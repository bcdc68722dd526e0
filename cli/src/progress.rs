//! A progress line with frames/s and bytes/s on stderr, shown only when
//! stdout is a terminal (so piped JSON output stays clean).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Counts frames and bytes; draws when stdout is a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    bytes: u64,
}

impl Progress {
    /// A progress line prefixed with `what` (e.g. "sent", "received").
    pub fn new(what: &'static str) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {pos} frames, {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(what);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar
        });
        Self {
            bar,
            start: Instant::now(),
            bytes: 0,
        }
    }

    /// One more frame of `bytes` payload bytes.
    pub fn frame(&mut self, bytes: usize) {
        self.bytes += bytes as u64;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let secs = self.start.elapsed().as_secs_f64();
            bar.set_message(rates(bar.position(), self.bytes, secs));
        }
    }

    /// Clears the line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `12.3 frames/s, 4.5 MB/s` (one decimal; indicatif's own `{per_sec}`
/// printed `8.3785/s`).
fn rates(frames: u64, bytes: u64, secs: f64) -> String {
    let secs = secs.max(1e-3);
    format!(
        "{:.1} frames/s, {:.1} MB/s",
        frames as f64 / secs,
        bytes as f64 / secs / 1e6
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_have_one_decimal() {
        assert_eq!(super::rates(67, 8_378_500, 7.996), "8.4 frames/s, 1.0 MB/s");
        assert_eq!(super::rates(0, 0, 0.0), "0.0 frames/s, 0.0 MB/s");
    }
}
