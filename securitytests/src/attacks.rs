//! The catalogue of attacks. Each is a function that attacks a running platform and reports
//! whether it got what it wanted; [`crate::prove`] decides what that means.
//!
//! An attack reports [`Outcome::Succeeded`] only when it observably got what it was after (another
//! user's data, a debit from someone else's account), never merely on a 200, so a broken platform
//! cannot pass for a vulnerable one.

use std::future::Future;
use std::pin::Pin;

use baton_platform::demo::{ALICE, BOB};
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

type AttackFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send + 'a>>;

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
    vec![
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
    ]
}

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

fn outcome(succeeded: bool, status: StatusCode, evidence: &Value) -> Outcome {
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
    let (_, body) = call(
        platform,
        Method::GET,
        format!("{}/v1/accounts", platform.gateway_url),
        &alice,
        None,
    )
    .await?;
    body["accounts"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("alice has no account: {body}"))
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
        let (_, accounts) = call(
            platform,
            Method::GET,
            format!("{}/v1/accounts", platform.gateway_url),
            &token,
            None,
        )
        .await?;
        let account = accounts["accounts"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
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
