//! Run mode and trust mode: two switches every component reads at start-up.

use std::fmt;
use std::str::FromStr;

use crate::config::{ConfigError, Source, SourceExt};

/// Where the platform runs. Production refuses lab switches and demo data outright, and is what a
/// component runs as unless told otherwise: forgetting a setting must never publish an admin's
/// password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// A laptop or a workshop: demo users are seeded, lab mode may be switched on. Only when asked
    /// for by name (`just up` and the test kit do).
    Development,
    /// A real deployment: no demo data, no lab switches, whatever else the config says.
    Production,
}

impl RunMode {
    pub const KEY: &'static str = "BATON_ENV";

    /// Reads `BATON_ENV` (`production`, the default, or `development`).
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        source.parse_or(Self::KEY, RunMode::Production)
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
/// Every place that decides what token to present to the next hop matches on this enum (see
/// `baton_token::onward`), so the two modes differ in one place, not in every caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustMode {
    /// One signed internal token, minted by the STS for the gateway, carried unchanged through
    /// every hop and verified by every service.
    E2e,
    /// RFC 8693 token exchange at every hop: each caller trades the token it holds, plus its own
    /// workload identity, for a new token addressed only to the next service, with narrowed
    /// scopes, the delegation chain in `act`, and bound to the caller's certificate (RFC 8705).
    Exchange,
}

impl TrustMode {
    pub const KEY: &'static str = "TRUST_MODE";

    /// Reads `TRUST_MODE` (`e2e`, the default, or `exchange`).
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        source.parse_or(Self::KEY, TrustMode::E2e)
    }
}

impl FromStr for TrustMode {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "e2e" => Ok(TrustMode::E2e),
            "exchange" => Ok(TrustMode::Exchange),
            _ => Err("expected `e2e` or `exchange`".to_owned()),
        }
    }
}

impl fmt::Display for TrustMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustMode::E2e => f.write_str("e2e"),
            TrustMode::Exchange => f.write_str("exchange"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Map;

    #[test]
    fn production_unless_development_is_asked_for_by_name() {
        let mode = |value: Option<&str>| {
            let source = value.map_or_else(Map::new, |value| Map::new().with(RunMode::KEY, value));
            RunMode::from_source(&source)
        };
        assert_eq!(mode(None).ok(), Some(RunMode::Production));
        assert_eq!(mode(Some("production")).ok(), Some(RunMode::Production));
        assert_eq!(mode(Some("development")).ok(), Some(RunMode::Development));
        assert!(mode(Some("prodution")).is_err());
    }
}
