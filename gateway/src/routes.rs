//! The route table: every path the platform exposes, who serves it, and what it needs.
//!
//! This table is the whole public API. A route that is not here does not exist (404), a method
//! that is not listed for a path is refused (405), and every route states its access rule: there
//! is no default to forget.

use axum::http::Method;
use baton_platform::Workload;
use baton_token::Role;
use baton_token::claims::scope;

/// What a route demands of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: login and the published keys.
    Public,
    /// A valid access token carrying `scope`, for a user holding at least one of `roles`.
    ///
    /// Both halves are coarse: the scope says the client may call this API, the roles say this
    /// kind of user may use this function at all. Which object they may touch is the service's
    /// decision, made again there with the object in hand.
    Token {
        scope: &'static str,
        roles: &'static [Role],
    },
}

/// Every signed-in user.
pub const ANYONE: &[Role] = &[Role::Customer, Role::Support, Role::Admin];
/// People with their own money and orders.
pub const CUSTOMERS: &[Role] = &[Role::Customer];
/// Staff who look things up for customers.
pub const STAFF: &[Role] = &[Role::Support, Role::Admin];
/// The back office.
pub const ADMINS: &[Role] = &[Role::Admin];

/// One declared route. Paths use axum's `{param}` templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub upstream: Workload,
    pub access: Access,
}

/// A route that fails [`check`]: it would be served with a rule nobody could meet, or none.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("route {method} {path} declares no usable access rule: {why}")]
pub struct UndeclaredAccess {
    pub method: Method,
    pub path: &'static str,
    pub why: &'static str,
}

/// Refuses a table in which a protected route names no scope or no role. The types already make
/// every route state an [`Access`]; this catches the empty ones, so the gateway never starts with
/// a route whose rule is a blank.
pub fn check(table: &[Route]) -> Result<(), UndeclaredAccess> {
    for route in table {
        if let Access::Token { scope, roles } = route.access {
            let why = if scope.trim().is_empty() {
                "no scope"
            } else if roles.is_empty() {
                "no role"
            } else {
                continue;
            };
            return Err(UndeclaredAccess {
                method: route.method.clone(),
                path: route.path,
                why,
            });
        }
    }
    Ok(())
}

const fn public(method: Method, path: &'static str, upstream: Workload) -> Route {
    Route {
        method,
        path,
        upstream,
        access: Access::Public,
    }
}

const fn token(
    method: Method,
    path: &'static str,
    upstream: Workload,
    scope: &'static str,
    roles: &'static [Role],
) -> Route {
    Route {
        method,
        path,
        upstream,
        access: Access::Token { scope, roles },
    }
}

/// The routes, in the order a reader would want to see them.
pub fn table() -> Vec<Route> {
    use Method as M;
    use Workload::{Accounts, Orders, Sts, Users};
    use scope::*;
    vec![
        // The authorization server: login pages, tokens, introspection, revocation, metadata.
        public(M::GET, "/oauth2/authorize", Sts),
        public(M::POST, "/oauth2/authorize", Sts),
        public(M::POST, "/oauth2/token", Sts),
        public(M::POST, "/oauth2/introspect", Sts),
        public(M::POST, "/oauth2/revoke", Sts),
        public(M::GET, "/.well-known/oauth-authorization-server", Sts),
        public(M::GET, "/.well-known/jwks.json", Sts),
        // Profiles: everyone reads their own; staff read others' (support sees them masked).
        token(M::GET, "/v1/users/me", Users, USERS_READ, ANYONE),
        token(M::PATCH, "/v1/users/me", Users, USERS_WRITE, CUSTOMERS),
        token(M::GET, "/v1/users", Users, USERS_ADMIN, ADMINS),
        token(M::GET, "/v1/users/{id}", Users, USERS_READ, ANYONE),
        // Accounts: customers hold them; the back office freezes them and deposits into them.
        token(M::GET, "/v1/accounts", Accounts, ACCOUNTS_READ, ANYONE),
        token(M::POST, "/v1/accounts", Accounts, ACCOUNTS_WRITE, CUSTOMERS),
        token(M::GET, "/v1/accounts/{id}", Accounts, ACCOUNTS_READ, ANYONE),
        token(
            M::POST,
            "/v1/accounts/{id}/freeze",
            Accounts,
            ACCOUNTS_ADMIN,
            ADMINS,
        ),
        token(
            M::POST,
            "/v1/accounts/{id}/unfreeze",
            Accounts,
            ACCOUNTS_ADMIN,
            ADMINS,
        ),
        token(
            M::POST,
            "/v1/accounts/{id}/deposits",
            Accounts,
            ACCOUNTS_ADMIN,
            ADMINS,
        ),
        // Orders: customers place and read their own; staff read anyone's; admins refund.
        token(M::GET, "/v1/orders", Orders, ORDERS_READ, ANYONE),
        token(M::POST, "/v1/orders", Orders, ORDERS_WRITE, CUSTOMERS),
        token(M::GET, "/v1/orders/{id}", Orders, ORDERS_READ, ANYONE),
        token(
            M::POST,
            "/v1/orders/{id}/refund",
            Orders,
            ORDERS_ADMIN,
            ADMINS,
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
    fn the_table_declares_a_usable_rule_for_every_route() {
        assert_eq!(check(&table()), Ok(()));
    }

    #[test]
    fn a_protected_route_without_a_role_is_refused() {
        let blank = [token(Method::GET, "/v1/x", Workload::Users, "x:read", &[])];
        assert!(matches!(check(&blank), Err(e) if e.why == "no role"));
    }

    #[test]
    fn every_back_office_route_is_for_admins_only() {
        for route in table() {
            if let Access::Token { scope, roles } = route.access
                && scope.ends_with(":admin")
            {
                assert_eq!(roles, ADMINS, "{} {}", route.method, route.path);
            }
        }
    }

    #[test]
    fn only_login_and_keys_are_public() {
        let public: Vec<_> = table()
            .into_iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| r.path)
            .collect();
        assert_eq!(
            public,
            [
                "/oauth2/authorize",
                "/oauth2/authorize",
                "/oauth2/token",
                "/oauth2/introspect",
                "/oauth2/revoke",
                "/.well-known/oauth-authorization-server",
                "/.well-known/jwks.json"
            ]
        );
    }
}
