//! `GET /v1/accounts`, `GET /v1/accounts/{id}`, `POST /v1/accounts`, and the back office's
//! `POST /v1/accounts/{id}/freeze`, `/unfreeze` and `/deposits`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_api::input::{JsonBody, PageParams, PageQuery, Valid};
use baton_api::openapi::{Forbidden, InvalidBody, InvalidPage, NotFound, Unauthorized};
use baton_api::problem::CONTENT_TYPE as PROBLEM;
use baton_api::{ApiError, Problem};
use baton_platform::Control;
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::http::require_scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::app::AppState;
use crate::domain::backoffice::{self, MAX_DEPOSIT_MINOR, deposit_reference};
use crate::domain::{self, Account, AccountId, AccountStatus, Amount, Credit, Currency};

/// An account as the API shows it. The owner is left out: it is always the caller (or, for an
/// admin, someone the admin already knows they are looking at).
// `deny_unknown_fields` does nothing for serializing: it makes the schema say
// `additionalProperties: false`, which the tests hold every answer to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountView {
    #[schema(format = Uuid)]
    pub id: String,
    pub currency: Currency,
    /// In minor units (cents).
    pub balance_minor: i64,
    pub status: AccountStatus,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        Self {
            id: account.id.to_string(),
            currency: account.currency,
            balance_minor: account.balance_minor,
            status: account.status,
            created_at: account.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// The body of `POST /v1/accounts`. Unknown fields are refused: a client that sends
/// `"balance_minor"` should learn at once that it is not how money is made.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAccount {
    #[validate(length(equal = 3, message = "must be a three-letter ISO 4217 code"))]
    #[schema(value_type = Currency, example = "EUR")]
    pub currency: String,
}

/// LAB MODE ONLY (`service.mass_assignment` off): the body bound the careless way, straight onto
/// the stored account, so a caller can choose its owner, opening balance and status.
#[derive(Debug, Deserialize)]
struct CarelessAccountBinding {
    currency: String,
    owner_id: Option<Uuid>,
    balance_minor: Option<i64>,
    status: Option<String>,
}

/// The body of `POST /v1/accounts/{id}/deposits`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deposit {
    #[validate(range(
        min = 1,
        max = MAX_DEPOSIT_MINOR,
        message = "must be between 1 and 10000000 minor units"
    ))]
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub amount_minor: i64,
    #[validate(length(equal = 3, message = "must be a three-letter ISO 4217 code"))]
    #[schema(value_type = Currency)]
    pub currency: String,
    /// The caller's idempotency reference: the same deposit sent twice is made once.
    #[validate(regex(
        path = *REFERENCE,
        message = "must be 1 to 48 letters, digits, '.', '_' or '-'"
    ))]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,48}$")]
    pub reference: String,
}

static REFERENCE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "a constant pattern, covered by a unit test"
    )]
    regex::Regex::new(r"^[A-Za-z0-9._-]{1,48}$").expect("the reference pattern compiles")
});

/// What a deposit answers: the ledger entry and the account after it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositView {
    pub entry_id: String,
    pub account: AccountView,
}

/// One page of the caller's own accounts.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts",
    security(("bearer" = ["accounts:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the caller's accounts, oldest first", body = AccountList),
        InvalidPage, Unauthorized, Forbidden,
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PageParams(query): PageParams,
) -> Result<Json<AccountList>, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_READ)?;
    let page = query.checked(&state.controls)?;
    let accounts = domain::account::list_own(&state.db, &principal, page).await?;
    Ok(Json(AccountList {
        accounts: accounts.into_iter().map(AccountView::from).collect(),
    }))
}

/// One account: the caller's own, or anyone's for an admin; otherwise (and for an id that is not
/// a UUID) the same 404 as for an account that does not exist.
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts",
    security(("bearer" = ["accounts:read"])),
    params(("id" = String, Path, description = "The account's id (a UUID)")),
    responses(
        (status = 200, description = "The account", body = AccountView),
        Unauthorized, Forbidden, NotFound,
    ))]
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
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts",
    security(("bearer" = ["accounts:write"])),
    request_body = OpenAccount,
    responses(
        (status = 201, description = "The new, empty account", body = AccountView,
            headers(("location" = String, description = "The account's URL"))),
        InvalidBody, Unauthorized, Forbidden,
    ))]
