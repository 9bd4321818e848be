//! The edge's settings: every limit with its documented default (docs/edge-protection.md), and
//! the start-up check that refuses dangerous settings outside lab mode.

use std::num::NonZeroU32;
use std::time::Duration;

use baton_platform::config::{ConfigError, Source, SourceExt};
use http::HeaderValue;
use ipnet::IpNet;

use crate::edge::json::JsonLimits;
use crate::edge::rate::Quotas;

/// Requests per window a source or user may send to the API.
pub const DEFAULT_API_LIMIT: u32 = 600;
/// Requests per window a source may send to the login pages: far fewer than the API.
pub const DEFAULT_LOGIN_LIMIT: u32 = 30;
/// Requests per window one client (from one source) may send to the STS's machine endpoints.
pub const DEFAULT_CLIENT_LIMIT: u32 = 300;
/// Requests per window one source may send to the machine endpoints, all clients together.
pub const DEFAULT_MACHINE_LIMIT: u32 = 1200;
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
pub const DEFAULT_UPSTREAM_CONCURRENCY: usize = 256;
pub const DEFAULT_BREAKER_FAILURES: u32 = 5;
pub const DEFAULT_BREAKER_COOLDOWN: Duration = Duration::from_secs(10);

/// The gateway's edge settings.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Requests per window for each class: `GATEWAY_RATE_LIMIT_API`, `GATEWAY_RATE_LIMIT_LOGIN`
    /// (the login pages, and machine requests that name no readable client),
    /// `GATEWAY_RATE_LIMIT_CLIENT` (per client and source at the machine endpoints) and
    /// `GATEWAY_RATE_LIMIT_MACHINE` (per source at the machine endpoints, at least the client's).
    pub quotas: Quotas,
    /// `GATEWAY_RATE_LIMIT_WINDOW_SECS`: the window every limit is counted over.
    pub window: Duration,
    /// `REDIS_URL`: when set, limits are shared by every gateway using the same Redis.
    pub redis_url: Option<String>,
    /// `GATEWAY_TRUSTED_PROXIES`: networks whose `X-Forwarded-For` is believed (default none).
    pub trusted_proxies: Vec<IpNet>,
    /// `GATEWAY_JSON_MAX_*`: the shape a JSON body may have.
    pub json: JsonLimits,
    /// `GATEWAY_MAX_HEADER_BYTES`: names plus values of all request headers.
    pub max_header_bytes: usize,
    /// `GATEWAY_REQUEST_TIMEOUT_SECS`: the most the gateway spends on one request.
    pub request_timeout: Duration,
    /// `GATEWAY_UPSTREAM_CONCURRENCY`: requests in flight per upstream before 503.
    pub upstream_concurrency: usize,
    /// `GATEWAY_BREAKER_FAILURES`: consecutive upstream failures that open the breaker.
    pub breaker_failures: u32,
    /// `GATEWAY_BREAKER_COOLDOWN_SECS`: how long an open breaker fails fast.
    pub breaker_cooldown: Duration,
    /// `GATEWAY_CORS_ORIGINS`: origins granted cross-origin access (default none).
    pub cors_origins: Vec<HeaderValue>,
    /// `GATEWAY_CORS_ALLOW_CREDENTIALS`: whether those origins may send credentials.
    pub cors_allow_credentials: bool,
}

impl EdgeConfig {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let defaults = JsonLimits::default();
        Ok(Self {
            quotas: quotas(source)?,
            window: secs(source, "GATEWAY_RATE_LIMIT_WINDOW_SECS", DEFAULT_WINDOW)?,
            redis_url: source.get("REDIS_URL").filter(|url| !url.trim().is_empty()),
            trusted_proxies: list(source, "GATEWAY_TRUSTED_PROXIES", |raw| {
                raw.parse::<IpNet>()
                    .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| "expected an address or a network like `10.0.0.0/8`")
            })?,
            json: JsonLimits {
                max_depth: source.parse_or("GATEWAY_JSON_MAX_DEPTH", defaults.max_depth)?,
                max_keys: source.parse_or("GATEWAY_JSON_MAX_KEYS", defaults.max_keys)?,
                max_string: source.parse_or("GATEWAY_JSON_MAX_STRING", defaults.max_string)?,
                max_array: source.parse_or("GATEWAY_JSON_MAX_ARRAY", defaults.max_array)?,
            },
            max_header_bytes: source
                .parse_or("GATEWAY_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES)?,
            request_timeout: secs(
                source,
                "GATEWAY_REQUEST_TIMEOUT_SECS",
                DEFAULT_REQUEST_TIMEOUT,
            )?,
            upstream_concurrency: source
                .parse_or("GATEWAY_UPSTREAM_CONCURRENCY", DEFAULT_UPSTREAM_CONCURRENCY)?
                .max(1),
            breaker_failures: source
                .parse_or("GATEWAY_BREAKER_FAILURES", DEFAULT_BREAKER_FAILURES)?
                .max(1),
            breaker_cooldown: secs(
                source,
                "GATEWAY_BREAKER_COOLDOWN_SECS",
                DEFAULT_BREAKER_COOLDOWN,
            )?,
            cors_origins: list(source, "GATEWAY_CORS_ORIGINS", |raw| {
                HeaderValue::from_str(raw).map_err(|_| "not a valid origin")
            })?,
            cors_allow_credentials: source.parse_or("GATEWAY_CORS_ALLOW_CREDENTIALS", false)?,
        })
    }

    /// Refuses settings that open the edge wide, unless lab mode is on (and lab mode is itself
    /// refused in production): CORS for any origin (`*`), or for any origin with credentials;
    /// every address a trusted proxy (a `/0` network), so any client could name its own address.
    pub fn refuse_dangerous(&self, lab_mode: bool) -> Result<(), ConfigError> {
        if lab_mode {
            return Ok(());
        }
        if let Some(any) = self.cors_origins.iter().find(|origin| *origin == "*") {
            let why = if self.cors_allow_credentials {
                "CORS for any origin with credentials is refused outside lab mode"
            } else {
                "CORS for any origin is refused outside lab mode; list the origins"
            };
            return Err(ConfigError::invalid(
                "GATEWAY_CORS_ORIGINS",
                any.to_str().unwrap_or("*"),
                why,
            ));
        }
        if let Some(everyone) = self
            .trusted_proxies
            .iter()
            .find(|net| net.prefix_len() == 0)
        {
            return Err(ConfigError::invalid(
                "GATEWAY_TRUSTED_PROXIES",
                &everyone.to_string(),
                "trusting every address as a proxy lets any client choose its own address",
            ));
        }
        Ok(())
    }
}

