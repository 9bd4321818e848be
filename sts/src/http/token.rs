//! `POST /oauth2/token`: the token endpoint (RFC 6749 §3.2). One client authentication, then one
//! of four grants:
//!
//! | `grant_type` | who | what |
//! |---|---|---|
//! | `authorization_code` | the CLI and other registered clients | code + PKCE verifier → access and refresh token |
//! | `refresh_token` | the same | refresh token → new access and refresh token (rotated) |
//! | `client_credentials` | machine clients | the client's own access token |
//! | `client_credentials` with a `resource` | services, by certificate | a workload token of its own for one service (no user behind the call) |
//! | token exchange (RFC 8693) | the gateway | opaque access token → internal JWT (the first hop) |
//! | token exchange (RFC 8693) | services, by certificate, in exchange mode | internal JWT → JWT for the next hop |
//!
//! There is no password grant: passwords are typed into the STS's own login page, never given
//! to a client. Errors follow RFC 6749 §5.2, not problem+json: OAuth clients parse this format.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use baton_platform::time::now_unix;
use baton_platform::{CertThumbprint, TrustMode, Workload};
use baton_workload::Peer;
use serde_json::{Value, json};

use super::AppState;
use super::oauth::{
    Params, authenticate_client, invalid_request, no_store_json, oauth_error, server_error,
};
use crate::config::Config;
use crate::domain::client::{
    Client, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN,
    GRANT_TOKEN_EXCHANGE,
};
use crate::domain::delegation::{self, HopContext, HopError, HopRequest};
use crate::domain::exchange::{ExchangeContext, ExchangeError, FirstHop, exchange};
use crate::domain::grants::{GrantError, Tokens};
use crate::domain::workload_token::{
    self, WorkloadTokenContext, WorkloadTokenError, WorkloadTokenRequest,
};

pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

pub async fn token(
    State(state): State<AppState>,
    peer: Option<Extension<Peer>>,
    certificate: Option<Extension<CertThumbprint>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let client = match authenticate_client(&state, &headers, &params, peer.as_deref()).await {
        Ok(client) => client,
        Err(answer) => return answer,
    };
    let Ok(grant_type) = params.one("grant_type") else {
        return invalid_request("grant_type is repeated");
    };
    let Some(grant_type) = grant_type else {
        return invalid_request("grant_type is required");
    };
    let known = [
        GRANT_AUTHORIZATION_CODE,
        GRANT_REFRESH_TOKEN,
        GRANT_CLIENT_CREDENTIALS,
        GRANT_TOKEN_EXCHANGE,
    ];
    if !known.contains(&grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant type is not supported",
        );
    }
    if !client.may_use(grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use this grant type",
        );
    }
    let presented = Presenter {
        peer: peer.as_deref(),
        certificate: certificate.as_deref(),
    };
    match grant_type {
        GRANT_TOKEN_EXCHANGE => token_exchange(&state, &client, presented, &params).await,
        GRANT_CLIENT_CREDENTIALS if params.all("resource").next().is_some() => {
            workload_token(&state, &client, presented, &params)
        }
        _ => grant(&state, &client, grant_type, &params).await,
    }
}

/// The three grants that end in an opaque access token.
async fn grant(state: &AppState, client: &Client, grant_type: &str, params: &Params) -> Response {
    let one = |name: &str| params.one(name);
    let (Ok(code), Ok(redirect_uri), Ok(verifier), Ok(refresh_token), Ok(scope)) = (
        one("code"),
        one("redirect_uri"),
        one("code_verifier"),
        one("refresh_token"),
        one("scope"),
    ) else {
        return invalid_request("a parameter is repeated");
    };
    let grants = super::grants(state);
    let issued = match grant_type {
        GRANT_AUTHORIZATION_CODE => {
            let Some(code) = code else {
                return invalid_request("code is required");
            };
            grants
                .redeem_code(client, code, redirect_uri, verifier)
                .await
        }
        GRANT_REFRESH_TOKEN => {
            let Some(refresh_token) = refresh_token else {
                return invalid_request("refresh_token is required");
            };
            grants.refresh(client, refresh_token, scope).await
        }
        _ => grants.client_credentials(client, scope).await,
    };
    match issued {
        Ok(tokens) => {
            tracing::info!(
                security_event = "token_issued",
                grant_type,
                client_id = %client.id,
                scope = %tokens.scope,
                "tokens issued"
            );
            no_store_json(token_answer(tokens))
        }
        Err(GrantError::InvalidGrant) => {
            tracing::info!(
                security_event = "token_refused",
                grant_type,
                client_id = %client.id,
                reason = "invalid_grant",
                "no tokens: the grant is invalid, expired or revoked"
            );
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the grant is invalid, expired or revoked",
            )
        }
        Err(GrantError::InvalidScope) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope is not available",
        ),
        Err(err) => {
            tracing::error!(error = %err, grant_type, "token request failed");
            server_error()
        }
    }
}

