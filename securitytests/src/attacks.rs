//! The catalogue of attacks. Each is a function that attacks a running platform and reports
//! whether it got what it wanted; [`crate::prove`] decides what that means.
//!
//! An attack reports [`Outcome::Succeeded`] only when it observably got what it was after (another
//! user's data, a debit from someone else's account), never merely on a 200, so a broken platform
//! cannot pass for a vulnerable one.

use std::future::Future;
use std::pin::Pin;

use baton_platform::demo::{ALICE, BOB, DAVE, DemoUser};
use baton_platform::time::now_unix;
use baton_platform::{Control, Workload};
use baton_testkit::TestPlatform;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::risk::OwaspRisk;

/// What an attack achieved, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Blocked(String),
    Succeeded(String),
}

impl Outcome {
    pub fn is_blocked(&self) -> bool {
        matches!(self, Outcome::Blocked(_))
    }
}

pub(crate) type AttackFuture<'a> =
    Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send + 'a>>;

/// One attack.
#[derive(Debug, Clone, Copy)]
pub struct Attack {
    pub name: &'static str,
    pub risk: OwaspRisk,
    /// Every control that stands in its way; with all of them off it must succeed.
    pub controls: &'static [Control],
    pub run: for<'a> fn(&'a TestPlatform) -> AttackFuture<'a>,
}

/// Every attack, grouped by risk.
pub fn catalogue() -> Vec<Attack> {
    use Control::*;
    use OwaspRisk::*;
    let mut attacks = vec![
        Attack {
            name: "read another user's account by id",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            run: read_others_account,
        },
        Attack {
            name: "read another user's order by id",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            run: read_others_order,
        },
        Attack {
            name: "pay for an order from another user's account",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            run: pay_from_others_account,
        },
        Attack {
            name: "self-signed JWT sent through the gateway",
            risk: Api2Authentication,
            controls: &[GatewayPhantomToken, TokenSignature],
            run: forged_jwt_through_gateway,
        },
        Attack {
            name: "self-signed JWT sent straight to a service",
            risk: Api2Authentication,
            controls: &[TokenSignature],
            run: forged_jwt_direct,
        },
        Attack {
            name: "token for another audience replayed at a service",
            risk: Api2Authentication,
            controls: &[TokenAudience],
            run: wrong_audience,
        },
        Attack {
            name: "expired internal token replayed at a service",
            risk: Api2Authentication,
            controls: &[TokenExpiry],
            run: expired_internal_token,
        },
        Attack {
            name: "token from another issuer",
            risk: Api2Authentication,
            controls: &[TokenIssuer],
            run: other_issuer,
        },
        Attack {
            name: "expired access token replayed at the gateway",
            risk: Api2Authentication,
            controls: &[StsTokenExpiry],
            run: expired_access_token,
        },
        Attack {
            name: "valid token presented to a service by a workload not allowed to call it",
            risk: Api2Authentication,
            controls: &[MtlsPeerId],
            run: gateway_bypass,
        },
        Attack {
            name: "read-only token places an order",
            risk: Api5FunctionLevelAuthorization,
            controls: &[GatewayScope, ServiceScope],
            run: read_only_token_writes,
        },
        Attack {
            name: "tell another user's order from a missing one by its answer",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            run: probe_order_ids,
        },
        Attack {
            name: "customer freezes another user's account",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            run: customer_freezes_account,
        },
        Attack {
            name: "customer deposits money into their own account",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            run: customer_deposits,
        },
        Attack {
            name: "customer refunds their own paid order",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            run: customer_refunds,
        },
        Attack {
            name: "customer lists every user",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            run: customer_lists_users,
        },
        Attack {
            name: "support refunds a customer's order",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            run: support_refunds,
        },
        Attack {
            name: "mass-assign balance, owner and status when opening an account",
            risk: Api3PropertyLevelAuthorization,
            controls: &[ServiceMassAssignment],
            run: mass_assign_account,
        },
        Attack {
            name: "mass-assign email and role when updating a profile",
            risk: Api3PropertyLevelAuthorization,
            controls: &[ServiceMassAssignment],
            run: mass_assign_profile,
        },
        Attack {
            name: "mass-assign status, buyer and total when placing an order",
            risk: Api3PropertyLevelAuthorization,
            controls: &[],
            run: mass_assign_order,
        },
        Attack {
            name: "support reads a customer's unmasked email and phone",
            risk: Api3PropertyLevelAuthorization,
            controls: &[ServiceFieldMasking],
            run: support_reads_contact_details,
        },
        Attack {
            name: "responses scanned for secrets and internal fields",
            risk: Api3PropertyLevelAuthorization,
            controls: &[],
            run: scan_responses,
        },
        Attack {
            name: "page size of a million",
            risk: Api4ResourceConsumption,
            controls: &[ServicePageLimit],
            run: huge_page,
        },
    ];
    attacks.extend(crate::authorization_server::catalogue());
    attacks.extend(crate::edge::catalogue());
    attacks.extend(crate::business::catalogue());
    attacks.extend(crate::exchange::catalogue());
    attacks.extend(crate::forgery::catalogue());
    attacks.extend(crate::inventory::catalogue());
    attacks
}

