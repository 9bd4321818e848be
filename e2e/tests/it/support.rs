//! Small helpers the tests share.

use std::sync::LazyLock;

use baton_testkit::openapi::Answers;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use baton_platform::Workload;
use baton_testkit::TestPlatform;

/// The platform's API description, compiled once for the whole test binary.
static ANSWERS: LazyLock<Answers> =
    LazyLock::new(|| Answers::new().expect("the merged OpenAPI document builds"));

/// Sends `method path` to the gateway with `token` and an optional JSON body; returns the status,
/// the content type and the body as JSON (`Value::Null` if it is not JSON).
///
/// Every answer is checked against the OpenAPI description of its operation: a test that gets an
/// answer the description does not allow fails, whatever it asserts itself.
pub async fn call(
    platform: &TestPlatform,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let answer = send(
        &platform.http,
        &platform.gateway_url,
        method.clone(),
        path,
        token,
        body,
    )
    .await;
    let (status, _, body) = &answer;
    let checked = ANSWERS.check(method.as_str(), path, status.as_u16(), body);
    assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
    answer
}

/// Like [`call`], straight to a service, over mutual TLS as the gateway would call it.
pub async fn call_service(
    platform: &TestPlatform,
    service: Workload,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String, Value) {
    let client = platform
        .client_as(Workload::Gateway, service)
        .expect("a gateway identity");
    send(
        &client,
        platform.service_url(service),
        method,
        path,
        token,
        None,
    )
    .await
}

async fn send(
    client: &reqwest::Client,
    base_url: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let mut request = client.request(method, format!("{base_url}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the platform answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

/// Asserts an answer is an RFC 9457 problem with `status`.
pub fn assert_problem(status: StatusCode, content_type: &str, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], expected.as_u16(), "body: {body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:baton:problem:")),
        "body: {body}"
    );
}

/// The id and balance of the caller's first account.
pub async fn first_account(platform: &TestPlatform, token: &str) -> (String, i64) {
    let (status, _, body) = call(platform, Method::GET, "/v1/accounts", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let account = &body["accounts"][0];
    (
        account["id"].as_str().expect("an account id").to_owned(),
        account["balance_minor"].as_i64().expect("a balance"),
    )
}
