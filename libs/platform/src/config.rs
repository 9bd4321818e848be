//! Typed configuration, read once in `main` and passed down.
//!
//! Every component has a config struct with a `from_source` constructor. The values come from a
//! [`Source`]: the process environment in `main`, a plain map in tests. Defaults are written next
//! to the field they belong to; a value that is present but malformed is an error, never silently
//! replaced by the default (a typo in `BATON_ENV=prodution` must not start a development server).

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::str::FromStr;

/// Where configuration values come from.
pub trait Source: Debug + Send + Sync {
    /// The raw value of `key`, if it is set.
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Environment;

impl Source for Environment {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|value| !value.is_empty())
    }
}

/// A fixed map of values, for tests and for the in-process test kit.
#[derive(Debug, Clone, Default)]
pub struct Map(HashMap<String, String>);

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key`, returning the map so calls chain.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }

    /// Every key and its value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

impl Source for Map {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

/// A configuration value that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("`{key}` is required but not set")]
    Missing { key: String },
    /// A required value is missing, and the message says how to make one.
    #[error("{what} is required but not set: {hint}")]
    MissingWithHint { what: String, hint: String },
    #[error("`{key}` has an invalid value `{value}`: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

impl ConfigError {
    pub fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Typed reads over a [`Source`].
pub trait SourceExt: Source {
    /// The value of `key` parsed as `T`, or `default` when it is not set.
    fn parse_or<T>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|err: T::Err| ConfigError::invalid(key, &raw, err.to_string())),
        }
    }

    /// The value of `key` parsed as `T`; an error when it is not set.
    fn parse_required<T>(&self, key: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let raw = self.get(key).ok_or_else(|| ConfigError::Missing {
            key: key.to_owned(),
        })?;
        raw.parse()
            .map_err(|err: T::Err| ConfigError::invalid(key, &raw, err.to_string()))
    }

    /// The first of `keys` that is set, as a string.
    fn first_of(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| self.get(key))
    }

    /// A listen address; port 0 means "pick a free one".
    fn listen_addr(&self, key: &str, default: &str) -> Result<SocketAddr, ConfigError> {
        let raw = self.get(key).unwrap_or_else(|| default.to_owned());
        raw.parse()
            .map_err(|_| ConfigError::invalid(key, &raw, "expected an address like 127.0.0.1:8080"))
    }
}

impl<S: Source + ?Sized> SourceExt for S {}

/// Exits the process with the one-line message and code 64 (EX_USAGE) that bad configuration
/// deserves: no backtrace, no half-started server.
pub fn exit_on_bad_config(component: &str, err: &ConfigError) -> ! {
    eprintln!("{component}: bad configuration: {err}");
    std::process::exit(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_but_malformed_value_is_an_error_not_the_default() {
        let source = Map::new().with("PORT", "eighty");
        let parsed: Result<u16, _> = source.parse_or("PORT", 8080);
        assert!(matches!(parsed, Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn a_missing_value_takes_the_default() {
        let parsed: u16 = Map::new().parse_or("PORT", 8080).unwrap_or(0);
        assert_eq!(parsed, 8080);
    }
}
