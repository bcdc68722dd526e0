//! [`Codec`] and [`Container`]: the one table of what this SDK knows about
//! each video codec and container in GStreamer terms.

use std::fmt;
use std::str::FromStr;

use crate::error::GstError;

/// A video codec, by Savant's name for it.
///
/// ```
/// use savant_sdk_gst::Codec;
/// let c: Codec = "h265".parse().unwrap();
/// assert_eq!(c, Codec::Hevc);
/// assert_eq!(c.savant_name(), "hevc");
/// assert_eq!(c.parser(), Some("h265parse"));
/// assert_eq!(Codec::from_media_type("video/x-h264"), Some(Codec::H264));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// H.264 / AVC, Annex B byte stream, one access unit per frame.
    H264,
    /// H.265 / HEVC, Annex B byte stream, one access unit per frame.
    Hevc,
    /// VP8.
    Vp8,
    /// VP9.
    Vp9,
    /// AV1, OBU stream, one temporal unit per frame.
    Av1,
    /// JPEG pictures (MJPEG).
    Jpeg,
    /// PNG pictures.
    Png,
}

impl Codec {
    /// Every codec.
    pub const ALL: [Codec; 7] = [
        Codec::H264,
        Codec::Hevc,
        Codec::Vp8,
        Codec::Vp9,
        Codec::Av1,
        Codec::Jpeg,
        Codec::Png,
    ];

    /// The codec of a Savant frame's `codec` field (`h264`, `hevc` or
    /// `h265`, `vp8`, `vp9`, `av1`, `jpeg` or `jpg`, `png`; any case).
    pub fn from_savant(name: &str) -> Option<Codec> {
        Some(match name.to_ascii_lowercase().as_str() {
            "h264" | "avc" => Codec::H264,
            "hevc" | "h265" => Codec::Hevc,
            "vp8" => Codec::Vp8,
            "vp9" => Codec::Vp9,
            "av1" => Codec::Av1,
            "jpeg" | "jpg" | "mjpeg" => Codec::Jpeg,
            "png" => Codec::Png,
            _ => return None,
        })
    }

    /// The codec of GStreamer caps' media type (`video/x-h264`, ...).
    pub fn from_media_type(media_type: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.media_type() == media_type)
    }

    /// The codec of an RTP encoding name (`H264`, `VP8`, ...).
    pub fn from_rtp_encoding(encoding: &str) -> Option<Codec> {
        Some(match encoding.to_ascii_uppercase().as_str() {
            "H264" => Codec::H264,
            "H265" => Codec::Hevc,
            "VP8" | "VP8-DRAFT-IETF-01" => Codec::Vp8,
            "VP9" => Codec::Vp9,
            "JPEG" => Codec::Jpeg,
            _ => return None,
        })
    }

    /// Savant's name: `h264`, `hevc`, `vp8`, `vp9`, `av1`, `jpeg`, `png`.
    pub fn savant_name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::Av1 => "av1",
            Codec::Jpeg => "jpeg",
            Codec::Png => "png",
        }
    }

    /// GStreamer's media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Codec::H264 => "video/x-h264",
            Codec::Hevc => "video/x-h265",
            Codec::Vp8 => "video/x-vp8",
            Codec::Vp9 => "video/x-vp9",
            Codec::Av1 => "video/x-av1",
            Codec::Jpeg => "image/jpeg",
            Codec::Png => "image/png",
        }
    }

    /// The parser that frames the stream into access units, if the codec
    /// has one.
    pub fn parser(self) -> Option<&'static str> {
        match self {
            Codec::H264 => Some("h264parse"),
            Codec::Hevc => Some("h265parse"),
            Codec::Vp9 => Some("vp9parse"),
            Codec::Av1 => Some("av1parse"),
            Codec::Jpeg => Some("jpegparse"),
            Codec::Vp8 | Codec::Png => None,
        }
    }

    /// The caps of one Savant frame's content: byte-stream access units
    /// for H.264/HEVC, OBU temporal units for AV1, the media type for the
    /// rest. Sources pull access units in these caps, decoders and muxers
    /// are fed in them.
    pub fn frame_caps(self) -> &'static str {
        match self {
            Codec::H264 => "video/x-h264,stream-format=byte-stream,alignment=au",
            Codec::Hevc => "video/x-h265,stream-format=byte-stream,alignment=au",
            Codec::Av1 => "video/x-av1,stream-format=obu-stream,alignment=tu",
            other => other.media_type(),
        }
    }

    /// The RTP depayloader for this codec, if RTSP sources take it.
    pub fn depayloader(self) -> Option<&'static str> {
        match self {
            Codec::H264 => Some("rtph264depay"),
            Codec::Hevc => Some("rtph265depay"),
            Codec::Vp8 => Some("rtpvp8depay"),
            Codec::Vp9 => Some("rtpvp9depay"),
            Codec::Jpeg => Some("rtpjpegdepay"),
            Codec::Av1 | Codec::Png => None,
        }
    }

    /// The decoders, best first.
    pub fn decoders(self) -> &'static [&'static str] {
        match self {
            Codec::H264 => &["avdec_h264", "openh264dec"],
            Codec::Hevc => &["avdec_h265", "libde265dec"],
            Codec::Vp8 => &["vp8dec", "avdec_vp8"],
            Codec::Vp9 => &["vp9dec", "avdec_vp9"],
            Codec::Av1 => &["dav1ddec", "av1dec", "avdec_av1"],
            Codec::Jpeg => &["jpegdec", "avdec_mjpeg"],
            Codec::Png => &["pngdec"],
        }
    }

    /// The first installed decoder, or the error naming the package of
    /// the preferred one.
    pub fn decoder(self) -> Result<&'static str, GstError> {
        crate::elements::init()?;
        crate::elements::first_installed(self.decoders()).ok_or_else(|| GstError::NoDecoder {
            codec: self.savant_name(),
            tried: self.decoders().join(", "),
            package: crate::elements::debian_package(self.decoders()[0]),
        })
    }

    /// Whether a frame of this codec is a still picture (each frame
    /// decodes alone).
    pub fn is_still_image(self) -> bool {
        matches!(self, Codec::Jpeg | Codec::Png)
    }
}

