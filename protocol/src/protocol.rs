//! Protocol versions and the wire generations they belong to.
//!
//! Every Savant message carries a `protocol_version` string. Which string a
//! peer writes, and which it accepts, depends on its savant-rs:
//!
//! | savant-rs | Savant | `protocol_version` | [`Generation`] | checked by the ZeroMQ reader |
//! |---|---|---|---|---|
//! | 0.2.21 - 0.4.7 | 0.4.x | `"0.2.0"` | [`Generation::V0_2`] | no |
//! | 0.4.8 - 0.4.12 | - | `"0.2.2"` | [`Generation::V0_2`] | no |
//! | 0.4.13 - 1.0.4 | 0.5.4 - 0.5.8 | its own version, e.g. `"1.0.2"` | [`Generation::V1`] | no |
//! | 1.0.5 - 1.14.x | 0.5.9 - 0.6.0 | its own version, e.g. `"1.13.0"` | [`Generation::V1`] | exact string equality |
//! | 1.15.x | 0.6.1 | its own version, e.g. `"1.15.0"`, `"1.15.1"` | [`Generation::V1_15`] | exact string equality |
//! | 2.x | none released yet | e.g. `"2.1.1"` | [`Generation::V2`] | exact string equality |
//!
//! A savant-rs 1.x or 2.x reader drops a message whose version is not
//! exactly its own and sends no acknowledgement, so a writer must stamp
//! the version of the module it talks to: see [`ProtocolVersion`] and
//! [`SAVANT_RELEASES`]. Our readers accept every generation they know.
//!
//! ```
//! use savant_sdk_protocol::protocol::{Generation, ProtocolVersion};
//! let v: ProtocolVersion = "1.15.1".parse()?;
//! assert_eq!(v.generation(), Generation::V1_15);
//! assert_eq!(ProtocolVersion::for_savant("0.4")?.as_str(), "0.2.0");
//! assert!("9.0.0".parse::<ProtocolVersion>().is_err());
//! assert_eq!(ProtocolVersion::default().as_str(), "1.15.0");
//! # Ok::<(), savant_sdk_protocol::protocol::ProtocolError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A wire generation: which fields a message has and how its frames are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Generation {
    /// `"0.2.0"` and `"0.2.2"`: savant-rs 0.2.21 to 0.4.12 (Savant 0.4.x).
    V0_2,
    /// savant-rs 0.4.13 to 1.14.x: the same layout, stamped with the
    /// savant-rs version (Savant 0.5.4 to 0.6.0).
    V1,
    /// savant-rs 1.15 and later 1.x: adds `Message.system_id`; writers
    /// number messages per (system id, source id) (Savant 0.6.1).
    V1_15,
    /// savant-rs 2.x: a new `VideoFrame` layout (`fps` and `time_base` as
    /// rationals, the codec as an enum, letter-box and crop
    /// transformations, misc tracks).
    V2,
}

impl Generation {
    /// Every generation, oldest first.
    pub const ALL: [Generation; 4] = [
        Generation::V0_2,
        Generation::V1,
        Generation::V1_15,
        Generation::V2,
    ];

    /// A short name: `0.2.x`, `1.x`, `1.15+`, `2.x`.
    pub fn name(self) -> &'static str {
        match self {
            Generation::V0_2 => "0.2.x",
            Generation::V1 => "1.x",
            Generation::V1_15 => "1.15+",
            Generation::V2 => "2.x",
        }
    }

    /// Whether messages of this generation carry `system_id` (field 20).
    pub fn has_system_id(self) -> bool {
        matches!(self, Generation::V1_15 | Generation::V2)
    }

    /// Whether frames use the 2.x layout.
    pub fn is_v2(self) -> bool {
        self == Generation::V2
    }

    /// Whether a writer numbers messages as savant-rs 1.15 does: per
    /// (system id, source id), with the kinds that have no source
    /// (updates, batches, shutdown, unknown) numbered on one counter of
    /// their own instead of carrying 0.
    pub fn numbers_auxiliary_messages(self) -> bool {
        self.has_system_id()
    }

    /// The version a writer of this generation stamps by default.
    pub fn default_version(self) -> ProtocolVersion {
        let text = match self {
            Generation::V0_2 => "0.2.0",
            Generation::V1 => "1.13.0",
            Generation::V1_15 => "1.15.0",
            Generation::V2 => "2.1.1",
        };
        ProtocolVersion {
            text: Cow::Borrowed(text),
            generation: self,
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Savant release lines and the protocol version their modules accept,
/// for `--savant` and [`ProtocolVersion::for_savant`]. Releases not listed
/// (0.5.x) run a savant-rs whose exact version we cannot state here: give
/// it with `--protocol-version`, or find it with `savant-sdk probe`.
pub const SAVANT_RELEASES: &[(&str, &str)] =
    &[("0.4", "0.2.0"), ("0.6.0", "1.13.0"), ("0.6.1", "1.15.0")];

/// A protocol version that is not of a known generation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The string names no generation this SDK knows.
    #[error(
        "protocol version {0:?} is of no known generation (known: \"0.2.0\", \"0.2.2\", \
         savant-rs versions 0.4.13 to 1.x such as \"1.15.1\", and 2.x such as \"2.1.1\")"
    )]
    UnknownVersion(String),
    /// `--savant` names a release line not in [`SAVANT_RELEASES`].
    #[error(
        "no protocol version is known for Savant {release:?} (known: {known}); \
         give it with --protocol-version, or find it with `savant-sdk probe`"
    )]
    UnknownSavantRelease {
        /// What was asked for.
        release: String,
        /// The release lines known.
        known: String,
    },
    /// A configuration gives both `protocol_version` and `savant`.
    #[error("give `protocol_version` or `savant`, not both")]
    BothKeys,
    /// Not a version policy (`known`, `any`, a generation, a version).
    #[error(
        "expected known, any, a generation (0.2.x, 1.x, 1.15+, 2.x) or a protocol version \
         such as 1.15.1, got {0:?}"
    )]
    UnknownPolicy(String),
}

