//! The route table: every path the platform exposes, who serves it, and what it needs.
//!
//! This table is the whole public API. A route that is not here does not exist (404), a method
//! that is not listed for a path is refused (405), and every route states its access rule: there
//! is no default to forget.

use axum::http::Method;
use baton_platform::Workload;
use baton_token::claims::scope;

/// What a route demands of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: login and the published keys.
    Public,
    /// A valid access token carrying this scope.
    Scope(&'static str),
}

/// One declared route. Paths use axum's `{param}` templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub upstream: Workload,
    pub access: Access,
}

const fn route(method: Method, path: &'static str, upstream: Workload, access: Access) -> Route {
    Route {
        method,
        path,
        upstream,
        access,
    }
}

/// The routes, in the order a reader would want to see them.
pub fn table() -> Vec<Route> {
    use Access::{Public, Scope};
    use Workload::{Accounts, Orders, Sts, Users};
    vec![
        route(Method::POST, "/v1/login", Sts, Public),
        route(Method::GET, "/.well-known/jwks.json", Sts, Public),
        route(Method::GET, "/v1/users/me", Users, Scope(scope::USERS_READ)),
        route(
            Method::GET,
            "/v1/users/{id}",
            Users,
            Scope(scope::USERS_READ),
        ),
        route(
            Method::GET,
            "/v1/accounts",
            Accounts,
            Scope(scope::ACCOUNTS_READ),
        ),
        route(
            Method::POST,
            "/v1/accounts",
            Accounts,
            Scope(scope::ACCOUNTS_WRITE),
        ),
        route(
            Method::GET,
            "/v1/accounts/{id}",
            Accounts,
            Scope(scope::ACCOUNTS_READ),
        ),
        route(Method::GET, "/v1/orders", Orders, Scope(scope::ORDERS_READ)),
        route(
            Method::POST,
            "/v1/orders",
            Orders,
            Scope(scope::ORDERS_WRITE),
        ),
        route(
            Method::GET,
            "/v1/orders/{id}",
            Orders,
            Scope(scope::ORDERS_READ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn no_route_is_declared_twice() {
        let table = table();
        let unique: BTreeSet<_> = table.iter().map(|r| (r.method.as_str(), r.path)).collect();
        assert_eq!(unique.len(), table.len());
    }

    #[test]
    fn only_login_and_keys_are_public() {
        let public: Vec<_> = table()
            .into_iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| r.path)
            .collect();
        assert_eq!(public, ["/v1/login", "/.well-known/jwks.json"]);
    }
}
