//! Loaded components as ordinary [`Source`]s and [`Sink`]s.

use std::ffi::c_void;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use savant_sdk_core::codec::{decode_message, encode_message, DecodeOptions, VersionPolicy};
use savant_sdk_core::model::MessagePayload;
use savant_sdk_core::sink::{Sink, SinkResult};
use savant_sdk_core::source::{Source, SourceFrame, SourceItem};
use savant_sdk_core::Error;
use savant_sdk_plugin_abi::{BytesRef, FreeFn, PluginBuf, SinkInput, SourceOutput, Status};

use crate::error::PluginHostError;
use crate::library::DynComponent;

/// A plugin buffer owned by the host until dropped, then handed back to
/// the plugin's `free`. Frame payloads and messages are `Bytes` over it:
/// nothing is copied.
struct Lent {
    buf: PluginBuf,
    free: FreeFn,
}

// SAFETY: the ABI lets `free` be called from any thread, and the buffer
// is not written while lent.
unsafe impl Send for Lent {}
unsafe impl Sync for Lent {}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the plugin lends `len` bytes at `ptr` until `free`.
        unsafe {
            BytesRef {
                ptr: self.buf.ptr,
                len: self.buf.len,
            }
            .as_bytes()
        }
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if self.buf.needs_free() {
            let buf = std::mem::replace(&mut self.buf, PluginBuf::EMPTY);
            // SAFETY: handed back once, as the ABI asks.
            unsafe { (self.free)(buf) };
        }
    }
}

impl Lent {
    fn new(buf: PluginBuf, free: FreeFn) -> Self {
        Self { buf, free }
    }
    fn into_bytes(self) -> Bytes {
        if self.buf.needs_free() {
            Bytes::from_owner(self)
        } else {
            Bytes::new()
        }
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(self.as_ref()).into_owned()
    }
}

fn call_error(plugin: &str, call: &'static str, status: Status, err: &Lent) -> PluginHostError {
    let plugin = plugin.to_string();
    if status == Status::PANIC {
        PluginHostError::Panicked {
            plugin,
            call,
            message: err.text(),
        }
    } else {
        PluginHostError::Failed {
            plugin,
            call,
            message: err.text(),
        }
    }
}

impl DynComponent {
    /// Parses and checks `config` in the plugin, building nothing.
    pub(crate) fn validate(&self, config: &str) -> Result<(), PluginHostError> {
        let mut err = PluginBuf::EMPTY;
        // SAFETY: arguments valid for the call, as the ABI requires.
        let status = unsafe { (self.vtable.validate)(BytesRef::new(config.as_bytes()), &mut err) };
        let err = Lent::new(err, self.vtable.free);
        match status {
            Status::OK => Ok(()),
            s => Err(call_error(&self.name, "validate", s, &err)),
        }
    }

    /// The JSON Schema of the component's configuration.
    pub(crate) fn schema(&self) -> Result<serde_json::Value, PluginHostError> {
        let (mut out, mut err) = (PluginBuf::EMPTY, PluginBuf::EMPTY);
        // SAFETY: arguments valid for the call, as the ABI requires.
        let status = unsafe { (self.vtable.schema)(&mut out, &mut err) };
        let (out, err) = (
            Lent::new(out, self.vtable.free),
            Lent::new(err, self.vtable.free),
        );
        match status {
            Status::OK => {
                serde_json::from_slice(out.as_ref()).map_err(|e| PluginHostError::Malformed {
                    plugin: self.name.clone(),
                    call: "schema",
                    reason: format!("not JSON: {e}"),
                })
            }
            s => Err(call_error(&self.name, "schema", s, &err)),
        }
    }
}

/// Runs a blocking plugin call without stalling other tasks on a
/// multi-thread runtime (same thread, so the current span is kept).
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The instance pointer and what is needed to call it.
struct Instance {
    component: Arc<DynComponent>,
    ptr: *mut c_void,
    poisoned: bool,
}

// SAFETY: the ABI allows an instance to move between threads; `&mut self`
// on every call keeps it to one thread at a time.
unsafe impl Send for Instance {}

