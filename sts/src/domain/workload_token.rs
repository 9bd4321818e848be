//! A workload's own token: the client credentials grant for a service that calls another with no
//! user behind the call (see `baton_token::workload`).
//!
//! The service authenticates with its certificate (`tls_client_auth`) and names the service it
//! will call as the `resource` (RFC 8707). The token it gets:
//! - is typed `baton-workload+jwt`, so no verifier can take it for a user's token;
//! - has the workload's SPIFFE ID as its subject, and the one service as its audience;
//! - carries only scopes [`workload_scopes`] grants that pair: deny by default, one row today;
//! - is bound (`cnf`, RFC 8705 §3.1) to the certificate that asked, in both trust modes;
//! - lives as long as any internal token (`STS_INTERNAL_TOKEN_TTL_SECS`), and is not refreshed.

use baton_platform::{TrustDomain, Workload};
use baton_token::WorkloadClaims;
use baton_token::claims::{Confirmation, WORKLOAD_TOKEN_TYPE, scope};

use crate::domain::signing::{Signer, SigningError};

/// The scopes `actor` may hold in a token of its own for `audience`: the whole policy. Empty
/// means no token at all (`invalid_target`).
pub fn workload_scopes(actor: Workload, audience: Workload) -> &'static [&'static str] {
    match (actor, audience) {
        // Orders' reconciler asks accounts what became of a pending order's debit.
        (Workload::Orders, Workload::Accounts) => &[scope::ACCOUNTS_SETTLE],
        _ => &[],
    }
}

/// Why no workload token was issued; each maps to an RFC 6749 / RFC 8707 error code.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadTokenError {
    /// The actor may not have a token of its own for that audience (`invalid_target`).
    #[error("this workload may not have a token of its own for this audience")]
    InvalidTarget,
    /// A requested scope is not one the policy grants the pair (`invalid_scope`).
    #[error("the requested scope is not available")]
    InvalidScope,
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// One request, every part authenticated or parsed already.
#[derive(Debug)]
pub struct WorkloadTokenRequest<'a> {
    /// The calling workload, proven by its certificate.
    pub actor: Workload,
    /// That certificate's thumbprint: the token is bound to it.
    pub actor_certificate: String,
    pub audience: Workload,
    /// Space-separated; `None` or empty means every scope the policy grants the pair.
    pub scope: Option<&'a str>,
}

/// What issuing needs from the STS.
#[derive(Debug)]
pub struct WorkloadTokenContext<'a> {
    pub signer: &'a Signer,
    pub trust_domain: &'a TrustDomain,
    pub issuer: &'a str,
    pub ttl_secs: i64,
    pub now: i64,
}

/// A signed workload token.
#[derive(Debug)]
pub struct WorkloadToken {
    pub jwt: String,
    pub scope: String,
    pub expires_in: i64,
}

/// Issues `request.actor` a token of its own for `request.audience`.
pub fn issue(
    ctx: &WorkloadTokenContext<'_>,
    request: WorkloadTokenRequest<'_>,
) -> Result<WorkloadToken, WorkloadTokenError> {
    let allowed = workload_scopes(request.actor, request.audience);
    if allowed.is_empty() {
        return Err(WorkloadTokenError::InvalidTarget);
    }
    let scope = granted(allowed, request.scope)?;
    let claims = WorkloadClaims {
        iss: ctx.issuer.to_owned(),
        sub: ctx.trust_domain.id_of(request.actor),
        aud: vec![ctx.trust_domain.id_of(request.audience)],
        exp: ctx.now + ctx.ttl_secs,
        iat: ctx.now,
        nbf: ctx.now,
        jti: uuid::Uuid::new_v4().to_string(),
        scope: scope.clone(),
        cnf: Confirmation {
            x5t_s256: request.actor_certificate,
        },
    };
    tracing::info!(
        security_event = "workload_token_issued",
        actor = %request.actor,
        audience = %request.audience,
        scope = %scope,
        "issued a workload a token of its own"
    );
    Ok(WorkloadToken {
        jwt: ctx.signer.sign_typed(WORKLOAD_TOKEN_TYPE, &claims)?,
        scope,
        expires_in: ctx.ttl_secs,
    })
}

/// The scopes asked for, every one within `allowed`; nothing asked means all of `allowed`.
fn granted(allowed: &[&str], requested: Option<&str>) -> Result<String, WorkloadTokenError> {
    let requested: Vec<&str> = requested.unwrap_or_default().split_whitespace().collect();
    if requested.is_empty() {
        return Ok(allowed.join(" "));
    }
    if !requested.iter().all(|scope| allowed.contains(scope)) {
        return Err(WorkloadTokenError::InvalidScope);
    }
    let mut scopes = requested;
    scopes.sort_unstable();
    scopes.dedup();
    Ok(scopes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_orders_gets_a_token_of_its_own_and_only_to_settle_at_accounts() {
        for actor in Workload::SERVICES {
            for audience in Workload::SERVICES {
                let expected: &[&str] = match (actor, audience) {
                    (Workload::Orders, Workload::Accounts) => &[scope::ACCOUNTS_SETTLE],
                    _ => &[],
                };
                assert_eq!(
                    workload_scopes(actor, audience),
                    expected,
                    "{actor} → {audience}"
                );
            }
        }
        for gateway_or_sts in [Workload::Gateway, Workload::Sts] {
            assert!(workload_scopes(gateway_or_sts, Workload::Accounts).is_empty());
        }
    }

    #[test]
    fn a_scope_beyond_the_policy_is_refused_and_none_asked_means_the_policy_s() {
        let allowed = workload_scopes(Workload::Orders, Workload::Accounts);
        assert_eq!(
            granted(allowed, None).ok().as_deref(),
            Some("accounts:settle")
        );
        assert_eq!(
            granted(allowed, Some("accounts:settle accounts:settle"))
                .ok()
                .as_deref(),
            Some("accounts:settle")
        );
        assert!(matches!(
            granted(allowed, Some("accounts:settle accounts:write")),
            Err(WorkloadTokenError::InvalidScope)
        ));
    }
}
