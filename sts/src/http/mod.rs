//! The STS's HTTP API. Clients reach the public endpoints through the gateway, at the same paths.
//!
//! | route | who calls it | what it does |
//! |---|---|---|
//! | `GET, POST /oauth2/authorize` | browsers, the CLI | login pages; code + PKCE (RFC 6749 §4.1, RFC 7636) |
//! | `POST /oauth2/token` | clients; the gateway | code, refresh, client credentials; token exchange (RFC 8693) |
//! | `POST /oauth2/introspect` | confidential clients, workloads | is a token active (RFC 7662) |
//! | `POST /oauth2/revoke` | clients | revoke a token or a grant (RFC 7009) |
//! | `GET /.well-known/oauth-authorization-server` | clients | metadata (RFC 8414) |
//! | `GET /.well-known/jwks.json` | every service | the public signing keys |
//! | `GET /health` | `just up`, probes | liveness and the trust mode |

mod authorize;
mod browser;
mod introspect;
mod metadata;
mod oauth;
mod page;
mod token;

pub use authorize::{CODE_ATTEMPTS_SPENT, MAX_CODE_ATTEMPTS, TRY_AGAIN_SHORTLY};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use baton_api::lab::announce_lab_mode;
use baton_api::{problem, request_id};
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use sqlx::AnyPool;

use crate::config::Config;
use crate::domain::password::Passwords;
use crate::domain::sealing::KeyProvider;
use crate::domain::signing::Signer;
use crate::domain::throttle::Throttle;

pub use browser::{BINDING_COOKIE, CLIENT_ADDR_HEADER};

/// Login and token requests are small; anything bigger is not one.
const BODY_LIMIT: usize = 16 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: AnyPool,
    pub passwords: Passwords,
    pub signer: Arc<Signer>,
    /// Opens TOTP seeds for the second login step.
    pub sealer: Arc<dyn KeyProvider>,
    pub throttle: Throttle,
    /// How many times the JWKS was served: what each service's refresh limit holds down.
    pub jwks_served: Arc<AtomicU64>,
}

/// The STS's router, without a socket: tests can call it with `oneshot`.
pub fn router(state: AppState) -> Router {
    let controls = state.config.settings.controls.clone();
    Router::new()
        .route(
            "/oauth2/authorize",
            get(authorize::start).post(authorize::submit),
        )
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/introspect", post(introspect::introspect))
        .route("/oauth2/revoke", post(introspect::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/jwks.json", get(jwks))
        .route("/health", get(health))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            controls,
            announce_lab_mode,
        ))
        // Outermost, so every answer carries its request's id. The STS listens behind mTLS only:
        // its public endpoints are relayed by the gateway, which names each request itself.
        .layer(axum::middleware::from_fn_with_state(
            request_id::Incoming::FromWorkloads,
            request_id::assign,
        ))
        .with_state(state)
}

async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    state.jwks_served.fetch_add(1, Ordering::Relaxed);
    Json(state.signer.jwks())
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "trust_mode": state.config.settings.trust_mode.to_string() }))
}

/// The grants, as this STS is configured, at this moment.
fn grants(state: &AppState) -> crate::domain::grants::Grants<'_> {
    crate::domain::grants::Grants {
        pool: &state.pool,
        controls: &state.config.settings.controls,
        faults: &state.config.settings.faults,
        access_ttl_secs: crate::config::Config::secs(state.config.access_token_ttl),
        refresh_ttl_secs: crate::config::Config::secs(state.config.refresh_token_ttl),
        now: baton_platform::time::now_unix(),
    }
}
