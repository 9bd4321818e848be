//! A few seconds of every scenario against an in-process platform, so the scenarios cannot rot:
//! a renamed route, a changed body or a broken login fails `just test` here, not in the next
//! performance engineer's hands.

use std::collections::BTreeSet;

use baton_loadtests::attack;
use baton_loadtests::scenarios::Weights;
use baton_loadtests::session::LOGIN_REQUEST;
use baton_testkit::TestPlatform;
use goose::config::GooseConfiguration;

/// Limits raised for a load test, as `just load` raises them: the defaults are meant to stop one
/// client from doing exactly what a load test does.
async fn platform_for_load() -> anyhow::Result<TestPlatform> {
    TestPlatform::builder()
        .with_setting("GATEWAY_RATE_LIMIT_LOGIN", "100000")
        .with_setting("GATEWAY_RATE_LIMIT_CLIENT", "100000")
        .with_setting("GATEWAY_RATE_LIMIT_MACHINE", "100000")
        .with_setting("GATEWAY_RATE_LIMIT_API", "1000000")
        .with_setting("ORDERS_MAX_ORDERS_PER_WINDOW", "1000000")
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_for_a_few_seconds_without_an_error() -> anyhow::Result<()> {
    let platform = platform_for_load().await?;
    let reports = tempfile::tempdir()?;
    let report = reports.path().join("report.json");
    let args: Vec<String> = [
        "--users",
        "4",
        "--increase-rate",
        "4",
        "--run-time",
        "3s",
        "--report-file",
        &report.display().to_string(),
        // Only errors gate the smoke run: latency targets belong to `just load` and `just bench`,
        // never to a test on a machine that is busy building and testing everything else.
        "--threshold",
        "error-rate<1%",
        "--quiet",
        "--no-print-metrics",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let configuration = GooseConfiguration::parse_args_default(&attack::with_defaults(
        &args,
        &platform.gateway_url,
    ))?;
    let bundle = std::fs::read_to_string(platform.ca.certs_dir().join("gateway/bundle.pem"))?;
    let weights = Weights {
        browse: 1,
        order: 1,
        admin: 1,
        storm: 1,
    };

    let metrics = attack::run(configuration, &bundle, weights).await??;

    let failed: Vec<_> = metrics
        .requests
        .iter()
        .filter(|(_, request)| request.fail_count > 0)
        .map(|(name, request)| format!("{name}: {} failed", request.fail_count))
        .collect();
    assert!(
        failed.is_empty(),
        "{failed:?}; errors: {:?}",
        metrics.errors.keys()
    );
    assert!(
        metrics.transaction_errors.is_empty(),
        "{:?}",
        metrics.transaction_errors.keys()
    );
    let login = format!("POST {LOGIN_REQUEST}");
    let seen: BTreeSet<&str> = metrics.requests.keys().map(String::as_str).collect();
    for expected in [
        login.as_str(),
        "GET /v1/accounts",
        "GET /v1/orders",
        "GET /v1/users/me",
        "POST /v1/orders",
        "GET /v1/orders/{id}",
        "GET /v1/users",
        "POST /v1/accounts/{id}/deposits",
        "GET /v1/accounts (fresh token)",
    ] {
        assert!(seen.contains(expected), "no `{expected}` in {seen:?}");
    }
    assert!(report.exists(), "no report at {}", report.display());
    Ok(())
}
