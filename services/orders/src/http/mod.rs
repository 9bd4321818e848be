//! The REST API: where a request from the gateway lands.
//!
//! Every route here sits behind `require_token` (the skeleton puts it there, see
//! `baton_service::router`): the service verifies the internal token itself and does not take the
//! gateway's word for who is calling. Handlers are thin: check the scope, parse the path, call
//! [`crate::domain`], shape the answer.

mod error;
pub mod openapi;
mod orders;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

/// The REST routes. The skeleton puts the token check in front of them and `/health` beside them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/orders", get(orders::list).post(orders::place))
        .route("/v1/orders/{id}", get(orders::show))
        .route("/v1/orders/{id}/refund", post(orders::refund))
}
