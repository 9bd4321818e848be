//! The API inventory (OWASP API9): the description generated from the code, the file the gateway
//! serves, and the gateway's route table must all name the same operations.

use std::collections::BTreeSet;
use std::path::Path;

use baton_gateway::routes::{Access, table};
use baton_platform::Workload;
use baton_testkit::openapi;

/// `docs/openapi.json`, as committed.
fn committed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    std::fs::read_to_string(&path).expect("docs/openapi.json is committed")
}

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    let generated = openapi::document_json().expect("the document builds");
    assert!(
        committed() == generated,
        "docs/openapi.json is out of date: run `just openapi` and commit the result"
    );
}

#[test]
fn every_service_route_is_documented_and_every_documented_operation_is_routed() {
    let document: serde_json::Value =
        serde_json::from_str(&committed()).expect("docs/openapi.json is JSON");
    let documented: BTreeSet<(String, String)> =
        openapi::operations(&document).into_iter().collect();
    let routed: BTreeSet<(String, String)> = table()
        .into_iter()
        .filter(|route| Workload::SERVICES.contains(&route.upstream))
        .map(|route| (route.method.to_string(), route.path.to_owned()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not documented: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

#[test]
fn every_protected_operation_names_the_scope_its_route_demands() {
    let document: serde_json::Value =
        serde_json::from_str(&committed()).expect("docs/openapi.json is JSON");
    for route in table() {
        let Access::Token { scope, .. } = route.access else {
            continue;
        };
        if !Workload::SERVICES.contains(&route.upstream) {
            continue;
        }
        let method = route.method.as_str().to_ascii_lowercase();
        let security = &document["paths"][route.path][&method]["security"][0]["bearer"];
        assert!(
            security
                .as_array()
                .is_some_and(|scopes| scopes.iter().any(|s| s == scope)),
            "{} {} documents {security}, the gateway demands {scope}",
            route.method,
            route.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_the_committed_document_and_retires_v0() {
    let platform = baton_testkit::TestPlatform::spawn()
        .await
        .expect("platform starts");
    let served = platform
        .http
        .get(format!("{}/openapi.json", platform.gateway_url))
        .send()
        .await
        .expect("an answer");
    assert_eq!(served.status(), reqwest::StatusCode::OK);
    let served: serde_json::Value = served.json().await.expect("JSON");
    let committed: serde_json::Value =
        serde_json::from_str(&committed()).expect("docs/openapi.json is JSON");
    assert_eq!(served, committed);
    let head = platform
        .http
        .head(format!("{}/openapi.json", platform.gateway_url))
        .send()
        .await
        .expect("an answer");
    assert_eq!(head.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        head.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET")
    );

    for (method, path) in [
        (reqwest::Method::GET, "/v0/accounts"),
        (reqwest::Method::POST, "/v0/orders"),
        (reqwest::Method::GET, "/v0"),
    ] {
        let answer = platform
            .http
            .request(method, format!("{}{path}", platform.gateway_url))
            .send()
            .await
            .expect("an answer");
        assert_eq!(answer.status(), reqwest::StatusCode::GONE, "{path}");
        let content_type = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(content_type, "application/problem+json");
    }
}
