//! How the users domain's failures become problems. The shared cases (a problem already chosen,
//! a storage failure logged once and answered with a fixed 500) are `baton_api::ApiError`'s;
//! what is here is the users service's own table.

use baton_api::{ApiError, Problem};

use crate::domain::LookupError;
use crate::storage::StorageError;

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        ApiError::storage(err)
    }
}

impl From<LookupError> for ApiError {
    fn from(err: LookupError) -> Self {
        match err {
            LookupError::NotFound => Problem::not_found().into(),
            LookupError::Forbidden => Problem::forbidden().into(),
            LookupError::Storage(err) => err.into(),
        }
    }
}
