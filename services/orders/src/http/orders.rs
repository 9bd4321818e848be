//! `POST /v1/orders`, `GET /v1/orders`, `GET /v1/orders/{id}`, and the back office's
//! `POST /v1/orders/{id}/refund`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_api::input::{PageParams, PageQuery, Valid};
use baton_api::openapi::{Forbidden, InvalidPage, NotFound, Unauthorized};
use baton_api::problem::CONTENT_TYPE as PROBLEM;
use baton_api::{ApiError, Problem, request_id};
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::http::require_scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::app::AppState;
use crate::domain::{
    self, IdempotencyKey, Line, NewOrder, Order, OrderId, OrderStatus, PlaceError, Placed,
};
use crate::storage;

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
    #[schema(min_items = 1, max_items = 20)]
    pub items: Vec<PlaceItem>,
    /// A webhook to notify (`POST`, JSON) once the order is paid. `https` only, to a host on the
    /// service's allow-list that resolves to public addresses only; webhooks are off unless the
    /// operator allow-lists hosts. Delivery is best effort and never affects the order.
    #[validate(length(min = 1, max = 2048, message = "must be 1 to 2048 characters"))]
    #[schema(
        format = "uri",
        min_length = 1,
        max_length = 2048,
        pattern = "^https://",
        example = "https://hooks.example.com/orders"
    )]
    pub notify_url: Option<String>,
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

/// The request header that makes placing an order safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Places an order and pays for it from the named account.
///
/// Send an `Idempotency-Key` (1 to 64 printable characters, kept 24 hours) to make a retry safe:
/// the same key with the same body answers the first order again, charged once; the same key
/// with another body is refused. The key is optional; without it a retry is a new order.
///
/// The payment runs on its own, whatever the client does: an answer that takes too long, or a
/// payment whose outcome is not known yet, is a `202 Accepted` with the order's `Location`;
/// reading the order then shows how its payment went (`pending`, then `paid` or `failed`).
#[utoipa::path(post, path = "/v1/orders", tag = "orders",
    security(("bearer" = ["orders:write"])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 64, pattern = "^[!-~]{1,64}$",
        description = "1 to 64 printable ASCII characters; the same key and body place the order once")),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "The order, paid (or, for a repeated idempotency key, the order the first request placed)", body = OrderView,
            headers(("location" = String, description = "The order's URL"))),
        (status = 202, description = "The order is written and its payment not settled yet (still running, or its outcome unknown after an interruption): it is `pending`; read it at `Location` until it is `paid` or `failed`, or retry with the same `Idempotency-Key`", body = OrderView,
            headers(("location" = String, description = "The order's URL"))),
        Unauthorized, Forbidden,
        (status = 400, description = "The body is not JSON, or the `Idempotency-Key` is malformed", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such account, or not the caller's", body = Problem, content_type = PROBLEM),
        (status = 409, description = "Insufficient funds, the account is frozen, an item is out of stock, a request with the same idempotency key is still in progress, or the order that key placed was not paid", body = Problem, content_type = PROBLEM),
        (status = 422, description = "A field is unknown or breaks its rule, too many items, the `notify_url` is refused, or the idempotency key was used for another request", body = Problem, content_type = PROBLEM),
        (status = 429, description = "The buyer placed the most orders the window allows", body = Problem, content_type = PROBLEM,
            headers(("retry-after" = String, description = "Seconds until another order is allowed"))),
        (status = 502, description = "The supplier answered with something orders does not accept; nothing was charged", body = Problem, content_type = PROBLEM),
        (status = 503, description = "A service it needs did not answer before the order was written; nothing was charged", body = Problem, content_type = PROBLEM),
    ))]
