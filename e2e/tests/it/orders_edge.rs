//! The ordering flow under abuse, through the gateway: idempotent retries, the per-buyer limit
//! and the item cap, webhook URLs and the SSRF guard, and a supplier that turns malicious.
//!
//! Every answer is checked against the OpenAPI description, as in [`crate::support::call`]; the
//! helper here also sends an `Idempotency-Key`.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use baton_platform::Control;
use baton_platform::demo::{ALICE, BOB};
use baton_supplier::{Answer, Mode};
use baton_testkit::TestPlatform;
use baton_testkit::hermetic::PUBLIC_WEBHOOK_HOST;
use baton_testkit::openapi::Answers;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{assert_problem, first_account};

static ANSWERS: LazyLock<Answers> =
    LazyLock::new(|| Answers::new().expect("the merged OpenAPI document builds"));

/// `POST /v1/orders` with `body` and an optional key; the status, headers and body, checked
/// against the API description.
async fn place(
    platform: &TestPlatform,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = platform
        .http
        .post(format!("{}/v1/orders", platform.gateway_url))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("the platform answers");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap_or(Value::Null);
    let checked = ANSWERS.check("POST", "/v1/orders", status.as_u16(), &body);
    assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
    (status, headers, body)
}

fn order(account: &str, items: &[(&str, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
        .collect();
    json!({ "account_id": account, "items": items })
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_key_gets_the_first_order_back_and_is_charged_once() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let body = order(&account, &[("BATON-MUG", 2)]);
    let key = uuid::Uuid::new_v4().to_string();

    let (status, _, first) = place(&platform, &alice, &body, Some(&key)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, _, again) = place(&platform, &alice, &body, Some(&key)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(first_account(&platform, &alice).await.1, before - 2 * 1250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_key_place_one_order() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let body = order(&account, &[("BATON-STICKERS", 1)]);
    let key = uuid::Uuid::new_v4().to_string();
    let answers = futures_join(
        (0..4)
            .map(|_| place(&platform, &alice, &body, Some(&key)))
            .collect(),
    )
    .await;
    let mut ids = std::collections::BTreeSet::new();
    for (status, headers, body) in &answers {
        match *status {
            StatusCode::CREATED => {
                ids.insert(body["id"].to_string());
            }
            // The first request had not written its order yet.
            StatusCode::CONFLICT => {
                assert_problem(*status, content_type(headers), body, StatusCode::CONFLICT)
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(first_account(&platform, &alice).await.1, before - 300);
}

/// Runs the futures to completion at once (no extra crate for `join_all`).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_with_another_body_is_refused_and_a_malformed_key_is_a_400() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (account, _) = first_account(&platform, &bob).await;
    let key = "bob-order-1";
    let (status, _, _) = place(
        &platform,
        &bob,
        &order(&account, &[("BATON-MUG", 1)]),
        Some(key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, headers, body) = place(
        &platform,
        &bob,
        &order(&account, &[("BATON-MUG", 3)]),
        Some(key),
    )
    .await;
    assert_problem(
        status,
        content_type(&headers),
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Idempotency-Key")
    );

    let long = "k".repeat(65);
    for bad in ["with space", long.as_str()] {
        let (status, headers, body) = place(
            &platform,
            &bob,
            &order(&account, &[("BATON-MUG", 1)]),
            Some(bad),
        )
        .await;
        assert_problem(
            status,
            content_type(&headers),
            &body,
            StatusCode::BAD_REQUEST,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_buyer_limit_orders_are_429_with_retry_after_and_others_still_buy() {
    let platform = TestPlatform::builder()
        .with_setting("ORDERS_MAX_ORDERS_PER_WINDOW", "3")
        .spawn()
        .await
        .expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (account, _) = first_account(&platform, &bob).await;
    let body = order(&account, &[("BATON-STICKERS", 1)]);
    for _ in 0..3 {
        let (status, _, placed) = place(&platform, &bob, &body, None).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
    }
    let (status, headers, problem) = place(&platform, &bob, &body, None).await;
    assert_problem(
        status,
        content_type(&headers),
        &problem,
        StatusCode::TOO_MANY_REQUESTS,
    );
    let retry_after: u64 = headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // The limit is per buyer.
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (alices, _) = first_account(&platform, &alice).await;
    let (status, _, _) = place(
        &platform,
        &alice,
        &order(&alices, &[("BATON-MUG", 1)]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_over_the_item_cap_is_refused_before_anything_is_charged() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let body = order(&account, &[("BATON-STICKERS", 60), ("BATON-MUG", 41)]);
    let (status, headers, problem) = place(&platform, &alice, &body, None).await;
    assert_problem(
        status,
        content_type(&headers),
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("100 items")
    );
    assert_eq!(first_account(&platform, &alice).await.1, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_url_is_refused_with_the_rule_it_breaks_and_nothing_is_charged() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let cases = [
        ("http://hooks.baton.test/orders", "https"),
        ("https://evil.example.com/", "allow-list"),
        ("https://user:pw@hooks.baton.test/", "password"),
        ("https://127.0.0.1/", "internal"),
        ("https://[::1]/", "internal"),
        ("https://169.254.169.254/latest/meta-data/", "internal"),
        ("https://internal.baton.test/", "internal"),
    ];
    for (url, reason) in cases {
        let mut body = order(&account, &[("BATON-MUG", 1)]);
        body["notify_url"] = json!(url);
        let (status, headers, problem) = place(&platform, &alice, &body, None).await;
        assert_problem(
            status,
            content_type(&headers),
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("notify_url") && detail.contains(reason),
            "{url}: {detail}"
        );
    }
    assert_eq!(first_account(&platform, &alice).await.1, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_webhook_is_delivered_to_its_public_host_after_payment() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let mut body = order(&account, &[("BATON-MUG", 1)]);
    // `hooks.baton.test` resolves to a public address: the guard lets it pass, and the test
    // kit's dialer hands the connection to the canary standing in for that host.
    body["notify_url"] = json!(format!("https://{PUBLIC_WEBHOOK_HOST}/orders"));
    let (status, _, placed) = place(&platform, &alice, &body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(placed["status"], "paid");
    assert!(
        platform
            .public_webhook
            .wait_for(1, Duration::from_secs(5))
            .await,
        "the webhook was never delivered"
    );
    let received = &platform.public_webhook.received()[0];
    assert_eq!(
        (
            received.method.as_str(),
            received.path.as_str(),
            received.host.as_deref()
        ),
        ("POST", "/orders", Some(PUBLIC_WEBHOOK_HOST))
    );
    let event: Value = serde_json::from_slice(&received.body).expect("a JSON event");
    assert_eq!(
        (&event["event"], &event["order_id"]),
        (&json!("order.paid"), &placed["id"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_fails_leaves_the_order_paid_and_the_money_charged_once() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    platform
        .public_webhook
        .answer_with(Answer::Status(StatusCode::INTERNAL_SERVER_ERROR));
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let mut body = order(&account, &[("BATON-MUG", 1)]);
    body["notify_url"] = json!(format!("https://{PUBLIC_WEBHOOK_HOST}/orders"));
    let (status, _, placed) = place(&platform, &alice, &body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert!(
        platform
            .public_webhook
            .wait_for(1, Duration::from_secs(5))
            .await,
        "the delivery was tried"
    );
    let read = platform
        .http
        .get(format!(
            "{}/v1/orders/{}",
            platform.gateway_url,
            placed["id"].as_str().unwrap_or_default()
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("the platform answers");
    let order: Value = read.json().await.expect("a JSON order");
    assert_eq!(order["status"], "paid");
    assert_eq!(first_account(&platform, &alice).await.1, before - 1250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_webhooks_off_any_notify_url_is_refused_saying_so() {
    let platform = TestPlatform::builder()
        .with_setting("ORDERS_WEBHOOK_ALLOWED_HOSTS", "")
        .spawn()
        .await
        .expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let mut body = order(&account, &[("BATON-MUG", 1)]);
    body["notify_url"] = json!("https://hooks.baton.test/orders");
    let (status, headers, problem) = place(&platform, &alice, &body, None).await;
    assert_problem(
        status,
        content_type(&headers),
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("webhooks are off")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_ssrf_guard_off_in_lab_mode_the_webhook_is_delivered_after_payment() {
    let platform = TestPlatform::builder()
        .lab_disable([Control::OrdersSsrfGuard])
        .spawn()
        .await
        .expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let mut body = order(&account, &[("BATON-MUG", 1)]);
    body["notify_url"] = json!(format!("{}/v1/hooks", platform.supplier_url));
    let (status, _, placed) = place(&platform, &alice, &body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while platform.supplier.hooks_received() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(platform.supplier.hooks_received(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malicious_supplier_answer_refuses_the_order_with_a_problem_and_charges_nothing() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (account, mut balance) = first_account(&platform, &bob).await;
    let body = order(&account, &[("BATON-MUG", 1)]);
    for mode in Mode::MALICIOUS {
        platform.supplier.set_mode(mode);
        let (status, headers, problem) = place(&platform, &bob, &body, None).await;
        let expected = if mode == Mode::SlowDrip {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_GATEWAY
        };
        assert_problem(status, content_type(&headers), &problem, expected);
        assert_eq!(first_account(&platform, &bob).await.1, balance, "{mode:?}");
        // An honest answer in between: orders recovers at once, and the gateway's circuit
        // breaker never sees a run of failures.
        platform.supplier.set_mode(Mode::Honest);
        let (status, _, placed) = place(&platform, &bob, &body, None).await;
        assert_eq!(status, StatusCode::CREATED, "after {mode:?}: {placed}");
        balance -= 1250;
        assert_eq!(first_account(&platform, &bob).await.1, balance);
    }
}
