//! The orders service's API description, generated from its handlers and types.

use baton_api::Problem;
use baton_api::openapi::BearerAuth;
use utoipa::OpenApi;

use super::orders::{self, OrderList, OrderView, PlaceItem, PlaceOrder};
use crate::domain::{Line, OrderStatus};

#[derive(OpenApi)]
#[openapi(
    info(title = "Baton orders", description = "Placing orders and paying for them, and refunds."),
    paths(orders::place, orders::list, orders::show, orders::refund),
    components(schemas(OrderView, OrderList, OrderStatus, Line, PlaceOrder, PlaceItem, Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "orders", description = "Your orders"),
        (name = "back office", description = "Admin functions"),
    ),
)]
struct ApiDoc;

/// The orders service's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
