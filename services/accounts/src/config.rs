//! The accounts service's configuration: only the settings every component shares, plus the
//! transport. Read once in `main` (or built from a map by the test kit) and passed down.

use baton_platform::config::{ConfigError, Source};
use baton_platform::{Settings, Workload};
use baton_workload::Transport;

/// The default listen address (`ACCOUNTS_LISTEN`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8092";

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub transport: Transport,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let settings = Settings::from_source(source, Workload::Accounts, DEFAULT_LISTEN)?;
        Ok(Self {
            transport: Transport::from_source(source, &settings)?,
            settings,
        })
    }
}
