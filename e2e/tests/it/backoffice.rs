//! Staff at work: support looks things up and sees contact details masked; an admin freezes an
//! account, deposits into one and refunds an order, each exactly once; customers change their own
//! profile and page through their orders within the limits.

use baton_platform::demo::{ALICE, BOB, CAROL, DAVE};
use baton_testkit::TestPlatform;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{assert_problem, call, first_account};

async fn place_mug_order(platform: &TestPlatform, token: &str, account: &str) -> Value {
    let order = json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
    let (status, _, placed) = call(
        platform,
        Method::POST,
        "/v1/orders",
        Some(token),
        Some(order),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    placed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_reads_orders_and_masked_profiles_but_changes_nothing() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let order = place_mug_order(&platform, &alice, &account).await;
    let dave = platform.login(DAVE).await.expect("dave logs in");

    let path = format!("/v1/orders/{}", order["id"].as_str().expect("an id"));
    let (status, _, seen) = call(&platform, Method::GET, &path, Some(&dave), None).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["id"], order["id"]);

    let path = format!("/v1/users/{}", ALICE.id);
    let (status, _, profile) = call(&platform, Method::GET, &path, Some(&dave), None).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["email"], "a***@example.com");
    assert_eq!(profile["phone"], "***0001");
    assert_eq!(profile["contact"], "masked");

    // Support has no accounts scope at all, and no back-office function.
    let (status, _, _) = call(
        &platform,
        Method::GET,
        &format!("/v1/accounts/{account}"),
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(&platform, Method::GET, "/v1/users", Some(&dave), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_admins_see_full_contact_details() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (_, _, me) = call(&platform, Method::GET, "/v1/users/me", Some(&alice), None).await;
    assert_eq!(me["email"], ALICE.email);
    assert_eq!(me["contact"], "full");
    let carol = platform.login(CAROL).await.expect("carol logs in");
    let path = format!("/v1/users/{}", ALICE.id);
    let (_, _, seen) = call(&platform, Method::GET, &path, Some(&carol), None).await;
    assert_eq!(seen["phone"], ALICE.phone);
    let (status, _, listed) = call(
        &platform,
        Method::GET,
        "/v1/users?limit=2",
        Some(&carol),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["users"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_account_pays_for_nothing_until_it_is_unfrozen() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let carol = platform.login(CAROL).await.expect("carol logs in");
    let (account, before) = first_account(&platform, &alice).await;

    let freeze = format!("/v1/accounts/{account}/freeze");
    let (status, _, frozen) = call(&platform, Method::POST, &freeze, Some(&carol), None).await;
    assert_eq!(status, StatusCode::OK, "{frozen}");
    assert_eq!(frozen["status"], "frozen");

    let order = json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
    let (status, content_type, refused) = call(
        &platform,
        Method::POST,
        "/v1/orders",
        Some(&alice),
        Some(order),
    )
    .await;
    assert_problem(status, &content_type, &refused, StatusCode::CONFLICT);
    assert_eq!(first_account(&platform, &alice).await.1, before);

    let unfreeze = format!("/v1/accounts/{account}/unfreeze");
    let (status, _, active) = call(&platform, Method::POST, &unfreeze, Some(&carol), None).await;
    assert_eq!(status, StatusCode::OK, "{active}");
    place_mug_order(&platform, &alice, &account).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_sent_twice_is_made_once_and_bad_deposits_change_nothing() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let carol = platform.login(CAROL).await.expect("carol logs in");
    let (account, before) = first_account(&platform, &bob).await;
    let path = format!("/v1/accounts/{account}/deposits");

    let deposit = json!({ "amount_minor": 2_500, "currency": "EUR", "reference": "goodwill-1" });
    for _ in 0..2 {
        let (status, _, body) = call(
            &platform,
            Method::POST,
            &path,
            Some(&carol),
            Some(deposit.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["account"]["balance_minor"], before + 2_500);
    }
    let reused = json!({ "amount_minor": 9_999, "currency": "EUR", "reference": "goodwill-1" });
    let (status, content_type, body) =
        call(&platform, Method::POST, &path, Some(&carol), Some(reused)).await;
    assert_problem(status, &content_type, &body, StatusCode::CONFLICT);

    for bad in [
        json!({ "amount_minor": 0, "currency": "EUR", "reference": "r" }),
        json!({ "amount_minor": 10_000_001, "currency": "EUR", "reference": "r" }),
        json!({ "amount_minor": 100, "currency": "EURO", "reference": "r" }),
        json!({ "amount_minor": 100, "currency": "USD", "reference": "r" }),
        json!({ "amount_minor": 100, "currency": "EUR", "reference": "has space" }),
        json!({ "amount_minor": 100, "currency": "EUR", "reference": "r", "owner_id": ALICE.id }),
    ] {
        let (status, content_type, body) = call(
            &platform,
            Method::POST,
            &path,
            Some(&carol),
            Some(bad.clone()),
        )
        .await;
        assert_problem(
            status,
            &content_type,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    assert_eq!(first_account(&platform, &bob).await.1, before + 2_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_gives_the_money_back_once() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let carol = platform.login(CAROL).await.expect("carol logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let order = place_mug_order(&platform, &alice, &account).await;
    let path = format!("/v1/orders/{}/refund", order["id"].as_str().expect("an id"));

    let (status, _, refunded) = call(&platform, Method::POST, &path, Some(&carol), None).await;
    assert_eq!(status, StatusCode::OK, "{refunded}");
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(first_account(&platform, &alice).await.1, before);

    let (status, content_type, again) =
        call(&platform, Method::POST, &path, Some(&carol), None).await;
    assert_problem(status, &content_type, &again, StatusCode::CONFLICT);
    assert_eq!(first_account(&platform, &alice).await.1, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_changes_their_own_profile_within_the_rules() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let change = json!({ "display_name": "Robert", "phone": "+44 20 7946 0999" });
    let (status, _, changed) = call(
        &platform,
        Method::PATCH,
        "/v1/users/me",
        Some(&bob),
        Some(change),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["display_name"], "Robert");
    assert_eq!(changed["email"], BOB.email);

    for bad in [
        json!({ "display_name": "" }),
        json!({ "display_name": "x".repeat(81) }),
        json!({ "phone": "call me maybe" }),
        json!({ "email": "bob@attacker.example" }),
        json!({ "role": "admin" }),
    ] {
        let (status, content_type, body) = call(
            &platform,
            Method::PATCH,
            "/v1/users/me",
            Some(&bob),
            Some(bad),
        )
        .await;
        assert_problem(
            status,
            &content_type,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let (_, _, me) = call(&platform, Method::GET, "/v1/users/me", Some(&bob), None).await;
    assert_eq!(me["display_name"], "Robert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_stay_within_the_hard_maximum() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    for _ in 0..3 {
        place_mug_order(&platform, &alice, &account).await;
    }
    let (status, _, page) = call(
        &platform,
        Method::GET,
        "/v1/orders?limit=2",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["orders"].as_array().map(Vec::len), Some(2));
    let (_, _, rest) = call(
        &platform,
        Method::GET,
        "/v1/orders?limit=2&offset=2",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(rest["orders"].as_array().map(Vec::len), Some(1));

    for path in [
        "/v1/orders?limit=101",
        "/v1/orders?limit=0",
        "/v1/accounts?limit=1000000",
        "/v1/orders?offset=10001",
    ] {
        let (status, content_type, body) =
            call(&platform, Method::GET, path, Some(&alice), None).await;
        assert_problem(
            status,
            &content_type,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let (status, content_type, body) = call(
        &platform,
        Method::GET,
        "/v1/orders?limit=ten",
        Some(&alice),
        None,
    )
    .await;
    assert_problem(status, &content_type, &body, StatusCode::BAD_REQUEST);
}
