//! `POST /v1/orders`, `GET /v1/orders`, `GET /v1/orders/{id}`, and the back office's
//! `POST /v1/orders/{id}/refund`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_platform::Problem;
use baton_platform::input::{Page, PageParams, PageQuery, Valid};
use baton_platform::problem::CONTENT_TYPE as PROBLEM;
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::http::require_scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::ApiError;
use crate::app::AppState;
use crate::domain::{self, Line, NewOrder, Order, OrderId, OrderStatus};

/// The body of `POST /v1/orders`. There is no buyer, status or total: the buyer is whoever the
/// token says, the status is the payment's, and the total is the catalogue's. A body naming any of
/// them is refused.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    #[validate(length(equal = 36, message = "must be a UUID"))]
    #[schema(format = Uuid)]
    pub account_id: String,
    #[validate(
        length(min = 1, max = 20, message = "an order has 1 to 20 items"),
        nested
    )]
    pub items: Vec<PlaceItem>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceItem {
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64, example = "BATON-MUG")]
    pub sku: String,
    #[validate(range(min = 1, max = 100, message = "must be between 1 and 100"))]
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
}

/// An order as the API shows it: no buyer (the caller, or someone staff already looked up).
// `deny_unknown_fields` does nothing for serializing: it makes the schema say
// `additionalProperties: false`, which the tests hold every answer to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderView {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: OrderStatus,
    pub total_minor: i64,
    pub currency: String,
    pub account_id: String,
    pub items: Vec<Line>,
    pub created_at: i64,
}

impl From<Order> for OrderView {
    fn from(order: Order) -> Self {
        Self {
            id: order.id.to_string(),
            status: order.status,
            total_minor: order.total_minor,
            currency: order.currency,
            account_id: order.account_id.hyphenated().to_string(),
            items: order.lines,
            created_at: order.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
}

/// Places an order and pays for it from the named account.
#[utoipa::path(post, path = "/v1/orders", tag = "orders",
    security(("bearer" = ["orders:write"])),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "The order, paid", body = OrderView,
            headers(("location" = String, description = "The order's URL"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No valid token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The token lacks `orders:write`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such account, or not the caller's", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Insufficient funds, or the account is frozen", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is unknown or breaks its rule", body = Problem, content_type = PROBLEM),
        (status = 503, description = "A service it needs did not answer; the order may be pending", body = Problem, content_type = PROBLEM),
    ))]
pub async fn place(
    State(state): State<AppState>,
    principal: Principal,
    Valid(body): Valid<PlaceOrder>,
) -> Result<Response, ApiError> {
    require_scope(&principal, scope::ORDERS_WRITE)?;
    let items = body
        .items
        .into_iter()
        .map(|item| (item.sku, item.quantity))
        .collect();
    let new = NewOrder::parse(&body.account_id, items)?;
    let order = domain::place::place(&state.db, &state.upstreams, &principal, new).await?;
    let location = format!("/v1/orders/{}", order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(OrderView::from(order)),
    )
        .into_response())
}

/// One page of the caller's own orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders",
    security(("bearer" = ["orders:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the caller's orders, newest first", body = OrderList),
        (status = 400, description = "The query does not parse", body = Problem, content_type = PROBLEM),
        (status = 401, description = "No valid token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The token lacks `orders:read`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "The page is past the limits", body = Problem, content_type = PROBLEM),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PageParams(query): PageParams,
) -> Result<Json<OrderList>, ApiError> {
    require_scope(&principal, scope::ORDERS_READ)?;
    let page = Page::checked(query, &state.controls)?;
    let orders = domain::order::list_own(&state.db, &principal, page).await?;
    Ok(Json(OrderList {
        orders: orders.into_iter().map(OrderView::from).collect(),
    }))
}

/// One order: the caller's own, or anyone's for an admin; otherwise (and for an id that is not a
/// UUID) the same 404 as for an order that does not exist.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    security(("bearer" = ["orders:read"])),
    params(("id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, description = "No valid token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "The token lacks `orders:read`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such order, or not one the caller may see", body = Problem, content_type = PROBLEM),
    ))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    require_scope(&principal, scope::ORDERS_READ)?;
    let id = OrderId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let order = domain::order::get(&state.db, &principal, &state.guard, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(Json(OrderView::from(order)))
}

/// Back office: gives a paid order's money back to the account that paid.
#[utoipa::path(post, path = "/v1/orders/{id}/refund", tag = "back office",
    security(("bearer" = ["orders:admin"])),
    params(("id" = String, Path, description = "The order's id (a UUID)")),
    responses(
        (status = 200, description = "The order, refunded", body = OrderView),
        (status = 401, description = "No valid token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "Not an admin, on an order the caller may see", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such order, or not one the caller may see", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The order is not paid (pending, or already refunded)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "The refund's outcome is unknown; asking again is safe", body = Problem, content_type = PROBLEM),
    ))]
pub async fn refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    require_scope(&principal, scope::ORDERS_ADMIN)?;
    let id = OrderId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let order =
        domain::refund::refund(&state.db, &state.upstreams, &principal, &state.guard, id).await?;
    Ok(Json(OrderView::from(order)))
}
