//! How the accounts domain's failures become problems. The shared cases (a problem already
//! chosen, a storage failure logged once and answered with a fixed 500) are
//! `baton_api::ApiError`'s; what is here is the accounts service's own table.

use baton_api::{ApiError, Problem};

use crate::domain::{AccountError, CreditError};
use crate::storage::StorageError;

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        ApiError::storage(err)
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::NotFound => Problem::not_found().into(),
            AccountError::Forbidden => Problem::forbidden().into(),
            AccountError::Storage(err) => err.into(),
        }
    }
}

impl From<CreditError> for ApiError {
    fn from(err: CreditError) -> Self {
        match err {
            CreditError::Account(err) => err.into(),
            CreditError::CurrencyMismatch => {
                Problem::unprocessable("currency: does not match the account's").into()
            }
            CreditError::ReferenceReused => Problem::conflict(
                "reference-reused",
                "This reference was already used for a different amount",
            )
            .into(),
            CreditError::AboveCeiling => {
                Problem::unprocessable("amount_minor: the balance would pass its ceiling").into()
            }
            // Refunds come over gRPC only; a deposit never meets these.
            CreditError::NoMatchingDebit | CreditError::MoreThanDebited => {
                Problem::unprocessable("amount_minor: no debit this credit may reverse").into()
            }
        }
    }
}
