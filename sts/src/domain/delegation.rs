//! Token exchange at every hop (`TRUST_MODE=exchange`): who may ask for a token for whom.
//!
//! In exchange mode no token travels further than one hop. The gateway trades the client's opaque
//! token for one addressed only to the first service; a service that calls another trades the
//! token it received (the *subject token*), proving its own identity with its mTLS certificate
//! (the *actor*), for a token addressed only to the next service, with only the scopes that call
//! needs. Every token issued here:
//! - names one audience;
//! - carries the delegation chain in `act` (RFC 8693 §4.1), the current actor outermost;
//! - says in `may_act` that only its audience may exchange it onward (RFC 8693 §4.4);
//! - is bound to the certificate of the workload it was issued to (`cnf`, RFC 8705 §3.1), so a
//!   token stolen from one workload's traffic is useless to any other.
//!
//! [`hop_scopes`] is the exchange policy: the whole of it, in one table a reader can check. Which
//! audiences a token may name at all is [`audience_services`]'s rule.

use std::sync::Arc;

use baton_platform::{Control, Controls, RunMode, TrustDomain, TrustMode, Workload};
use baton_token::claims::{Act, Confirmation, scope};
use baton_token::{Claims, JwksCache, Verifier, VerifierConfig};

use crate::domain::signing::{Signer, SigningError};

/// The scopes `actor` may ask for in a token addressed to `audience`: the exchange policy.
/// Empty means the actor may not reach that audience at all (`invalid_target`).
pub fn hop_scopes(actor: Workload, audience: Workload) -> &'static [&'static str] {
    use Workload::{Accounts, Gateway, Orders, Users};
    match (actor, audience) {
        // The gateway starts every chain. A service's token carries its own API's scopes and those
        // of the calls it makes onward (orders passes some on to users and accounts), always
        // within what the user's token allows.
        (Gateway, Users) => &[scope::USERS_READ, scope::USERS_WRITE, scope::USERS_ADMIN],
        (Gateway, Accounts) => &[
            scope::ACCOUNTS_READ,
            scope::ACCOUNTS_WRITE,
            scope::ACCOUNTS_ADMIN,
        ],
        (Gateway, Orders) => &[
            scope::ORDERS_READ,
            scope::ORDERS_WRITE,
            scope::ORDERS_ADMIN,
            scope::USERS_READ,
            scope::ACCOUNTS_WRITE,
            scope::ACCOUNTS_ADMIN,
        ],
        // Orders reads the buyer's name, takes payment, and (for an admin) gives it back.
        (Orders, Users) => &[scope::USERS_READ],
        (Orders, Accounts) => &[scope::ACCOUNTS_WRITE, scope::ACCOUNTS_ADMIN],
        // Nobody else calls anyone: users and accounts are leaves.
        _ => &[],
    }
}

/// The services `audience` names by their SPIFFE IDs in `trust_domain`; `None` unless it names at
/// least one and every entry is one of the platform's services. No token is ever issued for
/// anything else: not the gateway, not the STS, not a workload of another trust domain.
pub fn audience_services(trust_domain: &TrustDomain, audience: &[String]) -> Option<Vec<Workload>> {
    let services = audience
        .iter()
        .map(|aud| {
            Workload::SERVICES
                .into_iter()
                .find(|service| trust_domain.id_of(*service) == *aud)
        })
        .collect::<Option<Vec<_>>>()?;
    (!services.is_empty()).then_some(services)
}

/// Why an exchange was refused; each maps to an RFC 8693 / RFC 6749 error code.
#[derive(Debug, thiserror::Error)]
pub enum HopError {
    /// The subject token does not verify, has expired, or is not addressed to the actor
    /// (`invalid_request`, RFC 8693 §2.2.2).
    #[error("the subject token is not valid for this actor")]
    InvalidSubject,
    /// The actor may not reach that audience (`invalid_target`).
    #[error("the actor may not reach this audience")]
    InvalidTarget,
    /// The requested scopes are not a subset of what the subject token and the policy allow
    /// (`invalid_scope`).
    #[error("the requested scope is not available")]
    InvalidScope,
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// One hop's request, every part already authenticated or parsed.
#[derive(Debug)]
pub struct HopRequest<'a> {
    /// The calling workload, proven by its mTLS certificate.
    pub actor: Workload,
    /// The thumbprint of that certificate: the new token is bound to it.
    pub actor_certificate: String,
    pub subject_token: &'a str,
    pub audience: Workload,
    /// Space-separated; empty means "every scope the policy and the subject token allow".
    pub scope: &'a str,
}

/// What a hop exchange needs from the STS.
#[derive(Debug)]
pub struct HopContext<'a> {
    pub signer: &'a Signer,
    pub controls: &'a Controls,
    pub trust_domain: &'a TrustDomain,
    pub issuer: &'a str,
    pub internal_ttl_secs: i64,
    pub now: i64,
}

/// A signed token for the next hop.
#[derive(Debug)]
pub struct HopToken {
    pub jwt: String,
    pub scope: String,
    pub expires_in: i64,
}

