//! Exchange mode's hop tokens across a certificate rotation: a token cached while the workload
//! presented one certificate is bound to it, and is not handed out once the workload presents
//! another.
//!
//! A fake STS binds each token it issues to whichever thumbprint the test says the workload
//! presents, as the real one binds to the certificate on the connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::json;
use tokio::sync::watch;

use super::*;
use crate::onward::NextHop;

const NEXT_HOP: &str = "spiffe://baton.local/users";

/// The STS's side: the certificate it sees, and how many tokens it issued.
#[derive(Default)]
struct FakeSts {
    presented: Mutex<String>,
    issued: AtomicUsize,
}

async fn issue(State(sts): State<Arc<FakeSts>>) -> Json<serde_json::Value> {
    let serial = sts.issued.fetch_add(1, Ordering::SeqCst);
    let bound_to = sts
        .presented
        .lock()
        .map(|presented| presented.clone())
        .unwrap_or_default();
    let payload = json!({ "jti": format!("hop-{serial}"), "cnf": { "x5t#S256": bound_to } });
    let token = format!(
        "{}.{}.signature",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA"}"#),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    Json(json!({ "access_token": token, "expires_in": 300 }))
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

fn rotate_to(sts: &FakeSts, own: &watch::Sender<CertThumbprint>, thumbprint: &str) {
    if let Ok(mut presented) = sts.presented.lock() {
        *presented = thumbprint.to_owned();
    }
    own.send_replace(CertThumbprint(thumbprint.to_owned()));
}

#[tokio::test]
async fn a_cached_hop_token_bound_to_a_retired_certificate_is_not_used_after_rotation() {
    // reqwest wants a TLS provider even for the plain HTTP spoken to the fake STS.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sts = Arc::new(FakeSts::default());
    let (own, own_certificate) = watch::channel(CertThumbprint(String::new()));
    rotate_to(&sts, &own, "old-certificate");
    let base_url = spawn_sts(sts.clone()).await;
    let next_hop = NextHop::new(
        TrustMode::Exchange,
        reqwest::Client::new(),
        &base_url,
        "orders",
        Some(own_certificate),
    );
    let fixture = fixture();
    let principal = verifier(&fixture, Controls::enforcing())
        .verify(&sign(&fixture, &claims()))
        .await
        .expect("a principal");
    let token = || next_hop.token_for(&principal, NEXT_HOP, "users:read");

    let first = token().await.expect("exchanged");
    let cached = token().await.expect("from the cache");
    assert_eq!(first, cached);
    assert_eq!(sts.issued.load(Ordering::SeqCst), 1, "one exchange so far");

    rotate_to(&sts, &own, "new-certificate");
    let after = token().await.expect("exchanged again");
    assert_ne!(
        after, first,
        "the token bound to the old certificate is not reused"
    );
    assert_eq!(sts.issued.load(Ordering::SeqCst), 2);
    assert_eq!(
        token().await.expect("from the cache"),
        after,
        "the token bound to the new certificate is cached in turn"
    );
}
