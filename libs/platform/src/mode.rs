//! Run mode and trust mode: two switches every component reads at start-up.

use std::fmt;
use std::str::FromStr;

use crate::config::{ConfigError, Source, SourceExt};

/// Where the platform runs. Production refuses lab switches and demo data outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// A laptop or a workshop: demo users are seeded, lab mode may be switched on.
    Development,
    /// A real deployment: no demo data, no lab switches, whatever else the config says.
    Production,
}

impl RunMode {
    pub const KEY: &'static str = "BATON_ENV";

    /// Reads `BATON_ENV` (`development`, the default, or `production`).
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        source.parse_or(Self::KEY, RunMode::Development)
    }

    pub fn is_production(self) -> bool {
        self == RunMode::Production
    }
}

impl FromStr for RunMode {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "development" | "dev" => Ok(RunMode::Development),
            "production" | "prod" => Ok(RunMode::Production),
            _ => Err("expected `development` or `production`".to_owned()),
        }
    }
}

/// How the user's security context travels from the gateway down the call chain.
///
/// This is the seam the token-exchange work plugs into: every place that decides what token to
/// present to the next hop matches on this enum, so adding `Exchange` is a compile error
/// everywhere it has to be handled, not a search through the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustMode {
    /// One signed internal token, minted by the STS for the gateway, carried unchanged through
    /// every hop and verified by every service.
    E2e,
}

impl TrustMode {
    pub const KEY: &'static str = "TRUST_MODE";

    /// Reads `TRUST_MODE` (`e2e`, the default).
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        source.parse_or(Self::KEY, TrustMode::E2e)
    }
}

impl FromStr for TrustMode {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "e2e" => Ok(TrustMode::E2e),
            "exchange" => Err("token-exchange mode is not built yet; use `e2e`".to_owned()),
            _ => Err("expected `e2e`".to_owned()),
        }
    }
}

impl fmt::Display for TrustMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustMode::E2e => f.write_str("e2e"),
        }
    }
}
