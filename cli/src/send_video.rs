//! `savant-sdk send` for video: files, folders of them, `file://` and
//! `rtsp://` URLs as one source, one frame per access unit, passed through
//! untouched (the pipeline runner sends it).

use std::path::PathBuf;

use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use savant_sdk_core::source::{Source, SourceItem};

use crate::inputs;

/// What `send` was asked to do with video inputs.
#[cfg_attr(not(feature = "gstreamer"), allow(dead_code))]
pub struct VideoSend<'a> {
    /// The inputs, all video.
    pub inputs: &'a [PathBuf],
    /// Source id of the frames.
    pub source_id: &'a str,
    /// Start again after the last input, until interrupted.
    pub looped: bool,
    /// Rounds over the inputs (without `looped`).
    pub repeat: u64,
    /// Send in real time.
    pub pace: bool,
}

/// The name of the input an item came from, shared between the source
/// that sets it and the lines that print it (a clone is a reference count,
/// not a copy of the name).
pub type CurrentInput = Arc<Mutex<Arc<str>>>;

/// The video inputs as one source (every file and camera in turn, round
/// after round, pts increasing throughout), and the name of the input the
/// latest item came from.
pub struct Opened {
    /// The frames and EOS of every input.
    pub source: Box<dyn Source>,
    /// The input (file or redacted URL) of the item `source` gave last.
    pub current: CurrentInput,
}

#[cfg(feature = "gstreamer")]
fn open_round(
    inputs: &[String],
    v: (&str, bool),
    current: &CurrentInput,
) -> Result<Box<dyn Source>> {
    use savant_sdk_sources::{RtspSource, SourceExt, VideoFileSource};
    let (source_id, pace) = v;
    let mut sources: Vec<Box<dyn Source>> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let source: Box<dyn Source> = if inputs::is_rtsp_url(input) {
            Box::new(RtspSource::builder(source_id, input.as_str()).build()?)
        } else {
            Box::new(
                VideoFileSource::builder(source_id, input.as_str())
                    .pace(pace)
                    .build()?,
            )
        };
        // each item names its input as it comes out
        let name: Arc<str> = savant_sdk_sources::redact_url(input).into();
        let current = current.clone();
        sources.push(Box::new(source.map(move |item| {
            *current.lock().expect("not poisoned") = name.clone();
            item
        })));
    }
    let mut iter = sources.into_iter();
    let first = iter.next().context("send requires an input")?;
    Ok(iter.fold(first, |chain, next| Box::new(chain.chain(next))))
}

/// A source that fails with `error` once.
#[cfg(feature = "gstreamer")]
struct Failed(Option<savant_sdk_core::Error>);

#[cfg(feature = "gstreamer")]
#[savant_sdk_core::async_trait]
impl Source for Failed {
    async fn next(&mut self) -> savant_sdk_core::Result<Option<SourceItem>> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}

#[cfg(feature = "gstreamer")]
pub fn open(v: &VideoSend<'_>) -> Result<Opened> {
    use savant_sdk_sources::Repeat;
    if let Some(image) = v
        .inputs
        .iter()
        .find(|p| !matches!(inputs::is_video_input(p), Ok(true)))
    {
        bail!(
            "{} is not a video input: {}",
            image.display(),
            inputs::SEPARATE_COMMANDS
        );
    }
    let inputs = inputs::expand_video(v.inputs)?;
    let current: CurrentInput = Arc::new(Mutex::new(Arc::from("")));
    // the first round is opened here: a bad input fails before anything is sent
    let first = open_round(&inputs, (v.source_id, v.pace), &current)?;
    let rounds = if v.looped { None } else { Some(v.repeat) };
    if rounds == Some(1) {
        return Ok(Opened {
            source: first,
            current,
        });
    }
    let first = Mutex::new(Some(first));
    let (source_id, pace, names) = (v.source_id.to_string(), v.pace, current.clone());
    let source = Repeat::with_factory(rounds, move || {
        if let Some(s) = first.lock().expect("not poisoned").take() {
            return s;
        }
        open_round(&inputs, (&source_id, pace), &names).unwrap_or_else(|e| {
            Box::new(Failed(Some(savant_sdk_core::Error::source(
                "video",
                std::io::Error::other(crate::error_text(&e)),
            ))))
        })
    });
    Ok(Opened {
        source: Box::new(source),
        current,
    })
}

#[cfg(not(feature = "gstreamer"))]
pub fn open(_: &VideoSend<'_>) -> Result<Opened> {
    bail!("this savant-sdk was built without the `gstreamer` feature, which video inputs need")
}
