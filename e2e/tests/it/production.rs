//! Production is what a component runs as unless told otherwise, and a production component
//! refuses to serve a database that still holds demo data: the demo users' passwords and TOTP
//! seeds, and the demo client's secret, are published in the README.

use std::time::Duration;

use baton_platform::config::ConfigError;
use baton_platform::config::Map;
use baton_platform::{StartupError, TrustDomain};
use baton_sts::domain::sealing::{LocalKeys, SealingKeySource};
use baton_testkit::{Backend, TestCa};
use secrecy::ExposeSecret;

/// Every setting the three components with demo data need, without `BATON_ENV`.
async fn settings(ca: &TestCa, backend: &Backend) -> Map {
    let sealing_keys = LocalKeys::new_entry("k1").expect("a sealing key");
    let mut config = Map::new()
        .with(SealingKeySource::SECRET_KEY, sealing_keys.expose_secret())
        .with("BATON_CERTS_DIR", ca.certs_dir().display().to_string())
        .with(
            "BATON_GATEWAY_CLIENT_SECRET",
            "a-long-random-test-secret-of-the-gateway",
        )
        .with("STS_LISTEN", "127.0.0.1:0")
        .with("USERS_LISTEN", "127.0.0.1:0")
        .with("ACCOUNTS_LISTEN", "127.0.0.1:0")
        // Nothing here serves a request; the verifier is built, never asked.
        .with("STS_ADDR", "127.0.0.1:9");
    for component in ["sts", "users", "accounts"] {
        let key = format!("{}_DATABASE_URL", component.to_ascii_uppercase());
        let url = backend.url_for(component).await.expect("a database");
        config.set(&key, url);
    }
    config
}

/// The names a refusal gave, or why there was none.
#[expect(clippy::panic, reason = "a start that is not refused fails the test")]
fn refusal(built: Result<(), StartupError>, component: &str) -> Vec<String> {
    match built {
        Err(StartupError::DemoDataInProduction {
            component: named,
            found,
        }) if named == component => found,
        other => panic!("{component} should refuse its demo data in production, got {other:?}"),
    }
}

async fn sts(config: &Map) -> Result<(), StartupError> {
    let config = baton_sts::Config::from_source(config)?;
    baton_sts::Application::build(config).await.map(drop)
}

async fn users(config: &Map) -> Result<(), StartupError> {
    let config = baton_users::Config::from_source(config)?;
    baton_users::Application::build(config).await.map(drop)
}

async fn accounts(config: &Map) -> Result<(), StartupError> {
    let config = baton_accounts::Config::from_source(config)?;
    baton_accounts::Application::build(config).await.map(drop)
}

#[tokio::test]
async fn production_refuses_demo_data_until_it_is_removed() -> Result<(), StartupError> {
    let ca = TestCa::new(&TrustDomain::default(), Duration::from_secs(3600)).expect("a CA");
    let backend = Backend::from_env().await.expect("a database backend");
    let production = settings(&ca, &backend).await;
    let development = production.clone().with("BATON_ENV", "development");

    // A fresh database in production: nothing seeded, so it starts.
    sts(&production).await?;
    users(&production).await?;
    accounts(&production).await?;

    // The same databases once a development run has seeded them.
    sts(&development).await?;
    users(&development).await?;
    accounts(&development).await?;

    let demo_users = ["alice", "bob", "carol", "dave"].map(|name| format!("demo user {name}"));
    let mut sts_found = demo_users.to_vec();
    sts_found.push("demo client reports".to_owned());
    assert_eq!(refusal(sts(&production).await, "sts"), sts_found);
    assert_eq!(refusal(users(&production).await, "users"), demo_users);
    let demo_accounts = ["demo account of alice", "demo account of bob"];
    assert_eq!(
        refusal(accounts(&production).await, "accounts"),
        demo_accounts
    );

    // `remove-demo-data` takes out exactly what the refusal named; then production starts.
    let sts_config = baton_sts::Config::from_source(&production)?;
    assert_eq!(
        baton_sts::app::remove_demo_data(&sts_config).await?,
        sts_found
    );
    let users_config = baton_users::Config::from_source(&production)?;
    let removed = baton_service::remove_demo_data::<baton_users::app::Users>(&users_config).await?;
    assert_eq!(removed, demo_users);
    let accounts_config = baton_accounts::Config::from_source(&production)?;
    let removed =
        baton_service::remove_demo_data::<baton_accounts::app::Accounts>(&accounts_config).await?;
    assert_eq!(removed, demo_accounts);
    sts(&production).await?;
    users(&production).await?;
    accounts(&production).await?;

    // A second removal finds nothing.
    assert!(
        baton_sts::app::remove_demo_data(&sts_config)
            .await?
            .is_empty()
    );
    Ok(())
}

#[test]
fn production_is_the_default_and_refuses_lab_mode() {
    let unset = Map::new().with("BATON_LAB_MODE", "on");
    let settings = baton_platform::Settings::from_source(
        &unset,
        baton_platform::Workload::Users,
        "127.0.0.1:0",
    );
    assert!(
        settings.is_err(),
        "lab mode must be refused when BATON_ENV is not set"
    );
}

#[tokio::test]
async fn production_without_a_sealing_key_refuses_to_start_and_says_how_to_make_one() {
    let ca = TestCa::new(&TrustDomain::default(), Duration::from_secs(3600)).expect("a CA");
    let backend = Backend::from_env().await.expect("a database backend");
    let mut production = settings(&ca, &backend).await;
    production.set(SealingKeySource::SECRET_KEY, "");
    let refused = baton_sts::Config::from_source(&production).map(drop);
    assert!(
        matches!(refused, Err(ConfigError::MissingWithHint { .. })),
        "production without a sealing key must not start, got {refused:?}"
    );
    let message = refused.err().map(|err| err.to_string()).unwrap_or_default();
    assert!(
        message.contains("STS_SEALING_KEY_FILE") && message.contains("openssl rand"),
        "{message}"
    );
    // Development generates one instead (under the data folder).
    let data = tempfile::tempdir().expect("a folder");
    let development = production
        .with("BATON_ENV", "development")
        .with("BATON_DATA_DIR", data.path().display().to_string());
    assert!(baton_sts::Config::from_source(&development).is_ok());
}
