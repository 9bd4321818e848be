//! Forged internal tokens (RFC 8725 §2.1–2.2, §3.1): the classic JWT tricks, presented straight
//! to a service from inside the mesh (with the gateway's identity, which the service does let in),
//! as an attacker who got that far would.
//!
//! - `alg: none`, no signature;
//! - algorithm confusion: HS256 with the STS's *public* key as the HMAC secret;
//! - a key id the STS never published, signed with the attacker's own key;
//! - a header that brings its own key: `jwk` (the key itself), `jku` and `x5u` (where to fetch it).
//!
//! The verifier takes the algorithm and the key from its own configuration and the STS's JWKS only
//! (`libs/token/src/verifier.rs`), so each is refused; with `token.signature` off in lab mode, each
//! is believed, except `alg: none`, which jsonwebtoken cannot even parse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::time::Duration;

use baton_platform::{Control, Workload};
use baton_testkit::TestPlatform;
use baton_token::Claims;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::attacks::{Attack, AttackFuture, Modes, Outcome};
use crate::risk::OwaspRisk;

/// The forgery attacks, for the catalogue.
pub fn catalogue() -> Vec<Attack> {
    use OwaspRisk::Api2Authentication;
    let attack = |name, run| Attack {
        name,
        risk: Api2Authentication,
        controls: &[Control::TokenSignature],
        modes: Modes::BOTH,
        settings: &[],
        run,
    };
    vec![
        // jsonwebtoken has no `none` algorithm at all: such a header does not even parse, so no
        // lab switch can let this one through. It is refused by construction.
        Attack {
            name: "JWT with alg none",
            risk: Api2Authentication,
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: alg_none,
        },
        attack(
            "JWT signed HS256 with the STS's public key",
            hmac_with_public_key,
        ),
        attack("JWT with a key id the STS never published", unknown_kid),
        attack("JWT bringing its own key in jwk, jku and x5u", embedded_key),
        // Explicit typing (RFC 8725 §3.11) is checked before anything else and whatever the lab
        // switches say: there is no untyped verifier to fall back to.
        Attack {
            name: "a token of the workload type, with a user's claims, presented as the user's",
            risk: Api2Authentication,
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: workload_type_as_user,
        },
        Attack {
            name: "a thousand JWTs with key ids the STS never published",
            risk: OwaspRisk::Api4ResourceConsumption,
            controls: &[Control::TokenJwksRefreshLimit],
            modes: Modes::BOTH,
            settings: &[],
            run: made_up_kids_flood,
        },
    ]
}

/// Does users' `/v1/users/me`, called from inside with the token `forge` makes of alice's
/// claims, answer as alice?
async fn answers_as_alice(
    platform: &TestPlatform,
    forge: impl FnOnce(Claims) -> anyhow::Result<String>,
) -> anyhow::Result<Outcome> {
    crate::attacks::answers_as_alice(platform, crate::attacks::INSIDE, forge).await
}

/// The STS signs users' and workloads' tokens with one key. A token it signed as a workload's
/// (`typ: baton-workload+jwt`), whose claims happen to read as alice's, is presented to users
/// from inside as alice's token: signature, issuer, audience and expiry all hold, and only the
/// type tells the two kinds apart.
fn workload_type_as_user(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        answers_as_alice(platform, |claims| {
            platform.mint_typed(baton_token::claims::WORKLOAD_TOKEN_TYPE, &claims)
        })
        .await
    })
}