/// What stands between a customer and a back-office function: the gateway's route rule (scope and
/// role) and the service's own (scope and policy). Any one of the four is enough to refuse.
const BACK_OFFICE_CONTROLS: &[Control] = &[
    Control::GatewayScope,
    Control::GatewayRole,
    Control::ServiceScope,
    Control::ServiceRole,
];

async fn call(
    platform: &TestPlatform,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    send(&platform.http, method, url, token, body).await
}

async fn send(
    client: &reqwest::Client,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

pub(crate) fn outcome(succeeded: bool, status: StatusCode, evidence: &Value) -> Outcome {
    let text = format!(
        "{status}: {}",
        evidence.to_string().chars().take(160).collect::<String>()
    );
    if succeeded {
        Outcome::Succeeded(text)
    } else {
        Outcome::Blocked(text)
    }
}

/// Alice's first account id, as alice sees it.
async fn alices_account(platform: &TestPlatform) -> anyhow::Result<String> {
    let alice = platform.login(ALICE).await?;
    first_account_of(platform, &alice).await
}

/// The id of the first account the holder of `token` sees; an error if there is none, so an
/// attack never goes on with an empty id.
pub(crate) async fn first_account_of(
    platform: &TestPlatform,
    token: &str,
) -> anyhow::Result<String> {
    let (_, body) = call(
        platform,
        Method::GET,
        format!("{}/v1/accounts", platform.gateway_url),
        token,
        None,
    )
    .await?;
    body["accounts"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no account to be seen: {body}"))
}

fn read_others_account(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let target = alices_account(platform).await?;
        let bob = platform.login(BOB).await?;
        let (status, body) = call(
            platform,
            Method::GET,
            format!("{}/v1/accounts/{target}", platform.gateway_url),
            &bob,
            None,
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["id"] == target.as_str(),
            status,
            &body,
        ))
    })
}

fn read_others_order(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let account = alices_account(platform).await?;
        let alice = platform.login(ALICE).await?;
        let order =
            json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
        let (_, placed) = call(
            platform,
            Method::POST,
            format!("{}/v1/orders", platform.gateway_url),
            &alice,
            Some(order),
        )
        .await?;
        let order_id = placed["id"].as_str().unwrap_or_default().to_owned();
        let bob = platform.login(BOB).await?;
        let (status, body) = call(
            platform,
            Method::GET,
            format!("{}/v1/orders/{order_id}", platform.gateway_url),
            &bob,
            None,
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["id"] == order_id.as_str(),
            status,
            &body,
        ))
    })
}

fn pay_from_others_account(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let target = alices_account(platform).await?;
        let bob = platform.login(BOB).await?;
        let order =
            json!({ "account_id": target, "items": [{ "sku": "BATON-TSHIRT", "quantity": 1 }] });
        let (status, body) = call(
            platform,
            Method::POST,
            format!("{}/v1/orders", platform.gateway_url),
            &bob,
            Some(order),
        )
        .await?;
        Ok(outcome(
            status == StatusCode::CREATED && body["status"] == "paid",
            status,
            &body,
        ))
    })
}

