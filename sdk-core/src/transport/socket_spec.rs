//! Savant's socket URI syntax: `[type+mode:](ipc://PATH | tcp://HOST:PORT)[:SOURCE]`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, SocketSpecError};

/// ZeroMQ socket types Savant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Writer, lossy fan-out.
    Pub,
    /// Reader for `Pub`.
    Sub,
    /// Writer, every message acknowledged.
    Req,
    /// Reader for `Req`.
    Rep,
    /// Writer, asynchronous with EOS acknowledged (the default).
    Dealer,
    /// Reader for `Dealer` (the default).
    Router,
}

/// Which side of a socket pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends messages (`pub`, `req`, `dealer`).
    Writer,
    /// Receives messages (`sub`, `rep`, `router`).
    Reader,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Reader => "reader",
        }
    }
}

impl SocketType {
    /// The name used in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Pub => "pub",
            SocketType::Sub => "sub",
            SocketType::Req => "req",
            SocketType::Rep => "rep",
            SocketType::Dealer => "dealer",
            SocketType::Router => "router",
        }
    }

    /// Whether it writes or reads.
    pub fn role(self) -> Role {
        match self {
            SocketType::Pub | SocketType::Req | SocketType::Dealer => Role::Writer,
            SocketType::Sub | SocketType::Rep | SocketType::Router => Role::Reader,
        }
    }

    pub(crate) fn zmq(self) -> zmq::SocketType {
        match self {
            SocketType::Pub => zmq::PUB,
            SocketType::Sub => zmq::SUB,
            SocketType::Req => zmq::REQ,
            SocketType::Rep => zmq::REP,
            SocketType::Dealer => zmq::DEALER,
            SocketType::Router => zmq::ROUTER,
        }
    }

    fn parse(s: &str) -> Result<Self, SocketSpecError> {
        Ok(match s {
            "pub" => SocketType::Pub,
            "sub" => SocketType::Sub,
            "req" => SocketType::Req,
            "rep" => SocketType::Rep,
            "dealer" => SocketType::Dealer,
            "router" => SocketType::Router,
            other => return Err(SocketSpecError::UnknownSocketType(other.to_string())),
        })
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a socket binds or connects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A unix-domain socket file.
    Ipc(PathBuf),
    /// A TCP address; `port` may be `*` when binding.
    Tcp {
        /// Host name or address (`*` binds all interfaces).
        host: String,
        /// Port number or `*`.
        port: String,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Ipc(p) => write!(f, "ipc://{}", p.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

/// A parsed socket spec: type, bind or connect, endpoint.
///
/// The prefix `type+mode:` may be left out; a writer then defaults to
/// `dealer+bind` and a reader to `router+bind`, as in savant-rs.
///
/// ```
/// use savant_sdk_core::transport::{SocketSpec, SocketType};
/// let spec = SocketSpec::parse_writer("dealer+connect:ipc:///tmp/savant/input.ipc").unwrap();
/// assert_eq!(spec.socket_type, SocketType::Dealer);
/// assert!(!spec.bind);
/// assert_eq!(spec.endpoint.to_string(), "ipc:///tmp/savant/input.ipc");
///
/// let spec = SocketSpec::parse_reader("tcp://127.0.0.1:5555").unwrap();
/// assert_eq!((spec.socket_type, spec.bind), (SocketType::Router, true));
///
/// let err = SocketSpec::parse_reader("dealer+bind:tcp://127.0.0.1:5555").unwrap_err();
/// assert!(err.to_string().contains("writer"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketSpec {
    /// Socket type.
    pub socket_type: SocketType,
    /// Bind (`true`) or connect.
    pub bind: bool,
    /// Endpoint.
    pub endpoint: Endpoint,
    /// The optional `:SOURCE` suffix (writers only; savant-rs ignores it).
    pub source: Option<String>,
}

/// The spec as written, before role defaults are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawSpec {
    prefix: Option<(SocketType, bool)>,
    endpoint: Endpoint,
    source: Option<String>,
}

fn parse_raw(s: &str) -> Result<RawSpec, SocketSpecError> {
    if s.trim().is_empty() {
        return Err(SocketSpecError::Empty);
    }
    let (prefix, rest) = match s.find("://") {
        // a prefix sits before the scheme: `type+mode:scheme://...`
        Some(scheme_end) => {
            let head = &s[..scheme_end];
            match head.rfind(':') {
                Some(colon) => (Some(&s[..colon]), &s[colon + 1..]),
                None => (None, s),
            }
        }
        None => match s.split_once(':') {
            Some((p, r)) if p.contains('+') => (Some(p), r),
            _ => (None, s),
        },
    };
    let prefix = match prefix {
        None => None,
        Some(p) => {
            let (t, m) = p
                .split_once('+')
                .ok_or_else(|| SocketSpecError::UnknownSocketType(p.to_string()))?;
            let t = SocketType::parse(t)?;
            let bind = match m {
                "bind" => true,
                "connect" => false,
                other => return Err(SocketSpecError::UnknownMode(other.to_string())),
            };
            Some((t, bind))
        }
    };
    let (endpoint, source) = if let Some(path) = rest.strip_prefix("ipc://") {
        let (path, source) = match path.split_once(':') {
            Some((p, src)) => (p, Some(src)),
            None => (path, None),
        };
        if path.is_empty() {
            return Err(SocketSpecError::MissingPath);
        }
        (Endpoint::Ipc(PathBuf::from(path)), source)
    } else if let Some(addr) = rest.strip_prefix("tcp://") {
        let mut parts = addr.splitn(3, ':');
        let host = parts.next().unwrap_or_default();
        let port = parts.next().unwrap_or_default();
        let source = parts.next();
        let port_ok = port == "*" || port.parse::<u16>().is_ok();
        if host.is_empty() || !port_ok {
            return Err(SocketSpecError::BadTcpAddress(addr.to_string()));
        }
        (
            Endpoint::Tcp {
                host: host.to_string(),
                port: port.to_string(),
            },
            source,
        )
    } else {
        return Err(SocketSpecError::UnsupportedScheme(rest.to_string()));
    };
    let source = match source {
        Some("") | None => None,
        Some(s) => Some(s.to_string()),
    };
    Ok(RawSpec {
        prefix,
        endpoint,
        source,
    })
}

impl SocketSpec {
    /// Parses a spec for `role`, applying the defaults (`dealer+bind` for
    /// writers, `router+bind` for readers) and checking that the type fits.
    pub fn parse(s: &str, role: Role) -> Result<Self, Error> {
        Self::parse_inner(s, role).map_err(|reason| Error::SocketSpec {
            spec: s.to_string(),
            reason,
        })
    }

    /// [`SocketSpec::parse`] for a writer.
    pub fn parse_writer(s: &str) -> Result<Self, Error> {
        Self::parse(s, Role::Writer)
    }

    /// [`SocketSpec::parse`] for a reader.
    pub fn parse_reader(s: &str) -> Result<Self, Error> {
        Self::parse(s, Role::Reader)
    }

    fn parse_inner(s: &str, role: Role) -> Result<Self, SocketSpecError> {
        let raw = parse_raw(s)?;
        let (socket_type, bind) = raw.prefix.unwrap_or(match role {
            Role::Writer => (SocketType::Dealer, true),
            Role::Reader => (SocketType::Router, true),
        });
        if socket_type.role() != role {
            return Err(SocketSpecError::WrongRole {
                socket_type: socket_type.as_str(),
                actual: socket_type.role().as_str(),
                expected: role.as_str(),
            });
        }
        if role == Role::Reader {
            if let Some(src) = raw.source {
                return Err(SocketSpecError::SourceOnReader(src));
            }
        }
        Ok(SocketSpec {
            socket_type,
            bind,
            endpoint: raw.endpoint,
            source: raw.source,
        })
    }

    /// The ZeroMQ endpoint passed to bind/connect.
    pub fn zmq_endpoint(&self) -> String {
        self.endpoint.to_string()
    }
}

impl fmt::Display for SocketSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.bind { "bind" } else { "connect" };
        write!(f, "{}+{}:{}", self.socket_type, mode, self.endpoint)?;
        if let Some(s) = &self.source {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

/// Parses without a role: an unprefixed spec defaults to `dealer+bind`
/// only if used as a writer, so this requires the prefix.
impl FromStr for SocketSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let raw = parse_raw(s).map_err(|reason| Error::SocketSpec {
            spec: s.to_string(),
            reason,
        })?;
        match raw.prefix {
            Some((t, _)) => SocketSpec::parse(s, t.role()),
            None => SocketSpec::parse(s, Role::Writer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str, role: Role) -> SocketSpecError {
        match SocketSpec::parse(s, role).unwrap_err() {
            Error::SocketSpec { reason, .. } => reason,
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn every_type_and_mode_parses() {
        for (t, role) in [
            ("pub", Role::Writer),
            ("req", Role::Writer),
            ("dealer", Role::Writer),
            ("sub", Role::Reader),
            ("rep", Role::Reader),
            ("router", Role::Reader),
        ] {
            for (m, bind) in [("bind", true), ("connect", false)] {
                let s = format!("{t}+{m}:tcp://127.0.0.1:5555");
                let spec = SocketSpec::parse(&s, role).unwrap();
                assert_eq!(spec.socket_type.as_str(), t);
                assert_eq!(spec.bind, bind);
                assert_eq!(spec.to_string(), s);
            }
        }
    }

    #[test]
    fn defaults_follow_savant() {
        let w = SocketSpec::parse_writer("ipc:///tmp/a/b.ipc").unwrap();
        assert_eq!((w.socket_type, w.bind), (SocketType::Dealer, true));
        assert_eq!(w.endpoint, Endpoint::Ipc("/tmp/a/b.ipc".into()));
        let r = SocketSpec::parse_reader("tcp://*:6000").unwrap();
        assert_eq!((r.socket_type, r.bind), (SocketType::Router, true));
        assert_eq!(r.zmq_endpoint(), "tcp://*:6000");
    }

    #[test]
    fn source_suffix_only_on_writers() {
        let w = SocketSpec::parse_writer("dealer+connect:tcp://127.0.0.1:5555:cam-1").unwrap();
        assert_eq!(w.source.as_deref(), Some("cam-1"));
        assert_eq!(w.zmq_endpoint(), "tcp://127.0.0.1:5555");
        let w = SocketSpec::parse_writer("pub+bind:ipc:///tmp/x.ipc:cam").unwrap();
        assert_eq!(w.endpoint, Endpoint::Ipc("/tmp/x.ipc".into()));
        assert_eq!(
            reason("router+bind:ipc:///tmp/x.ipc:cam", Role::Reader),
            SocketSpecError::SourceOnReader("cam".into())
        );
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(reason("", Role::Writer), SocketSpecError::Empty);
        assert_eq!(
            reason("push+bind:tcp://a:1", Role::Writer),
            SocketSpecError::UnknownSocketType("push".into())
        );
        assert_eq!(
            reason("dealer+listen:tcp://a:1", Role::Writer),
            SocketSpecError::UnknownMode("listen".into())
        );
        assert_eq!(
            reason("dealer+bind:udp://a:1", Role::Writer),
            SocketSpecError::UnsupportedScheme("udp://a:1".into())
        );
        assert_eq!(
            reason("/tmp/socket", Role::Writer),
            SocketSpecError::UnsupportedScheme("/tmp/socket".into())
        );
        assert_eq!(
            reason("tcp://localhost", Role::Reader),
            SocketSpecError::BadTcpAddress("localhost".into())
        );
        assert_eq!(
            reason("tcp://localhost:http", Role::Reader),
            SocketSpecError::BadTcpAddress("localhost:http".into())
        );
        assert_eq!(reason("ipc://", Role::Reader), SocketSpecError::MissingPath);
        assert!(matches!(
            reason("sub+connect:tcp://a:1", Role::Writer),
            SocketSpecError::WrongRole { .. }
        ));
        assert!(matches!(
            reason("pub+bind:tcp://a:1", Role::Reader),
            SocketSpecError::WrongRole { .. }
        ));
    }

    #[test]
    fn from_str_uses_the_prefix_role() {
        let s: SocketSpec = "sub+connect:tcp://127.0.0.1:1".parse().unwrap();
        assert_eq!(s.socket_type, SocketType::Sub);
    }
}