/// How many tokens with made-up key ids the flood sends, and how many at once.
const MADE_UP_KIDS: usize = 1000;
const FLOOD_CONCURRENCY: usize = 16;
/// A service may fetch the keys again at most once per this interval for an unknown `kid`
/// (`baton_token::verifier::for_audience`).
const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// A thousand tokens, each naming a `kid` of its own, sent to the users service from inside:
/// without a refresh limit every one of them makes users fetch the STS's keys again. Measured
/// at the STS, by how many times it served its JWKS during the flood.
fn made_up_kids_flood(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (client, claims) = crate::attacks::inside_as_alice(platform, Workload::Gateway)?;
        let url = format!("{}/v1/users/me", platform.users_url);
        // An honest call first: users has fetched the keys once and knows the real `kid`.
        let honest = client
            .get(&url)
            .bearer_auth(platform.mint(&claims)?)
            .send()
            .await?;
        anyhow::ensure!(
            honest.status().is_success(),
            "an honest call failed: {}",
            honest.status()
        );
        let (key, _) = attackers_key()?;
        let before = platform.jwks_served();
        let started = std::time::Instant::now();
        let mut in_flight = tokio::task::JoinSet::new();
        let mut tally = Tally::default();
        for n in 0..MADE_UP_KIDS {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some(format!("made-up-{n}-{}", uuid::Uuid::new_v4().simple()));
            let token = jsonwebtoken::encode(&header, &claims, &key)?;
            let request = client.get(&url).bearer_auth(token);
            in_flight.spawn(async move { request.send().await.map(|r| r.status()) });
            while in_flight.len() >= FLOOD_CONCURRENCY
                && let Some(done) = in_flight.join_next().await
            {
                tally.add(done?);
            }
        }
        while let Some(done) = in_flight.join_next().await {
            tally.add(done?);
        }
        let fetches = platform.jwks_served() - before;
        let intervals = started.elapsed().as_secs() / REFRESH_INTERVAL.as_secs() + 1;
        let evidence = serde_json::json!({
            "tokens": MADE_UP_KIDS, "jwks_fetches": fetches, "allowed_fetches": intervals,
            "refused_401": tally.refused, "accepted": tally.accepted,
        });
        Ok(crate::attacks::judge(
            fetches > 10 * intervals,
            fetches <= intervals && tally.refused == MADE_UP_KIDS,
            &evidence,
        ))
    })
}

/// The flood's answers: refused as unauthenticated, or (never) accepted.
#[derive(Default)]
struct Tally {
    refused: usize,
    accepted: usize,
}

impl Tally {
    fn add(&mut self, answer: reqwest::Result<reqwest::StatusCode>) {
        match answer {
            Ok(reqwest::StatusCode::UNAUTHORIZED) => self.refused += 1,
            Ok(status) if status.is_success() => self.accepted += 1,
            _ => {}
        }
    }
}

/// The STS's published keys, as anyone can fetch them through the gateway.
async fn published_keys(platform: &TestPlatform) -> anyhow::Result<JwkSet> {
    Ok(platform
        .http
        .get(format!("{}/.well-known/jwks.json", platform.gateway_url))
        .send()
        .await?
        .json()
        .await?)
}

/// An Ed25519 key the attacker made, as a signing key and as a JWK.
fn attackers_key() -> anyhow::Result<(EncodingKey, Jwk)> {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = signing.to_pkcs8_der()?;
    let encoding = EncodingKey::from_ed_der(der.as_bytes());
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "attacker-key", "alg": "EdDSA",
    }))?;
    Ok((encoding, jwk))
}

fn alg_none(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let kid = published_keys(platform)
            .await?
            .keys
            .first()
            .and_then(|key| key.common.key_id.clone())
            .unwrap_or_default();
        let header = serde_json::json!({ "alg": "none", "typ": "JWT", "kid": kid });
        answers_as_alice(platform, |claims| {
            Ok(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
            ))
        })
        .await
    })
}

fn hmac_with_public_key(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let keys = published_keys(platform).await?;
        let key = keys
            .keys
            .first()
            .ok_or_else(|| anyhow::anyhow!("the STS publishes no key"))?;
        let AlgorithmParameters::OctetKeyPair(params) = &key.algorithm else {
            anyhow::bail!("the STS's key is not an OKP key");
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = key.common.key_id.clone();
        let secret = EncodingKey::from_secret(params.x.as_bytes());
        answers_as_alice(platform, |claims| {
            Ok(jsonwebtoken::encode(&header, &claims, &secret)?)
        })
        .await
    })
}

fn unknown_kid(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (key, _) = attackers_key()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("attacker-key".to_owned());
        answers_as_alice(platform, |claims| {
            Ok(jsonwebtoken::encode(&header, &claims, &key)?)
        })
        .await
    })
}

fn embedded_key(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (key, jwk) = attackers_key()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.jwk = Some(jwk);
        header.jku = Some("https://attacker.example/jwks.json".to_owned());
        header.x5u = Some("https://attacker.example/cert.pem".to_owned());
        answers_as_alice(platform, |claims| {
            Ok(jsonwebtoken::encode(&header, &claims, &key)?)
        })
        .await
    })
}