/// A token claiming to be alice, signed with a key the attacker made up.
fn self_signed_as_alice(platform: &TestPlatform) -> anyhow::Result<String> {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("attacker".to_owned());
    Ok(jsonwebtoken::encode(
        &header,
        &platform.claims_for(ALICE),
        &EncodingKey::from_secret(b"attacker-chosen-secret"),
    )?)
}

/// Does `/v1/users/me` at `base_url` with `token` answer as alice?
/// Where an attack sends its token: through the front door, or straight to the users service
/// from inside, as a workload (the attacker got that far).
#[derive(Debug, Clone, Copy)]
enum Door {
    Gateway,
    UsersServiceAs(Workload),
}

/// The inside door an attacker with a stolen or forged token would use: the gateway's identity,
/// which the users service does accept.
const INSIDE: Door = Door::UsersServiceAs(Workload::Gateway);

/// Does `/v1/users/me` behind `door` with `token` answer as alice?
async fn answers_as_alice(
    platform: &TestPlatform,
    door: Door,
    token: &str,
) -> anyhow::Result<Outcome> {
    let (client, base_url) = match door {
        Door::Gateway => (platform.http.clone(), platform.gateway_url.clone()),
        Door::UsersServiceAs(caller) => (
            platform.client_as(caller, Workload::Users)?,
            platform.users_url.clone(),
        ),
    };
    let url = format!("{base_url}/v1/users/me");
    let (status, body) = send(&client, Method::GET, url, token, None).await?;
    Ok(outcome(
        status.is_success() && body["username"] == "alice",
        status,
        &body,
    ))
}

fn forged_jwt_through_gateway(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(platform, Door::Gateway, &self_signed_as_alice(platform)?).await
    })
}

fn forged_jwt_direct(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(
        async move { answers_as_alice(platform, INSIDE, &self_signed_as_alice(platform)?).await },
    )
}

/// A genuine token for alice, presented straight to the users service by the accounts
/// workload, which may not call users' REST API at all: the gateway-bypass attack.
fn gateway_bypass(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let token = platform.mint(&platform.claims_for(ALICE))?;
        answers_as_alice(platform, Door::UsersServiceAs(Workload::Accounts), &token).await
    })
}

fn wrong_audience(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let mut claims = platform.claims_for(ALICE);
        claims.aud = vec![platform.trust_domain.id_of(Workload::Gateway)];
        answers_as_alice(platform, INSIDE, &platform.mint(&claims)?).await
    })
}

fn expired_internal_token(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let mut claims = platform.claims_for(ALICE);
        (claims.iat, claims.nbf, claims.exp) =
            (now_unix() - 3600, now_unix() - 3600, now_unix() - 1800);
        answers_as_alice(platform, INSIDE, &platform.mint(&claims)?).await
    })
}

fn other_issuer(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let mut claims = platform.claims_for(ALICE);
        claims.iss = "https://sts.attacker.example".to_owned();
        answers_as_alice(platform, INSIDE, &platform.mint(&claims)?).await
    })
}

fn expired_access_token(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let token = platform.expired_opaque_token(ALICE, 3600).await?;
        answers_as_alice(platform, Door::Gateway, &token).await
    })
}

fn read_only_token_writes(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let token = platform
            .plant_opaque_token(BOB, "users:read accounts:read orders:read", 600)
            .await?;
        let account = first_account_of(platform, &token).await?;
        let order =
            json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
        let (status, body) = call(
            platform,
            Method::POST,
            format!("{}/v1/orders", platform.gateway_url),
            &token,
            Some(order),
        )
        .await?;
        Ok(outcome(status == StatusCode::CREATED, status, &body))
    })
}

fn url(platform: &TestPlatform, path: &str) -> String {
    format!("{}{path}", platform.gateway_url)
}

/// Alice places an order for one mug and pays from her first account; its id.
async fn alices_paid_order(platform: &TestPlatform, alice: &str) -> anyhow::Result<String> {
    let account = alices_account(platform).await?;
    let order = json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
    let (status, placed) = call(
        platform,
        Method::POST,
        url(platform, "/v1/orders"),
        alice,
        Some(order),
    )
    .await?;
    anyhow::ensure!(
        status == StatusCode::CREATED,
        "alice could not order: {placed}"
    );
    placed["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no order id: {placed}"))
}