impl FromStr for Codec {
    type Err = GstError;

    /// Savant's codec names (see [`Codec::from_savant`]).
    fn from_str(s: &str) -> Result<Self, GstError> {
        Codec::from_savant(s).ok_or_else(|| GstError::UnsupportedCodec(s.to_string()))
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.savant_name())
    }
}

/// A frame rate written `num/den` (Savant's `framerate`, a setting), both
/// positive.
///
/// ```
/// assert_eq!(savant_sdk_gst::parse_framerate("30000/1001"), Some((30000, 1001)));
/// assert_eq!(savant_sdk_gst::parse_framerate("0/1"), None);
/// assert_eq!(savant_sdk_gst::parse_framerate("30"), None);
/// ```
pub fn parse_framerate(s: &str) -> Option<(i32, i32)> {
    let (n, d) = s.split_once('/')?;
    let (n, d): (i32, i32) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// A container video files are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Container {
    /// MP4 (`mp4mux`): H.264, HEVC, VP9, AV1.
    #[default]
    Mp4,
    /// Matroska (`matroskamux`): H.264, HEVC, VP8, VP9, AV1, MJPEG.
    Mkv,
}

impl Container {
    /// The file extension: `mp4` or `mkv`.
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mkv => "mkv",
        }
    }

    /// The muxer element.
    pub fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4mux",
            Container::Mkv => "matroskamux",
        }
    }

    /// The codecs this container takes.
    pub fn takes(self, codec: Codec) -> bool {
        match self {
            Container::Mp4 => matches!(codec, Codec::H264 | Codec::Hevc | Codec::Vp9 | Codec::Av1),
            Container::Mkv => codec != Codec::Png,
        }
    }

    /// The Savant names of the codecs this container takes.
    pub fn codecs(self) -> Vec<&'static str> {
        Codec::ALL
            .into_iter()
            .filter(|c| self.takes(*c))
            .map(Codec::savant_name)
            .collect()
    }
}

impl FromStr for Container {
    type Err = String;

    /// `mp4` or `mkv` (also `matroska`), any case.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mp4" => Ok(Container::Mp4),
            "mkv" | "matroska" => Ok(Container::Mkv),
            other => Err(format!("unknown video container {other:?} (mp4 or mkv)")),
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Container::Mp4 => "MP4",
            Container::Mkv => "MKV",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Codec::ALL {
            assert_eq!(Codec::from_savant(c.savant_name()), Some(c));
            assert_eq!(Codec::from_media_type(c.media_type()), Some(c));
            assert!(c.frame_caps().starts_with(c.media_type()));
            assert!(!c.decoders().is_empty());
        }
        assert!("mpeg2".parse::<Codec>().is_err());
    }

    #[test]
    fn containers_take_what_their_muxers_take() {
        assert_eq!(Container::Mp4.codecs(), ["h264", "hevc", "vp9", "av1"]);
        assert_eq!(
            Container::Mkv.codecs(),
            ["h264", "hevc", "vp8", "vp9", "av1", "jpeg"]
        );
    }
}
