//! One Goose run of the scenarios: the defaults Baton adds, and how a run passes or fails.
//!
//! Everything Goose's command line offers still works (`--users`, `--run-time`, `--report-file`,
//! `--threshold`, …; `baton-load --help` lists them). Baton only adds defaults for what was not
//! given, so `just load` with no arguments is a sensible run against `just up`:
//!
//! | option | default | why |
//! | --- | --- | --- |
//! | `--host` | `BATON_GATEWAY_URL`, else `https://127.0.0.1:8443` | `just up`'s gateway |
//! | `--users`, `--increase-rate` | 22, 11 per second | two users per unit of the default weights (6+3+1+1), so every scenario runs |
//! | `--run-time` | 60 s | bounded: a load test stops by itself |
//! | `--report-file` | `target/loadtests/report.html` and `report.json` | Goose's reports, in a folder `cargo` already ignores |
//! | `--threshold` | `error-rate<1%`, `p95<500ms`, `p99<2s` | the gate: a failed rule makes the exit code 1 |
//! | `--no-reset-metrics` | on | the logins happen while users start; resetting would drop them |
//! | `--no-telnet`, `--no-websocket` | on | Goose's controllers listen on fixed ports; give `--telnet-host` or `--websocket-host` to have them |
//!
//! The logins are in the percentiles (as `log in (code flow)`): a login costs an Argon2id hash
//! by design, so it dominates the tail of a run with a login storm in it.

use std::sync::Arc;

use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::scenarios::{self, Weights};
use crate::session::Shared;
use crate::target::Target;

/// Where the reports go unless `--report-file` says otherwise.
pub const REPORT_DIR: &str = "target/loadtests";

/// The pass/fail rules unless `--threshold` gives others.
pub const DEFAULT_THRESHOLDS: [&str; 3] = ["error-rate<1%", "p95<500ms", "p99<2s"];

/// `args` (Goose's options, without the program name) with Baton's defaults added for every
/// option not given. `host` is the gateway to use when `--host` is not given.
pub fn with_defaults(args: &[String], host: &str) -> Vec<String> {
    let given = |long: &str, short: Option<&str>| {
        args.iter().any(|arg| {
            arg == long
                || arg.starts_with(&format!("{long}="))
                || short.is_some_and(|short| arg == short || arg.starts_with(short))
        })
    };
    let mut all: Vec<String> = Vec::new();
    let mut add = |flag: &str, value: &str| {
        all.push(flag.to_owned());
        all.push(value.to_owned());
    };
    if !given("--host", Some("-H")) {
        add("--host", host);
    }
    if !given("--users", Some("-u")) {
        add("--users", "22");
    }
    if !given("--increase-rate", Some("-r")) {
        add("--increase-rate", "11");
    }
    if !given("--run-time", Some("-t")) {
        add("--run-time", "60s");
    }
    if !given("--report-file", None) {
        add("--report-file", &format!("{REPORT_DIR}/report.html"));
        add("--report-file", &format!("{REPORT_DIR}/report.json"));
    }
    if !given("--threshold", None) {
        for rule in DEFAULT_THRESHOLDS {
            add("--threshold", rule);
        }
    }
    if !given("--no-reset-metrics", None) {
        all.push("--no-reset-metrics".to_owned());
    }
    // Goose's controllers listen on fixed ports (5116, 5117): two runs at once, or a test run
    // beside a load run, would collide. Ask for them by name to get them.
    if !args.iter().any(|arg| arg.starts_with("--telnet")) {
        all.push("--no-telnet".to_owned());
    }
    if !args.iter().any(|arg| arg.starts_with("--websocket")) {
        all.push("--no-websocket".to_owned());
    }
    all.extend(args.iter().cloned());
    all
}

/// Runs the scenarios, weighted, against the configuration's host (trusting `ca_bundle_pem`).
/// A failed threshold is [`GooseError::ThresholdsFailed`], with the metrics inside.
pub async fn run(
    configuration: GooseConfiguration,
    ca_bundle_pem: &str,
    weights: Weights,
) -> anyhow::Result<Result<GooseMetrics, GooseError>> {
    let host = configuration
        .host
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no --host to load"))?;
    let shared: Arc<Shared> = Shared::new(Target::new(&host, ca_bundle_pem)?);
    for report in &configuration.report_file {
        if let Some(folder) = std::path::Path::new(report).parent()
            && !folder.as_os_str().is_empty()
        {
            std::fs::create_dir_all(folder)?;
        }
    }
    let mut attack = GooseAttack::initialize_with_config(configuration)?;
    for scenario in scenarios::all(weights, &shared)? {
        attack = attack.register_scenario(scenario);
    }
    Ok(attack.execute().await)
}
