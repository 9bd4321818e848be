//! Token-exchange mode, seen from inside: what the STS issues for a hop, and what a service does
//! with a token bound to someone else's certificate. (The whole suite also runs in exchange mode:
//! `BATON_TEST_TRUST_MODE=exchange`, as `just test` does.)

use baton_platform::demo::ALICE;
use baton_platform::{TrustMode, Workload};
use baton_testkit::TestPlatform;
use baton_token::Claims;
use baton_token::claims::{Act, Confirmation};
use reqwest::StatusCode;
use serde_json::Value;

async fn exchange_platform() -> TestPlatform {
    TestPlatform::builder()
        .trust_mode(TrustMode::Exchange)
        .spawn()
        .await
        .expect("platform starts")
}

/// Alice's token for orders, as the gateway would have got it, bound to `thumbprint`.
fn token_for_orders(platform: &TestPlatform, thumbprint: &str) -> String {
    let id = |w| platform.trust_domain.id_of(w);
    let mut claims = platform.claims_for(ALICE);
    claims.aud = vec![id(Workload::Orders)];
    claims.act = Some(Act::new(id(Workload::Gateway), None));
    claims.may_act = Some(Act::new(id(Workload::Orders), None));
    claims.cnf = Some(Confirmation {
        x5t_s256: thumbprint.to_owned(),
    });
    platform.mint(&claims).expect("mint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_token_names_one_audience_the_narrowed_scope_the_chain_and_the_caller_cert() {
    let platform = exchange_platform().await;
    let (_, gateway_cert) = platform
        .client_as_bound(Workload::Gateway, Workload::Orders)
        .expect("a gateway client");
    let subject = token_for_orders(&platform, &gateway_cert.0);
    let as_orders = platform
        .client_as(Workload::Orders, Workload::Sts)
        .expect("an orders client");
    let users = platform.trust_domain.id_of(Workload::Users);
    let answer = as_orders
        .post(format!("{}/oauth2/token", platform.sts_url))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", "orders"),
            ("subject_token", subject.as_str()),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("audience", users.as_str()),
            ("scope", "users:read"),
        ])
        .send()
        .await
        .expect("the STS answers");
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["scope"], "users:read");
    let jwt = body["access_token"].as_str().expect("a token");
    // Reading our own test token's claims; the services verify it properly.
    let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(jwt)
        .expect("a JWT")
        .claims;
    assert_eq!(claims.aud, vec![users.clone()]);
    assert_eq!(claims.sub, ALICE.id.to_string());
    let chain = claims.act.as_ref().map(Act::chain).unwrap_or_default();
    assert_eq!(
        chain,
        vec![
            platform.trust_domain.id_of(Workload::Orders),
            platform.trust_domain.id_of(Workload::Gateway)
        ]
    );
    assert_eq!(claims.may_act.map(|a| a.sub), Some(users));
    let bound = claims.cnf.map(|cnf| cnf.x5t_s256).unwrap_or_default();
    assert!(
        !bound.is_empty() && bound != gateway_cert.0,
        "bound to orders' own certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_takes_a_token_only_over_the_certificate_it_is_bound_to() {
    let platform = exchange_platform().await;
    let (holder, holders_cert) = platform
        .client_as_bound(Workload::Gateway, Workload::Orders)
        .expect("a client");
    let (other, _) = platform
        .client_as_bound(Workload::Gateway, Workload::Orders)
        .expect("another client");
    let token = token_for_orders(&platform, &holders_cert.0);
    let url = format!("{}/v1/orders", platform.orders_url);
    let by_holder = holder
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(by_holder.status(), StatusCode::OK);
    let by_other = other
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(by_other.status(), StatusCode::UNAUTHORIZED);
    let unbound = platform.mint(&platform.claims_for(ALICE)).expect("mint");
    let unbound_answer = holder
        .get(&url)
        .bearer_auth(&unbound)
        .send()
        .await
        .expect("answer");
    assert_eq!(unbound_answer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_component_reports_the_trust_mode_it_runs_in() {
    let platform = exchange_platform().await;
    let health = platform
        .http
        .get(format!("{}/health", platform.gateway_url))
        .send()
        .await
        .expect("answer")
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(health["trust_mode"], "exchange");
}
