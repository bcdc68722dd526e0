//! Frame bytes in Redis, keyed as Savant's Kafka-Redis adapters key them.
//!
//! The sink writes `SET <prefix>:<frame uuid> <bytes> EX <ttl>` and puts
//! `<host>:<port>:<db>/<key>` in the frame's external content (method
//! `"redis"`); the source reads the location back with `GET`. One
//! connection per `host:port:db`, made on first use and made again after a
//! failure; failures are retried with a doubling backoff (10 ms to 1 s)
//! up to a deadline, then returned.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::{KafkaError, Result};

/// The external content method of frames whose bytes are in Redis.
pub const REDIS_METHOD: &str = "redis";

/// Savant's default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "savant:frames";

/// Savant's default key TTL.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A Redis database: host, port and database number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedisAddress {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database number.
    pub db: i64,
}

impl RedisAddress {
    /// `host:port:db`, the first half of a location.
    pub fn location_prefix(&self) -> String {
        format!("{}:{}:{}", self.host, self.port, self.db)
    }

    /// Parses `host[:port][/db]` (port 6379 and db 0 by default), what
    /// `--redis` takes.
    ///
    /// ```
    /// use savant_sdk_kafka::store::RedisAddress;
    /// let a: RedisAddress = "127.0.0.1:7000/2".parse().unwrap();
    /// assert_eq!((a.host.as_str(), a.port, a.db), ("127.0.0.1", 7000, 2));
    /// assert_eq!("redis".parse::<RedisAddress>().unwrap().port, 6379);
    /// assert!("h:x".parse::<RedisAddress>().is_err());
    /// ```
    pub fn parse_spec(s: &str) -> Result<Self> {
        let bad = |reason: &str| KafkaError::Settings {
            key: "redis",
            reason: format!("{s:?}: {reason} (expected host[:port][/db])"),
        };
        let (hp, db) = match s.split_once('/') {
            Some((hp, db)) => (hp, db.parse().map_err(|_| bad("bad db number"))?),
            None => (s, 0),
        };
        let (host, port) = match hp.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad("bad port"))?),
            None => (hp, 6379),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            db,
        })
    }
}

impl std::str::FromStr for RedisAddress {
    type Err = KafkaError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_spec(s)
    }
}

/// A parsed location `<host>:<port>:<db>/<key>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Where.
    pub address: RedisAddress,
    /// The key.
    pub key: String,
}

impl Location {
    /// The location text of `key` at `address`.
    pub fn format(address: &RedisAddress, key: &str) -> String {
        format!("{}/{key}", address.location_prefix())
    }

    /// Parses a location as Savant's source does (split at the first `/`,
    /// then the host part at `:` into host, port, db).
    ///
    /// ```
    /// use savant_sdk_kafka::store::Location;
    /// let l = Location::parse("10.0.0.5:6379:0/savant:frames:0190-ab").unwrap();
    /// assert_eq!(l.address.host, "10.0.0.5");
    /// assert_eq!(l.key, "savant:frames:0190-ab");
    /// assert!(Location::parse("nohost/key").is_err());
    /// ```
    pub fn parse(location: &str) -> Result<Self> {
        let bad = || KafkaError::BadLocation {
            location: location.to_string(),
        };
        let (hpd, key) = location.split_once('/').ok_or_else(bad)?;
        let mut parts = hpd.rsplitn(3, ':');
        let db = parts.next().and_then(|d| d.parse().ok()).ok_or_else(bad)?;
        let port = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        Ok(Self {
            address: RedisAddress {
                host: host.to_string(),
                port,
                db,
            },
            key: key.to_string(),
        })
    }
}

/// Connections to the Redis databases frames are in, with retries.
pub struct FrameStore {
    connections: HashMap<RedisAddress, redis::Connection>,
    deadline: Duration,
    retries: u64,
}

impl std::fmt::Debug for FrameStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameStore")
            .field("connections", &self.connections.keys().collect::<Vec<_>>())
            .field("deadline", &self.deadline)
            .finish()
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

impl FrameStore {
    /// A store that retries each failed command for up to `deadline`.
    pub fn new(deadline: Duration) -> Self {
        Self {
            connections: HashMap::new(),
            deadline,
            retries: 0,
        }
    }

