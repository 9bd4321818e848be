//! Exchange mode's hop tokens: one exchange per (subject token, audience, scope), then the cache.
//!
//! What a hop token is bound to is not `NextHop`'s business: it is built for one certificate
//! generation (`baton_workload::Generations`), so everything in its cache is bound to the
//! certificate its connections present. That a rotation brings a fresh `NextHop` is proven where
//! the generations are, and end to end by the rotation test in `e2e`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::json;

use super::*;
use crate::onward::NextHop;

const USERS: &str = "spiffe://baton.local/users";
const ACCOUNTS: &str = "spiffe://baton.local/accounts";

/// How many tokens the fake STS issued; each one names its serial number.
#[derive(Default)]
struct FakeSts {
    issued: AtomicUsize,
}

async fn issue(State(sts): State<Arc<FakeSts>>) -> Json<serde_json::Value> {
    let serial = sts.issued.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "access_token": format!("hop-{serial}"), "expires_in": 300 }))
}

async fn spawn_sts(sts: Arc<FakeSts>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = listener.local_addr().expect("an address");
    let router = axum::Router::new()
        .route("/oauth2/token", post(issue))
        .with_state(sts);
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_hop_token_is_exchanged_once_per_audience_and_scope_and_then_served_from_the_cache() {
    // reqwest wants a TLS provider even for the plain HTTP spoken to the fake STS.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sts = Arc::new(FakeSts::default());
    let base_url = spawn_sts(sts.clone()).await;
    let next_hop = NextHop::new(
        TrustMode::Exchange,
        reqwest::Client::new(),
        &base_url,
        "orders",
    );
    let fixture = fixture();
    let principal = verifier(&fixture, Controls::enforcing())
        .verify(&sign(&fixture, &claims()))
        .await
        .expect("a principal");
    let token = |audience, scope| next_hop.token_for(&principal, audience, scope);

    let first = token(USERS, "users:read").await.expect("exchanged");
    assert_eq!(&*first, "hop-0");
    assert_eq!(token(USERS, "users:read").await.expect("cached"), first);
    assert_eq!(sts.issued.load(Ordering::SeqCst), 1, "one exchange so far");

    let other_scope = token(USERS, "users:write").await.expect("exchanged");
    let other_audience = token(ACCOUNTS, "users:read").await.expect("exchanged");
    assert_eq!((&*other_scope, &*other_audience), ("hop-1", "hop-2"));
    assert_eq!(sts.issued.load(Ordering::SeqCst), 3);
}
