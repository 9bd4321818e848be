//! What goes into tokens: the scopes a user's roles grant, and the internal JWT's claims.

use baton_token::Claims;
use baton_token::claims::scope;

/// The scopes granted to a user with `roles`. Unknown roles grant nothing.
pub fn scopes_for(roles: &[String]) -> String {
    let customer = [
        scope::USERS_READ,
        scope::ACCOUNTS_READ,
        scope::ACCOUNTS_WRITE,
        scope::ORDERS_READ,
        scope::ORDERS_WRITE,
    ];
    let mut scopes: Vec<&str> = Vec::new();
    for role in roles {
        match role.as_str() {
            // Admin functions arrive with fine-grained authorization; until then an admin may
            // do what a customer may, and read other people's objects (checked in the services).
            "customer" | "admin" => scopes.extend(customer),
            _ => {}
        }
    }
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
            "accounts:read accounts:write orders:read orders:write users:read"
        );
    }
}
