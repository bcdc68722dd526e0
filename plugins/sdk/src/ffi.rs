//! The C side of a plugin: descriptors and the generic `extern "C"`
//! functions the export macros point them at. Not for direct use.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use savant_sdk_component::codec::{decode_message, encode_message, DecodeOptions, VersionPolicy};
use savant_sdk_component::component::{BuildContext, SinkConfig, SourceConfig};
use savant_sdk_component::model::{EndOfStream, Message};
use savant_sdk_component::propagation::extract_trace_id;
use savant_sdk_component::sink::{Sink, SinkResult};
use savant_sdk_component::source::{Source, SourceFrame, SourceItem};
use savant_sdk_plugin_abi::{
    BytesRef, HostApi, Kind, PluginBuf, PluginDescriptor, PluginVTable, SinkInput, SourceOutput,
    Status, ABI_VERSION,
};

use crate::registry::{build_sink, build_source, schema_of};
use crate::{forward, StaticComponent, SDK_VERSION};

/// One instance behind the C boundary: the component, the runtime that
/// drives its async methods, and the host it logs to.
struct Instance<T> {
    runtime: tokio::runtime::Runtime,
    inner: T,
    host: HostApi,
}

/// The descriptor of source configuration `C`.
pub const fn source_descriptor<C: SourceConfig>() -> PluginDescriptor {
    PluginDescriptor {
        abi_version: ABI_VERSION,
        kind: Kind::SOURCE,
        sdk_version: BytesRef::from_static(SDK_VERSION),
        name: BytesRef::from_static(C::TYPE),
        description: BytesRef::from_static(C::DESCRIPTION),
        vtable: PluginVTable {
            create: create_source::<C>,
            next: Some(next),
            consume: None,
            finish: None,
            close: close::<Box<dyn Source>>,
            free,
            validate: validate_source::<C>,
            schema: schema::<C>,
        },
    }
}

/// The descriptor of sink configuration `C`.
pub const fn sink_descriptor<C: SinkConfig>() -> PluginDescriptor {
    PluginDescriptor {
        abi_version: ABI_VERSION,
        kind: Kind::SINK,
        sdk_version: BytesRef::from_static(SDK_VERSION),
        name: BytesRef::from_static(C::TYPE),
        description: BytesRef::from_static(C::DESCRIPTION),
        vtable: PluginVTable {
            create: create_sink::<C>,
            next: None,
            consume: Some(consume),
            finish: Some(finish),
            close: close::<Box<dyn Sink>>,
            free,
            validate: validate_sink::<C>,
            schema: schema::<C>,
        },
    }
}

fn config_str(config: BytesRef, name: &str) -> Result<&str, String> {
    // SAFETY: the host lends the configuration text for the call.
    std::str::from_utf8(unsafe { config.as_bytes() })
        .map_err(|e| format!("configuration of {name} is not UTF-8: {e}"))
}

unsafe extern "C" fn validate_source<C: SourceConfig>(
    config: BytesRef,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        let text = config_str(config, C::TYPE)?;
        (StaticComponent::source::<C>().validate)(text).map_err(|e| e.to_string())?;
        Ok(Status::OK)
    })
}

unsafe extern "C" fn validate_sink<C: SinkConfig>(
    config: BytesRef,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        let text = config_str(config, C::TYPE)?;
        (StaticComponent::sink::<C>().validate)(text).map_err(|e| e.to_string())?;
        Ok(Status::OK)
    })
}

unsafe extern "C" fn schema<C: savant_sdk_component::schemars::JsonSchema>(
    out: *mut PluginBuf,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        if out.is_null() {
            return Err("null output pointer".into());
        }
        let text = schema_of::<C>().to_string();
        // SAFETY: checked non-null; the host passes a writable PluginBuf.
        unsafe { out.write(lend(Bytes::from(text))) };
        Ok(Status::OK)
    })
}

/// Hands `bytes` to the host; [`free`] takes it back.
fn lend(bytes: Bytes) -> PluginBuf {
    if bytes.is_empty() {
        return PluginBuf::EMPTY;
    }
    let (ptr, len) = (bytes.as_ptr(), bytes.len());
    PluginBuf {
        ptr,
        len,
        handle: Box::into_raw(Box::new(bytes)).cast(),
    }
}

unsafe extern "C" fn free(buf: PluginBuf) {
    if buf.handle.is_null() {
        return;
    }
    // SAFETY: a non-null handle is a Box<Bytes> made by `lend`, freed once.
    let _ = catch_unwind(|| drop(unsafe { Box::from_raw(buf.handle.cast::<Bytes>()) }));
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    };
    match forward::take_panic_location() {
        Some(at) => format!("{text} (at {at})"),
        None => text,
    }
}

/// Runs `f`, turning its error or panic into a status and a message.
fn guarded(out_error: *mut PluginBuf, f: impl FnOnce() -> Result<Status, String>) -> Status {
    let (status, message) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(status)) => return status,
        Ok(Err(message)) => (Status::ERROR, message),
        Err(payload) => (Status::PANIC, panic_message(&*payload)),
    };
    if !out_error.is_null() {
        // SAFETY: the host passes a writable PluginBuf.
        unsafe { out_error.write(lend(Bytes::from(message))) };
    }
    status
}