impl Instance {
    fn create(component: Arc<DynComponent>, config: &str) -> Result<Self, PluginHostError> {
        let host = component.host_api();
        let mut ptr: *mut c_void = std::ptr::null_mut();
        let mut err = PluginBuf::EMPTY;
        // SAFETY: arguments valid for the call, as the ABI requires.
        let status = unsafe {
            (component.vtable.create)(&host, BytesRef::new(config.as_bytes()), &mut ptr, &mut err)
        };
        let err = Lent::new(err, component.vtable.free);
        let plugin = component.name.clone();
        match status {
            Status::OK if !ptr.is_null() => Ok(Self {
                component,
                ptr,
                poisoned: false,
            }),
            Status::OK => Err(PluginHostError::Malformed {
                plugin,
                call: "create",
                reason: "no instance".into(),
            }),
            Status::PANIC => Err(PluginHostError::Panicked {
                plugin,
                call: "create",
                message: err.text(),
            }),
            _ => Err(PluginHostError::Failed {
                plugin,
                call: "create",
                message: err.text(),
            }),
        }
    }

    fn name(&self) -> &str {
        &self.component.name
    }

    /// Calls `f` unless poisoned and maps its status; a panic poisons.
    fn call(
        &mut self,
        call: &'static str,
        f: impl FnOnce(*mut c_void, *mut PluginBuf) -> Status,
    ) -> Result<Status, PluginHostError> {
        if self.poisoned {
            return Err(PluginHostError::Poisoned {
                plugin: self.name().to_string(),
            });
        }
        let mut err = PluginBuf::EMPTY;
        let status = f(self.ptr, &mut err);
        let err = Lent::new(err, self.component.vtable.free);
        let plugin = || self.component.name.clone();
        match status {
            Status::OK | Status::END => Ok(status),
            Status::ERROR => Err(PluginHostError::Failed {
                plugin: plugin(),
                call,
                message: err.text(),
            }),
            Status::PANIC => {
                self.poisoned = true;
                Err(PluginHostError::Panicked {
                    plugin: plugin(),
                    call,
                    message: err.text(),
                })
            }
            Status(other) => {
                self.poisoned = true;
                Err(PluginHostError::Malformed {
                    plugin: plugin(),
                    call,
                    reason: format!("unknown status {other}"),
                })
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: closed once, last.
        unsafe { (self.component.vtable.close)(self.ptr) };
    }
}

/// A source loaded from a `.so`: an ordinary [`Source`].
///
/// Calls into the plugin block the calling thread (on a multi-thread
/// runtime through `block_in_place`). The plugin's log lines become
/// `tracing` events in the caller's current span, inside a
/// `savant.plugin.next` span of level DEBUG.
pub struct PluginSource {
    instance: Instance,
}

impl std::fmt::Debug for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSource")
            .field("component", &self.instance.component)
            .finish()
    }
}

impl PluginSource {
    pub(crate) fn create(
        component: Arc<DynComponent>,
        config: &str,
    ) -> Result<Self, PluginHostError> {
        Ok(Self {
            instance: Instance::create(component, config)?,
        })
    }

    fn next_item(&mut self) -> Result<Option<SourceItem>, PluginHostError> {
        let next =
            self.instance
                .component
                .vtable
                .next
                .ok_or_else(|| PluginHostError::WrongKind {
                    plugin: self.instance.name().to_string(),
                    actual: "sink",
                    expected: "source",
                })?;
        let mut out = SourceOutput::EMPTY;
        // SAFETY: valid instance and out-pointers for the call.
        let status = self
            .instance
            .call("next", |ptr, err| unsafe { next(ptr, &mut out, err) });
        let free = self.instance.component.vtable.free;
        let (message, content, topic) = (
            Lent::new(out.message, free),
            Lent::new(out.content, free),
            Lent::new(out.topic, free),
        );
        if status? == Status::END {
            return Ok(None);
        }
        let malformed = |reason: String| PluginHostError::Malformed {
            plugin: self.instance.name().to_string(),
            call: "next",
            reason,
        };
        let options = DecodeOptions {
            max_message_size: usize::MAX,
            version: VersionPolicy::Any,
        };
        let message =
            decode_message(message.into_bytes(), &options).map_err(|e| malformed(e.to_string()))?;
        Ok(Some(match message.payload {
            MessagePayload::VideoFrame(frame) => SourceItem::Frame(SourceFrame {
                frame: *frame,
                content: content.into_bytes(),
            }),
            MessagePayload::VideoFrameBatch(batch) => SourceItem::Batch {
                topic: String::from_utf8(topic.as_ref().to_vec())
                    .map_err(|_| malformed("batch topic is not UTF-8".into()))?,
                batch,
            },
            MessagePayload::UserData(u) => SourceItem::UserData(u),
            MessagePayload::EndOfStream(e) => SourceItem::EndOfStream(e.source_id),
            other => {
                let kind = savant_sdk_core::model::Message::new(other).kind();
                return Err(malformed(format!(
                    "a source cannot produce a {kind} message"
                )));
            }
        }))
    }
}

