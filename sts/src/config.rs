//! The STS's configuration.

use std::time::Duration;

use baton_platform::config::{ConfigError, Source, SourceExt};
use baton_platform::{Settings, Workload};
use baton_workload::Transport;

use crate::domain::client::ClientSecret;
use crate::domain::sealing::SealingKeySource;

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub transport: Transport,
    /// Where clients reach the STS: the gateway's public URL (`STS_PUBLIC_URL`,
    /// `https://127.0.0.1:8443`). It is the authorization server's issuer identifier in the RFC
    /// 8414 metadata, and the base of every endpoint URL published there.
    pub public_url: String,
    /// Lifetime of the opaque access tokens clients hold (`STS_ACCESS_TOKEN_TTL_SECS`, 600).
    pub access_token_ttl: Duration,
    /// Lifetime of the internal JWTs (`STS_INTERNAL_TOKEN_TTL_SECS`, 300). Never longer than the
    /// opaque token they were exchanged for.
    pub internal_token_ttl: Duration,
    /// Absolute lifetime of a grant and its refresh tokens (`STS_REFRESH_TOKEN_TTL_SECS`, 8 hours;
    /// rotation does not extend it).
    pub refresh_token_ttl: Duration,
    /// How often the signing key rotates (`STS_KEY_ROTATION_SECS`, one day; at least 10 s, the
    /// verifiers' JWKS refresh interval, or a rotation could fail requests).
    pub key_rotation: Duration,
    /// The gateway's client secret (`BATON_GATEWAY_CLIENT_SECRET`, required): only the gateway may
    /// exchange opaque tokens.
    pub gateway_secret: ClientSecret,
    /// The key set that seals TOTP seeds and signing keys at rest (`STS_SEALING_KEY_FILE` or
    /// `STS_SEALING_KEY`; required in production, generated under `BATON_DATA_DIR` in
    /// development). See `domain::sealing::keys`.
    pub sealing: SealingKeySource,
}

/// A duration in seconds read from `key`, within `min..=max`.
fn seconds(
    source: &dyn Source,
    key: &str,
    default: u64,
    (min, max): (u64, u64),
) -> Result<Duration, ConfigError> {
    let secs: u64 = source.parse_or(key, default)?;
    if !(min..=max).contains(&secs) {
        return Err(ConfigError::invalid(
            key,
            &secs.to_string(),
            format!("expected {min} to {max} seconds"),
        ));
    }
    Ok(Duration::from_secs(secs))
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let settings = Settings::from_source(source, Workload::Sts, "127.0.0.1:8090")?;
        let public_url: String =
            source.parse_or("STS_PUBLIC_URL", "https://127.0.0.1:8443".to_owned())?;
        if !public_url.starts_with("https://") || public_url.ends_with('/') {
            return Err(ConfigError::invalid(
                "STS_PUBLIC_URL",
                &public_url,
                "expected an https:// URL without a trailing slash",
            ));
        }
        let sealing = SealingKeySource::from_source(source, &settings)?;
        Ok(Self {
            transport: Transport::from_source(source, &settings)?,
            settings,
            public_url,
            access_token_ttl: seconds(source, "STS_ACCESS_TOKEN_TTL_SECS", 600, (1, 3600))?,
            internal_token_ttl: seconds(source, "STS_INTERNAL_TOKEN_TTL_SECS", 300, (1, 3600))?,
            refresh_token_ttl: seconds(
                source,
                "STS_REFRESH_TOKEN_TTL_SECS",
                8 * 3600,
                (60, 30 * 86_400),
            )?,
            key_rotation: seconds(source, "STS_KEY_ROTATION_SECS", 86_400, (10, 90 * 86_400))?,
            gateway_secret: ClientSecret::from_source(source)?,
            sealing,
        })
    }

    /// Seconds, as the database and the token answers count them.
    pub fn secs(duration: Duration) -> i64 {
        i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
    }
}