fn build_instance<T>(
    host: *const HostApi,
    config: BytesRef,
    out_instance: *mut *mut c_void,
    name: &str,
    build: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Status, String> {
    // SAFETY: the host passes a valid HostApi (or null, refused here).
    let host = unsafe { host.as_ref() }.copied().ok_or("null host API")?;
    if host.abi_version != ABI_VERSION {
        return Err(format!(
            "{name}: host ABI version {} is not this plugin's {ABI_VERSION}",
            host.abi_version
        ));
    }
    if out_instance.is_null() {
        return Err("null instance pointer".into());
    }
    forward::install(host);
    let _host = forward::enter(host);
    let text = config_str(config, name)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("{name}: cannot start a runtime: {e}"))?;
    let inner = {
        let _rt = runtime.enter();
        build(text)?
    };
    let instance = Box::new(Instance {
        runtime,
        inner,
        host,
    });
    // SAFETY: checked non-null above.
    unsafe { out_instance.write(Box::into_raw(instance).cast()) };
    Ok(Status::OK)
}

unsafe extern "C" fn create_source<C: SourceConfig>(
    host: *const HostApi,
    config: BytesRef,
    out_instance: *mut *mut c_void,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        build_instance(host, config, out_instance, C::TYPE, |text| {
            // inside a .so the host's shutdown signal does not cross: the
            // host stops calling `next` and ends the streams itself
            build_source::<C>(text, &BuildContext::new(C::TYPE)).map_err(|e| e.to_string())
        })
    })
}

unsafe extern "C" fn create_sink<C: SinkConfig>(
    host: *const HostApi,
    config: BytesRef,
    out_instance: *mut *mut c_void,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        build_instance(host, config, out_instance, C::TYPE, |text| {
            build_sink::<C>(text, &BuildContext::new(C::TYPE)).map_err(|e| e.to_string())
        })
    })
}

/// The instance behind `ptr`.
///
/// # Safety
/// `ptr` is null or an `Instance<T>` made by `build_instance`, used by one
/// thread at a time.
unsafe fn instance<'a, T>(ptr: *mut c_void) -> Result<&'a mut Instance<T>, String> {
    unsafe { ptr.cast::<Instance<T>>().as_mut() }.ok_or_else(|| "null instance".to_string())
}

fn encode_item(item: SourceItem) -> Result<SourceOutput, String> {
    let (message, content, topic) = match item {
        SourceItem::Frame(SourceFrame { frame, content }) => {
            (Message::video_frame(frame), content, Bytes::new())
        }
        SourceItem::Batch { topic, batch } => (
            Message::video_frame_batch(batch),
            Bytes::new(),
            Bytes::from(topic),
        ),
        SourceItem::UserData(u) => (Message::user_data(u), Bytes::new(), Bytes::new()),
        SourceItem::EndOfStream(s) => (
            Message::end_of_stream(EndOfStream::new(s)),
            Bytes::new(),
            Bytes::new(),
        ),
    };
    let message = encode_message(&message).map_err(|e| format!("cannot encode the item: {e}"))?;
    Ok(SourceOutput {
        message: lend(message),
        content: lend(content),
        topic: lend(topic),
    })
}

unsafe extern "C" fn next(
    ptr: *mut c_void,
    out: *mut SourceOutput,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        // SAFETY: see `instance`.
        let inst = unsafe { instance::<Box<dyn Source>>(ptr) }?;
        if out.is_null() {
            return Err("null output pointer".into());
        }
        let _host = forward::enter(inst.host);
        match inst.runtime.block_on(inst.inner.next()) {
            Ok(Some(item)) => {
                let output = encode_item(item)?;
                // SAFETY: checked non-null; the host passes a writable SourceOutput.
                unsafe { out.write(output) };
                Ok(Status::OK)
            }
            Ok(None) => Ok(Status::END),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// Decodes what the host lends into a [`SinkResult`] the sink owns.
fn decode_input(input: &SinkInput) -> Result<SinkResult, String> {
    // SAFETY: the host lends these buffers for the call.
    let (message, topic, content) = unsafe {
        (
            input.message.as_bytes(),
            input.topic.as_bytes(),
            input.content.as_bytes(),
        )
    };
    let options = DecodeOptions {
        max_message_size: usize::MAX,
        version: VersionPolicy::Any,
    };
    let message = decode_message(Bytes::copy_from_slice(message), &options)
        .map_err(|e| format!("host sent a message this plugin cannot decode: {e}"))?;
    Ok(SinkResult {
        topic: String::from_utf8_lossy(topic).into_owned(),
        trace_id: extract_trace_id(&message.propagated_context),
        content: (input.has_content == 1).then(|| Bytes::copy_from_slice(content)),
        message,
        log_handle: Default::default(),
        seq_gap: None,
    })
}

unsafe extern "C" fn consume(
    ptr: *mut c_void,
    input: *const SinkInput,
    out_error: *mut PluginBuf,
) -> Status {
    guarded(out_error, || {
        // SAFETY: see `instance`.
        let inst = unsafe { instance::<Box<dyn Sink>>(ptr) }?;
        // SAFETY: the host passes a valid SinkInput (or null, refused).
        let input = unsafe { input.as_ref() }.ok_or("null input")?;
        let _host = forward::enter(inst.host);
        let result = decode_input(input)?;
        inst.runtime
            .block_on(inst.inner.consume(result))
            .map_err(|e| e.to_string())?;
        Ok(Status::OK)
    })
}

unsafe extern "C" fn finish(ptr: *mut c_void, out_error: *mut PluginBuf) -> Status {
    guarded(out_error, || {
        // SAFETY: see `instance`.
        let inst = unsafe { instance::<Box<dyn Sink>>(ptr) }?;
        let _host = forward::enter(inst.host);
        inst.runtime
            .block_on(inst.inner.finish())
            .map_err(|e| e.to_string())?;
        Ok(Status::OK)
    })
}

unsafe extern "C" fn close<T>(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` is an Instance<T> from `build_instance`, closed once.
    let instance = unsafe { Box::from_raw(ptr.cast::<Instance<T>>()) };
    let _host = forward::enter(instance.host);
    let _ = catch_unwind(AssertUnwindSafe(move || drop(instance)));
}
