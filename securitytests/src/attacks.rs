//! The catalogue of attacks. Each is a function that attacks a running platform and reports
//! whether it got what it wanted; [`crate::prove`] decides what that means.
//!
//! An attack reports [`Outcome::Succeeded`] only when it observably got what it was after (another
//! user's data, a debit from someone else's account), never merely on a 200, so a broken platform
//! cannot pass for a vulnerable one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use baton_api::input::MAX_PAGE_SIZE;
use baton_platform::CertThumbprint;
use baton_platform::demo::{ALICE, BOB, DAVE, DemoUser};
use baton_platform::time::now_unix;
use baton_platform::{Control, TrustMode, Workload};
use baton_testkit::TestPlatform;
use baton_testkit::openapi::without_request_id;
use baton_token::Claims;
use baton_token::claims::{Act, Confirmation};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::risk::OwaspRisk;

/// What an attack achieved, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The platform refused: a 4xx answer, or the attacker's goal observably not reached.
    Blocked(String),
    /// The attacker got what it was after.
    Succeeded(String),
    /// Neither the control's refusal nor the attacker's goal: the platform failed (a 500, the
    /// answer to a fault of its own) or answered something the attack did not expect. This
    /// proves nothing either way, so a proof that meets it fails. (A 502 or 503 can be a
    /// refusal: the platform judged a third party's answer, or kept a promise not to wait.)
    Inconclusive(String),
}

impl Outcome {
    pub fn is_blocked(&self) -> bool {
        matches!(self, Outcome::Blocked(_))
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Succeeded(_))
    }
}

/// What an attack saw, judged against what it was after and against its control's own refusal.
pub(crate) fn judge(succeeded: bool, refused: bool, evidence: &Value) -> Outcome {
    let text = evidence.to_string().chars().take(240).collect::<String>();
    match (succeeded, refused) {
        (true, _) => Outcome::Succeeded(text),
        (false, true) => Outcome::Blocked(text),
        (false, false) => Outcome::Inconclusive(text),
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
    /// The trust modes it is proven in, and what more stands in its way in exchange mode.
    pub modes: Modes,
    /// Settings its platforms start with, besides the test kit's: a shorter patience, so that
    /// a proof need not wait out production's.
    pub settings: &'static [(&'static str, &'static str)],
    pub run: for<'a> fn(&'a TestPlatform) -> AttackFuture<'a>,
}

/// The trust modes an attack is proven in.
///
/// Most attacks mean the same in both modes and are proven in each. Some stop at a different
/// control in exchange mode as well (a service refuses a token bound to no certificate before it
/// reads its claims): those controls are added to the attack's own there, and its proof switches
/// them off together. The attacks on the exchange itself run only in exchange mode.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    pub e2e: bool,
    pub exchange: bool,
    /// Controls that stand in the attack's way in exchange mode, on top of its own.
    pub exchange_adds: &'static [Control],
}

impl Modes {
    pub const BOTH: Modes = Modes {
        e2e: true,
        exchange: true,
        exchange_adds: &[],
    };
    pub const EXCHANGE_ONLY: Modes = Modes {
        e2e: false,
        exchange: true,
        exchange_adds: &[],
    };

    /// Both modes, with `controls` also in the way in exchange mode.
    pub const fn both_and_in_exchange(controls: &'static [Control]) -> Modes {
        Modes {
            e2e: true,
            exchange: true,
            exchange_adds: controls,
        }
    }
}

impl Attack {
    pub fn runs_in(&self, mode: TrustMode) -> bool {
        match mode {
            TrustMode::E2e => self.modes.e2e,
            TrustMode::Exchange => self.modes.exchange,
        }
    }

    /// Every control that stands in the attack's way in `mode`.
    pub fn controls_in(&self, mode: TrustMode) -> Vec<Control> {
        let mut controls = self.controls.to_vec();
        if mode == TrustMode::Exchange {
            controls.extend(self.modes.exchange_adds);
        }
        controls
    }

