//! The accounts API's one error type: every failure becomes an RFC 9457 problem.
//!
//! A storage failure is logged here, once, in the request's span, and answered with a fixed
//! 500 body: the caller never sees the database's words.

use axum::response::{IntoResponse, Response};
use baton_api::Problem;

use crate::domain::{AccountError, CreditError};
use crate::storage::StorageError;

#[derive(Debug)]
pub enum ApiError {
    /// A problem already chosen by the handler (404, 403, 422, ...).
    Problem(Problem),
    /// Something broke below us; the cause stays in the log.
    Storage(StorageError),
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::NotFound => Self::Problem(Problem::not_found()),
            AccountError::Forbidden => Self::Problem(Problem::forbidden()),
            AccountError::Storage(err) => Self::Storage(err),
        }
    }
}

impl From<CreditError> for ApiError {
    fn from(err: CreditError) -> Self {
        match err {
            CreditError::Account(err) => Self::from(err),
            CreditError::CurrencyMismatch => Self::Problem(Problem::unprocessable(
                "currency: does not match the account's",
            )),
            CreditError::ReferenceReused => Self::Problem(Problem::conflict(
                "reference-reused",
                "This reference was already used for a different amount",
            )),
        }
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
