//! `savant-sdk send` for video: files, folders of them, `file://` and
//! `rtsp://` URLs, one frame per access unit, passed through untouched.

use std::path::PathBuf;

use anyhow::{bail, Result};
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
    /// Start again after the last input.
    pub looped: bool,
    /// Send in real time.
    pub pace: bool,
    /// No EOS after the last frame.
    pub no_eos: bool,
}

#[cfg(feature = "gstreamer")]
pub fn open(v: &VideoSend<'_>) -> Result<Box<dyn Source>> {
    use savant_sdk_sources::{RtspSource, SourceExt, VideoFileSource};
    if let Some(image) = v.inputs.iter().find(|p| !inputs::is_video_input(p)) {
        bail!(
            "{} is not a video input: send images and video in separate commands",
            image.display()
        );
    }
    if v.looped && v.inputs.len() > 1 {
        bail!("--loop takes one video input (put the files in a folder to loop over them)");
    }
    let mut sources: Vec<Box<dyn Source>> = Vec::with_capacity(v.inputs.len());
    for input in v.inputs {
        let s = input.to_string_lossy();
        if inputs::is_rtsp_url(&s) {
            sources.push(Box::new(
                RtspSource::builder(v.source_id, s.as_ref()).build()?,
            ));
        } else {
            sources.push(Box::new(
                VideoFileSource::builder(v.source_id, s.as_ref())
                    .looped(v.looped)
                    .pace(v.pace)
                    .build()?,
            ));
        }
    }
    let mut iter = sources.into_iter();
    let first = iter.next().expect("send requires an input");
    Ok(iter.fold(first, |chain, next| Box::new(chain.chain(next))))
}

#[cfg(not(feature = "gstreamer"))]
pub fn open(_: &VideoSend<'_>) -> Result<Box<dyn Source>> {
    bail!("this savant-sdk was built without the `gstreamer` feature, which video inputs need")
}

/// Sends the video inputs; EOS where a source ends a stream (each file,
/// each parameter change, each camera reconnection) and at the end.
pub async fn run(
    v: VideoSend<'_>,
    mut source: Box<dyn Source>,
    runner: SourceRunner,
) -> Result<()> {
    let name = v
        .inputs
        .iter()
        .map(|p| savant_sdk_sources::redact_url(&p.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(",");
    let mut progress = Progress::new("sent");
    let mut frames = 0u64;
    let mut open_stream = false;
    // With --no-eos, an EOS is held back until a frame follows it, so the
    // last one is never sent.
    let mut held_eos: Option<String> = None;
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
                    emit(crate::send::line(&r, Some(&name), None));
                }
                let bytes = frame.content.len();
                let r = runner.send(frame).await?;
                progress.frame(bytes);
                emit(crate::send::line(&r, Some(&name), Some(bytes)));
                frames += 1;
                open_stream = true;
            }
            Some(SourceItem::EndOfStream(id)) if v.no_eos => {
                held_eos = Some(id);
                open_stream = false;
            }
            Some(SourceItem::EndOfStream(id)) => {
                let r = runner.send_eos(&id).await?;
                emit(crate::send::line(&r, Some(&name), None));
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
