//! Inside a `.so`: a minimal `tracing` subscriber that formats events and
//! hands them to the host's log callback.
//!
//! The host API of the instance being called is kept in a thread-local
//! for the duration of each vtable call; events from other threads go to
//! the host API given last. Spans are not forwarded: the host re-emits
//! each line inside its own current span.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::{Once, RwLock};

use savant_sdk_plugin_abi::{level, HostApi};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

static GLOBAL: RwLock<Option<HostApi>> = RwLock::new(None);
static INSTALL: Once = Once::new();

thread_local! {
    static CURRENT: Cell<Option<HostApi>> = const { Cell::new(None) };
    /// Where the last panic inside a vtable call happened: the call
    /// reports it with the panic's message, once.
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Where the last panic on this thread inside a vtable call happened.
pub(crate) fn take_panic_location() -> Option<String> {
    PANIC_AT.with(|p| p.borrow_mut().take())
}

/// Makes `host` the fallback for events outside vtable calls and, the
/// first time, installs the forwarding subscriber and a panic hook: a
/// panic inside a vtable call is reported by that call's error (with its
/// location), any other panic is logged through the host.
pub(crate) fn install(host: HostApi) {
    if let Ok(mut g) = GLOBAL.write() {
        *g = Some(host);
    }
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Forward);
        std::panic::set_hook(Box::new(|info| {
            if CURRENT.with(|c| c.get().is_some()) {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                tracing::error!(target: "panic", "{info}");
            }
        }));
    });
}

/// While alive, events on this thread go to `host`.
pub(crate) struct Entered(Option<HostApi>);

pub(crate) fn enter(host: HostApi) -> Entered {
    Entered(CURRENT.with(|c| c.replace(Some(host))))
}

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| c.set(prev));
    }
}

fn current() -> Option<HostApi> {
    CURRENT
        .with(|c| c.get())
        .or_else(|| GLOBAL.read().ok().and_then(|g| *g))
}

fn level_number(l: &Level) -> u32 {
    match *l {
        Level::ERROR => level::ERROR,
        Level::WARN => level::WARN,
        Level::INFO => level::INFO,
        Level::DEBUG => level::DEBUG,
        Level::TRACE => level::TRACE,
    }
}

/// `message key=value key=value`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

struct Forward;

impl Subscriber for Forward {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // the host's level can differ per instance: ask every time
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && current().is_some_and(|h| level_number(metadata.level()) <= h.max_level)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let Some(host) = current() else { return };
        let mut line = Line::default();
        event.record(&mut line);
        line.message.push_str(&line.fields);
        let target = event.metadata().target();
        // SAFETY: the host promised `log` with `ctx` is callable from any
        // thread while the library is loaded; the pointers are valid for
        // the call.
        unsafe {
            (host.log)(
                host.ctx,
                level_number(event.metadata().level()),
                target.as_ptr(),
                target.len(),
                line.message.as_ptr(),
                line.message.len(),
            )
        };
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
