//! The rows of the table: what each sends, and how a row is measured.
//!
//! Each row runs three phases on the servers [`Setup`] started: a short warm-up (connections
//! opened, caches filled), a saturated phase with `concurrency` in flight (throughput, server
//! CPU, the p99 under load) and a light phase with one request in flight (the latency a request
//! meets when nothing queues). Rows run one after another, never together.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use baton_platform::Workload;
use baton_platform::demo::BOB;
use baton_sts::login_client::LoginClient;
use baton_testkit::TestPlatform;
use serde_json::json;

use super::load::{self, Factory, Measured};
pub use super::setup::Setup;

/// How long each phase of a row runs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Before measuring: connections opened, caches warm.
    pub warmup: Duration,
    /// The throughput phase, `concurrency` in flight.
    pub throughput: Duration,
    /// The light-load phase, one request in flight: the latency a request meets when the
    /// server is not saturated ("moderate load").
    pub light: Duration,
    pub concurrency: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            warmup: Duration::from_millis(300),
            throughput: Duration::from_secs(3),
            light: Duration::from_millis(1500),
            concurrency: 16,
        }
    }
}

/// One measured row.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: &'static str,
    /// What one unit of work is: a request, an exchange, a login.
    pub unit: &'static str,
    pub saturated: Measured,
    pub light: Measured,
    /// Server CPU time during the saturated phase.
    pub server_cpu: Duration,
    /// A lower bound on the gateway's token-cache hit rate during the row, where it applies.
    pub cache_hit_at_least: Option<f64>,
}

/// A row to measure: its name, its unit, how many in flight at saturation, and its work.
struct Plan {
    name: &'static str,
    unit: &'static str,
    concurrency: Option<usize>,
    factory: Factory,
    /// The light phase's work, when it must not share the saturated phase's (fresh tokens).
    light: Option<Factory>,
    /// Distinct client tokens whose exchanges the gateway caches during the row.
    cached_tokens: Option<u64>,
}

/// Measures every row, in order, or only the rows numbered in `only` (from 1; empty: all), as
/// when profiling one. Call it on the load generator's runtime.
pub async fn run_all(setup: &Setup, timing: Timing, only: &[usize]) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (number, plan) in (1..).zip(plans(setup).await?) {
        if !only.is_empty() && !only.contains(&number) {
            continue;
        }
        eprintln!("baton-bench: measuring {number}. {}", plan.name);
        rows.push(measure(plan, timing).await);
    }
    Ok(rows)
}

async fn measure(plan: Plan, timing: Timing) -> Row {
    let concurrency = plan.concurrency.unwrap_or(timing.concurrency);
    let warm = load::run(plan.factory.clone(), concurrency, timing.warmup).await;
    let before = super::cpu::server_time();
    let saturated = load::run(plan.factory.clone(), concurrency, timing.throughput).await;
    let server_cpu = super::cpu::server_time().saturating_sub(before);
    let light = load::run(plan.light.unwrap_or(plan.factory), 1, timing.light).await;
    let cache_hit_at_least = plan.cached_tokens.map(|tokens| {
        // The gateway keeps an exchange at most 10 s (MAX_CACHE_TTL): each token is exchanged
        // at most once per 10 s started, plus once at the start.
        let secs = (warm.elapsed + saturated.elapsed + light.elapsed).as_secs_f64();
        let most_exchanges = tokens as f64 * ((secs / 10.0).ceil() + 1.0);
        let requests = (warm.requests + saturated.requests + light.requests) as f64;
        if requests > 0.0 {
            (1.0 - most_exchanges / requests).max(0.0)
        } else {
            0.0
        }
    });
    Row {
        name: plan.name,
        unit: plan.unit,
        saturated,
        light,
        server_cpu,
        cache_hit_at_least,
    }
}

fn get(client: &reqwest::Client, url: String, token: Option<String>) -> Factory {
    let client = client.clone();
    Arc::new(move |_| {
        let request = client.get(&url);
        let request = match &token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        Some(load::send(request))
    })
}

