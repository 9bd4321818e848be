//! The audit trail records what an attacker does, with the request it happened in, whatever
//! `RUST_LOG` says: here a wrong password for alice, and bob reading alice's account.
//!
//! The test kit runs every component in this process, so one audit layer sees them all; a binary
//! writes its own file (`<BATON_AUDIT_DIR>/<component>.jsonl`, see docs/observability.md). nextest
//! runs each test in a process of its own, so this test's subscriber sees this test's platform.

use baton_platform::audit::{AuditLayer, SecurityEvents};
use baton_platform::demo::{ALICE, BOB};
use baton_platform::telemetry::Captured;
use baton_testkit::TestPlatform;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::support::{call, first_account};

/// Every audit record of this test process, kept in memory.
struct Trail(Captured);

impl Trail {
    /// Installs the audit layer beside a log that shows nothing at all.
    fn capture() -> Self {
        let trail = Captured::default();
        let log = tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(EnvFilter::new("off"));
        let subscriber = tracing_subscriber::registry()
            .with(log)
            .with(AuditLayer::new("platform", trail.clone()).with_filter(SecurityEvents));
        tracing_subscriber::util::SubscriberInitExt::try_init(subscriber)
            .expect("no other subscriber in this process");
        Self(trail)
    }

    fn records(&self) -> Vec<Value> {
        self.0
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each record is one JSON object"))
            .collect()
    }

    fn of(&self, event: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|record| record["event"] == event)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_a_refused_read_of_another_customers_account_are_in_the_audit_trail() {
    let trail = Trail::capture();
    let platform = TestPlatform::spawn().await.expect("platform starts");

    let refused = platform
        .oauth_client()
        .log_in(ALICE.username, "not-alices-password", &[])
        .await;
    assert!(refused.is_err(), "a wrong password logs nobody in");
    let failed = trail.of("login_failed");
    assert!(
        failed
            .iter()
            .any(|record| record["username"] == ALICE.username && record["step"] == "password"),
        "{failed:?}"
    );

    let alice = platform.login(ALICE).await.expect("alice logs in");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let logged_in = trail.of("login_succeeded");
    for user in [ALICE, BOB] {
        assert!(
            logged_in
                .iter()
                .any(|record| record["user_id"] == user.id.to_string()),
            "{} logged in: {logged_in:?}",
            user.username
        );
    }
    assert!(
        !trail.of("token_issued").is_empty(),
        "the codes were redeemed"
    );

    let (alice_account, _) = first_account(&platform, &alice).await;
    let path = format!("/v1/accounts/{alice_account}");
    let (status, _, body) = call(&platform, Method::GET, &path, Some(&bob), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let request_id = body["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    let decisions: Vec<Value> = trail
        .of("policy_decision")
        .into_iter()
        .filter(|record| record["request_id"] == request_id.as_str())
        .collect();
    assert!(
        decisions.iter().any(|record| record["decision"] == "Deny"
            && record["principal"] == BOB.id.to_string()
            && record["service"] == "accounts"),
        "bob's read of alice's account, refused by policy, under the request's id: {decisions:?}"
    );

    let everything = serde_json::to_string(&trail.records()).expect("serialises");
    for secret in [
        ALICE.password,
        "not-alices-password",
        alice.as_str(),
        bob.as_str(),
    ] {
        assert!(
            !everything.contains(secret),
            "the trail holds no password and no token"
        );
    }
}
