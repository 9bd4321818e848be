//! Attacks on money moving between services, by an attacker who is already inside with orders'
//! identity (a compromised orders, or its stolen key): what stops it is accounts' own judgement
//! of each request, not the edge.
//!
//! What counts as success: alice's balance, as she sees it through the gateway, changed in the
//! attacker's favour.

use baton_platform::demo::{ALICE, CAROL, DemoUser};
use baton_platform::{Control, TrustMode, Workload};
use baton_proto::accounts::v1::accounts_client::AccountsClient;
use baton_proto::accounts::v1::{DebitRequest, RefundReply, RefundRequest};
use baton_testkit::TestPlatform;
use baton_token::Claims;
use baton_token::claims::{Act, Confirmation};
use serde_json::json;

use crate::attacks::{Attack, AttackFuture, Modes, balance_of, first_account_of};
use crate::risk::OwaspRisk;

/// What the attacker asks to be refunded: far more than any demo order costs.
const MINTED_MINOR: i64 = 1_000_000;

pub fn catalogue() -> Vec<Attack> {
    vec![
        Attack {
            name: "refund from inside for an order that was never paid",
            risk: OwaspRisk::Api6SensitiveBusinessFlows,
            controls: &[Control::AccountsRefundMatchesDebit],
            modes: Modes::BOTH,
            settings: &[],
            run: refund_without_a_debit,
        },
        Attack {
            name: "refund from inside of more than the order paid",
            risk: OwaspRisk::Api6SensitiveBusinessFlows,
            controls: &[Control::AccountsRefundMatchesDebit],
            modes: Modes::BOTH,
            settings: &[],
            run: refund_above_the_debit,
        },
        // E2E mode has no delegation chain to judge; the mTLS allow-list is what keeps any
        // workload but orders from Debit there.
        Attack {
            name: "exchange mode: a debit whose delegation chain never passed through orders",
            risk: OwaspRisk::Api5FunctionLevelAuthorization,
            controls: &[Control::AccountsDelegation],
            modes: Modes::EXCHANGE_ONLY,
            settings: &[],
            run: debit_not_on_orders_behalf,
        },
    ]
}

/// `user`'s claims as orders would present them to accounts: in E2E mode the trust token; in
/// exchange mode the token orders got for accounts (acting after the gateway, bound to the
/// certificate `bound_to`).
fn as_orders_to_accounts(
    platform: &TestPlatform,
    user: DemoUser,
    bound_to: &baton_platform::CertThumbprint,
) -> Claims {
    let mut claims = platform.claims_for(user);
    if platform.trust_mode == TrustMode::Exchange {
        let id = |w| platform.trust_domain.id_of(w);
        claims.aud = vec![id(Workload::Accounts)];
        claims.act = Some(Act::new(
            id(Workload::Orders),
            Some(Act::new(id(Workload::Gateway), None)),
        ));
        claims.cnf = Some(Confirmation {
            x5t_s256: bound_to.0.clone(),
        });
    }
    claims
}

/// With orders' identity, a Debit carrying a token for accounts whose chain says users acted for
/// alice after the gateway, and orders never did (a token the STS's exchange policy would not
/// issue, signed with its key here: what stands behind that policy is accounts' own rule).
fn debit_not_on_orders_behalf(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let account = first_account_of(platform, &alice).await?;
        let before = balance_of(platform, &alice, &account).await?;

        let (transport, thumbprint) = platform.transport_as_bound(Workload::Orders)?;
        let mut claims = as_orders_to_accounts(platform, ALICE, &thumbprint);
        let id = |w| platform.trust_domain.id_of(w);
        claims.act = Some(Act::new(
            id(Workload::Users),
            Some(Act::new(id(Workload::Gateway), None)),
        ));
        let token = platform.mint(&claims)?;
        let request = with_bearer(
            DebitRequest {
                account_id: account.clone(),
                amount_minor: 1,
                currency: baton_platform::demo::CURRENCY.to_owned(),
                reference: uuid::Uuid::new_v4().to_string(),
            },
            &token,
        )?;
        let answer = accounts(platform, &transport)?.debit(request).await;

        let after = balance_of(platform, &alice, &account).await?;
        // The policy's refusal: accounts answers a debit it may not make as it answers one on an
        // account that is not there, so the caller learns nothing from it.
        let refused = matches!(&answer, Err(status) if status.code() == tonic::Code::NotFound);
        let evidence = evidence(&answer, "debited", before, after);
        Ok(crate::attacks::judge(
            after < before,
            refused && after == before,
            &evidence,
        ))
    })
}

