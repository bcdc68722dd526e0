//! [`DecodingSink`]: a [`Sink`] that decodes every frame and hands user
//! code the picture.

use async_trait::async_trait;
use savant_sdk_component::sink::{Sink, SinkResult};

use crate::decode::{DecodeStats, Decoded, DecoderSettings, FrameDecoder, UndecodedReason};
use crate::picture::Picture;

/// What a [`DecodingSink`] calls: user code that wants pictures.
///
/// ```no_run
/// use async_trait::async_trait;
/// use savant_sdk_component::sink::SinkResult;
/// use savant_sdk_gst::{DecodingSink, Picture, PictureSink};
///
/// struct Brightness;
///
/// #[async_trait]
/// impl PictureSink for Brightness {
///     async fn picture(&mut self, result: SinkResult, picture: Picture) -> savant_sdk_component::Result<()> {
///         let sum: u64 = picture.as_bytes().iter().map(|b| u64::from(*b)).sum();
///         println!("{} {:?}: {}", result.source_id(), result.pts(), sum / picture.as_bytes().len() as u64);
///         Ok(())
///     }
/// }
///
/// let sink = DecodingSink::new(Brightness); // a Sink for SinkRunner::run or a pipeline
/// ```
#[async_trait]
pub trait PictureSink: Send {
    /// A frame and its picture, in order per source id.
    async fn picture(
        &mut self,
        result: SinkResult,
        picture: Picture,
    ) -> savant_sdk_component::Result<()>;

    /// A message without a picture: `reason` for a frame that did not
    /// decode, `None` for an EOS and the other non-frame messages. The
    /// default does nothing.
    async fn other(
        &mut self,
        result: SinkResult,
        reason: Option<UndecodedReason>,
    ) -> savant_sdk_component::Result<()> {
        let _ = (result, reason);
        Ok(())
    }

    /// Called once after the last picture.
    async fn finish(&mut self) -> savant_sdk_component::Result<()> {
        Ok(())
    }

    /// A short name for logs and errors.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
}

/// A [`Sink`] that decodes frames with a [`FrameDecoder`] and calls a
/// [`PictureSink`] with each picture, in order per source id.
///
/// Decoding runs on the calling task: on a multi-threaded tokio runtime
/// inside `block_in_place`, so other tasks move on while a decoder works;
/// a slow decoder slows `consume`, which is the backpressure on the reader.
pub struct DecodingSink<P> {
    decoder: FrameDecoder,
    inner: P,
    out: Vec<Decoded>,
}

impl<P: PictureSink> DecodingSink<P> {
    /// Decodes with the default [`DecoderSettings`].
    pub fn new(inner: P) -> Self {
        Self::with_settings(inner, DecoderSettings::default())
    }

    /// Decodes with `settings`.
    pub fn with_settings(inner: P, settings: DecoderSettings) -> Self {
        Self {
            decoder: FrameDecoder::with_settings(settings),
            inner,
            out: Vec::new(),
        }
    }

    /// The decoder's counters.
    pub fn stats(&self) -> DecodeStats {
        self.decoder.stats()
    }

    /// The picture sink.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The picture sink, by value.
    pub fn into_inner(self) -> P {
        self.inner
    }

    async fn hand_out(&mut self) -> savant_sdk_component::Result<()> {
        let mut out = std::mem::take(&mut self.out);
        let mut outcome = Ok(());
        for decoded in out.drain(..) {
            if outcome.is_err() {
                continue;
            }
            outcome = match decoded {
                Decoded::Picture { result, picture } => self.inner.picture(result, picture).await,
                Decoded::Undecoded { result, reason } => {
                    self.inner.other(result, Some(reason)).await
                }
                Decoded::Message(result) => self.inner.other(result, None).await,
            };
        }
        self.out = out;
        outcome
    }

    fn sink_error(&self, e: crate::GstError) -> savant_sdk_component::Error {
        savant_sdk_component::Error::sink(self.inner.name().to_string(), e)
    }
}

/// Runs `f` where blocking is allowed: inside `block_in_place` on a
/// multi-threaded tokio runtime (other tasks move to other workers while
/// a decoder works), directly elsewhere.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[async_trait]
impl<P: PictureSink> Sink for DecodingSink<P> {
    async fn consume(&mut self, result: SinkResult) -> savant_sdk_component::Result<()> {
        let (decoder, out) = (&mut self.decoder, &mut self.out);
        let pushed = blocking(|| decoder.push(result, out));
        // what came out before an error is still handed out
        self.hand_out().await?;
        pushed.map_err(|e| self.sink_error(e))
    }

    async fn finish(&mut self) -> savant_sdk_component::Result<()> {
        let (decoder, out) = (&mut self.decoder, &mut self.out);
        let finished = blocking(|| decoder.finish(out));
        self.hand_out().await?;
        finished.map_err(|e| self.sink_error(e))?;
        self.inner.finish().await
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}
