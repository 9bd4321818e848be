//! The STS's configuration.

use std::time::Duration;

use baton_platform::config::{ConfigError, Source, SourceExt};
use baton_platform::{CommonConfig, Workload};
use baton_workload::Transport;

use crate::domain::client::ClientSecret;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub transport: Transport,
    /// Lifetime of the opaque access tokens clients hold (`STS_ACCESS_TOKEN_TTL_SECS`, 600).
    pub access_token_ttl: Duration,
    /// Lifetime of the internal JWTs (`STS_INTERNAL_TOKEN_TTL_SECS`, 300). Never longer than the
    /// opaque token they were exchanged for.
    pub internal_token_ttl: Duration,
    /// The gateway's client secret (`BATON_GATEWAY_CLIENT_SECRET`, required): only the gateway may
    /// exchange opaque tokens.
    pub gateway_secret: ClientSecret,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let ttl = |key: &str, default: u64| -> Result<Duration, ConfigError> {
            let secs: u64 = source.parse_or(key, default)?;
            if secs == 0 || secs > 3600 {
                return Err(ConfigError::invalid(
                    key,
                    &secs.to_string(),
                    "expected 1 to 3600 seconds",
                ));
            }
            Ok(Duration::from_secs(secs))
        };
        let common = CommonConfig::from_source(source, Workload::Sts, "127.0.0.1:8090")?;
        Ok(Self {
            transport: Transport::from_source(source, &common)?,
            common,
            access_token_ttl: ttl("STS_ACCESS_TOKEN_TTL_SECS", 600)?,
            internal_token_ttl: ttl("STS_INTERNAL_TOKEN_TTL_SECS", 300)?,
            gateway_secret: ClientSecret::from_source(source)?,
        })
    }
}
