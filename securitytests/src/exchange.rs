//! Attacks on token-exchange mode (`TRUST_MODE=exchange`): replaying a token at a service it was
//! not issued for, presenting one stolen from another workload's traffic, tampering with the
//! delegation chain, and asking the STS for more than the exchange policy allows.
//!
//! Every attack here runs only against a platform in exchange mode ([`Modes::EXCHANGE_ONLY`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_platform::demo::ALICE;
use baton_platform::{CertThumbprint, Workload};
use baton_testkit::TestPlatform;
use baton_token::Claims;
use baton_token::claims::{Act, Confirmation};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::attacks::{Attack, AttackFuture, Modes, answer, outcome};
use crate::risk::OwaspRisk;

pub const TOKEN_FOR_ACCOUNTS_AT_ORDERS: &str =
    "exchange mode: a token for accounts replayed at orders";
pub const STOLEN_BOUND_TOKEN: &str =
    "exchange mode: a token stolen from one workload's traffic presented by another";
pub const STRIPPED_ACT_CHAIN: &str = "exchange mode: the act chain stripped from a token";
pub const WIDER_SCOPES: &str =
    "exchange mode: an exchange asking for wider scopes than the subject";
pub const ACTOR_NOT_ALLOWED: &str =
    "exchange mode: an exchange by an actor not allowed to reach the audience";

/// The exchange-mode attacks, for the catalogue.
pub fn catalogue() -> Vec<Attack> {
    use OwaspRisk::Api2Authentication;
    use baton_platform::Control::*;
    vec![
        Attack {
            name: TOKEN_FOR_ACCOUNTS_AT_ORDERS,
            risk: Api2Authentication,
            controls: &[TokenAudience],
            modes: Modes::EXCHANGE_ONLY,
            settings: &[],
            run: token_for_accounts_at_orders,
        },
        Attack {
            name: STOLEN_BOUND_TOKEN,
            risk: Api2Authentication,
            controls: &[TokenBinding],
            modes: Modes::EXCHANGE_ONLY,
            settings: &[],
            run: stolen_bound_token,
        },
        Attack {
            name: STRIPPED_ACT_CHAIN,
            risk: Api2Authentication,
            controls: &[TokenSignature],
            modes: Modes::EXCHANGE_ONLY,
            settings: &[],
            run: stripped_act_chain,
        },
        Attack {
            name: WIDER_SCOPES,
            risk: Api2Authentication,
            controls: &[StsExchangePolicy],
            modes: Modes::EXCHANGE_ONLY,
            settings: &[],
            run: wider_scopes,
        },
        Attack {
            name: ACTOR_NOT_ALLOWED,
            risk: Api2Authentication,
            controls: &[StsExchangePolicy],
            modes: Modes::EXCHANGE_ONLY,
            settings: &[],
            run: actor_not_allowed,
        },
    ]
}

/// Alice's claims as the STS would issue them for one hop: addressed to `audience`, acted on by
/// `actor` after the gateway, bound to `bound_to`.
fn hop_claims(
    platform: &TestPlatform,
    audience: Workload,
    actor: Workload,
    bound_to: &CertThumbprint,
) -> Claims {
    let id = |w| platform.trust_domain.id_of(w);
    let mut claims = platform.claims_for(ALICE);
    claims.aud = vec![id(audience)];
    let gateway = Act::new(id(Workload::Gateway), None);
    claims.act = Some(if actor == Workload::Gateway {
        gateway
    } else {
        Act::new(id(actor), Some(gateway))
    });
    claims.may_act = Some(Act::new(id(audience), None));
    claims.cnf = Some(Confirmation {
        x5t_s256: bound_to.0.clone(),
    });
    claims
}

async fn get(
    client: &reqwest::Client,
    url: String,
    token: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    let response = client
        .request(Method::GET, url)
        .bearer_auth(token)
        .send()
        .await?;
    answer(response).await
}