pub async fn open(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBody,
) -> Result<Response, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_WRITE)?;
    let account = if state.controls.is_on(Control::ServiceMassAssignment) {
        let body: OpenAccount = body.bind()?;
        domain::account::open(&state.db, &principal, currency(&body.currency)?).await?
    } else {
        let body: CarelessAccountBinding = serde_json::from_value(body.0)
            .map_err(|err| Problem::unprocessable(err.to_string()))?;
        let status = body.status.as_deref().and_then(AccountStatus::parse);
        domain::account::open_as_told(
            &state.db,
            &principal,
            currency(&body.currency)?,
            body.owner_id,
            body.balance_minor,
            status,
        )
        .await?
    };
    let location = format!("/v1/accounts/{}", account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(AccountView::from(account)),
    )
        .into_response())
}

/// Back office: stops all spending from an account.
#[utoipa::path(post, path = "/v1/accounts/{id}/freeze", tag = "back office",
    security(("bearer" = ["accounts:admin"])),
    params(("id" = String, Path, description = "The account's id (a UUID)")),
    responses(
        (status = 200, description = "The account, now frozen", body = AccountView),
        Unauthorized, Forbidden, NotFound,
    ))]
pub async fn freeze(
    state: State<AppState>,
    principal: Principal,
    id: Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    set_frozen(state, principal, id, true).await
}

/// Back office: allows spending from a frozen account again.
#[utoipa::path(post, path = "/v1/accounts/{id}/unfreeze", tag = "back office",
    security(("bearer" = ["accounts:admin"])),
    params(("id" = String, Path, description = "The account's id (a UUID)")),
    responses(
        (status = 200, description = "The account, active again", body = AccountView),
        Unauthorized, Forbidden, NotFound,
    ))]
pub async fn unfreeze(
    state: State<AppState>,
    principal: Principal,
    id: Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    set_frozen(state, principal, id, false).await
}

async fn set_frozen(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
    frozen: bool,
) -> Result<Json<AccountView>, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_ADMIN)?;
    let id = AccountId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let account = backoffice::set_frozen(&state.db, &principal, &state.guard, id, frozen).await?;
    Ok(Json(AccountView::from(account)))
}

/// Back office: puts money into an account, once per reference.
#[utoipa::path(post, path = "/v1/accounts/{id}/deposits", tag = "back office",
    security(("bearer" = ["accounts:admin"])),
    params(("id" = String, Path, description = "The account's id (a UUID)")),
    request_body = Deposit,
    responses(
        (status = 201, description = "The deposit (made now, or the first time this reference was used)", body = DepositView),
        InvalidBody, Unauthorized, Forbidden, NotFound,
        (status = 409, description = "The reference was used for another amount", body = Problem, content_type = PROBLEM),
    ))]
pub async fn deposit(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
    Valid(body): Valid<Deposit>,
) -> Result<Response, ApiError> {
    require_scope(&principal, scope::ACCOUNTS_ADMIN)?;
    let id = AccountId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let credit = Credit {
        account: id,
        amount: Amount::parse(body.amount_minor)
            .ok_or_else(|| Problem::unprocessable("amount_minor: must be positive"))?,
        currency: currency(&body.currency)?,
        reference: deposit_reference(&body.reference)
            .ok_or_else(|| Problem::unprocessable("reference: not a valid reference"))?,
    };
    let credited = backoffice::deposit(&state.db, &principal, &state.guard, &credit).await?;
    let account = domain::account::get(&state.db, &principal, &state.guard, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(DepositView {
            entry_id: credited.entry_id,
            account: AccountView::from(account),
        }),
    )
        .into_response())
}

fn currency(code: &str) -> Result<Currency, Problem> {
    Currency::parse(code)
        .map_err(|_| Problem::unprocessable("currency: must be one of EUR, USD, GBP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_and_plain() {
        assert!(REFERENCE.is_match("payroll-2026-11.batch_3"));
        for bad in ["", "with space", "x/y", &"r".repeat(49), "ümlaut"] {
            assert!(!REFERENCE.is_match(bad), "{bad}");
        }
    }
}
