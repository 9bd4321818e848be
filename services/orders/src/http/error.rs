//! How each way an order can fail becomes a problem, in one table a reader can check: invalid
//! input is 422, a refused payment is 404/409/422, an unreachable peer is 503, too many orders is
//! 429, a supplier answer orders will not use is 502. Bodies are fixed text. The shared cases (a
//! problem already chosen, a storage failure logged once and answered with a fixed 500) are
//! `baton_api::ApiError`'s.

use axum::http::StatusCode;
use baton_api::{ApiError, Problem};

use crate::domain::{ItemsError, LimitError, PlaceError, PricingError, QuoteRefusal, RefundError};
use crate::storage::StorageError;
use crate::supplier::SupplierError;
use crate::upstream::{BuyerError, DebitFailure, RefundFailure};

impl From<RefundError> for ApiError {
    fn from(err: RefundError) -> Self {
        let problem = match err {
            RefundError::Storage(err) => return err.into(),
            RefundError::NotFound => Problem::not_found(),
            RefundError::Forbidden | RefundError::Upstream(RefundFailure::Refused) => {
                Problem::forbidden()
            }
            RefundError::NotPaid(status) => Problem::conflict("not-paid", "The order is not paid")
                .with_detail(format!(
                    "only a paid order can be refunded; this one is {}",
                    status.as_str()
                )),
            RefundError::Upstream(RefundFailure::Invalid) => {
                Problem::unprocessable("the accounts service refused the refund as invalid")
            }
            RefundError::Upstream(RefundFailure::Unknown) => Problem::unavailable()
                .with_detail("the refund's outcome is unknown; asking again is safe"),
        };
        problem.into()
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        ApiError::storage(err)
    }
}

impl From<PlaceError> for ApiError {
    fn from(err: PlaceError) -> Self {
        let problem = match err {
            PlaceError::Storage(err) => return err.into(),
            PlaceError::Limit(LimitError::TooManyOrders { retry_after_secs }) => {
                Problem::too_many_requests()
                    .with_detail(
                        "too many orders in a short time; retry after `Retry-After` seconds",
                    )
                    .with_retry_after(u64::try_from(retry_after_secs).unwrap_or(1))
            }
            PlaceError::Limit(LimitError::TooManyItems { max }) => {
                Problem::unprocessable(format!("an order holds at most {max} items in all"))
            }
            PlaceError::KeyReused => Problem::unprocessable(
                "this `Idempotency-Key` was used for a different request; use a new key",
            ),
            PlaceError::KeyInProgress => Problem::conflict(
                "request-in-progress",
                "A request with this key is in progress",
            )
            .with_detail("retry later with the same `Idempotency-Key`"),
            PlaceError::Supplier(SupplierError::OutOfStock)
            | PlaceError::Quote(QuoteRefusal::OutOfStock) => {
                Problem::conflict("out-of-stock", "Out of stock")
                    .with_detail("the supplier has none of an item in stock")
            }
            PlaceError::Supplier(SupplierError::Unavailable) => Problem::unavailable()
                .with_detail("the supplier did not answer in time; nothing was charged"),
            PlaceError::Supplier(SupplierError::BadAnswer) | PlaceError::Quote(_) => bad_supplier(),
            PlaceError::AccountId => Problem::unprocessable("`account_id` must be a UUID"),
            PlaceError::Items(err) => Problem::unprocessable(items_detail(err)),
            PlaceError::Pricing(PricingError::UnknownSku) => {
                Problem::unprocessable("an item is not in the catalogue")
            }
            PlaceError::Pricing(PricingError::MixedCurrencies) => {
                Problem::unprocessable("all items must be in one currency")
            }
            PlaceError::Pricing(PricingError::Overflow) => {
                Problem::unprocessable("the order total is too large")
            }
            PlaceError::Buyer(BuyerError::NoProfile) => {
                Problem::unprocessable("the buyer has no profile")
            }
            PlaceError::PaymentNotAllowed => Problem::forbidden(),
            PlaceError::Buyer(BuyerError::Unavailable) | PlaceError::Prepare => {
                Problem::unavailable()
                    .with_detail("a service orders needs did not answer; nothing was charged")
            }
            PlaceError::PreviouslyFailed(order) => {
                Problem::conflict("payment-failed", "The order was not paid").with_detail(format!(
                    "order {order}, which this key placed, was not paid; the key is free again"
                ))
            }
            // The handler answers a pending order with 202 and the order itself; this is only
            // reached where no order can be shown.
            PlaceError::Pending(order) => Problem::unavailable().with_detail(format!(
                "order {order} is pending: its payment is not settled yet"
            )),
            PlaceError::Payment { failure, .. } => match failure {
                DebitFailure::NoSuchAccount => Problem::not_found().with_detail("no such account"),
                DebitFailure::Frozen => Problem::conflict("account-frozen", "Account frozen")
                    .with_detail("the account is frozen; nothing can be paid from it"),
                DebitFailure::InsufficientFunds => {
                    Problem::conflict("insufficient-funds", "Insufficient funds")
                        .with_detail("the account's balance does not cover the order")
                }
                DebitFailure::CurrencyMismatch => {
                    Problem::unprocessable("the items are not in the account's currency")
                }
                DebitFailure::Invalid => {
                    Problem::unprocessable("the payment was refused as invalid")
                }
                DebitFailure::Voided => Problem::conflict("payment-failed", "The order was not paid")
                    .with_detail("the order was settled as not paid; nothing was taken, and placing it again is a new order"),
                // Never a refusal: an unknown outcome leaves the order pending.
                DebitFailure::Unknown => Problem::unavailable(),
            },
        };
        problem.into()
    }
}

/// 502: the supplier answered, but not with anything orders accepts.
fn bad_supplier() -> Problem {
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "bad-supplier-answer",
        "The supplier's answer was not acceptable",
    )
    .with_detail("the supplier's quote was refused; nothing was charged")
}

fn items_detail(err: ItemsError) -> &'static str {
    match err {
        ItemsError::Count => "an order has 1 to 20 items",
        ItemsError::Sku => "a sku is uppercase letters, digits and dashes",
        ItemsError::Quantity => "a quantity is 1 to 100",
        ItemsError::DuplicateSku => "each sku may appear once",
    }
}
