//! What one listener grants a connection: how many may be open, from one source and in all, and
//! how long each may take to speak, sit idle, and live.
//!
//! A server that waits politely for every client is a server anyone can exhaust without sending
//! a full request: open hundreds of connections and send a byte a second (slowloris), or send
//! nothing at all after the TLS handshake. Every listener Baton runs (the gateway's public one and
//! every internal one) therefore
//! - admits at most [`ConnectionLimits::max_connections`] at once, and at most
//!   [`ConnectionLimits::max_per_source`] from one source address (IPv6 counted per /64, the
//!   block one subscriber is usually given); a connection past either cap is closed at once;
//! - gives a client [`ConnectionLimits::header_read_timeout`] to send each request's head (on a
//!   kept-alive HTTP/1 connection this is also how long it may wait between requests);
//! - closes a connection on which no byte moved for [`ConnectionLimits::idle_timeout`] (HTTP/2
//!   included, and a client that never sends its first byte);
//! - lets one HTTP/2 connection carry at most [`ConnectionLimits::max_concurrent_streams`]
//!   requests at once, and pings an idle HTTP/2 peer to find out whether it is still there;
//! - closes every connection, busy or not, at [`ConnectionLimits::max_age`] or when a
//!   certificate on it expires, whichever is first (see `server::deadline`).
//!
//! `transport.connection_limits` off (lab mode) lifts all of it but the last (a connection's
//! lifetime is part of its identity, not of the listener's capacity), which is how the attack suite
//! shows what the limits are worth.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_platform::config::{ConfigError, Source, SourceExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits of one listener, read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `BATON_MAX_CONNECTIONS` (default 4096): connections open at once, in all.
    pub max_connections: usize,
    /// `BATON_MAX_CONNECTIONS_PER_SOURCE` (default 512): from one address (IPv6: one /64). A
    /// gateway behind a load balancer sees the balancer's few addresses: raise it there.
    pub max_per_source: usize,
    /// `BATON_HEADER_READ_TIMEOUT_MS` (default 10 000): to send a request's head.
    pub header_read_timeout: Duration,
    /// `BATON_IDLE_TIMEOUT_MS` (default 60 000): with no byte moving either way.
    pub idle_timeout: Duration,
    /// `BATON_H2_MAX_CONCURRENT_STREAMS` (default 128): requests at once on one HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// `BATON_MAX_CONNECTION_AGE_MS` (default 3 600 000, an hour): how long any connection may
    /// live, however busy. Also never past the expiry of either certificate on it.
    pub max_age: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_per_source: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_concurrent_streams: 128,
            max_age: Duration::from_secs(3600),
        }
    }
}

impl ConnectionLimits {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let default = Self::default();
        let millis = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
            let value: u64 = source.parse_or(key, default.as_millis() as u64)?;
            positive(key, value).map(Duration::from_millis)
        };
        let count = |key: &str, default: usize| -> Result<usize, ConfigError> {
            let value: usize = source.parse_or(key, default)?;
            positive(key, value as u64).map(|_| value)
        };
        let streams: u32 = source.parse_or(
            "BATON_H2_MAX_CONCURRENT_STREAMS",
            default.max_concurrent_streams,
        )?;
        Ok(Self {
            max_connections: count("BATON_MAX_CONNECTIONS", default.max_connections)?,
            max_per_source: count("BATON_MAX_CONNECTIONS_PER_SOURCE", default.max_per_source)?,
            header_read_timeout: millis(
                "BATON_HEADER_READ_TIMEOUT_MS",
                default.header_read_timeout,
            )?,
            idle_timeout: millis("BATON_IDLE_TIMEOUT_MS", default.idle_timeout)?,
            max_concurrent_streams: positive("BATON_H2_MAX_CONCURRENT_STREAMS", streams.into())
                .map(|_| streams)?,
            max_age: millis("BATON_MAX_CONNECTION_AGE_MS", default.max_age)?,
        })
    }

    /// How long a client keeps an idle pooled connection: well inside the server's patience,
    /// so a client never sends a request on a connection the server is just closing.
    pub fn client_pool_idle_timeout(&self) -> Duration {
        self.header_read_timeout.min(self.idle_timeout) / 2
    }
}

fn positive(key: &str, value: u64) -> Result<u64, ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "0", "must be at least 1"));
    }
    Ok(value)
}

/// The source a connection is counted against: its IPv4 address, or the /64 of its IPv6 address
/// (an IPv4-mapped address counts as the IPv4 address it maps). The gateway's rate limits count
/// a request's source by this same rule, so the two never disagree on what one source is.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Who gets in: the caps of [`ConnectionLimits`], counted.
#[derive(Debug, Clone)]
pub struct Admission {
    total: Arc<Semaphore>,
    per_source: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_source: usize,
    max_connections: usize,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the listener has its maximum number of connections open")]
    Full,
    #[error("this source has its maximum number of connections open")]
    SourceFull,
}

