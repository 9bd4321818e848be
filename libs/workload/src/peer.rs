//! Who is calling, and whether that workload may call this route.
//!
//! The TLS server puts a [`Peer`] into every request's extensions. [`PeerPolicy`] is the
//! allow-list each service builds at start-up, by route prefix: accounts' `Debit` accepts only
//! orders, REST routes accept only the gateway, `/health` any workload of our trust domain. A
//! path no rule covers is refused: deny by default. Refusals are security events in the log,
//! with the caller's SPIFFE ID.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_api::Problem;
use baton_platform::{Control, Controls, TrustDomain, Workload};

use crate::spiffe::SpiffeId;

/// The verified identity of the other end of the connection a request arrived on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A client that presented no certificate (the gateway's public side).
    Anonymous,
    /// A workload whose SVID verified.
    Workload(SpiffeId),
}

/// Which callers a rule lets in.
#[derive(Debug, Clone)]
enum Allowed {
    AnyWorkload,
    Only(Vec<SpiffeId>),
}

#[derive(Debug, Clone)]
struct Rule {
    prefix: &'static str,
    allowed: Allowed,
}

/// The per-service allow-list of calling workloads. Start from [`PeerPolicy::deny_all`] and add
/// rules; there is no "allow everything".
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    trust_domain: TrustDomain,
    controls: Controls,
    rules: Vec<Rule>,
}

impl PeerPolicy {
    pub fn deny_all(trust_domain: TrustDomain, controls: Controls) -> Self {
        Self {
            trust_domain,
            controls,
            rules: Vec::new(),
        }
    }

    /// Paths starting with `prefix` accept exactly `workloads`.
    pub fn allow(mut self, prefix: &'static str, workloads: &[Workload]) -> Self {
        let ids = workloads
            .iter()
            .map(|w| SpiffeId::of(&self.trust_domain, *w))
            .collect();
        self.rules.push(Rule {
            prefix,
            allowed: Allowed::Only(ids),
        });
        self
    }

    /// Paths starting with `prefix` accept any workload of our trust domain (health, keys).
    pub fn allow_any_workload(mut self, prefix: &'static str) -> Self {
        self.rules.push(Rule {
            prefix,
            allowed: Allowed::AnyWorkload,
        });
        self
    }

    /// Whether `peer` may call `path`: the longest matching prefix decides.
    pub fn permits(&self, path: &str, peer: Option<&Peer>) -> bool {
        let rule = self
            .rules
            .iter()
            .filter(|rule| path.starts_with(rule.prefix))
            .max_by_key(|rule| rule.prefix.len());
        match (rule.map(|r| &r.allowed), peer) {
            (Some(Allowed::AnyWorkload), Some(Peer::Workload(_))) => true,
            (Some(Allowed::Only(ids)), Some(Peer::Workload(id))) => ids.contains(id),
            _ => false,
        }
    }
}

/// Axum middleware enforcing a [`PeerPolicy`] (`mtls.peer_id`).
pub async fn enforce(
    State(policy): State<Arc<PeerPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<Peer>();
    if !policy.controls.is_on(Control::MtlsPeerId) || policy.permits(request.uri().path(), peer) {
        return next.run(request).await;
    }
    tracing::warn!(
        peer = ?peer,
        path = request.uri().path(),
        security_event = "peer_not_allowed",
        "refused a workload that may not call this route"
    );
    let is_grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if is_grpc {
        tonic::Status::permission_denied("this workload may not call this method")
            .into_http::<axum::body::Body>()
    } else {
        Problem::forbidden().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PeerPolicy {
        PeerPolicy::deny_all(TrustDomain::default(), Controls::enforcing())
            .allow("/v1/", &[Workload::Gateway])
            .allow("/baton.accounts.v1.Accounts/Debit", &[Workload::Orders])
            .allow_any_workload("/health")
    }

    fn peer(workload: Workload) -> Peer {
        Peer::Workload(SpiffeId::of(&TrustDomain::default(), workload))
    }

    #[test]
    fn each_route_accepts_exactly_its_callers() {
        let policy = policy();
        assert!(policy.permits("/v1/accounts", Some(&peer(Workload::Gateway))));
        assert!(!policy.permits("/v1/accounts", Some(&peer(Workload::Orders))));
        assert!(policy.permits(
            "/baton.accounts.v1.Accounts/Debit",
            Some(&peer(Workload::Orders))
        ));
        assert!(!policy.permits(
            "/baton.accounts.v1.Accounts/Debit",
            Some(&peer(Workload::Gateway))
        ));
        assert!(policy.permits("/health", Some(&peer(Workload::Users))));
    }

    #[test]
    fn unknown_paths_anonymous_peers_and_missing_identities_are_refused() {
        let policy = policy();
        assert!(!policy.permits("/internal", Some(&peer(Workload::Gateway))));
        assert!(!policy.permits("/v1/accounts", Some(&Peer::Anonymous)));
        assert!(!policy.permits("/v1/accounts", None));
        let foreign =
            Peer::Workload(SpiffeId::parse("spiffe://evil.example/gateway").expect("an id"));
        assert!(!policy.permits("/v1/accounts", Some(&foreign)));
    }
}