/// Trades a service's subject token for a token addressed to the next service.
pub async fn exchange_hop(
    ctx: &HopContext<'_>,
    request: HopRequest<'_>,
) -> Result<HopToken, HopError> {
    let policy_on = ctx.controls.is_on(Control::StsExchangePolicy);
    let actor_id = ctx.trust_domain.id_of(request.actor);
    let subject = verify_subject(ctx, request.subject_token, &actor_id, policy_on).await?;
    if policy_on
        && subject
            .may_act
            .as_ref()
            .is_some_and(|may_act| may_act.sub != actor_id)
    {
        return Err(HopError::InvalidSubject);
    }
    let allowed = hop_scopes(request.actor, request.audience);
    if policy_on && allowed.is_empty() {
        return Err(HopError::InvalidTarget);
    }
    let scope = narrowed_scope(&subject.scopes(), allowed, request.scope, policy_on)?;
    let audience_id = ctx.trust_domain.id_of(request.audience);
    // Never past the subject token's own end, and never an answer that is already over: a
    // subject that has expired got here only with `token.expiry` switched off in lab mode,
    // where it is given a fresh lifetime rather than a negative `expires_in`.
    let expires_at = if subject.exp > ctx.now {
        (ctx.now + ctx.internal_ttl_secs).min(subject.exp)
    } else if ctx.controls.is_on(Control::TokenExpiry) {
        return Err(HopError::InvalidSubject);
    } else {
        ctx.now + ctx.internal_ttl_secs
    };
    let claims = Claims {
        aud: vec![audience_id.clone()],
        exp: expires_at,
        iat: ctx.now,
        nbf: ctx.now,
        jti: uuid::Uuid::new_v4().to_string(),
        scope: scope.clone(),
        act: Some(Act::new(actor_id, subject.act.clone())),
        may_act: Some(Act::new(audience_id, None)),
        cnf: Some(Confirmation {
            x5t_s256: request.actor_certificate,
        }),
        ..subject
    };
    tracing::info!(
        security_event = "token_exchanged",
        actor = %request.actor,
        audience = %request.audience,
        scope = %scope,
        "issued a token for the next hop"
    );
    Ok(HopToken {
        jwt: ctx.signer.sign(&claims)?,
        scope,
        expires_in: expires_at - ctx.now,
    })
}

/// The subject token, verified as a service would verify it if the actor were its audience: our
/// own signature (any key the JWKS still publishes), our issuer, not expired, and addressed to
/// the actor. With `sts.exchange_policy` off the audience is not checked.
async fn verify_subject(
    ctx: &HopContext<'_>,
    subject_token: &str,
    actor_id: &str,
    policy_on: bool,
) -> Result<Claims, HopError> {
    // The subject token is checked with every control on, except that lab mode's
    // `sts.exchange_policy` switch also skips the "addressed to the actor" check.
    let controls = if policy_on {
        Controls::enforcing()
    } else {
        Controls::lab(RunMode::Development, [Control::TokenAudience])
            .map_err(|_| HopError::InvalidSubject)?
    };
    let keys = Arc::new(JwksCache::fixed(&ctx.signer.jwks()));
    let config = VerifierConfig {
        issuer: ctx.issuer.to_owned(),
        audience: actor_id.to_owned(),
        trust_mode: TrustMode::Exchange,
    };
    let verifier = Verifier::new(keys, config, controls);
    let claims = verifier
        .verified_claims(subject_token)
        .await
        .map_err(|err| {
            tracing::info!(reason = %err, "refused a hop exchange: the subject token does not verify");
            HopError::InvalidSubject
        })?;
    if !policy_on {
        // LAB MODE ONLY: the audience check above was skipped along with the policy.
        tracing::warn!(
            actor = actor_id,
            "LAB MODE: exchanged without the exchange policy"
        );
    }
    Ok(claims)
}

/// The scopes of the new token: what was asked for (or everything allowed when nothing was),
/// which must be within both the policy and the subject token's own scopes.
fn narrowed_scope(
    subject_scopes: &std::collections::BTreeSet<String>,
    allowed: &[&str],
    requested: &str,
    policy_on: bool,
) -> Result<String, HopError> {
    let permitted = |s: &str| !policy_on || (allowed.contains(&s) && subject_scopes.contains(s));
    let scopes: Vec<&str> = if requested.trim().is_empty() {
        subject_scopes
            .iter()
            .map(String::as_str)
            .filter(|s| permitted(s))
            .collect()
    } else {
        let requested: Vec<&str> = requested.split_whitespace().collect();
        if !requested.iter().all(|s| permitted(s)) {
            return Err(HopError::InvalidScope);
        }
        requested
    };
    if scopes.is_empty() {
        return Err(HopError::InvalidScope);
    }
    Ok(scopes.join(" "))
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_call_nobody_and_orders_reaches_only_what_it_needs() {
        assert!(hop_scopes(Workload::Users, Workload::Accounts).is_empty());
        assert!(hop_scopes(Workload::Accounts, Workload::Orders).is_empty());
        assert!(hop_scopes(Workload::Orders, Workload::Orders).is_empty());
        assert_eq!(
            hop_scopes(Workload::Orders, Workload::Users),
            &[scope::USERS_READ]
        );
    }

    #[test]
    fn a_hop_gets_at_most_the_intersection_of_policy_and_subject() {
        let subject: std::collections::BTreeSet<String> = ["users:read", "orders:write"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let allowed = hop_scopes(Workload::Orders, Workload::Users);
        assert_eq!(
            narrowed_scope(&subject, allowed, "", true).ok().as_deref(),
            Some("users:read")
        );
        assert!(narrowed_scope(&subject, allowed, "users:admin", true).is_err());
        assert!(narrowed_scope(&subject, allowed, "orders:write", true).is_err());
        let reader_only: std::collections::BTreeSet<String> =
            std::iter::once("orders:read".to_owned()).collect();
        assert!(narrowed_scope(&reader_only, allowed, "", true).is_err());
    }
}
