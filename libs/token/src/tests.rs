//! The verifier against tokens an attacker could make: every mutation of a valid token, and the
//! classic JWT attacks (RFC 8725 §2), each refused. [`claim_rules`]: every claim set that breaks
//! one rule. [`typed`]: users' and workloads' tokens told apart by their type. [`next_hop`]: exchange
//! mode's hop tokens, exchanged once per subject, audience and scope and then cached.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_platform::{CertThumbprint, Control, Controls, RunMode, TrustMode};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;

use crate::claims::Claims;
use crate::jwks::JwksCache;
use crate::verifier::{TokenError, Verifier, VerifierConfig};

mod claim_rules;
mod next_hop;
mod typed;

const ISSUER: &str = "https://sts.test";
const AUDIENCE: &str = "spiffe://baton.local/accounts";
const KID: &str = "test-key";

struct Fixture {
    key: EncodingKey,
    jwks: JwkSet,
}

fn fixture() -> Fixture {
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let der = signing
        .to_pkcs8_der()
        .expect("an Ed25519 key encodes as PKCS#8");
    let key = EncodingKey::from_ed_der(der.as_bytes());
    let jwk = crate::jwks::ed25519_jwk(KID, signing.verifying_key().as_bytes());
    Fixture {
        key,
        jwks: JwkSet { keys: vec![jwk] },
    }
}

fn claims() -> Claims {
    let now = baton_platform::time::now_unix();
    Claims {
        iss: ISSUER.to_owned(),
        sub: "3f6c1a8e-5b2d-4c71-9e0a-7d4b2c8f1e63".to_owned(),
        aud: vec![AUDIENCE.to_owned()],
        exp: now + 300,
        iat: now,
        nbf: now,
        jti: "jti-1".to_owned(),
        scope: "accounts:read".to_owned(),
        roles: vec!["customer".to_owned()],
        preferred_username: "alice".to_owned(),
        act: None,
        may_act: None,
        cnf: None,
    }
}

fn sign(fixture: &Fixture, claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    jsonwebtoken::encode(&header, claims, &fixture.key).expect("signing works")
}

fn verifier(fixture: &Fixture, controls: Controls) -> Verifier {
    verifier_in(fixture, controls, TrustMode::E2e)
}

fn verifier_in(fixture: &Fixture, controls: Controls, trust_mode: TrustMode) -> Verifier {
    let config = VerifierConfig {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        trust_mode,
    };
    Verifier::new(Arc::new(JwksCache::fixed(&fixture.jwks)), config, controls)
}

fn verify(verifier: &Verifier, token: &str) -> Result<crate::Principal, TokenError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(verifier.verify(token))
}

/// Verifies `token` as presented over a connection with the client certificate `presented`.
fn verify_presented(
    verifier: &Verifier,
    token: &str,
    presented: Option<&CertThumbprint>,
) -> Result<crate::Principal, TokenError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(verifier.verify_presented(token, presented))
}

#[test]
fn a_valid_token_verifies() {
    let fixture = fixture();
    let principal = verify(
        &verifier(&fixture, Controls::enforcing()),
        &sign(&fixture, &claims()),
    );
    assert!(matches!(principal, Ok(p) if p.username() == "alice" && p.has_scope("accounts:read")));
}

#[test]
fn tokens_for_another_audience_issuer_or_time_are_refused() {
    let fixture = fixture();
    let verifier = verifier(&fixture, Controls::enforcing());
    let now = baton_platform::time::now_unix();
    type Mutate = Box<dyn Fn(&mut Claims)>;
    let cases: [(&str, Mutate); 4] = [
        (
            "wrong audience",
            Box::new(|c| c.aud = vec!["spiffe://baton.local/users".to_owned()]),
        ),
        (
            "wrong issuer",
            Box::new(|c| c.iss = "https://evil.test".to_owned()),
        ),
        ("expired", Box::new(move |c| c.exp = now - 60)),
        ("not yet valid", Box::new(move |c| c.nbf = now + 600)),
    ];
    for (what, mutate) in cases {
        let mut claims = claims();
        mutate(&mut claims);
        assert!(
            verify(&verifier, &sign(&fixture, &claims)).is_err(),
            "{what} was accepted"
        );
    }
}

#[test]
fn switching_a_control_off_in_lab_mode_lets_exactly_that_check_pass() {
    let fixture = fixture();
    let mut claims = claims();
    claims.aud = vec!["spiffe://baton.local/users".to_owned()];
    let token = sign(&fixture, &claims);
    let lab = Controls::lab(RunMode::Development, [Control::TokenAudience])
        .expect("lab mode in development");
    assert!(verify(&verifier(&fixture, lab), &token).is_ok());
    assert!(verify(&verifier(&fixture, Controls::enforcing()), &token).is_err());
}

#[test]
fn alg_none_and_hmac_with_the_public_key_are_refused() {
    let fixture = fixture();
    let verifier = verifier(&fixture, Controls::enforcing());
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).expect("claims serialize"));
    let none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"test-key"}"#)
    );
    assert!(verify(&verifier, &none).is_err());

    // Algorithm confusion: sign with HS256 using the published public key as the secret.
    let x = match &fixture.jwks.keys[0].algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(params) => params.x.clone(),
        _ => String::new(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_owned());
    let hmac = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(x.as_bytes()))
        .expect("HMAC signs");
    assert!(verify(&verifier, &hmac).is_err());
}

#[test]
fn an_unknown_kid_and_an_oversized_token_are_refused() {
    let fixture = fixture();
    let verifier = verifier(&fixture, Controls::enforcing());
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("someone-elses-key".to_owned());
    let token = jsonwebtoken::encode(&header, &claims(), &fixture.key).expect("signing works");
    assert_eq!(
        verify(&verifier, &token).err(),
        Some(TokenError::UnknownKey)
    );
    let huge = "a".repeat(crate::verifier::MAX_TOKEN_BYTES + 1);
    assert_eq!(verify(&verifier, &huge).err(), Some(TokenError::TooLarge));
}

/// One way of changing a token: replace, insert or delete the byte at a position.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn token_alphabet() -> impl Strategy<Value = u8> {
    prop::sample::select(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=".to_vec(),
    )
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), token_alphabet()).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<usize>(), token_alphabet()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

fn apply(token: &str, mutations: &[Mutation]) -> String {
    let mut bytes = token.as_bytes().to_vec();
    for mutation in mutations {
        let len = bytes.len().max(1);
        match *mutation {
            Mutation::Replace(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Mutation::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Mutation::Delete(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_mutation_of_a_valid_token_is_refused(mutations in prop::collection::vec(mutation(), 1..4)) {
        let fixture = fixture();
        let verifier = verifier(&fixture, Controls::enforcing());
        let token = sign(&fixture, &claims());
        let mutated = apply(&token, &mutations);
        prop_assume!(mutated != token);
        prop_assert!(verify(&verifier, &mutated).is_err(), "accepted a mutated token: {mutated}");
    }
}