/// The balance of `account` as its owner sees it.
async fn balance_of(platform: &TestPlatform, owner: &str, account: &str) -> anyhow::Result<i64> {
    let (_, body) = call(
        platform,
        Method::GET,
        url(platform, &format!("/v1/accounts/{account}")),
        owner,
        None,
    )
    .await?;
    body["balance_minor"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no balance: {body}"))
}

fn probe_order_ids(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let real = alices_paid_order(platform, &alice).await?;
        let bob = platform.login(BOB).await?;
        let missing = uuid::Uuid::new_v4().to_string();
        let (real_status, real_body) = call(
            platform,
            Method::GET,
            url(platform, &format!("/v1/orders/{real}")),
            &bob,
            None,
        )
        .await?;
        let (missing_status, missing_body) = call(
            platform,
            Method::GET,
            url(platform, &format!("/v1/orders/{missing}")),
            &bob,
            None,
        )
        .await?;
        // Any difference at all (status or body) tells bob which ids are real.
        let tells_apart = real_status != missing_status || real_body != missing_body;
        Ok(outcome(tells_apart, real_status, &real_body))
    })
}

fn customer_freezes_account(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let target = alices_account(platform).await?;
        let bob = platform.login(BOB).await?;
        let (status, body) = call(
            platform,
            Method::POST,
            url(platform, &format!("/v1/accounts/{target}/freeze")),
            &bob,
            None,
        )
        .await?;
        let alice = platform.login(ALICE).await?;
        let (_, seen) = call(
            platform,
            Method::GET,
            url(platform, &format!("/v1/accounts/{target}")),
            &alice,
            None,
        )
        .await?;
        Ok(outcome(seen["status"] == "frozen", status, &body))
    })
}

fn customer_deposits(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let account = alices_account(platform).await?;
        let alice = platform.login(ALICE).await?;
        let before = balance_of(platform, &alice, &account).await?;
        let deposit =
            json!({ "amount_minor": 500_000, "currency": "EUR", "reference": "free-money" });
        let (status, body) = call(
            platform,
            Method::POST,
            url(platform, &format!("/v1/accounts/{account}/deposits")),
            &alice,
            Some(deposit),
        )
        .await?;
        let after = balance_of(platform, &alice, &account).await?;
        Ok(outcome(after > before, status, &body))
    })
}

fn customer_refunds(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(refund_alices_order_as(platform, ALICE))
}

fn support_refunds(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(refund_alices_order_as(platform, DAVE))
}

/// Alice pays for an order; `caller` asks for it to be refunded. Succeeded if her money came back.
async fn refund_alices_order_as(
    platform: &TestPlatform,
    caller: DemoUser,
) -> anyhow::Result<Outcome> {
    let account = alices_account(platform).await?;
    let alice = platform.login(ALICE).await?;
    let order = alices_paid_order(platform, &alice).await?;
    let paid = balance_of(platform, &alice, &account).await?;
    let token = platform.login(caller).await?;
    let (status, body) = call(
        platform,
        Method::POST,
        url(platform, &format!("/v1/orders/{order}/refund")),
        &token,
        None,
    )
    .await?;
    let after = balance_of(platform, &alice, &account).await?;
    Ok(outcome(after > paid, status, &body))
}

fn customer_lists_users(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let (status, body) = call(
            platform,
            Method::GET,
            url(platform, "/v1/users"),
            &bob,
            None,
        )
        .await?;
        let listed_alice = body["users"]
            .as_array()
            .is_some_and(|users| users.iter().any(|u| u["username"] == "alice"));
        Ok(outcome(listed_alice, status, &body))
    })
}

fn mass_assign_account(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let body = json!({
            "currency": "EUR",
            "balance_minor": 1_000_000,
            "owner_id": ALICE.id,
            "status": "active",
        });
        let (status, opened) = call(
            platform,
            Method::POST,
            url(platform, "/v1/accounts"),
            &bob,
            Some(body),
        )
        .await?;
        Ok(outcome(
            opened["balance_minor"] == 1_000_000,
            status,
            &opened,
        ))
    })
}