/// With orders' identity and an admin's token (both stolen), asks accounts to refund an order
/// that does not exist into alice's account: money from nowhere, unless accounts checks the
/// refund against the debit it reverses.
fn refund_without_a_debit(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let account = first_account_of(platform, &alice).await?;
        let before = balance_of(platform, &alice, &account).await?;

        let order_id = uuid::Uuid::new_v4().to_string();
        let answer = refund_from_inside(platform, &account, order_id).await?;

        let after = balance_of(platform, &alice, &account).await?;
        // The control's refusal: no debit of this order on this account to give back.
        let refused =
            matches!(&answer, Err(status) if status.code() == tonic::Code::FailedPrecondition);
        Ok(crate::attacks::judge(
            after > before,
            refused && after == before,
            &evidence(&answer, "refunded", before, after),
        ))
    })
}

/// Alice buys stickers through the gateway; then, with orders' identity and an admin's token,
/// the attacker asks accounts to refund that real order, for far more than it took: the order
/// was paid, so only the bound on the amount stands in the way.
fn refund_above_the_debit(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let account = first_account_of(platform, &alice).await?;
        let before = balance_of(platform, &alice, &account).await?;
        let placed = platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&alice)
            .json(&json!({
                "account_id": account,
                "items": [{ "sku": "BATON-STICKERS", "quantity": 1 }],
            }))
            .send()
            .await?;
        anyhow::ensure!(
            placed.status().is_success(),
            "alice's order: {}",
            placed.status()
        );
        let order: serde_json::Value = placed.json().await?;
        let order_id = order["id"].as_str().unwrap_or_default().to_owned();

        let answer = refund_from_inside(platform, &account, order_id).await?;

        let after = balance_of(platform, &alice, &account).await?;
        // The control's refusal: more than the order's debit took.
        let refused =
            matches!(&answer, Err(status) if status.code() == tonic::Code::FailedPrecondition);
        Ok(crate::attacks::judge(
            after > before,
            refused && after < before,
            &evidence(&answer, "refunded", before, after),
        ))
    })
}

/// With orders' identity and carol's (an admin's) token, asks accounts to refund order
/// `order_id` into `account`, for [`MINTED_MINOR`]: accounts' answer.
async fn refund_from_inside(
    platform: &TestPlatform,
    account: &str,
    order_id: String,
) -> anyhow::Result<Result<tonic::Response<RefundReply>, tonic::Status>> {
    let (transport, thumbprint) = platform.transport_as_bound(Workload::Orders)?;
    let token = platform.mint(&as_orders_to_accounts(platform, CAROL, &thumbprint))?;
    let request = with_bearer(
        RefundRequest {
            account_id: account.to_owned(),
            amount_minor: MINTED_MINOR,
            currency: baton_platform::demo::CURRENCY.to_owned(),
            order_id,
        },
        &token,
    )?;
    Ok(accounts(platform, &transport)?.refund(request).await)
}

/// A gRPC client for accounts over `transport` (orders' identity).
fn accounts(
    platform: &TestPlatform,
    transport: &baton_workload::Transport,
) -> anyhow::Result<AccountsClient<tonic::transport::Channel>> {
    let authority = platform.accounts_url.trim_start_matches("https://");
    Ok(AccountsClient::new(
        transport.grpc_channel(authority, Workload::Accounts)?,
    ))
}

/// `message` as a gRPC request carrying `token` as its bearer.
fn with_bearer<T>(message: T, token: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

/// What accounts answered and what alice's balance did.
fn evidence<T>(
    answer: &Result<tonic::Response<T>, tonic::Status>,
    done: &str,
    before: i64,
    after: i64,
) -> serde_json::Value {
    json!({
        "answer": match answer {
            Ok(_) => done.to_owned(),
            Err(status) => format!("{:?}: {}", status.code(), status.message()),
        },
        "balance_before_minor": before,
        "balance_after_minor": after,
    })
}