pub async fn place(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Valid(body): Valid<PlaceOrder>,
) -> Result<Response, ApiError> {
    require_scope(&principal, scope::ORDERS_WRITE)?;
    let key = idempotency_key(&headers)?;
    if let Some(url) = &body.notify_url {
        state.notifier.guard().check(url).await.map_err(|refusal| {
            Problem::unprocessable(format!("`notify_url` is refused: {refusal}"))
        })?;
    }
    let items = body
        .items
        .into_iter()
        .map(|item| (item.sku, item.quantity))
        .collect();
    let mut new = NewOrder::parse(&body.account_id, items)?;
    new.notify_url = body.notify_url;
    let id = OrderId::random();
    // The payment runs on a task of its own: the client hanging up, or the gateway's timeout
    // dropping this handler, cannot cancel a debit half way.
    let payment = tokio::spawn(request_id::carry(pay(
        state.clone(),
        principal,
        new,
        id,
        key,
    )));
    let placed = match tokio::time::timeout(state.answer_within, payment).await {
        Ok(Ok(placed)) => placed,
        Ok(Err(_)) => return Err(Problem::internal().into()),
        Err(_) => Err(PlaceError::Pending(id)),
    };
    match placed {
        Ok(Placed { order, .. }) => Ok(answer(StatusCode::CREATED, order)),
        Err(PlaceError::Pending(id)) => match storage::orders::find(&state.db, id).await? {
            Some(order) => Ok(answer(StatusCode::ACCEPTED, order)),
            // Not written yet: still pricing past the wait. Nothing has been charged.
            None => Err(Problem::unavailable()
                .with_detail(
                    "the order is still being priced; retry with the same `Idempotency-Key`",
                )
                .into()),
        },
        Err(err) => Err(err.into()),
    }
}

/// Places the order on behalf of `principal` and, once it is paid, notifies its webhook.
async fn pay(
    state: AppState,
    principal: Principal,
    new: NewOrder,
    id: OrderId,
    key: Option<IdempotencyKey>,
) -> Result<Placed, PlaceError> {
    let notify_url = new.notify_url.clone();
    let placed = domain::place::place(&state.placing(), &principal, new, id, key).await;
    if let (
        Ok(Placed {
            order,
            replayed: false,
        }),
        Some(url),
    ) = (&placed, notify_url)
    {
        state.notifier.notify_in_background(url, order_paid(order));
    }
    placed
}

fn answer(status: StatusCode, order: Order) -> Response {
    let location = format!("/v1/orders/{}", order.id);
    (
        status,
        [(header::LOCATION, location)],
        Json(OrderView::from(order)),
    )
        .into_response()
}

/// The `Idempotency-Key` header, if sent; a malformed one is a 400.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(raw) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .and_then(IdempotencyKey::parse)
        .map(Some)
        .ok_or_else(|| {
            Problem::bad_request("`Idempotency-Key` must be 1 to 64 printable ASCII characters")
        })
}

/// The webhook's payload: what happened, to which order, for how much. No buyer, no account.
fn order_paid(order: &Order) -> serde_json::Value {
    serde_json::json!({
        "event": "order.paid",
        "order_id": order.id.to_string(),
        "total_minor": order.total_minor,
        "currency": order.currency,
    })
}

/// One page of the caller's own orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders",
    security(("bearer" = ["orders:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the caller's orders, newest first", body = OrderList),
        InvalidPage, Unauthorized, Forbidden,
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PageParams(query): PageParams,
) -> Result<Json<OrderList>, ApiError> {
    require_scope(&principal, scope::ORDERS_READ)?;
    let page = query.checked(&state.controls)?;
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
        Unauthorized, Forbidden, NotFound,
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
        Unauthorized, Forbidden, NotFound,
        (status = 409, description = "The order is not paid (pending, failed, or already refunded)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "The refund's outcome is unknown; asking again is safe", body = Problem, content_type = PROBLEM),
    ))]
pub async fn refund(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    require_scope(&principal, scope::ORDERS_ADMIN)?;
    let id = OrderId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let order = domain::refund::refund(
        &state.db,
        &state.upstreams.current(),
        &state.faults,
        &principal,
        &state.guard,
        id,
    )
    .await?;
    Ok(Json(OrderView::from(order)))
}
