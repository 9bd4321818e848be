//! Tokens that must be refused at the gateway *and* at each service. (Logins that must fail are in
//! `authorization_server.rs`.)

use baton_platform::TrustMode;
use baton_platform::Workload;
use baton_platform::demo::{ALICE, BOB};
use baton_platform::time::now_unix;
use baton_testkit::TestPlatform;
use reqwest::{Method, StatusCode};

use crate::support::{assert_problem, call, call_service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_misaddressed_tokens_are_refused_at_the_gateway_and_at_every_service() {
    let platform = TestPlatform::builder()
        // E2E mode: the genuine token minted below is unbound; exchange mode refuses unbound
        // tokens outright (see the exchange-mode attacks).
        .trust_mode(TrustMode::E2e)
        .spawn()
        .await
        .expect("platform starts");
    let mut expired = platform.claims_for(BOB);
    expired.exp = now_unix() - 120;
    expired.nbf = now_unix() - 600;
    expired.iat = expired.nbf;
    let mut misaddressed = platform.claims_for(BOB);
    misaddressed.aud = vec![platform.trust_domain.id_of(Workload::Gateway)];
    let mut other_issuer = platform.claims_for(BOB);
    other_issuer.iss = "https://evil.example".to_owned();
    let valid = platform.mint(&platform.claims_for(BOB)).expect("mint");
    let forged = {
        // A valid token with its claims swapped for alice's: the signature no longer matches.
        let mut parts: Vec<&str> = valid.split('.').collect();
        let alice_claims = platform.mint(&platform.claims_for(ALICE)).expect("mint");
        let alice_body = alice_claims
            .split('.')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        parts[1] = &alice_body;
        parts.join(".")
    };
    let bad_tokens = [
        ("expired", platform.mint(&expired).expect("mint")),
        (
            "for another audience",
            platform.mint(&misaddressed).expect("mint"),
        ),
        (
            "from another issuer",
            platform.mint(&other_issuer).expect("mint"),
        ),
        ("with a forged body", forged),
        (
            "an expired opaque token",
            platform.expired_opaque_token(BOB, 60).await.expect("plant"),
        ),
        ("garbage", "garbage".to_owned()),
    ];
    for (what, token) in &bad_tokens {
        let (status, content_type, body) =
            call(&platform, Method::GET, "/v1/accounts", Some(token), None).await;
        assert_problem(status, &content_type, &body, StatusCode::UNAUTHORIZED);
        assert!(
            body.to_string().len() < 400,
            "{what}: the body says too much: {body}"
        );
        for (workload, path) in [
            (Workload::Users, "/v1/users/me"),
            (Workload::Accounts, "/v1/accounts"),
            (Workload::Orders, "/v1/orders"),
        ] {
            let (status, content_type, body) =
                call_service(&platform, workload, Method::GET, path, Some(token)).await;
            assert_problem(status, &content_type, &body, StatusCode::UNAUTHORIZED);
        }
    }
    // The control: the same services accept the genuine token directly.
    let (status, _, _) = call_service(
        &platform,
        Workload::Accounts,
        Method::GET,
        "/v1/accounts",
        Some(&valid),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_token_is_refused_with_a_bearer_challenge() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let response = platform
        .http
        .get(format!("{}/v1/accounts", platform.gateway_url))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok());
    assert!(
        challenge.is_some_and(|c| c.starts_with("Bearer")),
        "{challenge:?}"
    );
}
