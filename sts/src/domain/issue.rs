//! What goes into tokens: the scopes a user's roles grant, and the internal JWT's claims.

use baton_token::{Claims, Role};

/// The scopes granted to a user with `roles` ([`Role::scopes`]). Unknown roles grant nothing.
pub fn scopes_for(roles: &[String]) -> String {
    let mut scopes: Vec<&str> = roles
        .iter()
        .filter_map(|name| Role::parse(name))
        .flat_map(|role| role.scopes().iter().copied())
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes.join(" ")
}

/// The facts an internal token is minted from.
#[derive(Debug, Clone)]
pub struct Subject {
    pub user_id: String,
    pub username: String,
    pub roles: Vec<String>,
    pub scope: String,
}

/// The claims of an internal token for `subject`, valid from `now` until `expires_at`, for the
/// workloads in `audience`.
pub fn internal_claims(
    issuer: &str,
    subject: Subject,
    audience: Vec<String>,
    now: i64,
    expires_at: i64,
) -> Claims {
    Claims {
        iss: issuer.to_owned(),
        sub: subject.user_id,
        aud: audience,
        exp: expires_at,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        scope: subject.scope,
        roles: subject.roles,
        preferred_username: subject.username,
        act: None,
        may_act: None,
        cnf: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_roles_grant_no_scope() {
        assert_eq!(scopes_for(&["superuser".to_owned()]), "");
    }

    #[test]
    fn a_customer_gets_the_customer_scopes_once() {
        let scopes = scopes_for(&["customer".to_owned(), "customer".to_owned()]);
        assert_eq!(
            scopes,
            "accounts:read accounts:write orders:read orders:write users:read users:write"
        );
    }

    #[test]
    fn support_reads_and_changes_nothing() {
        assert_eq!(
            scopes_for(&["support".to_owned()]),
            "orders:read users:read"
        );
    }

    #[test]
    fn an_admin_gets_the_back_office_scopes_but_cannot_place_orders_or_open_accounts() {
        let scopes = scopes_for(&["admin".to_owned()]);
        assert!(scopes.contains("accounts:admin") && scopes.contains("orders:admin"));
        assert!(!scopes.contains("orders:write") && !scopes.contains("accounts:write"));
    }
}
