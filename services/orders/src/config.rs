//! The orders service's configuration: the shared settings, the transport, where the two
//! services it calls are listening, the limits on the ordering flow, the webhook guard and the
//! supplier. Read once in `main` (or built from a map by the test kit).

use std::path::PathBuf;
use std::time::Duration;

use baton_platform::config::{ConfigError, Source, SourceExt};
use baton_platform::{Settings, Workload};
use baton_workload::Transport;

/// The default listen address (`ORDERS_LISTEN`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8093";

#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub transport: Transport,
    /// `host:port` of the users service (`USERS_ADDR`, default `127.0.0.1:8091`).
    pub users_addr: String,
    /// `host:port` of the accounts service (`ACCOUNTS_ADDR`, default `127.0.0.1:8092`).
    pub accounts_addr: String,
    /// The limits on placing orders (`ORDERS_MAX_ORDERS_PER_WINDOW`, `ORDERS_ORDER_WINDOW_SECS`,
    /// `ORDERS_MAX_ITEMS_PER_ORDER`).
    pub limits: crate::domain::OrderLimits,
    pub webhooks: WebhookConfig,
    pub supplier: SupplierConfig,
    /// How connections to third parties are resolved and dialled. Not read from the environment:
    /// production uses the system's resolver and direct connections, and the test kit puts its
    /// hermetic dialer here (see [`crate::egress`]).
    pub egress: crate::egress::Egress,
    /// `ORDERS_ANSWER_WITHIN_MS`: how long `POST /v1/orders` waits for the payment before it
    /// answers `202 Accepted` and lets the payment finish on its own (default 10 000: inside the
    /// gateway's 15 s, so the client always hears from orders, never from a timeout).
    pub answer_within: Duration,
    pub reconcile: ReconcileConfig,
}

/// When the reconciler runs, and which pending orders it settles (see
/// [`crate::domain::reconcile`]).
#[derive(Debug, Clone, Copy)]
pub struct ReconcileConfig {
    /// `ORDERS_RECONCILE_EVERY_MS`: how often a round starts, the first at start-up (default
    /// 60 000).
    pub every: Duration,
    /// `ORDERS_RECONCILE_AFTER_MS`: how long an order stays `pending` before the reconciler may
    /// settle it, so the payment still running for it is not raced (default 300 000: far past
    /// the gateway's 15 s). 0 is allowed, for tests: settling stays safe, only a live payment
    /// may then find its order voided and failed.
    pub after: Duration,
}

/// Where order notifications may go (see [`crate::webhook`]).
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    /// `ORDERS_WEBHOOK_ALLOWED_HOSTS`: comma-separated host names or IP literals. Empty (the
    /// default) means webhooks are off and any `notify_url` is refused.
    pub allowed_hosts: Vec<String>,
    /// `ORDERS_WEBHOOK_RESOLVE`: fixed answers for host names, `name=ip` pairs separated by
    /// commas, consulted before DNS (like curl's `--resolve`). The answers are checked like any
    /// other; this exists for tests and workshops that have no DNS of their own.
    pub static_hosts: Vec<(String, std::net::IpAddr)>,
    /// `ORDERS_WEBHOOK_CA_FILE`: the roots webhook servers are verified against (default: the
    /// system bundle, `/etc/ssl/certs/ca-certificates.crt`). Read only when webhooks are on.
    pub ca_file: PathBuf,
    /// `ORDERS_WEBHOOK_TIMEOUT_MS`: the whole delivery, connect to last byte (default 3000).
    pub timeout: Duration,
}

