//! The STS's HTTP API.
//!
//! | route | who calls it | what it does |
//! |---|---|---|
//! | `POST /v1/login` | clients, through the gateway | password + TOTP → opaque access token |
//! | `POST /oauth2/token` | the gateway (client auth) | opaque token → internal JWT (RFC 8693) |
//! | `GET /.well-known/jwks.json` | every service | the public signing keys |
//! | `GET /health` | `just up`, probes | liveness and the trust mode |

mod login;
mod token;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use baton_platform::controls::announce_lab_mode;
use baton_platform::problem;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use sqlx::AnyPool;

use crate::config::Config;
use crate::domain::password::Passwords;
use crate::domain::signing::Signer;

/// Login and token requests are small; anything bigger is not one.
const BODY_LIMIT: usize = 16 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: AnyPool,
    pub passwords: Passwords,
    pub signer: Arc<Signer>,
}

/// The STS's router, without a socket: tests can call it with `oneshot`.
pub fn router(state: AppState) -> Router {
    let controls = state.config.common.controls.clone();
    Router::new()
        .route("/v1/login", post(login::login))
        .route("/oauth2/token", post(token::token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/health", get(health))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            controls,
            announce_lab_mode,
        ))
        .with_state(state)
}

async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    Json(state.signer.jwks())
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "trust_mode": state.config.common.trust_mode.to_string() }))
}
