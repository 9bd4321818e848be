//! The walking skeleton's promise: log in, see your money, buy something, and see exactly that
//! much money leave, while nobody else can see any of it.

use baton_platform::demo::{ALICE, BOB, CAROL};
use baton_testkit::TestPlatform;
use baton_testkit::openapi::without_request_id;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{assert_problem, call, first_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placing_an_order_debits_exactly_the_order_total() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account_id, before) = first_account(&platform, &alice).await;
    assert_eq!(before, 100_000);

    let order = json!({
        "account_id": account_id,
        "items": [{ "sku": "BATON-MUG", "quantity": 2 }, { "sku": "BATON-STICKERS", "quantity": 3 }],
    });
    let (status, _, placed) = call(
        &platform,
        Method::POST,
        "/v1/orders",
        Some(&alice),
        Some(order),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(placed["status"], "paid");
    assert_eq!(placed["total_minor"], 2 * 1250 + 3 * 300);

    let (_, after) = first_account(&platform, &alice).await;
    assert_eq!(after, before - (2 * 1250 + 3 * 300));

    let order_id = placed["id"].as_str().expect("an order id");
    let (status, _, fetched) = call(
        &platform,
        Method::GET,
        &format!("/v1/orders/{order_id}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["id"], order_id);
    let (status, _, listed) = call(&platform, Method::GET, "/v1/orders", Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed.to_string().contains(order_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_bigger_than_the_balance_is_refused_and_moves_no_money() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (account_id, before) = first_account(&platform, &bob).await;
    let order =
        json!({ "account_id": account_id, "items": [{ "sku": "BATON-TSHIRT", "quantity": 100 }] });
    let (status, content_type, body) = call(
        &platform,
        Method::POST,
        "/v1/orders",
        Some(&bob),
        Some(order),
    )
    .await;
    assert_problem(status, &content_type, &body, StatusCode::CONFLICT);
    assert_eq!(first_account(&platform, &bob).await.1, before);
    // The refused order stays, `failed`, as the record of an attempt that took nothing.
    let (_, _, orders) = call(&platform, Method::GET, "/v1/orders", Some(&bob), None).await;
    let statuses: Vec<&Value> = orders["orders"]
        .as_array()
        .map(|orders| orders.iter().map(|order| &order["status"]).collect())
        .unwrap_or_default();
    assert_eq!(statuses, [&json!("failed")], "{orders}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_cannot_read_or_spend_from_alices_account_and_gets_404_not_a_hint() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (alice_account, alice_before) = first_account(&platform, &alice).await;
    let order =
        json!({ "account_id": alice_account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
    let (_, _, alice_order) = call(
        &platform,
        Method::POST,
        "/v1/orders",
        Some(&alice),
        Some(order.clone()),
    )
    .await;
    let alice_order = alice_order["id"]
        .as_str()
        .expect("alice's order")
        .to_owned();

    let nonexistent = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/accounts/{alice_account}"),
        format!("/v1/orders/{alice_order}"),
        format!("/v1/users/{}", ALICE.id),
    ] {
        let (status, content_type, body) =
            call(&platform, Method::GET, &path, Some(&bob), None).await;
        assert_problem(status, &content_type, &body, StatusCode::NOT_FOUND);
        let missing = path
            .rsplit_once('/')
            .map(|(base, _)| format!("{base}/{nonexistent}"))
            .unwrap_or_default();
        let (_, _, missing_body) = call(&platform, Method::GET, &missing, Some(&bob), None).await;
        assert_eq!(
            without_request_id(body),
            without_request_id(missing_body),
            "another user's object must look exactly like a missing one"
        );
    }

    // Paying with alice's account: refused, and alice's balance does not move.
    let (status, content_type, body) = call(
        &platform,
        Method::POST,
        "/v1/orders",
        Some(&bob),
        Some(order),
    )
    .await;
    assert_problem(status, &content_type, &body, StatusCode::NOT_FOUND);
    assert_eq!(
        first_account(&platform, &alice).await.1,
        alice_before - 1250
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_read_a_customers_account() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let carol = platform.login(CAROL).await.expect("carol logs in");
    let (alice_account, _) = first_account(&platform, &alice).await;
    let (status, _, body) = call(
        &platform,
        Method::GET,
        &format!("/v1/accounts/{alice_account}"),
        Some(&carol),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, me) = call(&platform, Method::GET, "/v1/users/me", Some(&carol), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "carol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_can_open_a_second_account_and_it_starts_empty() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (status, _, opened) = call(
        &platform,
        Method::POST,
        "/v1/accounts",
        Some(&bob),
        Some(json!({ "currency": "EUR" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    assert_eq!(opened["balance_minor"], 0);
    let (_, _, listed) = call(&platform, Method::GET, "/v1/accounts", Some(&bob), None).await;
    assert_eq!(listed["accounts"].as_array().map(Vec::len), Some(2));
}