    /// Commands that failed and were tried again, so far.
    pub fn retries(&self) -> u64 {
        self.retries
    }

    fn connect(address: &RedisAddress) -> redis::RedisResult<redis::Connection> {
        let host = if address.host.contains(':') {
            format!("[{}]", address.host) // an IPv6 address
        } else {
            address.host.clone()
        };
        let client =
            redis::Client::open(format!("redis://{host}:{}/{}", address.port, address.db))?;
        let conn = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        conn.set_read_timeout(Some(IO_TIMEOUT))?;
        conn.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(conn)
    }

    /// Runs `cmd` at `address`, connecting on demand, retrying until the
    /// deadline.
    fn run<T: redis::FromRedisValue>(
        &mut self,
        operation: &'static str,
        address: &RedisAddress,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(10);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let result = match self.connections.get_mut(address) {
                Some(c) => cmd.query::<T>(c),
                None => match Self::connect(address) {
                    Ok(mut c) => {
                        let r = cmd.query::<T>(&mut c);
                        self.connections.insert(address.clone(), c);
                        r
                    }
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) => {
                    // a broken connection is made again on the next attempt
                    self.connections.remove(address);
                    let waited = start.elapsed();
                    if waited >= self.deadline {
                        return Err(KafkaError::Redis {
                            operation,
                            address: address.location_prefix(),
                            waited,
                            attempts,
                            source: e,
                        });
                    }
                    if attempts == 1 {
                        tracing::warn!(
                            "redis {operation} at {} failed ({e}); retrying for up to {:?}",
                            address.location_prefix(),
                            self.deadline
                        );
                    }
                    self.retries += 1;
                    std::thread::sleep(backoff.min(self.deadline - waited));
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// `SET key bytes EX ttl`.
    pub fn set(
        &mut self,
        address: &RedisAddress,
        key: &str,
        bytes: &[u8],
        ttl: Duration,
    ) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(bytes).arg("EX").arg(ttl.as_secs().max(1));
        self.run::<()>("SET", address, &cmd)
    }

    /// `EXPIRE key ttl`: whether the key exists (and its TTL was renewed).
    pub fn expire(&mut self, address: &RedisAddress, key: &str, ttl: Duration) -> Result<bool> {
        let mut cmd = redis::cmd("EXPIRE");
        cmd.arg(key).arg(ttl.as_secs().max(1));
        Ok(self.run::<i64>("EXPIRE", address, &cmd)? == 1)
    }

    /// `GET` of a location: `None` when the key is not there (expired).
    pub fn get(&mut self, location: &Location) -> Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(&location.key);
        self.run::<Option<Vec<u8>>>("GET", &location.address, &cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_reads_back_what_it_was_made_of() {
        let a = RedisAddress::parse_spec("10.1.2.3:7001/5").unwrap();
        let text = Location::format(&a, "savant:frames:0190b1c2-aaaa");
        assert_eq!(text, "10.1.2.3:7001:5/savant:frames:0190b1c2-aaaa");
        let l = Location::parse(&text).unwrap();
        assert_eq!(l.address, a);
        assert_eq!(l.key, "savant:frames:0190b1c2-aaaa");
    }

    #[test]
    fn malformed_locations_and_specs_are_refused() {
        for bad in ["", "h:1:0", "h:x:0/k", "h:1:y/k", ":1:0/k"] {
            assert!(Location::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["", ":6379", "h:port", "h:1/db"] {
            assert!(RedisAddress::parse_spec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_unreachable_redis_is_an_error_after_the_deadline() {
        // a port nothing listens on: bound, then closed
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let a = RedisAddress::parse_spec(&format!("127.0.0.1:{port}")).unwrap();
        let mut store = FrameStore::new(Duration::from_millis(200));
        let start = Instant::now();
        let e = store
            .set(&a, "k", b"v", Duration::from_secs(1))
            .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(200), "{e}");
        assert!(store.retries() > 0);
        let text = e.to_string();
        assert!(
            text.contains("redis SET at 127.0.0.1:") && text.contains("giving up"),
            "{text}"
        );
    }
}
