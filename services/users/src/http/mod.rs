//! The REST API: where a request from the gateway lands.
//!
//! Every route here sits behind `require_token` (the skeleton puts it there, see
//! `baton_service::router`): the service verifies the internal token itself and does not take the
//! gateway's word for who is calling. Handlers are thin: check the scope, parse the path, call
//! [`crate::domain`], shape the answer.

mod error;
pub mod openapi;
mod users;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

/// The REST routes. The skeleton puts the token check in front of them and `/health` beside them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/users", get(users::list))
        .route("/v1/users/me", get(users::me).patch(users::update_me))
        .route("/v1/users/{id}", get(users::by_id))
}
