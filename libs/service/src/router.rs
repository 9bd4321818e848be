//! The one router a service answers through: its REST routes behind the token check, its gRPC
//! services, `/health`, problem+json for everything undeclared, and the lab-mode header and the
//! request id on every answer. A function of its inputs, without a socket, so a test can call it with `oneshot`.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::{Json, Router};
use baton_api::lab::announce_lab_mode;
use baton_api::{problem, request_id};
use baton_platform::{Settings, TrustMode};
use baton_token::Verifier;
use baton_token::http::require_token;
use serde_json::{Value, json};

use crate::Service;

/// Larger than any request a service's API takes; anything bigger is refused before it is read.
const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The whole service `S`: what [`crate::Application`] serves.
pub fn router<S: Service>(state: S::State, settings: &Settings, verifier: Arc<Verifier>) -> Router {
    let verified = S::routes()
        // `route_layer`: the token check runs only for routes that exist, so an unknown path is a
        // plain 404 rather than a 401 that confirms nothing but wastes a verification.
        .route_layer(from_fn_with_state(verifier, require_token))
        .method_not_allowed_fallback(problem::method_not_allowed);
    let rest = Router::new()
        .route("/health", get(health).with_state(settings.trust_mode))
        .merge(verified)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(state.clone());
    let mut router = Router::new().merge(rest);
    if let Some(grpc) = S::grpc(&state) {
        // tonic's own fallback answers in gRPC; ours answers problem+json, and axum allows one.
        router = router.merge(grpc.into_axum_router().reset_fallback());
    }
    router
        .fallback(problem::not_found)
        .layer(from_fn_with_state(
            settings.controls.clone(),
            announce_lab_mode,
        ))
        // Outermost, so every answer carries its request's id. Only workloads reach a service.
        .layer(from_fn_with_state(
            request_id::Incoming::FromWorkloads,
            request_id::assign,
        ))
}

/// Liveness, for the test kit and the deployment's probes. Says nothing a caller could use.
async fn health(State(trust_mode): State<TrustMode>) -> Json<Value> {
    Json(json!({ "status": "ok", "trust_mode": trust_mode.to_string() }))
}