async fn plans(setup: &Setup) -> anyhow::Result<Vec<Plan>> {
    let e2e = &setup.e2e;
    let fake_order = format!("/v1/orders/{}", uuid::Uuid::new_v4());
    let bob = e2e.login(BOB).await?;
    let e2e_order = place_order(e2e, &e2e.gateway_url, &bob).await?;
    let bob_exchange = setup.exchange.login(BOB).await?;
    let exchange_order =
        place_order(&setup.exchange, &setup.exchange.gateway_url, &bob_exchange).await?;
    let bob_plain = log_in_plain(&setup.plaintext, &setup.plaintext_gateway).await?;
    let plain_order = place_order(&setup.plaintext, &setup.plaintext_gateway, &bob_plain).await?;

    let as_gateway = e2e.client_as(Workload::Gateway, Workload::Orders)?;
    let front = format!("https://127.0.0.1:{}", setup.front_gateway_port);
    let mut plans = vec![
        Plan {
            name: "hello-world service (mTLS)",
            unit: "request",
            concurrency: None,
            factory: get(
                &as_gateway,
                format!("https://127.0.0.1:{}{fake_order}", setup.hello_port),
                None,
            ),
            cached_tokens: None,
            light: None,
        },
        Plan {
            name: "bare reverse proxy → hello-world",
            unit: "request",
            concurrency: None,
            factory: get(
                &e2e.http,
                format!("https://127.0.0.1:{}{fake_order}", setup.proxy_port),
                Some(bob.clone()),
            ),
            cached_tokens: None,
            light: None,
        },
        Plan {
            name: "gateway (route, rate limits, cached token) → hello-world",
            unit: "request",
            concurrency: None,
            factory: get(&e2e.http, format!("{front}{fake_order}"), Some(bob.clone())),
            cached_tokens: Some(1),
            light: None,
        },
        Plan {
            name: "order read path, E2E mode",
            unit: "request",
            concurrency: None,
            factory: get(
                &e2e.http,
                format!("{}/v1/orders/{e2e_order}", e2e.gateway_url),
                Some(bob.clone()),
            ),
            cached_tokens: Some(1),
            light: None,
        },
        Plan {
            name: "order read path, exchange mode",
            unit: "request",
            concurrency: None,
            factory: get(
                &setup.exchange.http,
                format!("{}/v1/orders/{exchange_order}", setup.exchange.gateway_url),
                Some(bob_exchange),
            ),
            cached_tokens: Some(1),
            light: None,
        },
        Plan {
            name: "order read path, E2E mode, mTLS off (lab)",
            unit: "request",
            concurrency: None,
            factory: get(
                &setup.plaintext.http,
                format!("{}/v1/orders/{plain_order}", setup.plaintext_gateway),
                Some(bob_plain),
            ),
            cached_tokens: Some(1),
            light: None,
        },
    ];
    plans.push(uncached(setup, &front, &fake_order).await?);
    plans.push(exchanges(setup).await?);
    plans.push(logins(setup));
    Ok(plans)
}

/// Fresh tokens for the uncached row's warm-up and saturated phase (it stops early if they run
/// out), and for its light phase.
const FRESH_TOKENS: usize = 12_000;
const FRESH_TOKENS_LIGHT: usize = 3_000;

/// The gateway row again, but every request carries a token the gateway has never seen: each is
/// a cache miss, an exchange at the STS and a signature check.
async fn uncached(setup: &Setup, front: &str, fake_order: &str) -> anyhow::Result<Plan> {
    let scope = baton_sts::domain::issue::scopes_for(&["customer".to_owned()]);
    let mut pools = Vec::new();
    for size in [FRESH_TOKENS, FRESH_TOKENS_LIGHT] {
        let mut tokens = Vec::with_capacity(size);
        for _ in 0..size {
            tokens.push(setup.e2e.plant_opaque_token(BOB, &scope, 600).await?);
        }
        let (tokens, next) = (Arc::new(tokens), Arc::new(AtomicUsize::new(0)));
        let (client, url) = (setup.e2e.http.clone(), format!("{front}{fake_order}"));
        let factory: Factory = Arc::new(move |_| {
            let token = tokens.get(next.fetch_add(1, Ordering::Relaxed))?;
            Some(load::send(client.get(&url).bearer_auth(token)))
        });
        pools.push(factory);
    }
    let light = pools.pop();
    Ok(Plan {
        name: "gateway → hello-world, token not cached (exchange every request)",
        unit: "request",
        concurrency: None,
        factory: pools.pop().context("no token pool")?,
        light,
        cached_tokens: None,
    })
}

