//! A handler's error, and the one place it becomes an answer.
//!
//! Every service's handlers return `Result<_, ApiError>`. Most failures are a [`Problem`] chosen
//! where the cause is understood: a handler's own check, or a domain error that the service's
//! `http/error.rs` maps to one (`impl From<LookupError> for ApiError`), so each service keeps the
//! table of its own cases and nothing else. A failure in storage is different: its cause is
//! logged here, once, in the request's span, and the caller gets the fixed 500 body. The caller
//! never sees the database's words.

use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// A handler's error. Convert into it with `?`: a [`Problem`] converts as it is; each service
/// converts its storage and domain errors (see [`ApiError::storage`]).
#[derive(Debug)]
pub enum ApiError {
    /// A problem already chosen (404, 403, 422, ...), answered as it is.
    Problem(Problem),
    /// Something broke in storage, below the API; the cause stays in the log.
    Storage(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A storage failure: logged when answered, never shown.
    pub fn storage(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage(Box::new(err))
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
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