/// The supplier orders prices items from (see [`crate::supplier`]).
#[derive(Debug, Clone)]
pub struct SupplierConfig {
    /// `ORDERS_SUPPLIER_URL`, default `https://127.0.0.1:8095`.
    pub url: String,
    /// `ORDERS_SUPPLIER_CA_FILE`: the roots the supplier's certificate is verified against
    /// (default `.baton/supplier/ca.pem`, written by `baton-supplier` in development).
    pub ca_file: PathBuf,
    /// `ORDERS_SUPPLIER_TIMEOUT_MS`: one price request, connect to last byte (default 2000).
    pub timeout: Duration,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let settings = Settings::from_source(source, Workload::Orders, DEFAULT_LISTEN)?;
        Ok(Self {
            transport: Transport::from_source(source, &settings)?,
            settings,
            users_addr: source.parse_or("USERS_ADDR", "127.0.0.1:8091".to_owned())?,
            accounts_addr: source.parse_or("ACCOUNTS_ADDR", "127.0.0.1:8092".to_owned())?,
            limits: crate::domain::OrderLimits {
                max_orders_per_window: source.parse_or("ORDERS_MAX_ORDERS_PER_WINDOW", 10)?,
                window_secs: positive(source, "ORDERS_ORDER_WINDOW_SECS", 60)?,
                max_items_per_order: positive(source, "ORDERS_MAX_ITEMS_PER_ORDER", 100)?,
            },
            webhooks: WebhookConfig {
                allowed_hosts: list(source, "ORDERS_WEBHOOK_ALLOWED_HOSTS")
                    .into_iter()
                    .map(|host| host.to_ascii_lowercase())
                    .collect(),
                static_hosts: static_hosts(source)?,
                ca_file: source.parse_or(
                    "ORDERS_WEBHOOK_CA_FILE",
                    PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
                )?,
                timeout: millis(source, "ORDERS_WEBHOOK_TIMEOUT_MS", 3000)?,
            },
            supplier: SupplierConfig {
                url: source.parse_or("ORDERS_SUPPLIER_URL", "https://127.0.0.1:8095".to_owned())?,
                ca_file: source.parse_or(
                    "ORDERS_SUPPLIER_CA_FILE",
                    PathBuf::from(".baton/supplier/ca.pem"),
                )?,
                timeout: millis(source, "ORDERS_SUPPLIER_TIMEOUT_MS", 2000)?,
            },
            egress: crate::egress::Egress::default(),
            answer_within: millis(source, "ORDERS_ANSWER_WITHIN_MS", 10_000)?,
            reconcile: ReconcileConfig {
                every: millis(source, "ORDERS_RECONCILE_EVERY_MS", 60_000)?,
                after: Duration::from_millis(
                    source.parse_or("ORDERS_RECONCILE_AFTER_MS", 300_000)?,
                ),
            },
        })
    }
}

fn list(source: &dyn Source, key: &str) -> Vec<String> {
    source
        .get(key)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn positive(source: &dyn Source, key: &str, default: i64) -> Result<i64, ConfigError> {
    let value: i64 = source.parse_or(key, default)?;
    if value < 1 {
        return Err(ConfigError::invalid(
            key,
            &value.to_string(),
            "must be at least 1",
        ));
    }
    Ok(value)
}

fn millis(source: &dyn Source, key: &str, default: u64) -> Result<Duration, ConfigError> {
    let value: u64 = source.parse_or(key, default)?;
    if value == 0 {
        return Err(ConfigError::invalid(key, "0", "must be at least 1"));
    }
    Ok(Duration::from_millis(value))
}

fn static_hosts(source: &dyn Source) -> Result<Vec<(String, std::net::IpAddr)>, ConfigError> {
    const KEY: &str = "ORDERS_WEBHOOK_RESOLVE";
    list(source, KEY)
        .into_iter()
        .map(|pair| {
            let (name, ip) = pair
                .split_once('=')
                .ok_or_else(|| ConfigError::invalid(KEY, &pair, "expected `name=ip`"))?;
            let ip = ip
                .trim()
                .parse()
                .map_err(|_| ConfigError::invalid(KEY, &pair, "not an IP address"))?;
            Ok((name.trim().to_ascii_lowercase(), ip))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use baton_platform::config::Map;

    use super::*;

    /// Settings that need no certificate files: these tests are about addresses only.
    fn without_certificates() -> Map {
        Map::new()
            .with("BATON_ENV", "development")
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

    #[test]
    fn webhooks_are_off_and_limits_are_ten_a_minute_by_default() {
        let config = Config::from_source(&without_certificates());
        assert!(
            matches!(&config, Ok(c) if c.webhooks.allowed_hosts.is_empty()
            && c.limits.max_orders_per_window == 10
            && c.limits.window_secs == 60
            && c.limits.max_items_per_order == 100)
        );
    }

    #[test]
    fn the_reconciler_runs_every_minute_on_orders_pending_five_minutes_by_default() {
        let config = Config::from_source(&without_certificates());
        assert!(
            matches!(&config, Ok(c) if c.reconcile.every == Duration::from_secs(60)
            && c.reconcile.after == Duration::from_secs(300))
        );
        let never = without_certificates().with("ORDERS_RECONCILE_EVERY_MS", "0");
        assert!(
            Config::from_source(&never).is_err(),
            "a round every 0 ms is bad config"
        );
    }

    #[test]
    fn a_static_host_that_is_not_an_address_is_bad_config() {
        let source = without_certificates().with("ORDERS_WEBHOOK_RESOLVE", "hooks.test=nowhere");
        assert!(Config::from_source(&source).is_err());
        let source = without_certificates().with("ORDERS_WEBHOOK_RESOLVE", "Hooks.Test=10.0.0.1");
        let config = Config::from_source(&source);
        assert!(matches!(&config, Ok(c) if c.webhooks.static_hosts[0].0 == "hooks.test"));
    }
}
