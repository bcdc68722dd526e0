//! The JSON lines on stdout: line by line on a terminal; into a pipe or a
//! file buffered, so that a line is not a `write` of its own, and flushed
//! when the process goes idle (every 50 ms at the most), on a signal and
//! at exit.

use std::io::{BufWriter, IsTerminal, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How long buffered lines may wait while the process is otherwise idle.
const IDLE_FLUSH: Duration = Duration::from_millis(50);

struct Output {
    out: Mutex<BufWriter<Stdout>>,
    terminal: bool,
    dirty: AtomicBool,
}

fn output() -> &'static Output {
    static OUT: OnceLock<Output> = OnceLock::new();
    OUT.get_or_init(|| {
        let terminal = std::io::stdout().is_terminal();
        if !terminal {
            // the idle flush: buffered lines reach a reader within 50 ms
            let _ = std::thread::Builder::new()
                .name("stdout-flush".into())
                .spawn(|| loop {
                    std::thread::sleep(IDLE_FLUSH);
                    flush();
                });
        }
        Output {
            out: Mutex::new(BufWriter::with_capacity(64 * 1024, std::io::stdout())),
            terminal,
            dirty: AtomicBool::new(false),
        }
    })
}

/// Prints one JSON line to stdout.
pub(crate) fn emit(v: serde_json::Value) {
    emit_serialized(&v);
}

/// Prints one JSON line to stdout, serialised straight into the buffer
/// (no `serde_json::Value` made first: the per-message lines of `send`
/// and `receive` cost no allocation this way).
pub(crate) fn emit_serialized<T: serde::Serialize + ?Sized>(v: &T) {
    let o = output();
    let mut out = o.out.lock().unwrap_or_else(|p| p.into_inner());
    if serde_json::to_writer(&mut *out, v).is_ok() {
        let _ = out.write_all(b"\n");
    }
    if o.terminal {
        let _ = out.flush();
    } else {
        o.dirty.store(true, Ordering::Release);
    }
}

/// A value written as a JSON string through its `Display` (a trace id, an
/// attribute's `namespace/name`), without a `String` made for it.
pub(crate) struct AsStr<T>(pub T);

impl<T: std::fmt::Display> serde::Serialize for AsStr<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Writes out what is buffered (at exit, on a signal, when idle).
pub(crate) fn flush() {
    let o = output();
    if o.dirty.swap(false, Ordering::AcqRel) || o.terminal {
        let _ = o.out.lock().unwrap_or_else(|p| p.into_inner()).flush();
    }
}