/// A protocol version string with the generation it belongs to.
///
/// The default is `"1.15.0"`, what Savant 0.6.1 (the current release)
/// accepts; savant-rs 0.3.x readers (Savant 0.4.x) do not check the
/// version and read it too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    text: Cow<'static, str>,
    generation: Generation,
}

impl Default for ProtocolVersion {
    fn default() -> Self {
        Generation::V1_15.default_version()
    }
}

impl ProtocolVersion {
    /// The version a configuration names with one of its two keys:
    /// `protocol_version` (the string itself) or `savant` (a release line
    /// of [`SAVANT_RELEASES`]); `None` when it gives neither.
    ///
    /// ```
    /// use savant_sdk_protocol::protocol::ProtocolVersion;
    /// assert_eq!(ProtocolVersion::from_keys(None, Some("0.4")).unwrap().unwrap().as_str(), "0.2.0");
    /// assert!(ProtocolVersion::from_keys(Some("1.15.1"), Some("0.6.1")).is_err());
    /// ```
    pub fn from_keys(
        protocol_version: Option<&str>,
        savant: Option<&str>,
    ) -> Result<Option<Self>, ProtocolError> {
        match (protocol_version, savant) {
            (Some(_), Some(_)) => Err(ProtocolError::BothKeys),
            (Some(v), None) => v.parse().map(Some),
            (None, Some(r)) => Self::for_savant(r).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The generation of `text`, if it has one.
    ///
    /// `"0.2.0"` and `"0.2.2"` are [`Generation::V0_2`]; `0.4.13` and later
    /// 0.4.x, 0.5 and later 0.x, and 1.0 to 1.14 are [`Generation::V1`];
    /// 1.15 and later 1.x are [`Generation::V1_15`]; 2.x is
    /// [`Generation::V2`]. Anything else is unknown.
    pub fn generation_of(text: &str) -> Option<Generation> {
        if text == "0.2.0" || text == "0.2.2" {
            return Some(Generation::V0_2);
        }
        let mut parts = text.split('.');
        let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let num = |s: &str| -> Option<u64> {
            if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                s.parse().ok()
            }
        };
        let (major, minor, patch) = (num(major)?, num(minor)?, num(patch)?);
        match (major, minor) {
            (0, 4) if patch >= 13 => Some(Generation::V1),
            (0, m) if m >= 5 => Some(Generation::V1),
            (1, m) if m < 15 => Some(Generation::V1),
            (1, _) => Some(Generation::V1_15),
            (2, _) => Some(Generation::V2),
            _ => None,
        }
    }

    /// Parses a version string of a known generation.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let generation = Self::generation_of(text)
            .ok_or_else(|| ProtocolError::UnknownVersion(text.to_string()))?;
        Ok(Self {
            text: Cow::Owned(text.to_string()),
            generation,
        })
    }

    /// The version a module of the Savant release line `release` accepts
    /// (`"0.4"` or `"0.4.7"`, `"0.6.0"`, `"0.6.1"`), from [`SAVANT_RELEASES`].
    pub fn for_savant(release: &str) -> Result<Self, ProtocolError> {
        let line = release.trim_start_matches('v');
        let found = SAVANT_RELEASES.iter().find(|(name, _)| {
            line == *name
                || (name.matches('.').count() == 1 && line.starts_with(&format!("{name}.")))
        });
        match found {
            Some((_, version)) => Self::parse(version),
            None => Err(ProtocolError::UnknownSavantRelease {
                release: release.to_string(),
                known: SAVANT_RELEASES
                    .iter()
                    .map(|(n, v)| format!("{n} -> {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The string on the wire.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its generation.
    pub fn generation(&self) -> Generation {
        self.generation
    }
}

impl FromStr for ProtocolVersion {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_follow_the_savant_rs_table() {
        let g = ProtocolVersion::generation_of;
        assert_eq!(g("0.2.0"), Some(Generation::V0_2));
        assert_eq!(g("0.2.2"), Some(Generation::V0_2));
        assert_eq!(g("0.2.1"), None);
        assert_eq!(g("0.4.12"), None);
        assert_eq!(g("0.4.13"), Some(Generation::V1));
        assert_eq!(g("1.0.2"), Some(Generation::V1));
        assert_eq!(g("1.13.0"), Some(Generation::V1));
        assert_eq!(g("1.15.0"), Some(Generation::V1_15));
        assert_eq!(g("1.15.1"), Some(Generation::V1_15));
        assert_eq!(g("1.16.0"), Some(Generation::V1_15));
        assert_eq!(g("2.1.1"), Some(Generation::V2));
        assert_eq!(g("9.0.0"), None);
        assert_eq!(g("3.0.0"), None);
        assert_eq!(g("1.15"), None);
        assert_eq!(g("1.15.1.0"), None);
        assert_eq!(g("1.+5.1"), None);
        assert_eq!(g(""), None);
    }

    #[test]
    fn savant_release_lines_map_through_the_table() {
        let v = |r| ProtocolVersion::for_savant(r).map(|v| v.as_str().to_string());
        assert_eq!(v("0.4").unwrap(), "0.2.0");
        assert_eq!(v("0.4.7").unwrap(), "0.2.0");
        assert_eq!(v("v0.6.1").unwrap(), "1.15.0");
        assert_eq!(v("0.6.0").unwrap(), "1.13.0");
        let e = v("0.5.9").unwrap_err();
        assert!(e.to_string().contains("--protocol-version"), "{e}");
    }
}
