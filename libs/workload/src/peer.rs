//! Who is calling, and whether that workload may call this route.
//!
//! The TLS server puts a [`Peer`] into every request's extensions. [`PeerPolicy`] is the
//! allow-list each service builds at start-up: accounts' `Debit` accepts only orders, REST routes
//! accept only the gateway, `/health` any workload of our trust domain. A path no rule covers is
//! refused: deny by default. Refusals are security events in the log, with the caller's SPIFFE ID.
//!
//! Rules match whole path segments, never string prefixes: a rule for `/health` covers `/health`
//! and `/health/live`, but not `/health-admin`, which a prefix match would have let in with it.
//! A gRPC method is matched exactly (`/baton.accounts.v1.Accounts/Debit`, not `.../DebitAll`).
//! A path with a `.` or `..` segment is covered by no rule: what it names depends on who
//! resolves it.

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

/// Which paths a rule covers.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// A path and everything under it, by whole segments. One that ends in `/` (`/v1/`) covers
    /// only what is under it.
    Subtree(&'static str),
    /// One gRPC method's path (`/package.Service/Method`), exactly.
    Method(&'static str),
}

impl Pattern {
    fn covers(self, path: &str) -> bool {
        match self {
            Pattern::Subtree(root) => path.strip_prefix(root).is_some_and(|rest| {
                root.ends_with('/') || rest.is_empty() || rest.starts_with('/')
            }),
            Pattern::Method(method) => path == method,
        }
    }

    /// How specific the pattern is: the longest covering pattern decides.
    fn len(self) -> usize {
        match self {
            Pattern::Subtree(root) | Pattern::Method(root) => root.len(),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: Pattern,
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

    /// `path` and the paths under it (whole segments) accept exactly `workloads`.
    pub fn allow(self, path: &'static str, workloads: &[Workload]) -> Self {
        self.only(Pattern::Subtree(path), workloads)
    }

    /// The gRPC method `method` (`/package.Service/Method`, exactly) accepts exactly
    /// `workloads`.
    pub fn allow_method(self, method: &'static str, workloads: &[Workload]) -> Self {
        self.only(Pattern::Method(method), workloads)
    }

    /// `path` and the paths under it accept any workload of our trust domain (health, keys).
    pub fn allow_any_workload(mut self, path: &'static str) -> Self {
        self.rules.push(Rule {
            pattern: Pattern::Subtree(path),
            allowed: Allowed::AnyWorkload,
        });
        self
    }

    fn only(mut self, pattern: Pattern, workloads: &[Workload]) -> Self {
        let ids = workloads
            .iter()
            .map(|w| SpiffeId::of(&self.trust_domain, *w))
            .collect();
        self.rules.push(Rule {
            pattern,
            allowed: Allowed::Only(ids),
        });
        self
    }

    /// Whether `peer` may call `path`: the most specific rule covering it decides.
    pub fn permits(&self, path: &str, peer: Option<&Peer>) -> bool {
        if path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return false;
        }
        let rule = self
            .rules
            .iter()
            .filter(|rule| rule.pattern.covers(path))
            .max_by_key(|rule| rule.pattern.len());
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
            .allow_method("/baton.accounts.v1.Accounts/Debit", &[Workload::Orders])
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
    fn a_rule_covers_whole_segments_and_nothing_that_merely_starts_the_same() {
        let policy = policy();
        let users = peer(Workload::Users);
        for covered in ["/health", "/health/", "/health/live"] {
            assert!(policy.permits(covered, Some(&users)), "{covered}");
        }
        for near_miss in ["/health-admin", "/healthz", "/health.json", "/healthy/live"] {
            assert!(!policy.permits(near_miss, Some(&users)), "{near_miss}");
        }
        let gateway = peer(Workload::Gateway);
        assert!(policy.permits("/v1/accounts/7", Some(&gateway)));
        assert!(
            !policy.permits("/v1", Some(&gateway)),
            "`/v1/` covers only what is under it"
        );
        assert!(!policy.permits("/v1-admin/accounts", Some(&gateway)));
    }

    #[test]
    fn a_grpc_method_is_matched_exactly() {
        let policy = policy();
        let orders = peer(Workload::Orders);
        assert!(policy.permits("/baton.accounts.v1.Accounts/Debit", Some(&orders)));
        for near_miss in [
            "/baton.accounts.v1.Accounts/DebitAll",
            "/baton.accounts.v1.Accounts/Debit/",
            "/baton.accounts.v1.Accounts/Debit/x",
            "/baton.accounts.v1.Accounts/Debi",
            "/baton.accounts.v1.Accounts/",
            "/baton.accounts.v1.AccountsAdmin/Debit",
        ] {
            assert!(!policy.permits(near_miss, Some(&orders)), "{near_miss}");
        }
    }

    #[test]
    fn a_path_with_dot_segments_is_covered_by_no_rule() {
        let policy = policy();
        let users = peer(Workload::Users);
        assert!(!policy.permits("/health/../v1/accounts", Some(&users)));
        assert!(!policy.permits("/health/./live", Some(&users)));
        let gateway = peer(Workload::Gateway);
        assert!(!policy.permits("/v1/../baton.accounts.v1.Accounts/Debit", Some(&gateway)));
        assert!(
            policy.permits("/v1/orders/..7", Some(&gateway)),
            "only whole dot segments"
        );
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
