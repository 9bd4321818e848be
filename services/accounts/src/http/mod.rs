//! The REST API: where a request from the gateway lands.
//!
//! Every route here sits behind `require_token` (the skeleton puts it there, see
//! `baton_service::router`): the service verifies the internal token itself and does not take the
//! gateway's word for who is calling. Handlers are thin: check the scope, parse the path, call
//! [`crate::domain`], shape the answer.

mod accounts;
mod error;
pub mod openapi;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// The REST routes. The skeleton puts the token check in front of them and `/health` beside them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(accounts::list).post(accounts::open))
        .route("/v1/accounts/{id}", get(accounts::show))
        .route("/v1/accounts/{id}/freeze", post(accounts::freeze))
        .route("/v1/accounts/{id}/unfreeze", post(accounts::unfreeze))
        .route("/v1/accounts/{id}/deposits", post(accounts::deposit))
}
