//! The grants: what turns a login, a client's credentials or a refresh token into tokens, and
//! what ends them.
//!
//! - An **authorization code** is single-use and lives [`CODE_TTL_SECS`]. Redeeming it starts a
//!   *grant*: one client's authorization by one user, with an access token and a refresh token.
//!   A code redeemed a second time is a sign it was stolen: the grant the first redemption started
//!   is revoked (RFC 6749 §4.1.2).
//! - A **refresh token** is rotated on every use: the answer carries a new one and the old one is
//!   spent. Presenting a spent one means two parties hold the family, so the whole grant is
//!   revoked, its access tokens included (RFC 9700 §4.14.2; `sts.refresh_rotation`).
//! - **Client credentials** give a client a token that speaks for itself: no user, no refresh
//!   token (RFC 6749 §4.4.3).
//! - **Revocation** of a refresh token ends its grant; of an access token, that token.
//!
//! Issuing and revoking race: a refresh beside a logout, a code's first redemption beside its
//! replay. Each is one transaction, and issuing takes the grant's row before it writes (see
//! `storage::hold_grant`): new tokens are stored only in a grant that is not revoked, and a
//! revocation that waited for them deletes them too. A replay that comes before the grant exists
//! makes it, revoked. The moments between the checks and the writes are fault points
//! (`sts.code.before_grant`, `sts.grant.before_issue`), so a test can hold a flow there while the
//! other side runs.
//!
//! Every token is an opaque random string; only its SHA-256 hash is stored.

use baton_platform::faults::{Faults, Injected};
use baton_platform::{Control, Controls};
use sqlx::AnyPool;

use crate::domain::client::{Client, GRANT_REFRESH_TOKEN};
use crate::domain::issue::scopes_for;
use crate::domain::opaque::{self, CODE_PREFIX, OpaqueToken, REFRESH_PREFIX};
use crate::domain::pkce::{self, Challenge};
use crate::storage::{
    self, CodeRow, GrantRow, LoginRequestRow, Redemption, StoredToken, TokenOrigin,
};

/// How long an authorization code lives: long enough for a redirect, and no longer.
pub const CODE_TTL_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The code, refresh token or grant is unknown, spent, expired, revoked or another client's
    /// (`invalid_grant`).
    #[error("the grant is not valid")]
    InvalidGrant,
    /// The requested scope is none the client or user may have (`invalid_scope`).
    #[error("the requested scope is not available")]
    InvalidScope,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A test failed the flow at a fault point.
    #[error(transparent)]
    Injected(#[from] Injected),
}

/// What every grant needs.
#[derive(Debug, Clone, Copy)]
pub struct Grants<'a> {
    pub pool: &'a AnyPool,
    pub controls: &'a Controls,
    /// Where a test may hold or fail a flow ([`baton_platform::faults`]); none in production.
    pub faults: &'a Faults,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub now: i64,
}

/// A token answer (RFC 6749 §5.1).
#[derive(Debug)]
pub struct Tokens {
    pub access_token: OpaqueToken,
    pub expires_in: i64,
    pub scope: String,
    pub refresh_token: Option<OpaqueToken>,
}

/// `requested` narrowed to `allowed`; nothing requested means everything allowed.
pub fn narrow_scope(requested: Option<&str>, allowed: &str) -> Result<String, GrantError> {
    let Some(requested) = requested.filter(|r| !r.trim().is_empty()) else {
        return Ok(allowed.to_owned());
    };
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    let mut granted: Vec<&str> = requested
        .split_whitespace()
        .filter(|scope| allowed.contains(scope))
        .collect();
    granted.sort_unstable();
    granted.dedup();
    if granted.is_empty() {
        return Err(GrantError::InvalidScope);
    }
    Ok(granted.join(" "))
}