fn quotas(source: &dyn Source) -> Result<Quotas, ConfigError> {
    let quotas = Quotas {
        api: source.parse_or("GATEWAY_RATE_LIMIT_API", nonzero(DEFAULT_API_LIMIT))?,
        login: source.parse_or("GATEWAY_RATE_LIMIT_LOGIN", nonzero(DEFAULT_LOGIN_LIMIT))?,
        client: source.parse_or("GATEWAY_RATE_LIMIT_CLIENT", nonzero(DEFAULT_CLIENT_LIMIT))?,
        machine: source.parse_or("GATEWAY_RATE_LIMIT_MACHINE", nonzero(DEFAULT_MACHINE_LIMIT))?,
    };
    // A ceiling under the per-client limit would make the per-client limit a fiction.
    if quotas.machine < quotas.client {
        return Err(ConfigError::invalid(
            "GATEWAY_RATE_LIMIT_MACHINE",
            &quotas.machine.to_string(),
            "must be at least GATEWAY_RATE_LIMIT_CLIENT",
        ));
    }
    Ok(quotas)
}

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

fn secs(source: &dyn Source, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    let secs: u64 = source.parse_or(key, default.as_secs())?;
    if secs == 0 {
        return Err(ConfigError::invalid(key, "0", "must be at least 1 second"));
    }
    Ok(Duration::from_secs(secs))
}

/// A comma-separated list; empty or missing is an empty list.
fn list<T>(
    source: &dyn Source,
    key: &str,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Vec<T>, ConfigError> {
    let raw = source.get(key).unwrap_or_default();
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| parse(item).map_err(|why| ConfigError::invalid(key, item, why)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_platform::config::Map;

    fn config(source: &Map) -> EdgeConfig {
        EdgeConfig::from_source(source).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn the_defaults_are_closed() {
        let edge = config(&Map::new());
        assert_eq!(edge.quotas.api.get(), DEFAULT_API_LIMIT);
        assert_eq!(edge.quotas.login.get(), DEFAULT_LOGIN_LIMIT);
        assert_eq!(edge.quotas.client.get(), DEFAULT_CLIENT_LIMIT);
        assert_eq!(edge.quotas.machine.get(), DEFAULT_MACHINE_LIMIT);
        assert!(edge.trusted_proxies.is_empty());
        assert!(edge.cors_origins.is_empty());
        assert!(edge.redis_url.is_none());
        assert!(edge.refuse_dangerous(false).is_ok());
    }

    #[test]
    fn cors_for_any_origin_is_refused_outside_lab_mode() {
        let edge = config(
            &Map::new()
                .with("GATEWAY_CORS_ORIGINS", "*")
                .with("GATEWAY_CORS_ALLOW_CREDENTIALS", "true"),
        );
        assert!(edge.refuse_dangerous(false).is_err());
        assert!(edge.refuse_dangerous(true).is_ok());
    }

    #[test]
    fn trusting_every_address_as_a_proxy_is_refused_outside_lab_mode() {
        for everyone in ["0.0.0.0/0", "::/0"] {
            let edge = config(&Map::new().with("GATEWAY_TRUSTED_PROXIES", everyone));
            assert!(edge.refuse_dangerous(false).is_err(), "{everyone}");
        }
        let edge = config(&Map::new().with("GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7"));
        assert_eq!(edge.trusted_proxies.len(), 2);
        assert!(edge.refuse_dangerous(false).is_ok());
    }

    #[test]
    fn a_per_source_ceiling_under_the_per_client_limit_is_refused() {
        let narrow = Map::new()
            .with("GATEWAY_RATE_LIMIT_CLIENT", "100")
            .with("GATEWAY_RATE_LIMIT_MACHINE", "99");
        assert!(EdgeConfig::from_source(&narrow).is_err());
        let equal = Map::new()
            .with("GATEWAY_RATE_LIMIT_CLIENT", "100")
            .with("GATEWAY_RATE_LIMIT_MACHINE", "100");
        assert!(EdgeConfig::from_source(&equal).is_ok());
    }

    #[test]
    fn a_zero_limit_or_window_is_refused() {
        for key in [
            "GATEWAY_RATE_LIMIT_API",
            "GATEWAY_RATE_LIMIT_LOGIN",
            "GATEWAY_RATE_LIMIT_CLIENT",
            "GATEWAY_RATE_LIMIT_MACHINE",
        ] {
            assert!(
                EdgeConfig::from_source(&Map::new().with(key, "0")).is_err(),
                "{key}"
            );
        }
        assert!(
            EdgeConfig::from_source(&Map::new().with("GATEWAY_RATE_LIMIT_WINDOW_SECS", "0"))
                .is_err()
        );
    }
}
