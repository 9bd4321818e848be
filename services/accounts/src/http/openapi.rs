//! The accounts service's API description, generated from its handlers and types.

use baton_api::Problem;
use baton_api::openapi::BearerAuth;
use utoipa::OpenApi;

use super::accounts::{self, AccountList, AccountView, Deposit, DepositView, OpenAccount};
use crate::domain::{AccountStatus, Currency};

#[derive(OpenApi)]
#[openapi(
    info(title = "Baton accounts", description = "Accounts and their balances, and the back office's functions on them."),
    paths(
        accounts::list,
        accounts::show,
        accounts::open,
        accounts::freeze,
        accounts::unfreeze,
        accounts::deposit,
    ),
    components(schemas(
        AccountView,
        AccountList,
        AccountStatus,
        Currency,
        OpenAccount,
        Deposit,
        DepositView,
        Problem,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Your accounts"),
        (name = "back office", description = "Admin functions"),
    ),
)]
struct ApiDoc;

/// The accounts service's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
