//! Bad input gets a clear problem+json answer and changes nothing.

use baton_platform::demo::BOB;
use baton_testkit::TestPlatform;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_problem, call, first_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_orders_are_refused_with_problems_and_no_money_moves() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (account_id, before) = first_account(&platform, &bob).await;
    let mug = json!([{ "sku": "BATON-MUG", "quantity": 1 }]);
    let cases = [
        (
            "wrong type",
            json!({ "account_id": account_id, "items": "many" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown field",
            json!({ "account_id": account_id, "items": mug, "total_minor": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "zero quantity",
            json!({ "account_id": account_id, "items": [{ "sku": "BATON-MUG", "quantity": 0 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "negative quantity",
            json!({ "account_id": account_id, "items": [{ "sku": "BATON-MUG", "quantity": -5 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown sku",
            json!({ "account_id": account_id, "items": [{ "sku": "NOPE", "quantity": 1 }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no items",
            json!({ "account_id": account_id, "items": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (what, body, expected) in cases {
        let (status, content_type, answer) = call(
            &platform,
            Method::POST,
            "/v1/orders",
            Some(&bob),
            Some(body),
        )
        .await;
        assert_eq!(status, expected, "{what}: {answer}");
        assert_problem(status, &content_type, &answer, expected);
    }

    let raw = |body: &'static str, content_type: &'static str| {
        platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&bob)
            .header("content-type", content_type)
            .body(body)
    };
    let syntax = raw("{\"account_id\": ", "application/json")
        .send()
        .await
        .expect("answer");
    assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
    let not_json = raw("account_id=1", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("answer");
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A client of its own: the connection this request dies on must not be one the rest of the
    // test reuses from a shared pool.
    let huge = platform
        .ca
        .public_client()
        .expect("a client")
        .post(format!("{}/v1/orders", platform.gateway_url))
        .bearer_auth(&bob)
        .header("content-type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await;
    // The gateway answers 413 as soon as the limit is passed and closes the connection; a client
    // still writing the rest may see that close before it reads the answer. Either way the body
    // was refused; what must never happen is any other answer.
    match huge {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(err) => assert!(!err.is_status() && !err.is_decode(), "{err}"),
    }

    assert_eq!(
        first_account(&platform, &bob).await.1,
        before,
        "bad input moved money"
    );
    let (_, _, orders) = call(&platform, Method::GET, "/v1/orders", Some(&bob), None).await;
    assert_eq!(
        orders["orders"].as_array().map(Vec::len),
        Some(0),
        "bad input wrote an order: {orders}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_routes_and_methods_get_404_and_405_problems() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    for (method, path, expected) in [
        (Method::GET, "/v1/admin", StatusCode::NOT_FOUND),
        (Method::GET, "/internal/debug", StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            "/v1/accounts",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::PUT, "/v1/orders", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let (status, content_type, body) = call(&platform, method, path, Some(&bob), None).await;
        assert_problem(status, &content_type, &body, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_in_the_path_is_a_plain_404() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    for path in [
        "/v1/accounts/not-a-uuid",
        "/v1/orders/1",
        "/v1/users/%27%20OR%201=1",
    ] {
        let (status, content_type, body) =
            call(&platform, Method::GET, path, Some(&bob), None).await;
        assert_problem(status, &content_type, &body, StatusCode::NOT_FOUND);
    }
}
