//! `GET /.well-known/oauth-authorization-server`: the RFC 8414 metadata, so standard client
//! libraries configure themselves from the issuer URL alone.
//!
//! The issuer is the public URL clients reach the STS at (the gateway), and every endpoint is
//! published as the gateway serves it. There is deliberately no `/.well-known/openid-configuration`:
//! the STS issues no ID tokens and has no userinfo endpoint, so it is not an OpenID Provider, and
//! publishing that document would promise what it does not do.
//!
//! It advertises only what works at the endpoints it names. Those are the gateway's, where TLS
//! ends at the edge and no client certificate reaches the STS, so `tls_client_auth` is not among
//! their methods: the platform's own workloads use it at the STS's internal listener, which is
//! configured, not discovered, and not published to the world (no `mtls_endpoint_aliases`,
//! RFC 8705 §5, because it is no public endpoint).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::client::{
    GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE,
};
use crate::domain::issue::scopes_for;

pub async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let issuer = &state.config.public_url;
    let roles = ["customer", "support", "admin"].map(str::to_owned);
    let scopes: Vec<String> = scopes_for(&roles)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            GRANT_AUTHORIZATION_CODE,
            GRANT_REFRESH_TOKEN,
            GRANT_CLIENT_CREDENTIALS,
            GRANT_TOKEN_EXCHANGE,
        ],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "authorization_response_iss_parameter_supported": true,
        "tls_client_certificate_bound_access_tokens": false,
    }))
}