fn token_answer(tokens: Tokens) -> Value {
    let mut body = json!({
        "access_token": tokens.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "scope": tokens.scope,
    });
    if let Some(refresh) = tokens.refresh_token {
        body["refresh_token"] = Value::from(refresh.expose());
    }
    body
}

/// Client credentials with a `resource` (RFC 8707): a service's own token for the one service it
/// names, for a call no user is behind ([`workload_token::issue`]). Only for a workload that
/// proved itself with its certificate, which the token is then bound to.
fn workload_token(
    state: &AppState,
    client: &Client,
    presented: Presenter<'_>,
    params: &Params,
) -> Response {
    let (Ok(Some(resource)), Ok(scope)) = (params.one("resource"), params.one("scope")) else {
        return invalid_request("resource and scope may be given once each");
    };
    let (Some(actor), Some(Peer::Workload(_)), Some(certificate)) =
        (client.workload(), presented.peer, presented.certificate)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "only a workload authenticated by its certificate gets a token of its own",
        );
    };
    let settings = &state.config.settings;
    let targets = delegation::audience_services(&settings.trust_domain, &[resource.to_owned()]);
    let Some(&[audience]) = targets.as_deref() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "unknown resource",
        );
    };
    let ctx = WorkloadTokenContext {
        signer: &state.signer,
        trust_domain: &settings.trust_domain,
        issuer: &settings.issuer,
        ttl_secs: Config::secs(state.config.internal_token_ttl),
        now: now_unix(),
    };
    let request = WorkloadTokenRequest {
        actor,
        actor_certificate: certificate.0.clone(),
        audience,
        scope,
    };
    match workload_token::issue(&ctx, request) {
        Ok(token) => no_store_json(json!({
            "access_token": token.jwt,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "scope": token.scope,
        })),
        Err(WorkloadTokenError::InvalidTarget) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "this workload may not have a token of its own for this resource",
        ),
        Err(WorkloadTokenError::InvalidScope) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope is not available",
        ),
        Err(WorkloadTokenError::Signing(err)) => {
            tracing::error!(error = %err, "issuing a workload token failed");
            server_error()
        }
    }
}

/// The caller of an exchange as the TLS layer saw it.
#[derive(Debug, Clone, Copy)]
struct Presenter<'a> {
    peer: Option<&'a Peer>,
    certificate: Option<&'a CertThumbprint>,
}