impl Grants<'_> {
    /// Issues the authorization code that ends a successful login.
    pub async fn issue_code(
        &self,
        request: &LoginRequestRow,
        user_id: &str,
        roles: &[String],
    ) -> Result<OpaqueToken, GrantError> {
        let scope = narrow_scope(Some(&request.scope), &scopes_for(roles))?;
        let code = OpaqueToken::generate_with(CODE_PREFIX);
        let row = CodeRow {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            user_id: user_id.to_owned(),
            scope,
            code_challenge: request.code_challenge.clone(),
            challenge_method: request.challenge_method.clone(),
            grant_id: uuid::Uuid::new_v4().to_string(),
            expires_at: self.now + CODE_TTL_SECS,
        };
        storage::insert_code(self.pool, &code.hash(), &row).await?;
        Ok(code)
    }

    /// The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn redeem_code(
        &self,
        client: &Client,
        unverified_code: &str,
        unverified_redirect_uri: Option<&str>,
        unverified_verifier: Option<&str>,
    ) -> Result<Tokens, GrantError> {
        let code = match storage::redeem_code(self.pool, &opaque::hash(unverified_code), self.now)
            .await?
        {
            Redemption::First(code) => code,
            Redemption::Replayed(code) => {
                tracing::warn!(security_event = "code_replayed", grant_id = %code.grant_id, "an authorization code was redeemed twice; revoking its grant");
                storage::revoke_code_grant(self.pool, &code, self.now).await?;
                return Err(GrantError::InvalidGrant);
            }
            Redemption::Unknown => return Err(GrantError::InvalidGrant),
        };
        let challenge = code.code_challenge.clone().map(|value| Challenge {
            value,
            method: code.challenge_method.clone().unwrap_or_default(),
        });
        let valid = code.expires_at > self.now
            && code.client_id == client.id
            && unverified_redirect_uri == Some(code.redirect_uri.as_str())
            && pkce::verifies(challenge.as_ref(), unverified_verifier);
        if !valid {
            return Err(GrantError::InvalidGrant);
        }
        self.faults.reach("sts.code.before_grant").await?;
        let grant = GrantRow {
            grant_id: code.grant_id,
            client_id: code.client_id,
            user_id: code.user_id,
            scope: code.scope,
            expires_at: self.now + self.refresh_ttl_secs,
            revoked: false,
        };
        storage::insert_grant(self.pool, &grant, self.now).await?;
        let with_refresh = client.may_use(GRANT_REFRESH_TOKEN);
        self.tokens_for(&grant, with_refresh).await
    }

    /// The refresh token grant (RFC 6749 §6), with rotation and reuse detection.
    pub async fn refresh(
        &self,
        client: &Client,
        unverified_refresh_token: &str,
        requested_scope: Option<&str>,
    ) -> Result<Tokens, GrantError> {
        let hash = opaque::hash(unverified_refresh_token);
        let stored = storage::refresh_token(self.pool, &hash)
            .await?
            .ok_or(GrantError::InvalidGrant)?;
        let grant = storage::grant_by_id(self.pool, &stored.grant_id)
            .await?
            .ok_or(GrantError::InvalidGrant)?;
        if grant.client_id != client.id {
            return Err(GrantError::InvalidGrant);
        }
        let rotating = self.controls.is_on(Control::StsRefreshRotation);
        if rotating && !storage::spend_refresh_token(self.pool, &hash, self.now).await? {
            tracing::warn!(security_event = "refresh_token_reused", grant_id = %grant.grant_id, "a rotated refresh token was used again; revoking its whole family");
            storage::revoke_grant(self.pool, &grant.grant_id, self.now).await?;
            return Err(GrantError::InvalidGrant);
        }
        if grant.revoked || grant.expires_at <= self.now || stored.expires_at <= self.now {
            return Err(GrantError::InvalidGrant);
        }
        // A refresh may narrow the scope, never widen it (RFC 6749 §6).
        let scope = narrow_scope(requested_scope, &grant.scope)?;
        let narrowed = GrantRow { scope, ..grant };
        if rotating {
            self.tokens_for(&narrowed, true).await
        } else {
            // Lab mode without rotation: the same refresh token stays valid for ever after.
            let mut tokens = self.tokens_for(&narrowed, false).await?;
            tokens.refresh_token = Some(OpaqueToken::from_presented(unverified_refresh_token));
            Ok(tokens)
        }
    }

    /// The client credentials grant (RFC 6749 §4.4): a token for the client itself.
    pub async fn client_credentials(
        &self,
        client: &Client,
        requested_scope: Option<&str>,
    ) -> Result<Tokens, GrantError> {
        let scope = if client.scope.is_empty() && requested_scope.is_none() {
            String::new()
        } else {
            narrow_scope(requested_scope, &client.scope)?
        };
        let access_token = OpaqueToken::generate();
        let record = StoredToken {
            user_id: client.id.clone(),
            scope: scope.clone(),
            expires_at: self.now + self.access_ttl_secs,
        };
        let origin = TokenOrigin {
            client_id: Some(client.id.clone()),
            grant_id: None,
            for_client: true,
        };
        storage::insert_issued_access_token(
            &mut *self.pool.acquire().await?,
            &access_token.hash(),
            &record,
            &origin,
            self.now,
        )
        .await?;
        Ok(Tokens {
            access_token,
            expires_in: self.access_ttl_secs,
            scope,
            refresh_token: None,
        })
    }

    /// A new access token (and refresh token, if asked) in `grant`, stored in one transaction
    /// that first holds the grant: nothing is issued in a grant revoked meanwhile.
    async fn tokens_for(&self, grant: &GrantRow, with_refresh: bool) -> Result<Tokens, GrantError> {
        self.faults.reach("sts.grant.before_issue").await?;
        let mut tx = self.pool.begin().await?;
        if !storage::hold_grant(&mut tx, &grant.grant_id, self.now).await? {
            tracing::info!(grant_id = %grant.grant_id, "no tokens issued: the grant was revoked meanwhile");
            return Err(GrantError::InvalidGrant);
        }
        let access_token = OpaqueToken::generate();
        let expires_at = (self.now + self.access_ttl_secs).min(grant.expires_at);
        let record = StoredToken {
            user_id: grant.user_id.clone(),
            scope: grant.scope.clone(),
            expires_at,
        };
        let origin = TokenOrigin {
            client_id: Some(grant.client_id.clone()),
            grant_id: Some(grant.grant_id.clone()),
            for_client: false,
        };
        storage::insert_issued_access_token(
            &mut tx,
            &access_token.hash(),
            &record,
            &origin,
            self.now,
        )
        .await?;
        let refresh_token = if with_refresh {
            let refresh = OpaqueToken::generate_with(REFRESH_PREFIX);
            storage::insert_refresh_token(
                &mut tx,
                &refresh.hash(),
                &grant.grant_id,
                self.now,
                grant.expires_at,
            )
            .await?;
            Some(refresh)
        } else {
            None
        };
        tx.commit().await?;
        Ok(Tokens {
            access_token,
            expires_in: expires_at - self.now,
            scope: grant.scope.clone(),
            refresh_token,
        })
    }

    /// Revocation (RFC 7009 §2.1). Unknown tokens and other clients' tokens are left alone and
    /// answered the same as a success, so the endpoint is no oracle for which tokens exist. The
    /// gateway may revoke any token (it acts for the resource owner at the edge).
    pub async fn revoke(&self, client: &Client, unverified_token: &str) -> Result<(), GrantError> {
        if !self.controls.is_on(Control::StsRevocation) {
            tracing::warn!("revocation switched off (lab mode): the token stays valid");
            return Ok(());
        }
        let hash = opaque::hash(unverified_token);
        if let Some(refresh) = storage::refresh_token(self.pool, &hash).await? {
            if let Some(grant) = storage::grant_by_id(self.pool, &refresh.grant_id).await?
                && (grant.client_id == client.id || client.is_gateway())
            {
                storage::revoke_grant(self.pool, &grant.grant_id, self.now).await?;
            }
            return Ok(());
        }
        if let Some(access) = storage::access_token_record(self.pool, &hash).await?
            && (access.origin.client_id.as_deref() == Some(client.id.as_str())
                || client.is_gateway())
        {
            storage::delete_access_token(self.pool, &hash).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_and_never_widen() {
        let allowed = "orders:read orders:write users:read";
        assert_eq!(narrow_scope(None, allowed).ok().as_deref(), Some(allowed));
        assert_eq!(
            narrow_scope(Some("orders:read accounts:admin"), allowed)
                .ok()
                .as_deref(),
            Some("orders:read")
        );
        assert!(matches!(
            narrow_scope(Some("accounts:admin"), allowed),
            Err(GrantError::InvalidScope)
        ));
    }
}
