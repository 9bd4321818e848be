//! The gateway's configuration.

use std::collections::BTreeMap;

use baton_platform::config::{ConfigError, Source, SourceExt};
use baton_platform::{Settings, Workload};
use baton_workload::Transport;

use crate::edge::EdgeConfig;
use secrecy::SecretString;

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub transport: Transport,
    /// `host:port` of every upstream: `USERS_ADDR`, `ACCOUNTS_ADDR`, `ORDERS_ADDR` (and the STS,
    /// from `STS_ADDR`).
    pub upstreams: BTreeMap<Workload, String>,
    /// The gateway's client secret at the STS (`BATON_GATEWAY_CLIENT_SECRET`).
    pub client_secret: SecretString,
    /// Rate, size and shape limits, CORS and trusted proxies (see `edge::config`).
    pub edge: EdgeConfig,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let settings = Settings::from_source(source, Workload::Gateway, "127.0.0.1:8443")?;
        let mut upstreams = BTreeMap::new();
        upstreams.insert(Workload::Sts, settings.sts_addr.clone());
        for (workload, key, default) in [
            (Workload::Users, "USERS_ADDR", "127.0.0.1:8091"),
            (Workload::Accounts, "ACCOUNTS_ADDR", "127.0.0.1:8092"),
            (Workload::Orders, "ORDERS_ADDR", "127.0.0.1:8093"),
        ] {
            upstreams.insert(workload, source.parse_or(key, default.to_owned())?);
        }
        let client_secret = source
            .get("BATON_GATEWAY_CLIENT_SECRET")
            .map(SecretString::from)
            .ok_or_else(|| ConfigError::Missing {
                key: "BATON_GATEWAY_CLIENT_SECRET".to_owned(),
            })?;
        let edge = EdgeConfig::from_source(source)?;
        edge.refuse_dangerous(settings.controls.is_lab_mode())?;
        Ok(Self {
            edge,
            transport: Transport::from_source(source, &settings)?,
            upstreams,
            client_secret,
            settings,
        })
    }
}