/// RFC 8693 exchanges straight at the STS, as the gateway sends them (E2E audience: every
/// service), with one subject token.
async fn exchanges(setup: &Setup) -> anyhow::Result<Plan> {
    let e2e = &setup.e2e;
    let scope = baton_sts::domain::issue::scopes_for(&["customer".to_owned()]);
    let subject = e2e.plant_opaque_token(BOB, &scope, 600).await?;
    let client = e2e.client_as(Workload::Gateway, Workload::Sts)?;
    let url = format!("{}/oauth2/token", e2e.sts_url);
    let mut form: Vec<(String, String)> = vec![
        (
            "grant_type".into(),
            "urn:ietf:params:oauth:grant-type:token-exchange".into(),
        ),
        ("subject_token".into(), subject),
        (
            "subject_token_type".into(),
            "urn:ietf:params:oauth:token-type:access_token".into(),
        ),
        (
            "requested_token_type".into(),
            "urn:ietf:params:oauth:token-type:jwt".into(),
        ),
    ];
    for service in Workload::SERVICES {
        form.push(("audience".into(), e2e.trust_domain.id_of(service)));
    }
    let secret = setup.secret.clone();
    Ok(Plan {
        name: "STS token exchange (opaque → internal JWT)",
        unit: "exchange",
        concurrency: None,
        factory: Arc::new(move |_| {
            Some(load::send(
                client
                    .post(&url)
                    .basic_auth("gateway", Some(&secret))
                    .form(&form),
            ))
        }),
        cached_tokens: None,
        light: None,
    })
}

/// Whole logins through the gateway: authorize page, password form (Argon2id), code redeemed.
fn logins(setup: &Setup) -> Plan {
    let (client, gateway) = (setup.e2e.http.clone(), setup.e2e.gateway_url.clone());
    Plan {
        name: "login, code flow with PKCE (Argon2id)",
        unit: "login",
        // The STS hashes two passwords at a time; more in flight only queue.
        concurrency: Some(4),
        factory: Arc::new(move |_| {
            let mut browser = LoginClient::new(client.clone(), &gateway);
            Some(Box::pin(async move {
                browser
                    .log_in(BOB.username, BOB.password, &[])
                    .await
                    .map(|_| ())
                    .map_err(|err| err.to_string())
            }))
        }),
        cached_tokens: None,
        light: None,
    }
}

/// Places one order for bob and returns its id.
async fn place_order(
    platform: &TestPlatform,
    gateway: &str,
    token: &str,
) -> anyhow::Result<String> {
    let accounts: serde_json::Value = platform
        .http
        .get(format!("{gateway}/v1/accounts"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let account = accounts
        .pointer("/accounts/0/id")
        .and_then(serde_json::Value::as_str)
        .context("bob has no account")?;
    let order: serde_json::Value = platform
        .http
        .post(format!("{gateway}/v1/orders"))
        .bearer_auth(token)
        .json(&json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    order
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .context("the order has no id")
}

/// Logs bob in through a plaintext gateway (the test kit's `login` assumes https).
async fn log_in_plain(platform: &TestPlatform, gateway: &str) -> anyhow::Result<String> {
    let mut browser = LoginClient::new(platform.http.clone(), gateway);
    Ok(browser
        .log_in(BOB.username, BOB.password, &[])
        .await?
        .access_token)
}