    /// The modes the attack is proven in.
    pub fn trust_modes(&self) -> Vec<TrustMode> {
        [TrustMode::E2e, TrustMode::Exchange]
            .into_iter()
            .filter(|mode| self.runs_in(*mode))
            .collect()
    }
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
            modes: Modes::BOTH,
            settings: &[],
            run: read_others_account,
        },
        Attack {
            name: "read another user's order by id",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            modes: Modes::BOTH,
            settings: &[],
            run: read_others_order,
        },
        Attack {
            name: "pay for an order from another user's account",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            modes: Modes::BOTH,
            settings: &[],
            run: pay_from_others_account,
        },
        Attack {
            name: "self-signed JWT sent through the gateway",
            risk: Api2Authentication,
            controls: &[GatewayPhantomToken, TokenSignature],
            modes: Modes::both_and_in_exchange(&[TokenBinding]),
            settings: &[],
            run: forged_jwt_through_gateway,
        },
        Attack {
            name: "self-signed JWT sent straight to a service",
            risk: Api2Authentication,
            controls: &[TokenSignature],
            modes: Modes::BOTH,
            settings: &[],
            run: forged_jwt_direct,
        },
        Attack {
            name: "token for another audience replayed at a service",
            risk: Api2Authentication,
            controls: &[TokenAudience],
            modes: Modes::BOTH,
            settings: &[],
            run: wrong_audience,
        },
        Attack {
            name: "expired internal token replayed at a service",
            risk: Api2Authentication,
            controls: &[TokenExpiry],
            modes: Modes::BOTH,
            settings: &[],
            run: expired_internal_token,
        },
        Attack {
            name: "token from another issuer",
            risk: Api2Authentication,
            controls: &[TokenIssuer],
            modes: Modes::BOTH,
            settings: &[],
            run: other_issuer,
        },
        Attack {
            name: "expired access token replayed at the gateway",
            risk: Api2Authentication,
            controls: &[StsTokenExpiry],
            modes: Modes::BOTH,
            settings: &[],
            run: expired_access_token,
        },
        Attack {
            name: "valid token presented to a service by a workload not allowed to call it",
            risk: Api2Authentication,
            controls: &[MtlsPeerId],
            modes: Modes::BOTH,
            settings: &[],
            run: gateway_bypass,
        },
        Attack {
            name: "a workload's certificate used past its expiry on a connection opened before",
            risk: Api2Authentication,
            // A connection ends with the certificates on it whatever the lab switches say
            // (`transport.connection_limits` lifts only the listener's capacity limits).
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: expired_certificate_on_an_open_connection,
        },
        Attack {
            name: "read-only token places an order",
            risk: Api5FunctionLevelAuthorization,
            controls: &[GatewayScope, ServiceScope],
            modes: Modes::both_and_in_exchange(&[StsExchangePolicy]),
            settings: &[],
            run: read_only_token_writes,
        },
        Attack {
            name: "tell another user's order from a missing one by its answer",
            risk: Api1ObjectLevelAuthorization,
            controls: &[ServiceBola],
            modes: Modes::BOTH,
            settings: &[],
            run: probe_order_ids,
        },
        Attack {
            name: "customer freezes another user's account",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            modes: Modes::BOTH,
            settings: &[],
            run: customer_freezes_account,
        },
        Attack {
            name: "customer deposits money into their own account",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            modes: Modes::BOTH,
            settings: &[],
            run: customer_deposits,
        },
        Attack {
            name: "customer refunds their own paid order",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            modes: Modes::both_and_in_exchange(&[StsExchangePolicy]),
            settings: &[],
            run: customer_refunds,
        },
        Attack {
            name: "customer lists every user",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            modes: Modes::BOTH,
            settings: &[],
            run: customer_lists_users,
        },
        Attack {
            name: "support refunds a customer's order",
            risk: Api5FunctionLevelAuthorization,
            controls: BACK_OFFICE_CONTROLS,
            modes: Modes::both_and_in_exchange(&[StsExchangePolicy]),
            settings: &[],
            run: support_refunds,
        },
        Attack {
            name: "mass-assign balance, owner and status when opening an account",
            risk: Api3PropertyLevelAuthorization,
            controls: &[ServiceMassAssignment],
            modes: Modes::BOTH,
            settings: &[],
            run: mass_assign_account,
        },
        Attack {
            name: "mass-assign email and role when updating a profile",
            risk: Api3PropertyLevelAuthorization,
            controls: &[ServiceMassAssignment],
            modes: Modes::BOTH,
            settings: &[],
            run: mass_assign_profile,
        },
        Attack {
            name: "mass-assign status, buyer and total when placing an order",
            risk: Api3PropertyLevelAuthorization,
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: mass_assign_order,
        },
        Attack {
            name: "support reads a customer's unmasked email and phone",
            risk: Api3PropertyLevelAuthorization,
            controls: &[ServiceFieldMasking],
            modes: Modes::BOTH,
            settings: &[],
            run: support_reads_contact_details,
        },
        Attack {
            name: "responses scanned for secrets and internal fields",
            risk: Api3PropertyLevelAuthorization,
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: scan_responses,
        },
        Attack {
            name: "page size of a million",
            risk: Api4ResourceConsumption,
            controls: &[ServicePageLimit],
            modes: Modes::BOTH,
            settings: &[],
            run: huge_page,
        },
    ];
    attacks.extend(crate::authorization_server::catalogue());
    attacks.extend(crate::edge::catalogue());
    attacks.extend(crate::business::catalogue());
    attacks.extend(crate::exchange::catalogue());
    attacks.extend(crate::forgery::catalogue());
    attacks.extend(crate::inventory::catalogue());
    attacks.extend(crate::money::catalogue());
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
    answer(request.send().await?).await
}

