//! The REST API: where a request from the gateway lands.
//!
//! Every route here sits behind [`require_token`]: the service verifies the internal token itself
//! and does not take the gateway's word for who is calling. Only `/health` is open. Handlers are
//! thin: check the scope, parse the path, call [`crate::domain`], shape the answer.

mod accounts;
mod error;
pub mod openapi;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use baton_api::problem;
use baton_token::http::require_token;
use serde_json::{Value, json};

use crate::app::AppState;

/// Larger than any request this API takes; anything bigger is refused before it is read.
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The REST routes, the token check in front of them, and `/health` beside them.
pub fn routes(state: AppState) -> Router {
    let verified = Router::new()
        .route("/v1/accounts", get(accounts::list).post(accounts::open))
        .route("/v1/accounts/{id}", get(accounts::show))
        .route("/v1/accounts/{id}/freeze", post(accounts::freeze))
        .route("/v1/accounts/{id}/unfreeze", post(accounts::unfreeze))
        .route("/v1/accounts/{id}/deposits", post(accounts::deposit))
        // `route_layer`: the token check runs only for routes that exist, so an unknown path is a
        // plain 404 rather than a 401 that confirms nothing but wastes a verification.
        .route_layer(from_fn_with_state(state.verifier.clone(), require_token))
        .method_not_allowed_fallback(problem::method_not_allowed);
    Router::new()
        .route("/health", get(health))
        .merge(verified)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(state)
}

/// Liveness, for the test kit and the deployment's probes. Says nothing a caller could use.
async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "trust_mode": state.trust_mode.to_string() }))
}
