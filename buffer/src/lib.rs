//! A persistent buffer between Savant sources and a module, as Savant's
//! buffer adapter is: every message received is written to an embedded
//! store ([redb](https://docs.rs/redb)) before it is acknowledged
//! upstream, sent on to the module in the order it came (one FIFO, so
//! every source's order is kept) as its original bytes, and removed only
//! after the module accepted it (at-least-once: after a crash a message
//! may be sent twice, never lost once acknowledged).
//!
//! When full ([`BufferSettings::capacity`]) video frames are refused
//! until the queue has drained to the threshold (hysteresis), while EOS,
//! shutdown and other service messages still have their reserve
//! ([`BufferSettings::service_reserve`]). Counters under the names of
//! Savant's buffer adapter are served on a Prometheus endpoint and logged.
//!
//! * [`Buffer`] runs one; [`BufferSettings`] says how.
//! * [`PersistentQueue`] is the store with its admission rule
//!   ([`Admission`]), usable alone.

mod error;
mod metrics;
mod queue;
mod service;
mod settings;

pub use error::{BufferError, Result};
pub use queue::{Admission, Kind, PersistentQueue, StoredMessage, STORE_FILE};
pub use service::{Buffer, BufferStats};
pub use settings::BufferSettings;
