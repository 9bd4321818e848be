//! A workload's own token: a credential for a call that no user is behind.
//!
//! Almost every internal call acts for a user, and carries that user's token (E2E mode) or one
//! exchanged from it (exchange mode). A few do not: orders' reconciler, settling an order whose
//! payment's answer was lost, acts for nobody. It still authenticates with a token, so that the
//! callee checks a short-lived credential the STS issued for exactly that call, on top of the
//! caller's certificate:
//!
//! - the workload asks the STS with the **client credentials** grant (RFC 6749 §4.4),
//!   authenticated by its certificate (`tls_client_auth`, RFC 8705 §2.1.2), naming the one
//!   service it will call as the `resource` (RFC 8707) and the scope it needs;
//! - the STS answers a JWT of type [`WORKLOAD_TOKEN_TYPE`]: subject the workload's SPIFFE ID,
//!   audience the one service, only a scope its workload policy grants for that pair, bound
//!   (`cnf`) to the certificate that asked, in both trust modes;
//! - the callee verifies it with [`Verifier::verify_workload_presented`], and accepts it only on
//!   the calls that take a workload principal. Everywhere else the user verifier refuses it:
//!   its type is not a user token's, and its subject is not a user.
//!
//! The alternative, letting such a call through on the mTLS peer check alone, would leave one
//! hop authenticated by one mechanism; a token makes it two, as for every other call.

use std::collections::BTreeSet;

use baton_platform::{CertThumbprint, Control};
use serde::{Deserialize, Serialize};

use crate::claims::{Confirmation, WORKLOAD_TOKEN_TYPE};
use crate::onward::{OnwardError, token_request};
use crate::verifier::{TokenError, Verifier};

/// The claims of a workload's own token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkloadClaims {
    pub iss: String,
    /// The workload's SPIFFE ID.
    pub sub: String,
    /// The one service the token is for.
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub scope: String,
    /// The certificate the token is bound to: always present, in both trust modes.
    pub cnf: Confirmation,
}

/// The verified caller of a call made by a workload for itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadPrincipal {
    workload_id: String,
    scopes: BTreeSet<String>,
    token_id: String,
    scopes_enforced: bool,
}

impl WorkloadPrincipal {
    /// The SPIFFE ID the token speaks for.
    pub fn workload_id(&self) -> &str {
        &self.workload_id
    }

    /// Whether the token grants `scope` (or, in lab mode with `service.scope` off, always).
    pub fn has_scope(&self, scope: &str) -> bool {
        !self.scopes_enforced || self.scopes.contains(scope)
    }

    pub fn token_id(&self) -> &str {
        &self.token_id
    }
}

impl Verifier {
    /// Verifies `unverified_token` as a workload's own token presented over a connection whose
    /// client certificate has thumbprint `presented`: the type, then everything a user's token is
    /// checked for (signature, issuer, audience, expiry), and the binding, which such a token
    /// always needs.
    pub async fn verify_workload_presented(
        &self,
        unverified_token: &str,
        presented: Option<&CertThumbprint>,
    ) -> Result<WorkloadPrincipal, TokenError> {
        let claims: WorkloadClaims = self.decode(unverified_token, WORKLOAD_TOKEN_TYPE).await?;
        self.check_binding(Some(&claims.cnf.x5t_s256), presented, true)?;
        Ok(WorkloadPrincipal {
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            workload_id: claims.sub,
            token_id: claims.jti,
            scopes_enforced: self.controls.is_on(Control::ServiceScope),
        })
    }
}

/// Asks the STS for this workload's own tokens.
#[derive(Debug, Clone)]
pub struct OwnTokens {
    /// A mutual-TLS client that accepts only the STS's certificate and presents our own.
    http: reqwest::Client,
    token_url: String,
    /// Our client id at the STS (`tls_client_auth`): the workload's name.
    client_id: String,
}

impl OwnTokens {
    /// Asks at `sts_base_url` with `sts_client` (which must present this workload's certificate),
    /// as client `client_id`.
    pub fn new(sts_client: reqwest::Client, sts_base_url: &str, client_id: &str) -> Self {
        Self {
            http: sts_client,
            token_url: format!("{sts_base_url}/oauth2/token"),
            client_id: client_id.to_owned(),
        }
    }

    /// A token of this workload's own for `audience` (a service's SPIFFE ID) with `scope`. Not
    /// cached: the one caller asks once per round, and a fresh token is bound to the certificate
    /// presented now, even just after a rotation.
    pub async fn token_for(&self, audience: &str, scope: &str) -> Result<String, OnwardError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("resource", audience),
            ("scope", scope),
        ];
        let (token, _) = token_request(&self.http, &self.token_url, &form).await?;
        Ok(token)
    }
}
