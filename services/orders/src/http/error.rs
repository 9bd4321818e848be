//! The orders API's one error type: every failure becomes an RFC 9457 problem.
//!
//! This is also where each way an order can fail gets its status code, in one table a reader can
//! check: invalid input is 422, a refused payment is 404/409/422, an unreachable peer is 503.
//! Bodies are fixed text; storage failures are logged here, once, and answered with a fixed 500.

use axum::response::{IntoResponse, Response};
use baton_platform::Problem;

use crate::domain::{ItemsError, PlaceError, PricingError, RefundError};
use crate::storage::StorageError;
use crate::upstream::{BuyerError, DebitFailure, RefundFailure};

#[derive(Debug)]
pub enum ApiError {
    /// A problem already chosen (404, 403, 422, ...).
    Problem(Problem),
    /// Something broke below us; the cause stays in the log.
    Storage(StorageError),
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
    }
}

impl From<RefundError> for ApiError {
    fn from(err: RefundError) -> Self {
        let problem = match err {
            RefundError::Storage(err) => return Self::Storage(err),
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
        Self::Problem(problem)
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

impl From<PlaceError> for ApiError {
    fn from(err: PlaceError) -> Self {
        let problem = match err {
            PlaceError::Storage(err) => return Self::Storage(err),
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
            PlaceError::Buyer(BuyerError::Unavailable) | PlaceError::Prepare => {
                Problem::unavailable()
            }
            PlaceError::Payment { failure, order } => match failure {
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
                // The id is ours and well formed; telling the client lets it look the order up
                // later instead of placing it again.
                DebitFailure::Unknown => Problem::unavailable().with_detail(format!(
                    "order {order} is pending: its payment is not confirmed"
                )),
            },
        };
        Self::Problem(problem)
    }
}

fn items_detail(err: ItemsError) -> &'static str {
    match err {
        ItemsError::Count => "an order has 1 to 20 items",
        ItemsError::Sku => "a sku is uppercase letters, digits and dashes",
        ItemsError::Quantity => "a quantity is 1 to 100",
        ItemsError::DuplicateSku => "each sku may appear once",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Problem(problem) => problem.into_response(),
            Self::Storage(err) => {
                tracing::error!(error = %err, "storage failed");
                Problem::internal().into_response()
            }
        }
    }
}
