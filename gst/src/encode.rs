//! [`H264Encoder`]: RGB pictures into H.264 access units (`x264enc`), for
//! annotated video files and re-encoded streams.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::elements;
use crate::error::GstError;
use crate::picture::Picture;

/// The settings of an [`H264Encoder`].
#[derive(Debug, Clone)]
pub struct EncoderSettings {
    /// Target bitrate in kbit/s. Default 2000.
    pub bitrate_kbps: u32,
    /// Most frames between keyframes. Default 30.
    pub keyframe_interval: u32,
    /// `x264enc`'s speed preset (`ultrafast` ... `veryslow`). Default
    /// `veryfast`.
    pub speed_preset: &'static str,
    /// How long the encoder may take to accept a picture or to drain.
    /// Default 10 s.
    pub timeout: Duration,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            bitrate_kbps: 2000,
            keyframe_interval: 30,
            speed_preset: "veryfast",
            timeout: Duration::from_secs(10),
        }
    }
}

/// One encoded access unit (Annex B byte stream, parameter sets before
/// each keyframe).
#[derive(Debug, Clone)]
pub struct EncodedUnit {
    /// Presentation time, ns (the picture's).
    pub pts: u64,
    /// Decoding time, ns.
    pub dts: Option<u64>,
    /// Duration, ns.
    pub duration: Option<u64>,
    /// Whether it decodes alone.
    pub keyframe: bool,
    /// The access unit, in the encoder's own buffer.
    pub data: Bytes,
}