/// An admitted connection's place, given back when it is dropped.
#[derive(Debug)]
pub struct Admitted {
    _total: OwnedSemaphorePermit,
    source: IpAddr,
    per_source: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.per_source.lock()
            && let Some(count) = counts.get_mut(&self.source)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.source);
            }
        }
    }
}

impl Admission {
    pub fn new(limits: &ConnectionLimits) -> Self {
        Self {
            total: Arc::new(Semaphore::new(limits.max_connections)),
            per_source: Arc::default(),
            max_per_source: limits.max_per_source,
            max_connections: limits.max_connections,
        }
    }

    /// Admits a connection from `ip`, or says which cap it hit.
    pub fn admit(&self, ip: IpAddr) -> Result<Admitted, Refused> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Full)?;
        let source = source_key(ip);
        let mut counts = self.per_source.lock().map_err(|_| Refused::Full)?;
        let count = counts.entry(source).or_default();
        if *count >= self.max_per_source {
            return Err(Refused::SourceFull);
        }
        *count += 1;
        Ok(Admitted {
            _total: total,
            source,
            per_source: self.per_source.clone(),
        })
    }

    /// Waits until every admitted connection is gone, at most `within`; whether they all went.
    pub async fn drained(&self, within: Duration) -> bool {
        let everyone = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        tokio::time::timeout(within, self.total.acquire_many(everyone))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use baton_platform::config::Map;

    use super::*;

    fn limits(per_source: usize, total: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: total,
            max_per_source: per_source,
            ..ConnectionLimits::default()
        }
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().expect("an address")
    }

    #[test]
    fn a_source_past_its_cap_is_refused_while_others_get_in_and_a_closed_one_frees_its_place() {
        let admission = Admission::new(&limits(2, 10));
        let first = admission.admit(ip("10.0.0.1")).expect("first");
        let _second = admission.admit(ip("10.0.0.1")).expect("second");
        assert_eq!(
            admission.admit(ip("10.0.0.1")).err(),
            Some(Refused::SourceFull)
        );
        assert!(admission.admit(ip("10.0.0.2")).is_ok(), "another source");
        drop(first);
        assert!(
            admission.admit(ip("10.0.0.1")).is_ok(),
            "its place is free again"
        );
    }

    #[test]
    fn the_listener_as_a_whole_is_capped() {
        let admission = Admission::new(&limits(10, 2));
        let _a = admission.admit(ip("10.0.0.1")).expect("a");
        let _b = admission.admit(ip("10.0.0.2")).expect("b");
        assert_eq!(admission.admit(ip("10.0.0.3")).err(), Some(Refused::Full));
    }

    #[test]
    fn ipv6_sources_count_per_slash_64_and_mapped_ipv4_as_the_ipv4_address() {
        assert_eq!(source_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            source_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(source_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(source_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        let admission = Admission::new(&limits(1, 10));
        let _one = admission.admit(ip("2001:db8:1:2::1")).expect("one");
        assert_eq!(
            admission.admit(ip("2001:db8:1:2::99")).err(),
            Some(Refused::SourceFull),
            "the same /64"
        );
    }

    #[test]
    fn limits_are_read_from_the_environment_and_zero_is_refused() {
        let source = Map::new()
            .with("BATON_MAX_CONNECTIONS_PER_SOURCE", "3")
            .with("BATON_HEADER_READ_TIMEOUT_MS", "1500")
            .with("BATON_MAX_CONNECTION_AGE_MS", "250");
        let read = ConnectionLimits::from_source(&source).expect("valid");
        assert_eq!(read.max_per_source, 3);
        assert_eq!(read.max_age, Duration::from_millis(250));
        assert_eq!(read.header_read_timeout, Duration::from_millis(1500));
        assert_eq!(read.client_pool_idle_timeout(), Duration::from_millis(750));
        assert_eq!(
            ConnectionLimits::from_source(&Map::new()).ok(),
            Some(ConnectionLimits::default())
        );
        for key in [
            "BATON_MAX_CONNECTIONS",
            "BATON_MAX_CONNECTIONS_PER_SOURCE",
            "BATON_HEADER_READ_TIMEOUT_MS",
            "BATON_IDLE_TIMEOUT_MS",
            "BATON_H2_MAX_CONCURRENT_STREAMS",
            "BATON_MAX_CONNECTION_AGE_MS",
        ] {
            assert!(
                ConnectionLimits::from_source(&Map::new().with(key, "0")).is_err(),
                "{key}=0"
            );
        }
    }

    #[tokio::test]
    async fn draining_waits_for_every_admitted_connection() {
        let admission = Admission::new(&limits(10, 4));
        let open = admission.admit(ip("10.0.0.1")).expect("open");
        assert!(!admission.drained(Duration::from_millis(50)).await);
        drop(open);
        assert!(admission.drained(Duration::from_millis(50)).await);
    }
}