#[async_trait]
impl Source for PluginSource {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        let span = tracing::debug_span!("savant.plugin.next", plugin = %self.instance.name());
        let result = span.in_scope(|| blocking(|| self.next_item()));
        result.map_err(|e| Error::source(self.instance.name(), e))
    }

    fn name(&self) -> &str {
        self.instance.name()
    }
}

/// A sink loaded from a `.so`: an ordinary [`Sink`].
///
/// Each message is handed over inside an INFO span
/// `savant.plugin.consume` with the fields `plugin`, `source_id`, `pts`
/// and `trace_id` (the frame's trace), so the plugin's log lines about a
/// frame land in that frame's span.
pub struct PluginSink {
    instance: Instance,
}

impl std::fmt::Debug for PluginSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSink")
            .field("component", &self.instance.component)
            .finish()
    }
}

impl PluginSink {
    pub(crate) fn create(
        component: Arc<DynComponent>,
        config: &str,
    ) -> Result<Self, PluginHostError> {
        Ok(Self {
            instance: Instance::create(component, config)?,
        })
    }

    fn wrong_kind(&self) -> PluginHostError {
        PluginHostError::WrongKind {
            plugin: self.instance.name().to_string(),
            actual: "source",
            expected: "sink",
        }
    }

    fn consume_one(&mut self, result: &SinkResult) -> Result<(), PluginHostError> {
        let consume = self
            .instance
            .component
            .vtable
            .consume
            .ok_or_else(|| self.wrong_kind())?;
        let message =
            encode_message(&result.message).map_err(|source| PluginHostError::Encode {
                plugin: self.instance.name().to_string(),
                source,
            })?;
        let input = SinkInput {
            message: BytesRef::new(&message),
            topic: BytesRef::new(result.topic.as_bytes()),
            content: result
                .content
                .as_deref()
                .map_or(BytesRef::EMPTY, BytesRef::new),
            has_content: u8::from(result.content.is_some()),
        };
        // SAFETY: the input and its buffers live through the call.
        self.instance
            .call("consume", |ptr, err| unsafe { consume(ptr, &input, err) })
            .map(drop)
    }

    fn finish_all(&mut self) -> Result<(), PluginHostError> {
        let finish = self
            .instance
            .component
            .vtable
            .finish
            .ok_or_else(|| self.wrong_kind())?;
        // SAFETY: valid instance for the call.
        self.instance
            .call("finish", |ptr, err| unsafe { finish(ptr, err) })
            .map(drop)
    }
}

#[async_trait]
impl Sink for PluginSink {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_core::Result<()> {
        let span = tracing::info_span!(
            "savant.plugin.consume",
            plugin = %self.instance.name(),
            source_id = %result.source_id(),
            pts = result.pts(),
            trace_id = %result.trace_id.map(|t| t.to_string()).unwrap_or_default(),
        );
        let r = span.in_scope(|| blocking(|| self.consume_one(&result)));
        r.map_err(|e| Error::sink(self.instance.name(), e))
    }

    async fn finish(&mut self) -> savant_sdk_core::Result<()> {
        let span = tracing::debug_span!("savant.plugin.finish", plugin = %self.instance.name());
        let r = span.in_scope(|| blocking(|| self.finish_all()));
        r.map_err(|e| Error::sink(self.instance.name(), e))
    }

    fn name(&self) -> &str {
        self.instance.name()
    }
}
