//! `Accounts/Settle` and `Accounts/RefundState`, the calls orders' reconciler makes with no user
//! behind it: only orders, only with its own workload token from the STS (bound to its
//! certificate, scope `accounts:settle`), and the same answer however often it is asked.

use baton_platform::demo::ALICE;
use baton_platform::{CertThumbprint, Workload};
use baton_proto::accounts::v1::accounts_client::AccountsClient;
use baton_proto::accounts::v1::settle_reply::Outcome;
use baton_proto::accounts::v1::{DebitRequest, RefundStateRequest, SettleReply, SettleRequest};
use baton_testkit::TestPlatform;
use baton_token::WorkloadClaims;
use baton_token::claims::Confirmation;
use baton_workload::Transport;
use reqwest::StatusCode;
use serde_json::Value;
use tonic::Code;

use crate::support::first_account;

/// Asks the STS, as the workload `transport` presents, for a token of its own for `resource`.
async fn own_token(
    platform: &TestPlatform,
    transport: &Transport,
    caller: Workload,
    resource: &str,
) -> (StatusCode, Value) {
    let client = transport.http_client(Workload::Sts).expect("a client");
    let answer = client
        .post(format!("{}/oauth2/token", platform.sts_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", caller.name()),
            ("resource", resource),
            ("scope", "accounts:settle"),
        ])
        .send()
        .await
        .expect("the STS answers");
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Orders' transport (a certificate of its own), that certificate's thumbprint, and the token of
/// its own the STS issues it for accounts.
async fn orders_with_its_token(platform: &TestPlatform) -> (Transport, CertThumbprint, String) {
    let accounts_id = platform.trust_domain.id_of(Workload::Accounts);
    let (orders, orders_cert) = platform
        .transport_as_bound(Workload::Orders)
        .expect("orders");
    let (status, issued) = own_token(platform, &orders, Workload::Orders, &accounts_id).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let token = issued["access_token"].as_str().expect("a token").to_owned();
    (orders, orders_cert, token)
}

fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn accounts(
    platform: &TestPlatform,
    transport: &Transport,
) -> AccountsClient<tonic::transport::Channel> {
    let authority = platform.accounts_url.trim_start_matches("https://");
    AccountsClient::new(
        transport
            .grpc_channel(authority, Workload::Accounts)
            .expect("a channel"),
    )
}

async fn settle(
    platform: &TestPlatform,
    transport: &Transport,
    token: Option<&str>,
    account: &str,
    reference: &str,
) -> Result<SettleReply, tonic::Status> {
    let message = SettleRequest {
        account_id: account.to_owned(),
        reference: reference.to_owned(),
    };
    accounts(platform, transport)
        .settle(with_token(message, token))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_answers_orders_own_token_the_same_every_time_and_refuses_everyone_else() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let accounts_id = platform.trust_domain.id_of(Workload::Accounts);
    let (orders, orders_cert, token) = orders_with_its_token(&platform).await;

    // (d) A reference nothing was debited under is voided, and stays so.
    let unpaid = uuid::Uuid::new_v4().to_string();
    for _ in 0..2 {
        let reply = settle(&platform, &orders, Some(&token), &account, &unpaid).await;
        assert_eq!(reply.map(|r| r.outcome()).ok(), Some(Outcome::Voided));
    }

    // (c) Everyone else is refused, before anything is looked up.
    let other = uuid::Uuid::new_v4().to_string();
    let code = |answer: Result<SettleReply, tonic::Status>| answer.err().map(|s| s.code());
    let no_token = settle(&platform, &orders, None, &account, &other).await;
    assert_eq!(code(no_token), Some(Code::Unauthenticated), "no token");
    let mut users_claims = platform.claims_for(ALICE);
    users_claims.cnf = Some(Confirmation {
        x5t_s256: orders_cert.0.clone(),
    });
    let user_token = platform.mint(&users_claims).expect("minted");
    let as_user = settle(&platform, &orders, Some(&user_token), &account, &other).await;
    assert_eq!(code(as_user), Some(Code::Unauthenticated), "a user's token");
    // The STS gives users no token of its own for accounts; one minted anyway, bound to users'
    // certificate, is refused at accounts.
    let (users, users_cert) = platform.transport_as_bound(Workload::Users).expect("users");
    let (status, refused) = own_token(&platform, &users, Workload::Users, &accounts_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_target");
    let now = baton_platform::time::now_unix();
    let forged = platform
        .mint_workload(&WorkloadClaims {
            iss: baton_platform::settings::DEFAULT_ISSUER.to_owned(),
            sub: platform.trust_domain.id_of(Workload::Users),
            aud: vec![accounts_id.clone()],
            exp: now + 300,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: "accounts:settle".to_owned(),
            cnf: Confirmation {
                x5t_s256: users_cert.0.clone(),
            },
        })
        .expect("minted");
    let as_users = settle(&platform, &users, Some(&forged), &account, &other).await;
    assert_eq!(
        code(as_users),
        Some(Code::PermissionDenied),
        "another workload"
    );
    // Orders' own token is good for Settle alone: a Debit with it is refused.
    let debit = DebitRequest {
        account_id: account.clone(),
        amount_minor: 1,
        currency: "EUR".to_owned(),
        reference: other.clone(),
    };
    let debited = accounts(&platform, &orders)
        .debit(with_token(debit, Some(&token)))
        .await;
    assert_eq!(
        debited.err().map(|s| s.code()),
        Some(Code::Unauthenticated),
        "a debit"
    );
    // None of that voided `other`: it can still be settled, once, by orders.
    let reply = settle(&platform, &orders, Some(&token), &account, &other).await;
    assert_eq!(reply.map(|r| r.outcome()).ok(), Some(Outcome::Voided));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_reads_a_debited_order_back_with_its_amount_every_time() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let (status, _, order) = crate::support::call(
        &platform,
        reqwest::Method::POST,
        "/v1/orders",
        Some(&alice),
        Some(serde_json::json!({
            "account_id": account,
            "items": [{ "sku": "BATON-TSHIRT", "quantity": 1 }],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let reference = order["id"].as_str().expect("an id").to_owned();
    let (orders, _, token) = orders_with_its_token(&platform).await;
    let first = settle(&platform, &orders, Some(&token), &account, &reference)
        .await
        .expect("settled");
    assert_eq!(first.outcome(), Outcome::Debited);
    assert_eq!(
        first.amount_minor,
        order["total_minor"].as_i64().expect("a total")
    );
    let again = settle(&platform, &orders, Some(&token), &account, &reference)
        .await
        .expect("settled");
    assert_eq!(again, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_state_tells_orders_alone_whether_a_refund_was_credited_and_credits_nothing() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, before) = first_account(&platform, &alice).await;
    let (orders, orders_cert, token) = orders_with_its_token(&platform).await;
    let ask = |token: Option<String>| {
        let message = RefundStateRequest {
            account_id: account.clone(),
            order_id: uuid::Uuid::new_v4().to_string(),
        };
        let mut client = accounts(&platform, &orders);
        async move {
            client
                .refund_state(with_token(message, token.as_deref()))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    // An order never refunded: not refunded, asked as often as you like, and nothing moves.
    for _ in 0..2 {
        let reply = ask(Some(token.clone())).await.expect("answered");
        assert!(!reply.refunded);
        assert_eq!(reply.amount_minor, 0);
    }
    assert_eq!(first_account(&platform, &alice).await.1, before);
    // A user's token, even one bound to orders' certificate, is refused.
    let mut claims = platform.claims_for(ALICE);
    claims.cnf = Some(Confirmation {
        x5t_s256: orders_cert.0.clone(),
    });
    let user_token = platform.mint(&claims).expect("minted");
    let as_user = ask(Some(user_token)).await;
    assert_eq!(as_user.err().map(|s| s.code()), Some(Code::Unauthenticated));
    let no_token = ask(None).await;
    assert_eq!(
        no_token.err().map(|s| s.code()),
        Some(Code::Unauthenticated)
    );
}
