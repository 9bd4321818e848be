//! Generated callers, and the principal a service makes of each one's token.
//!
//! A caller is what a verified internal token says: a user id, role names (some of them not
//! roles Baton knows, which a service ignores), scopes, and in exchange mode the chain of
//! workloads acting for the user. The scopes are at most those the caller's roles are granted
//! (`Role::scopes`, as the STS grants them), some left out as a client that asked for less would
//! have them, plus names that are no scope at all. The table's "✘ (no scope)" cells rest on that
//! grant: a support user's token never carries `accounts:read`.
//!
//! [`Caller::principal`] signs the caller's claims and verifies the token the way every service
//! does, so a policy test sees exactly the [`Principal`] a request would bring.

use std::sync::{Arc, LazyLock};

use baton_platform::time::now_unix;
use baton_platform::{Controls, TrustMode};
use baton_token::claims::Act;
use baton_token::jwks::ed25519_jwk;
use baton_token::{Claims, JwksCache, Principal, Role, Verifier, VerifierConfig};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

use crate::table::Object;

const ISSUER: &str = "https://sts.policy-tests";
const AUDIENCE: &str = "spiffe://baton.local/policy-tests";
const KID: &str = "policy-tests";

/// Role names a token may carry that are no role Baton knows.
const UNKNOWN_ROLES: &[&str] = &["superuser", "Admin", "administrator", "support-lead", ""];
/// Scope-like names that are no scope of Baton's.
const UNKNOWN_SCOPES: &[&str] = &[
    "accounts:*",
    "admin",
    "ACCOUNTS:ADMIN",
    "orders:refund",
    "openid",
];
/// Who may appear in a delegation chain: the platform's workloads and one that is not.
const ACTORS: &[&str] = &["gateway", "orders", "users", "accounts", "sts", "mallory"];

/// A caller, as their verified token describes them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    /// Role names as the token carries them.
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// The workloads acting for the caller, by name, the current one first; empty in E2E mode.
    pub chain: Vec<String>,
}

impl Caller {
    /// The roles among the token's that Baton knows; a service ignores the others.
    pub fn known_roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().filter_map(|name| Role::parse(name))
    }

    /// A user who is not this caller: the owner of someone else's object.
    pub fn someone_else(&self) -> Uuid {
        Uuid::from_u128(!self.id.as_u128())
    }

    /// The owner of `object`: this caller, or someone else.
    pub fn owner_of(&self, object: Object) -> Uuid {
        if object.own {
            self.id
        } else {
            self.someone_else()
        }
    }

    /// The principal a service makes of this caller's token: signed, then verified as every
    /// service verifies a token.
    pub fn principal(&self) -> Result<Principal, String> {
        let minter = MINTER.as_ref().map_err(Clone::clone)?;
        let token = minter.sign(&self.claims())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|err| format!("no runtime to verify with: {err}"))?;
        runtime
            .block_on(minter.verifier.verify(&token))
            .map_err(|err| format!("the caller's own token does not verify: {err}"))
    }

    fn claims(&self) -> Claims {
        let now = now_unix();
        // The current actor outermost, as the STS nests them.
        let act = self.chain.iter().rev().fold(None, |earlier, name| {
            Some(Act::new(format!("spiffe://baton.local/{name}"), earlier))
        });
        Claims {
            iss: ISSUER.to_owned(),
            sub: self.id.hyphenated().to_string(),
            aud: vec![AUDIENCE.to_owned()],
            exp: now + 300,
            iat: now,
            nbf: now,
            jti: Uuid::new_v4().to_string(),
            scope: self.scopes.join(" "),
            roles: self.roles.clone(),
            preferred_username: "caller".to_owned(),
            act,
            may_act: None,
            cnf: None,
        }
    }
}

/// Any caller: zero to three roles (mostly ones Baton knows), their scopes or some of them, maybe
/// a name that is no scope, and a delegation chain of up to three workloads.
pub fn caller() -> impl Strategy<Value = Caller> {
    let role = prop_oneof![
        3 => select(&["customer", "support", "admin"][..]),
        1 => select(UNKNOWN_ROLES),
    ];
    (any::<u128>(), prop::collection::vec(role, 0..=3))
        .prop_flat_map(|(id, roles)| {
            let granted = granted_scopes(&roles);
            let kept = prop::collection::vec(prop::bool::weighted(0.8), granted.len());
            let unknown = prop::collection::vec(select(UNKNOWN_SCOPES), 0..=1);
            let chain = prop::collection::vec(select(ACTORS), 0..=3);
            (Just(id), Just(roles), Just(granted), kept, unknown, chain)
        })
        .prop_map(|(id, roles, granted, kept, unknown, chain)| Caller {
            id: Uuid::from_u128(id),
            roles: roles.into_iter().map(str::to_owned).collect(),
            scopes: granted
                .into_iter()
                .zip(kept)
                .filter_map(|(scope, keep)| keep.then_some(scope))
                .chain(unknown)
                .map(str::to_owned)
                .collect(),
            chain: chain.into_iter().map(str::to_owned).collect(),
        })
}

/// Any object: the caller's own or someone else's, frozen or not.
pub fn object() -> impl Strategy<Value = Object> {
    (any::<bool>(), any::<bool>()).prop_map(|(own, frozen)| Object { own, frozen })
}

/// The scopes the STS grants for `roles`, each once.
fn granted_scopes(roles: &[&str]) -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = roles
        .iter()
        .filter_map(|name| Role::parse(name))
        .flat_map(|role| role.scopes().iter().copied())
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// A signing key of this process's own, and a verifier that trusts only it.
struct Minter {
    key: EncodingKey,
    verifier: Verifier,
}

static MINTER: LazyLock<Result<Minter, String>> = LazyLock::new(Minter::new);

impl Minter {
    fn new() -> Result<Self, String> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing
            .to_pkcs8_der()
            .map_err(|err| format!("the test key does not encode: {err}"))?;
        let jwks = JwkSet {
            keys: vec![ed25519_jwk(KID, signing.verifying_key().as_bytes())],
        };
        let config = VerifierConfig {
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            trust_mode: TrustMode::E2e,
        };
        Ok(Self {
            key: EncodingKey::from_ed_der(der.as_bytes()),
            verifier: Verifier::new(
                Arc::new(JwksCache::fixed(&jwks)),
                config,
                Controls::enforcing(),
            ),
        })
    }

    fn sign(&self, claims: &Claims) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|err| format!("the caller's token does not sign: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_keeps_the_known_roles_the_scopes_and_the_chain() {
        let caller = Caller {
            id: Uuid::from_u128(7),
            roles: vec!["support".to_owned(), "superuser".to_owned()],
            scopes: vec!["orders:read".to_owned()],
            chain: vec!["orders".to_owned(), "gateway".to_owned()],
        };
        let principal = caller.principal().unwrap();
        assert_eq!(principal.user_id(), caller.id);
        assert_eq!(principal.roles().collect::<Vec<_>>(), [Role::Support]);
        assert!(principal.has_scope("orders:read") && !principal.has_scope("users:read"));
        assert_eq!(
            principal.actors(),
            [
                "spiffe://baton.local/orders",
                "spiffe://baton.local/gateway"
            ]
        );
    }
}