/// Encodes RGB pictures of one size into H.264: `appsrc ! videoconvert !
/// x264enc tune=zerolatency ! h264parse ! appsink`. With `zerolatency`
/// there are no B-frames: each picture comes out as one access unit, in
/// order, with its own pts.
pub struct H264Encoder {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    appsink: gst_app::AppSink,
    bus: gst::Bus,
    width: u32,
    height: u32,
    timeout: Duration,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

impl H264Encoder {
    /// An encoder for `width` x `height` pictures at `framerate`
    /// (numerator, denominator; `(0, 1)` when variable).
    pub fn new(
        width: u32,
        height: u32,
        framerate: (i32, i32),
        settings: &EncoderSettings,
    ) -> Result<Self, GstError> {
        elements::init()?;
        elements::require(&["x264enc", "h264parse", "videoconvert"])?;
        if width == 0 || height == 0 {
            return Err(GstError::Picture(format!("cannot encode {width}x{height}")));
        }
        let pipeline = gst::Pipeline::with_name("encode-h264");
        let (num, den) = if framerate.0 > 0 && framerate.1 > 0 {
            framerate
        } else {
            (0, 1)
        };
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "RGB")
            .field("width", width as i32)
            .field("height", height as i32)
            .field("framerate", gst::Fraction::new(num, den))
            .build();
        let appsrc = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(false)
            .block(false)
            .build();
        let convert = elements::make("videoconvert")?;
        let encoder = elements::make("x264enc")?;
        encoder.set_property_from_str("tune", "zerolatency");
        encoder.set_property_from_str("speed-preset", settings.speed_preset);
        encoder.set_property("bitrate", settings.bitrate_kbps.max(1));
        encoder.set_property("key-int-max", settings.keyframe_interval.max(1));
        let parser = elements::make("h264parse")?;
        parser.set_property("config-interval", -1i32);
        let appsink = gst_app::AppSink::builder()
            .caps(
                &crate::Codec::H264
                    .frame_caps()
                    .parse::<gst::Caps>()
                    .map_err(|e| GstError::Pipeline(e.to_string()))?,
            )
            .sync(false)
            .max_buffers(8)
            .drop(false)
            .enable_last_sample(false)
            .build();
        let chain: [&gst::Element; 5] = [
            appsrc.upcast_ref(),
            &convert,
            &encoder,
            &parser,
            appsink.upcast_ref(),
        ];
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            GstError::Pipeline(format!("H.264 encoder: cannot {what}: {e}"))
        };
        pipeline
            .add_many(chain)
            .map_err(|e| fail("add elements", &e))?;
        gst::Element::link_many(chain).map_err(|e| fail("link elements", &e))?;
        let bus = pipeline.bus().expect("a pipeline has a bus");
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail("start", &e))?;
        Ok(Self {
            pipeline,
            appsrc,
            appsink,
            bus,
            width,
            height,
            timeout: settings.timeout,
        })
    }

    /// The picture size this encoder takes.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Encodes `picture` at `pts` (ns) and appends the access units that
    /// are ready to `out`. Its buffer becomes the encoder's input without a
    /// copy when its rows need no padding (width * 3 a multiple of 4).
    pub fn push(
        &mut self,
        picture: Picture,
        pts: u64,
        duration: Option<u64>,
        out: &mut Vec<EncodedUnit>,
    ) -> Result<(), GstError> {
        if (picture.width(), picture.height()) != (self.width, self.height) {
            return Err(GstError::Picture(format!(
                "a {}x{} picture for a {}x{} encoder",
                picture.width(),
                picture.height(),
                self.width,
                self.height
            )));
        }
        let mut buffer = picture.into_gst_buffer();
        {
            let b = buffer.make_mut();
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(duration.map(gst::ClockTime::from_nseconds));
        }
        self.push_buffer(buffer, out)
    }

    /// Encodes packed RGB pixels (`width * height * 3` bytes, copied into
    /// GStreamer's row layout) at `pts` (ns).
    pub fn push_rgb(
        &mut self,
        rgb: &[u8],
        pts: u64,
        duration: Option<u64>,
        out: &mut Vec<EncodedUnit>,
    ) -> Result<(), GstError> {
        let mut buffer = crate::picture::padded_rgb_buffer(rgb, self.width, self.height)?;
        {
            let b = buffer.make_mut();
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(duration.map(gst::ClockTime::from_nseconds));
        }
        self.push_buffer(buffer, out)
    }

    fn push_buffer(
        &mut self,
        buffer: gst::Buffer,
        out: &mut Vec<EncodedUnit>,
    ) -> Result<(), GstError> {
        self.check_bus()?;
        let deadline = Instant::now() + self.timeout;
        while self.appsrc.current_level_buffers() >= 4 {
            self.collect(out, Some(Duration::from_millis(20)))?;
            if Instant::now() > deadline {
                return Err(GstError::Pipeline(format!(
                    "the H.264 encoder took no picture for {:?}",
                    self.timeout
                )));
            }
        }
        self.appsrc.push_buffer(buffer).map_err(|e| {
            GstError::Pipeline(format!("the H.264 encoder refused a picture: {e:?}"))
        })?;
        self.collect(out, None)
    }

    /// Appends what is ready; with `wait`, waits that long for one unit.
    pub fn collect(
        &mut self,
        out: &mut Vec<EncodedUnit>,
        wait: Option<Duration>,
    ) -> Result<(), GstError> {
        let mut timeout = wait.map(|w| gst::ClockTime::from_nseconds(w.as_nanos() as u64));
        while let Some(sample) = self
            .appsink
            .try_pull_sample(timeout.unwrap_or(gst::ClockTime::ZERO))
        {
            timeout = None;
            if let Some(unit) = unit_of(sample) {
                out.push(unit);
            }
        }
        self.check_bus()
    }

    /// Sends EOS and appends every unit still inside.
    pub fn finish(&mut self, out: &mut Vec<EncodedUnit>) -> Result<(), GstError> {
        self.check_bus()?;
        let _ = self.appsrc.end_of_stream();
        let deadline = Instant::now() + self.timeout;
        loop {
            match self
                .appsink
                .try_pull_sample(gst::ClockTime::from_mseconds(50))
            {
                Some(sample) => out.extend(unit_of(sample)),
                None if self.appsink.is_eos() => return Ok(()),
                None => {
                    self.check_bus()?;
                    if Instant::now() > deadline {
                        return Err(GstError::Pipeline(format!(
                            "the H.264 encoder did not drain within {:?}",
                            self.timeout
                        )));
                    }
                }
            }
        }
    }

    fn check_bus(&self) -> Result<(), GstError> {
        while let Some(msg) = self.bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(err) = msg.view() {
                return Err(GstError::Pipeline(elements::bus_error_text(&msg, err)));
            }
        }
        Ok(())
    }
}

impl Drop for H264Encoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn unit_of(sample: gst::Sample) -> Option<EncodedUnit> {
    let buffer = sample.buffer_owned()?;
    drop(sample);
    Some(EncodedUnit {
        pts: buffer.pts().map(|t| t.nseconds()).unwrap_or(0),
        dts: buffer.dts().map(|t| t.nseconds()),
        duration: buffer.duration().map(|t| t.nseconds()),
        keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
        data: buffer
            .into_mapped_buffer_readable()
            .map(Bytes::from_owner)
            .unwrap_or_default(),
    })
}