/// An answer's status and its body as JSON (`null` if it is not JSON): what an attack judges.
pub(crate) async fn answer(response: reqwest::Response) -> anyhow::Result<(StatusCode, Value)> {
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// The outcome of an attack whose last answer was `status` with `evidence`: it succeeded if the
/// attacker got what it wanted; otherwise it was blocked, unless the platform failed instead of
/// refusing (a 500). Attacks that know their control's own refusal judge with [`judge`].
pub(crate) fn outcome(succeeded: bool, status: StatusCode, evidence: &Value) -> Outcome {
    let text = format!(
        "{status}: {}",
        evidence.to_string().chars().take(160).collect::<String>()
    );
    if succeeded {
        Outcome::Succeeded(text)
    } else if status == StatusCode::INTERNAL_SERVER_ERROR {
        Outcome::Inconclusive(text)
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

/// Alice's claims as an attacker inside would forge them for a call from `caller` to the users
/// service: in E2E mode the trust token as the STS mints it; in exchange mode shaped for that
/// one hop (addressed to users, acted on by `caller`, bound to `bound_to`), so that the only
/// thing wrong with the token is what the attack breaks.
fn alice_inside(
    platform: &TestPlatform,
    caller: Workload,
    bound_to: Option<&CertThumbprint>,
) -> Claims {
    let mut claims = platform.claims_for(ALICE);
    if let Some(thumbprint) = bound_to {
        let id = |w| platform.trust_domain.id_of(w);
        claims.aud = vec![id(Workload::Users)];
        let gateway = Act::new(id(Workload::Gateway), None);
        claims.act = Some(if caller == Workload::Gateway {
            gateway
        } else {
            Act::new(id(caller), Some(gateway))
        });
        claims.cnf = Some(Confirmation {
            x5t_s256: thumbprint.0.clone(),
        });
    }
    claims
}

/// A client that is the workload `caller`, calling the users service, and alice's claims as
/// that caller would forge them (see [`alice_inside`]).
pub(crate) fn inside_as_alice(
    platform: &TestPlatform,
    caller: Workload,
) -> anyhow::Result<(reqwest::Client, Claims)> {
    Ok(match platform.trust_mode {
        TrustMode::E2e => (
            platform.client_as(caller, Workload::Users)?,
            alice_inside(platform, caller, None),
        ),
        TrustMode::Exchange => {
            let (client, thumbprint) = platform.client_as_bound(caller, Workload::Users)?;
            (client, alice_inside(platform, caller, Some(&thumbprint)))
        }
    })
}

/// `claims` signed with a key the attacker made up.
fn self_signed(claims: &Claims) -> anyhow::Result<String> {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("attacker".to_owned());
    Ok(jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(b"attacker-chosen-secret"),
    )?)
}

/// Where an attack sends its token: through the front door, or straight to the users service
/// from inside, as a workload (the attacker got that far).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Door {
    Gateway,
    UsersServiceAs(Workload),
}

/// The inside door an attacker with a stolen or forged token would use: the gateway's identity,
/// which the users service does accept.
pub(crate) const INSIDE: Door = Door::UsersServiceAs(Workload::Gateway);

/// Does `/v1/users/me` behind `door` answer as alice to the token `forge` makes from alice's
/// claims (shaped for the door and the trust mode, see [`alice_inside`])?
pub(crate) async fn answers_as_alice(
    platform: &TestPlatform,
    door: Door,
    forge: impl FnOnce(Claims) -> anyhow::Result<String>,
) -> anyhow::Result<Outcome> {
    let (client, base_url, claims) = match door {
        Door::Gateway => (
            platform.http.clone(),
            platform.gateway_url.clone(),
            platform.claims_for(ALICE),
        ),
        Door::UsersServiceAs(caller) => {
            let (client, claims) = inside_as_alice(platform, caller)?;
            (client, platform.users_url.clone(), claims)
        }
    };
    let url = format!("{base_url}/v1/users/me");
    let (status, body) = send(&client, Method::GET, url, &forge(claims)?, None).await?;
    Ok(outcome(
        status.is_success() && body["username"] == "alice",
        status,
        &body,
    ))
}

fn forged_jwt_through_gateway(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(platform, Door::Gateway, |claims| self_signed(&claims)).await
    })
}