fn mass_assign_profile(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let body = json!({
            "display_name": "Bob",
            "email": "mallory@attacker.example",
            "role": "admin",
        });
        let (status, answer) = call(
            platform,
            Method::PATCH,
            url(platform, "/v1/users/me"),
            &bob,
            Some(body),
        )
        .await?;
        let (_, me) = call(
            platform,
            Method::GET,
            url(platform, "/v1/users/me"),
            &bob,
            None,
        )
        .await?;
        Ok(outcome(
            me["email"] == "mallory@attacker.example",
            status,
            &answer,
        ))
    })
}

fn mass_assign_order(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let account = first_account_of(platform, &bob).await?;
        let before = balance_of(platform, &bob, &account).await?;
        let body = json!({
            "account_id": account,
            "items": [{ "sku": "BATON-MUG", "quantity": 1 }],
            "status": "paid",
            "buyer_id": ALICE.id,
            "total_minor": 1,
        });
        let (status, placed) = call(
            platform,
            Method::POST,
            url(platform, "/v1/orders"),
            &bob,
            Some(body),
        )
        .await?;
        let after = balance_of(platform, &bob, &account).await?;
        // Any order created from this body is a success for the attacker: the body should have
        // been refused whole, and nothing charged.
        Ok(outcome(
            status.is_success() || after != before,
            status,
            &placed,
        ))
    })
}

fn support_reads_contact_details(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let dave = platform.login(DAVE).await?;
        let (status, body) = call(
            platform,
            Method::GET,
            url(platform, &format!("/v1/users/{}", ALICE.id)),
            &dave,
            None,
        )
        .await?;
        anyhow::ensure!(
            status == StatusCode::OK,
            "support cannot read profiles at all: {body}"
        );
        let unmasked = body["email"] == ALICE.email || body["phone"] == ALICE.phone;
        Ok(outcome(unmasked, status, &body))
    })
}

/// Keys that must never appear in any answer, at any depth: secrets, and internal ids the API has
/// no reason to show.
const NEVER_IN_A_RESPONSE: &[&str] = &[
    "password",
    "password_hash",
    "totp",
    "totp_secret",
    "totp_seed",
    "secret",
    "token_hash",
    "owner_id",
    "buyer_id",
    "roles",
];

fn forbidden_keys(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if NEVER_IN_A_RESPONSE.contains(&key.to_ascii_lowercase().as_str()) {
                    found.push(key.clone());
                }
                forbidden_keys(inner, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| forbidden_keys(item, found)),
        _ => {}
    }
}

fn scan_responses(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let order = alices_paid_order(platform, &alice).await?;
        let account = alices_account(platform).await?;
        let readers = [
            (
                alice.clone(),
                vec![
                    "/v1/users/me".to_owned(),
                    "/v1/accounts".to_owned(),
                    format!("/v1/accounts/{account}"),
                    "/v1/orders".to_owned(),
                    format!("/v1/orders/{order}"),
                ],
            ),
            (
                platform.login(DAVE).await?,
                vec![
                    format!("/v1/users/{}", ALICE.id),
                    format!("/v1/orders/{order}"),
                ],
            ),
            (
                platform.login(baton_platform::demo::CAROL).await?,
                vec!["/v1/users".to_owned(), format!("/v1/accounts/{account}")],
            ),
        ];
        let mut found = Vec::new();
        let mut scanned = 0;
        for (token, paths) in &readers {
            for path in paths {
                let (status, body) =
                    call(platform, Method::GET, url(platform, path), token, None).await?;
                anyhow::ensure!(status == StatusCode::OK, "{path} answered {status}: {body}");
                forbidden_keys(&body, &mut found);
                scanned += 1;
            }
        }
        let evidence = json!({ "answers_scanned": scanned, "forbidden_keys": found });
        Ok(outcome(!found.is_empty(), StatusCode::OK, &evidence))
    })
}

fn huge_page(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let (status, body) = call(
            platform,
            Method::GET,
            url(platform, "/v1/orders?limit=1000000"),
            &alice,
            None,
        )
        .await?;
        Ok(outcome(status.is_success(), status, &body))
    })
}
