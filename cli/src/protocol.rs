//! The protocol-version options: `--protocol-version`/`--savant` (what a
//! command that sends stamps on its messages) and `--accept-version` (what
//! a command that receives reads).

use clap::Args;
use savant_sdk_core::codec::VersionPolicy;
use savant_sdk_core::protocol::{ProtocolVersion, SAVANT_RELEASES};

/// `--protocol-version VERSION` or `--savant RELEASE` (one of them).
#[derive(Debug, Clone, Default, Args)]
pub struct ProtocolArgs {
    /// The protocol_version every message is stamped with, which also picks
    /// the wire layout (default "1.15.0", what Savant 0.6.1 accepts). A
    /// savant-rs 1.x or 2.x module drops a message of any other version
    /// without a word: over dealer the EOS acknowledgement then times out,
    /// over req every message's. `savant-sdk probe` finds the version a
    /// module accepts.
    #[arg(long, value_name = "VERSION", value_parser = parse_version, conflicts_with = "savant")]
    pub protocol_version: Option<ProtocolVersion>,
    /// Stamp the protocol version this Savant release's modules accept
    /// (0.4, 0.6.0, 0.6.1; default: 0.6.1's "1.15.0").
    #[arg(long, value_name = "RELEASE", value_parser = parse_savant, long_help = savant_help())]
    pub savant: Option<ProtocolVersion>,
}

impl ProtocolArgs {
    /// The version given with either option, if any.
    pub fn given(&self) -> Option<ProtocolVersion> {
        self.protocol_version
            .clone()
            .or_else(|| self.savant.clone())
    }

    /// The version to stamp: the one given, else the default ("1.15.0").
    pub fn version(&self) -> ProtocolVersion {
        self.given().unwrap_or_default()
    }
}

/// The long help of `--savant`, from the release table.
pub fn savant_help() -> String {
    let table = SAVANT_RELEASES
        .iter()
        .map(|(release, version)| format!("{release} -> \"{version}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "Stamp the protocol version the modules of this Savant release accept: {table} \
         (the default, \"{}\", is Savant 0.6.1's). A module of another release drops what \
         it does not accept without a word (the acknowledgement times out). Releases not \
         listed: give --protocol-version, or find it with `savant-sdk probe`.",
        ProtocolVersion::default()
    )
}

/// `--accept-version known|any|GENERATION|VERSION`.
#[derive(Debug, Clone, Args)]
pub struct AcceptArgs {
    /// Which protocol versions to read: `known` (the default: every known
    /// generation, 0.2.x, 1.x, 1.15+ and 2.x), one generation (`0.2.x`,
    /// `1.x`, `1.15+`, `2.x`), one exact version (e.g. `1.15.1`, as a
    /// savant-rs 1.x reader does) or `any` (no check). Messages of other
    /// versions are dropped without an acknowledgement and counted.
    #[arg(long, value_name = "VERSION|GEN", default_value = "known", value_parser = parse_accept)]
    pub accept_version: VersionPolicy,
}

/// Parses a protocol version of a known generation.
pub fn parse_version(s: &str) -> Result<ProtocolVersion, String> {
    s.parse().map_err(|e| format!("{e}"))
}

/// Maps a Savant release line to its protocol version.
pub fn parse_savant(s: &str) -> Result<ProtocolVersion, String> {
    ProtocolVersion::for_savant(s).map_err(|e| format!("{e}"))
}

/// Parses what `--accept-version` takes.
pub fn parse_accept(s: &str) -> Result<VersionPolicy, String> {
    s.parse().map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use savant_sdk_core::protocol::Generation;

    #[test]
    fn accept_takes_names_generations_and_versions() {
        assert_eq!(parse_accept("known").unwrap(), VersionPolicy::Known);
        assert_eq!(parse_accept("any").unwrap(), VersionPolicy::Any);
        assert_eq!(
            parse_accept("1.15+").unwrap(),
            VersionPolicy::Generation(Generation::V1_15)
        );
        assert_eq!(
            parse_accept("0.2.x").unwrap(),
            VersionPolicy::Generation(Generation::V0_2)
        );
        assert_eq!(
            parse_accept("1.15.1").unwrap(),
            VersionPolicy::Exact("1.15.1".into())
        );
        let e = parse_accept("9.9.9").unwrap_err();
        assert!(e.contains("1.15+") && e.contains("9.9.9"), "{e}");
    }

    #[test]
    fn the_savant_help_lists_the_table_and_the_default() {
        let h = savant_help();
        assert!(h.contains("0.6.1 -> \"1.15.0\""), "{h}");
        assert!(h.contains("0.4 -> \"0.2.0\""), "{h}");
        assert!(h.contains("probe"), "{h}");
    }
}