fn forged_jwt_direct(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move { answers_as_alice(platform, INSIDE, |claims| self_signed(&claims)).await })
}

fn gateway_bypass(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(
            platform,
            Door::UsersServiceAs(Workload::Accounts),
            |claims| platform.mint(&claims),
        )
        .await
    })
}

/// An attacker stole the gateway's private key and its certificate, which is short-lived so that
/// a stolen one is soon worth nothing. It opens a connection to users while the certificate is
/// valid and keeps it open (the client's pool does) past the certificate's expiry, to go on
/// calling as the gateway. It succeeds if a call after the expiry answers as alice.
fn expired_certificate_on_an_open_connection(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let lifetime = Duration::from_secs(2);
        let (transport, thumbprint) = platform
            .ca
            .transport_as_bound_for(Workload::Gateway, lifetime)?;
        let client = transport.http_client(Workload::Users)?;
        let bound = (platform.trust_mode == TrustMode::Exchange).then_some(&thumbprint);
        let token = platform.mint(&alice_inside(platform, Workload::Gateway, bound))?;
        let url = format!("{}/v1/users/me", platform.users_url);
        let (status, _) = send(&client, Method::GET, url.clone(), &token, None).await?;
        anyhow::ensure!(
            status.is_success(),
            "the call with a valid certificate failed: {status}"
        );
        // Past `notAfter` by more than a second: certificate times are whole seconds.
        tokio::time::sleep(lifetime + Duration::from_millis(2100)).await;
        Ok(match send(&client, Method::GET, url, &token, None).await {
            Ok((status, body)) => outcome(
                status.is_success() && body["username"] == "alice",
                status,
                &body,
            ),
            Err(err) => Outcome::Blocked(format!(
                "the connection ended with the certificate, and a new one was refused: {err:#}"
            )),
        })
    })
}

fn wrong_audience(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(platform, INSIDE, |mut claims| {
            claims.aud = vec![platform.trust_domain.id_of(Workload::Gateway)];
            platform.mint(&claims)
        })
        .await
    })
}

fn expired_internal_token(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(platform, INSIDE, |mut claims| {
            (claims.iat, claims.nbf, claims.exp) =
                (now_unix() - 3600, now_unix() - 3600, now_unix() - 1800);
            platform.mint(&claims)
        })
        .await
    })
}

fn other_issuer(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(platform, INSIDE, |mut claims| {
            claims.iss = "https://sts.attacker.example".to_owned();
            platform.mint(&claims)
        })
        .await
    })
}

fn expired_access_token(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let token = platform.expired_opaque_token(ALICE, 3600).await?;
        answers_as_alice(platform, Door::Gateway, |_| Ok(token)).await
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
pub(crate) async fn balance_of(
    platform: &TestPlatform,
    owner: &str,
    account: &str,
) -> anyhow::Result<i64> {
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
        // Any difference at all (status or body, but for the id each answer gives its own
        // request) tells bob which ids are real.
        let tells_apart = real_status != missing_status
            || without_request_id(real_body.clone()) != without_request_id(missing_body);
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

/// Alice opens one account more than a page may hold, then asks for all of them at once: the
/// attack succeeds only if more rows than the maximum page came back.
fn huge_page(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        for _ in 0..MAX_PAGE_SIZE {
            let (status, opened) = call(
                platform,
                Method::POST,
                url(platform, "/v1/accounts"),
                &alice,
                Some(json!({ "currency": "EUR" })),
            )
            .await?;
            anyhow::ensure!(
                status == StatusCode::CREATED,
                "alice could not open an account: {opened}"
            );
        }
        let (status, body) = call(
            platform,
            Method::GET,
            url(platform, "/v1/accounts?limit=1000000"),
            &alice,
            None,
        )
        .await?;
        let rows = body["accounts"].as_array().map_or(0, Vec::len);
        let evidence =
            json!({ "rows": rows, "page_maximum": MAX_PAGE_SIZE, "answer": body.get("type") });
        Ok(outcome(rows > MAX_PAGE_SIZE as usize, status, &evidence))
    })
}
