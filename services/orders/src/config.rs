//! The orders service's configuration: the shared settings, the transport, and where the two
//! services it calls are listening. Read once in `main` (or built from a map by the test kit).

use baton_platform::config::{ConfigError, Source, SourceExt};
use baton_platform::{CommonConfig, Workload};
use baton_workload::Transport;

/// The default listen address (`ORDERS_LISTEN`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8093";

#[derive(Debug, Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub transport: Transport,
    /// `host:port` of the users service (`USERS_ADDR`, default `127.0.0.1:8091`).
    pub users_addr: String,
    /// `host:port` of the accounts service (`ACCOUNTS_ADDR`, default `127.0.0.1:8092`).
    pub accounts_addr: String,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_source(source, Workload::Orders, DEFAULT_LISTEN)?;
        Ok(Self {
            transport: Transport::from_source(source, &common)?,
            common,
            users_addr: source.parse_or("USERS_ADDR", "127.0.0.1:8091".to_owned())?,
            accounts_addr: source.parse_or("ACCOUNTS_ADDR", "127.0.0.1:8092".to_owned())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use baton_platform::config::Map;

    use super::*;

    /// Settings that need no certificate files: these tests are about addresses only.
    fn without_certificates() -> Map {
        Map::new()
            .with("BATON_LAB_MODE", "on")
            .with("BATON_LAB_DISABLE", "mtls.peer_id")
            .with(Transport::KEY, "insecure-plaintext")
    }

    #[test]
    fn peers_default_to_their_usual_loopback_ports() {
        let config = Config::from_source(&without_certificates());
        assert!(matches!(&config, Ok(c) if c.users_addr == "127.0.0.1:8091"
            && c.accounts_addr == "127.0.0.1:8092"));
    }

    #[test]
    fn a_peer_address_from_the_environment_wins() {
        let source = without_certificates().with("ACCOUNTS_ADDR", "10.0.0.7:9000");
        let config = Config::from_source(&source);
        assert!(matches!(&config, Ok(c) if c.accounts_addr == "10.0.0.7:9000"));
    }
}
