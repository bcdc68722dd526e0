//! `savant-sdk send` for video: files, folders of them, `file://` and
//! `rtsp://` URLs, one frame per access unit, passed through untouched.

use std::path::PathBuf;

use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use savant_sdk_core::client::SourceRunner;
use savant_sdk_core::source::{Source, SourceItem};

use crate::progress::Progress;
use crate::{emit, inputs};

/// What `send` was asked to do with video inputs.
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
    /// No EOS after the last frame.
    pub no_eos: bool,
}

/// The video inputs as one source (every file and camera in turn, round
/// after round, pts increasing throughout), and the name of the input the
/// latest item came from.
pub struct Opened {
    /// The frames and EOS of every input.
    pub source: Box<dyn Source>,
    /// The input (file or redacted URL) of the item `source` gave last.
    pub current: Arc<Mutex<String>>,
}

#[cfg(feature = "gstreamer")]
fn open_round(
    inputs: &[String],
    v: (&str, bool),
    current: &Arc<Mutex<String>>,
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
        let (name, current) = (savant_sdk_sources::redact_url(input), current.clone());
        sources.push(Box::new(source.map(move |item| {
            name.clone_into(&mut current.lock().expect("not poisoned"));
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
    let current = Arc::new(Mutex::new(String::new()));
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

/// Sends the video inputs; EOS where a source ends a stream (each file,
/// each parameter change, each camera reconnection) and at the end.
pub async fn run(v: VideoSend<'_>, opened: Opened, runner: SourceRunner) -> Result<()> {
    let Opened {
        mut source,
        current,
    } = opened;
    let name = || current.lock().expect("not poisoned").clone();
    let mut progress = Progress::new("sent");
    let mut frames = 0u64;
    let mut open_stream = false;
    // With --no-eos, an EOS is held back until a frame follows it, so the
    // last one is never sent.
    let mut held_eos: Option<String> = None;
    let mut held_name = String::new();
    let stop = crate::interrupted();
    tokio::pin!(stop);
    let interrupted = loop {
        let item = tokio::select! {
            item = source.next() => item?,
            _ = &mut stop => break true,
        };
        match item {
            Some(SourceItem::Frame(frame)) => {
                if let Some(id) = held_eos.take() {
                    let r = runner.send_eos(&id).await?;
                    emit(crate::send::line(&r, Some(&held_name), None));
                }
                let bytes = frame.content.len();
                let r = runner.send(frame).await?;
                progress.frame(bytes);
                emit(crate::send::line(&r, Some(&name()), Some(bytes)));
                frames += 1;
                open_stream = true;
            }
            Some(SourceItem::EndOfStream(id)) if v.no_eos => {
                held_eos = Some(id);
                held_name = name();
                open_stream = false;
            }
            Some(SourceItem::EndOfStream(id)) => {
                let r = runner.send_eos(&id).await?;
                emit(crate::send::line(&r, Some(&name()), None));
                open_stream = false;
            }
            Some(_) => {}
            None => break false,
        }
    };
    progress.finish();
    if open_stream && !v.no_eos {
        let r = runner.send_eos(v.source_id).await?;
        emit(crate::send::line(&r, None, None));
    }
    runner.close().await;
    if interrupted {
        eprintln!("savant-sdk: interrupted after {frames} frames");
    }
    Ok(())
}