/// RFC 8693. Two kinds of request, by subject token type:
/// - an opaque access token, from the gateway only: the first hop (E2E mode: one token for the
///   whole chain; exchange mode: a token for the first service alone, bound to the gateway);
/// - an internal JWT, from a service (authenticated by `tls_client_auth`), in exchange mode only:
///   the next hop ([`delegation::exchange_hop`]).
async fn token_exchange(
    state: &AppState,
    client: &Client,
    presented: Presenter<'_>,
    params: &Params,
) -> Response {
    let (Ok(subject_token), Ok(subject_token_type), Ok(requested_token_type), Ok(scope)) = (
        params.one("subject_token"),
        params.one("subject_token_type"),
        params.one("requested_token_type"),
        params.one("scope"),
    ) else {
        return invalid_request("a parameter is repeated");
    };
    let Some(subject_token) = subject_token else {
        return invalid_request("subject_token is required");
    };
    // Delegation here is the STS's own policy, from the caller's certificate, never a token the
    // caller sends: say so rather than ignore one (RFC 8693 §2.1 makes `actor_token` optional).
    if params.one("actor_token").ok().flatten().is_some()
        || params.one("actor_token_type").ok().flatten().is_some()
    {
        return invalid_request(
            "actor_token is not accepted: the actor is the workload that authenticated the request",
        );
    }
    if requested_token_type.is_some_and(|t| t != TOKEN_TYPE_JWT) {
        return invalid_request("only JWTs can be issued");
    }
    let settings = &state.config.settings;
    let audience: Vec<String> = params.all("audience").map(str::to_owned).collect();
    let Some(targets) = delegation::audience_services(&settings.trust_domain, &audience) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "unknown audience",
        );
    };
    let exchange_mode = settings.trust_mode == TrustMode::Exchange;
    match subject_token_type {
        Some(TOKEN_TYPE_ACCESS_TOKEN) if client.is_gateway() => {
            let first_hop = if exchange_mode {
                let ([target], Some(certificate)) = (targets.as_slice(), presented.certificate)
                else {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_target",
                        "exchange mode issues tokens for one audience, over mutual TLS",
                    );
                };
                Some(FirstHop {
                    actor: settings.trust_domain.id_of(Workload::Gateway),
                    certificate: certificate.0.clone(),
                    audience_scopes: delegation::hop_scopes(Workload::Gateway, *target),
                })
            } else {
                None
            };
            first_hop_exchange(state, client, subject_token, audience, first_hop).await
        }
        Some(TOKEN_TYPE_JWT) if exchange_mode => {
            let actor = match (client.workload(), presented.peer, presented.certificate) {
                (Some(actor), Some(Peer::Workload(_)), Some(certificate)) => (actor, certificate),
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "unauthorized_client",
                        "only a workload authenticated by its certificate exchanges internal tokens",
                    );
                }
            };
            let [target] = targets.as_slice() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "exchange mode issues tokens for one audience",
                );
            };
            next_hop_exchange(
                state,
                actor,
                *target,
                subject_token,
                scope.unwrap_or_default(),
            )
            .await
        }
        _ => invalid_request("this client may not exchange this kind of subject token"),
    }
}

async fn next_hop_exchange(
    state: &AppState,
    (actor, certificate): (Workload, &CertThumbprint),
    audience: Workload,
    subject_token: &str,
    scope: &str,
) -> Response {
    let settings = &state.config.settings;
    let ctx = HopContext {
        signer: &state.signer,
        controls: &settings.controls,
        trust_domain: &settings.trust_domain,
        issuer: &settings.issuer,
        internal_ttl_secs: Config::secs(state.config.internal_token_ttl),
        now: now_unix(),
    };
    let request = HopRequest {
        actor,
        actor_certificate: certificate.0.clone(),
        subject_token,
        audience,
        scope,
    };
    match delegation::exchange_hop(&ctx, request).await {
        Ok(token) => no_store_json(json!({
            "access_token": token.jwt,
            "issued_token_type": TOKEN_TYPE_JWT,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "scope": token.scope,
        })),
        // RFC 8693 §2.2.2: an invalid or unacceptable subject token is `invalid_request`.
        Err(HopError::InvalidSubject) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the subject token is not valid for this actor",
        ),
        Err(HopError::InvalidTarget) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "this actor may not reach this audience",
        ),
        Err(HopError::InvalidScope) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope is not available",
        ),
        Err(HopError::Signing(err)) => {
            tracing::error!(error = %err, "hop exchange failed");
            server_error()
        }
    }
}

async fn first_hop_exchange(
    state: &AppState,
    client: &Client,
    subject_token: &str,
    audience: Vec<String>,
    first_hop: Option<FirstHop>,
) -> Response {
    let settings = &state.config.settings;
    let ctx = ExchangeContext {
        pool: &state.pool,
        signer: &state.signer,
        controls: &settings.controls,
        issuer: &settings.issuer,
        internal_ttl_secs: Config::secs(state.config.internal_token_ttl),
        now: now_unix(),
    };
    let audiences = audience.join(" ");
    match exchange(&ctx, subject_token, audience, first_hop).await {
        Ok(exchanged) => {
            tracing::info!(
                security_event = "token_exchanged",
                client_id = %client.id,
                user_id = %exchanged.user_id,
                audience = %audiences,
                scope = %exchanged.scope,
                "an opaque token exchanged for an internal token"
            );
            no_store_json(json!({
                "access_token": exchanged.jwt,
                "issued_token_type": TOKEN_TYPE_JWT,
                "token_type": "Bearer",
                "expires_in": exchanged.expires_in,
                "scope": exchanged.scope,
            }))
        }
        Err(ExchangeError::InactiveSubject) => {
            tracing::info!(
                security_event = "token_refused",
                grant_type = "token-exchange",
                client_id = %client.id,
                reason = "inactive_subject",
                "no exchange: the subject token is not active"
            );
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the subject token is not active",
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "token exchange failed");
            server_error()
        }
    }
}
