//! `GET /v1/accounts`, `GET /v1/accounts/{id}` and `POST /v1/accounts`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_platform::Problem;
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::http::require_scope;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::app::AppState;
use crate::domain::{self, Account, AccountId, Currency};

/// An account as the API shows it. The owner is left out: it is always the caller (or, for an
/// admin, someone the admin already knows they are looking at).
#[derive(Debug, Serialize)]
pub struct AccountView {
    pub id: String,
    pub currency: Currency,
    pub balance_minor: i64,
    pub created_at: i64,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        Self {
            id: account.id.to_string(),
            currency: account.currency,
            balance_minor: account.balance_minor,
            created_at: account.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// The body of `POST /v1/accounts`. Unknown fields are refused: a client that sends
/// `"balance_minor"` should learn at once that it is not how money is made.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccount {
    pub currency: String,
}

/// The caller's own accounts.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AccountList>, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_READ)?;
    let accounts = domain::account::list_own(&state.db, &principal).await?;
    Ok(Json(AccountList {
        accounts: accounts.into_iter().map(AccountView::from).collect(),
    }))
}

/// One account: the caller's own, or anyone's for an admin; otherwise (and for an id that is not
/// a UUID) the same 404 as for an account that does not exist.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_READ)?;
    let id = AccountId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let account = domain::account::get(&state.db, &principal, &state.guard, id).await?;
    Ok(Json(AccountView::from(account)))
}

/// Opens an empty account in one of the supported currencies.
pub async fn open(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<OpenAccount>, JsonRejection>,
) -> Result<Response, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_WRITE)?;
    let Json(body) = body?;
    let currency = Currency::parse(&body.currency)
        .map_err(|_| Problem::unprocessable("`currency` must be one of EUR, USD, GBP"))?;
    let account = domain::account::open(&state.db, &principal, currency).await?;
    let location = format!("/v1/accounts/{}", account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(AccountView::from(account)),
    )
        .into_response())
}