/// A token orders passed to accounts for a debit, replayed at orders itself by someone inside
/// with the gateway's identity (the binding matches: the attacker holds the key it is bound to).
pub fn token_for_accounts_at_orders(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (client, thumbprint) = platform.client_as_bound(Workload::Gateway, Workload::Orders)?;
        let claims = hop_claims(platform, Workload::Accounts, Workload::Orders, &thumbprint);
        let token = platform.mint(&claims)?;
        let (status, body) = get(
            &client,
            format!("{}/v1/orders", platform.orders_url),
            &token,
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["orders"].is_array(),
            status,
            &body,
        ))
    })
}

/// A genuine token bound to one gateway certificate, presented over a connection with another
/// (the same identity, a different key: what a thief holding the token but not the key has).
pub fn stolen_bound_token(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (_, victims_certificate) =
            platform.client_as_bound(Workload::Gateway, Workload::Users)?;
        let (thiefs_client, _) = platform.client_as_bound(Workload::Gateway, Workload::Users)?;
        let claims = hop_claims(
            platform,
            Workload::Users,
            Workload::Gateway,
            &victims_certificate,
        );
        let token = platform.mint(&claims)?;
        let (status, body) = get(
            &thiefs_client,
            format!("{}/v1/users/me", platform.users_url),
            &token,
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["username"] == "alice",
            status,
            &body,
        ))
    })
}

/// A token whose `act` chain was removed after signing (to hide which workloads handled it),
/// the signature left as it was.
pub fn stripped_act_chain(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (client, thumbprint) = platform.client_as_bound(Workload::Gateway, Workload::Users)?;
        let claims = hop_claims(platform, Workload::Users, Workload::Gateway, &thumbprint);
        let token = platform.mint(&claims)?;
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(parts.get(1).cloned().unwrap_or_default())?,
        )?;
        if let Some(map) = payload.as_object_mut() {
            map.remove("act");
        }
        if let Some(part) = parts.get_mut(1) {
            *part = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload)?);
        }
        let tampered = parts.join(".");
        let (status, body) = get(
            &client,
            format!("{}/v1/users/me", platform.users_url),
            &tampered,
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["username"] == "alice",
            status,
            &body,
        ))
    })
}

/// Asks the STS, as `actor` (proven by its certificate), to exchange `subject` for a token for
/// `audience` with `scope`; whether it got one, and the answer.
async fn ask_sts(
    platform: &TestPlatform,
    actor: Workload,
    subject: &str,
    audience: Workload,
    scope: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    let client = platform.client_as(actor, Workload::Sts)?;
    let audience = platform.trust_domain.id_of(audience);
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("client_id", actor.name()),
        ("subject_token", subject),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ("audience", audience.as_str()),
        ("scope", scope),
    ];
    let response = client
        .post(format!("{}/oauth2/token", platform.sts_url))
        .form(&form)
        .send()
        .await?;
    answer(response).await
}

/// Orders holds a read-only token for itself and asks for one that may refund at accounts.
pub fn wider_scopes(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (_, thumbprint) = platform.client_as_bound(Workload::Gateway, Workload::Orders)?;
        let mut claims = hop_claims(platform, Workload::Orders, Workload::Gateway, &thumbprint);
        claims.scope = "orders:read".to_owned();
        let subject = platform.mint(&claims)?;
        let (status, body) = ask_sts(
            platform,
            Workload::Orders,
            &subject,
            Workload::Accounts,
            "accounts:admin",
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["access_token"].is_string(),
            status,
            &body,
        ))
    })
}

/// Accounts, which calls nobody, asks for a token to reach users with the token it was given.
pub fn actor_not_allowed(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (_, thumbprint) = platform.client_as_bound(Workload::Orders, Workload::Accounts)?;
        let claims = hop_claims(platform, Workload::Accounts, Workload::Orders, &thumbprint);
        let subject = platform.mint(&claims)?;
        let (status, body) = ask_sts(
            platform,
            Workload::Accounts,
            &subject,
            Workload::Users,
            "users:read",
        )
        .await?;
        Ok(outcome(
            status.is_success() && body["access_token"].is_string(),
            status,
            &body,
        ))
    })
}
