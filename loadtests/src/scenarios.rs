//! The four kinds of simulated user, and how many of each.
//!
//! Each is modelled on a person, not on an endpoint: it logs in once (on start) and then repeats
//! what that person does, with a think time between rounds.
//!
//! | scenario | who | one round |
//! | --- | --- | --- |
//! | `customer-browsing` | bob | his accounts, his orders, one order in full, his profile |
//! | `customer-ordering` | bob | places an order with a fresh `Idempotency-Key`, every fifth time sends it again (a retry must answer the same order, charged once), reads it back |
//! | `admin-back-office` | carol | lists users and orders, tops up a customer's account (a deposit with a reference), reads the account |
//! | `login-storm` | bob | logs in afresh (the whole code flow, an Argon2id hash at the STS), calls one API with the new token |
//!
//! Customers are bob because he has no second factor: any number of simulated customers can log
//! in at once. Carol has TOTP, so simulated admins share her one-time codes through
//! [`crate::codes`] and may wait up to 30 s for a fresh one at start, as a person would.
//! Customers order the cheapest item, and the admins' deposits keep the account in funds; an
//! order refused for insufficient funds is the right answer, not an error: it is counted as a
//! success (its 409 still shows in the status-code table).

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use baton_platform::demo::{BOB, CAROL};
use goose::goose::GooseResponse;
use goose::prelude::*;
use serde_json::{Value, json};

use crate::requests::{Call, call, read_json, send};
use crate::session::{self, Session, Shared, custom};

/// How many users of each scenario Goose starts, relatively (`BATON_LOAD_WEIGHTS`,
/// `browse=6,order=3,admin=1,storm=1`). A weight of 0 leaves the scenario out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub browse: usize,
    pub order: usize,
    pub admin: usize,
    pub storm: usize,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            browse: 6,
            order: 3,
            admin: 1,
            storm: 1,
        }
    }
}

impl FromStr for Weights {
    type Err = String;

    /// `name=weight` pairs, comma-separated; names not given keep their default.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut weights = Self::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not `name=weight`"))?;
            let value: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("`{value}` is not a whole number"))?;
            match name.trim() {
                "browse" => weights.browse = value,
                "order" => weights.order = value,
                "admin" => weights.admin = value,
                "storm" => weights.storm = value,
                other => {
                    return Err(format!(
                        "`{other}` is not a scenario (browse, order, admin, storm)"
                    ));
                }
            }
        }
        if weights.browse + weights.order + weights.admin + weights.storm == 0 {
            return Err("every weight is 0".to_owned());
        }
        Ok(weights)
    }
}

/// The scenarios with a weight above 0, ready to register.
pub fn all(weights: Weights, shared: &Arc<Shared>) -> Result<Vec<Scenario>, GooseError> {
    let plan = [
        (weights.browse, browsing(shared)?),
        (weights.order, ordering(shared)?),
        (weights.admin, back_office(shared)?),
        (weights.storm, login_storm(shared)?),
    ];
    plan.into_iter()
        .filter(|(weight, _)| *weight > 0)
        .map(|(weight, scenario)| scenario.set_weight(weight))
        .collect()
}

/// What a transaction function returns: a future borrowing its user.
type Step<'r> = Pin<Box<dyn Future<Output = TransactionResult> + Send + 'r>>;

/// A transaction named `name` that runs `step` with the run's shared state.
fn transaction(
    name: &str,
    shared: &Arc<Shared>,
    step: for<'r> fn(&'r mut GooseUser, Arc<Shared>) -> Step<'r>,
) -> Transaction {
    let shared = shared.clone();
    Transaction::new(function(move |user| step(user, shared.clone()))).set_name(name)
}

/// Pins the closure's signature to the higher-ranked one Goose expects.
fn function<F>(f: F) -> goose::goose::TransactionFunction
where
    F: for<'r> Fn(&'r mut GooseUser) -> Step<'r> + Send + Sync + 'static,
{
    Arc::new(f)
}

// --- the scenarios ---------------------------------------------------------------------------

fn browsing(shared: &Arc<Shared>) -> Result<Scenario, GooseError> {
    Scenario::new("customer-browsing")
        .register_transaction(
            transaction("log in as a customer", shared, |u, s| {
                Box::pin(customer_logs_in(u, s))
            })
            .set_on_start(),
        )
        .register_transaction(transaction("browse", shared, |u, s| Box::pin(browse(u, s))))
        .set_wait_time(Duration::from_millis(200), Duration::from_millis(1000))
}

fn ordering(shared: &Arc<Shared>) -> Result<Scenario, GooseError> {
    Scenario::new("customer-ordering")
        .register_transaction(
            transaction("log in as a customer", shared, |u, s| {
                Box::pin(customer_logs_in(u, s))
            })
            .set_on_start(),
        )
        .register_transaction(transaction("place an order", shared, |u, s| {
            Box::pin(place_order(u, s))
        }))
        .set_wait_time(Duration::from_millis(500), Duration::from_millis(1500))
}

fn back_office(shared: &Arc<Shared>) -> Result<Scenario, GooseError> {
    Scenario::new("admin-back-office")
        .register_transaction(
            transaction("log in as an admin", shared, |u, s| {
                Box::pin(admin_logs_in(u, s))
            })
            .set_on_start(),
        )
        .register_transaction(transaction("back office", shared, |u, s| {
            Box::pin(back_office_round(u, s))
        }))
        .set_wait_time(Duration::from_millis(1000), Duration::from_millis(3000))
}

fn login_storm(shared: &Arc<Shared>) -> Result<Scenario, GooseError> {
    Scenario::new("login-storm")
        .register_transaction(
            transaction("connect", shared, |u, s| {
                Box::pin(async move { session::connect(u, &s).await })
            })
            .set_on_start(),
        )
        .register_transaction(transaction("log in afresh", shared, |u, s| {
            Box::pin(log_in_afresh(u, s))
        }))
        .set_wait_time(Duration::ZERO, Duration::from_millis(100))
}

// --- what each person does ---------------------------------------------------------------------

async fn customer_logs_in(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    session::connect(user, &shared).await?;
    let token = session::log_in(user, &shared, BOB).await?;
    let accounts = call(user, &token, Call::get("/v1/accounts")).await?;
    let account_id = accounts
        .pointer("/accounts/0/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(id) = &account_id {
        shared.note_account(id);
    }
    user.set_session_data(Session {
        token,
        account_id,
        order_ids: Vec::new(),
    });
    Ok(())
}

async fn admin_logs_in(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    session::connect(user, &shared).await?;
    let token = session::log_in(user, &shared, CAROL).await?;
    user.set_session_data(Session {
        token,
        account_id: None,
        order_ids: Vec::new(),
    });
    Ok(())
}

async fn browse(user: &mut GooseUser, _shared: Arc<Shared>) -> TransactionResult {
    let token = session::session(user)?.token;
    call(user, &token, Call::get("/v1/accounts")).await?;
    let orders = call(user, &token, Call::get("/v1/orders")).await?;
    if let Some(id) = orders.pointer("/orders/0/id").and_then(Value::as_str) {
        let path = format!("/v1/orders/{id}");
        call(user, &token, Call::get(&path).named("/v1/orders/{id}")).await?;
    }
    call(user, &token, Call::get("/v1/users/me")).await?;
    Ok(())
}

/// The cheapest item in the catalogue: the account lasts longest.
const SKU: &str = "BATON-STICKERS";

async fn place_order(user: &mut GooseUser, _shared: Arc<Shared>) -> TransactionResult {
    let session = session::session(user)?;
    let account_id = session
        .account_id
        .ok_or_else(|| custom("the customer has no account"))?;
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({ "account_id": account_id, "items": [{ "sku": SKU, "quantity": 1 }] });
    let place = Call::post("/v1/orders", body.clone()).idempotency_key(&key);
    let Some(order) = place_or_refuse(user, &session.token, place).await? else {
        return Ok(());
    };
    let id = order
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| custom("the placed order has no id"))?
        .to_owned();
    // A client that timed out retries with the same key: the answer must be the same order.
    let round = session.order_ids.len();
    if round % 5 == 4 {
        let retry = Call::post("/v1/orders", body)
            .idempotency_key(&key)
            .named("/v1/orders (retried key)");
        let again = call(user, &session.token, retry).await?;
        if again.get("id").and_then(Value::as_str) != Some(id.as_str()) {
            return Err(custom("a retried idempotency key placed a second order"));
        }
    }
    let path = format!("/v1/orders/{id}");
    call(
        user,
        &session.token,
        Call::get(&path).named("/v1/orders/{id}"),
    )
    .await?;
    if let Some(kept) = user.get_session_data_mut::<Session>() {
        kept.order_ids.push(id);
    }
    Ok(())
}

/// Places an order; `None` when the account is out of funds (a correct answer, recorded as a
/// success).
async fn place_or_refuse(
    user: &mut GooseUser,
    token: &str,
    place: Call,
) -> Result<Option<Value>, Box<TransactionError>> {
    let GooseResponse {
        mut request,
        response,
    } = send(user, token, &place).await?;
    let (status, body) = read_json(response).await;
    match status {
        Some(status) if status.is_success() => Ok(Some(body)),
        Some(reqwest::StatusCode::CONFLICT) if body.to_string().contains("insufficient-funds") => {
            user.set_success(&mut request)?;
            Ok(None)
        }
        _ => Err(custom(&format!(
            "POST /v1/orders answered {status:?}: {body}"
        ))),
    }
}

/// How much an admin tops an account up by: 50.00 EUR.
const DEPOSIT_MINOR: i64 = 5_000;

async fn back_office_round(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    let token = session::session(user)?.token;
    call(user, &token, Call::get("/v1/users")).await?;
    call(user, &token, Call::get("/v1/orders")).await?;
    let Some(account) = shared.some_account(user.weighted_users_index) else {
        return Ok(());
    };
    let reference = uuid::Uuid::new_v4().simple().to_string();
    let deposit =
        json!({ "amount_minor": DEPOSIT_MINOR, "currency": "EUR", "reference": reference });
    let path = format!("/v1/accounts/{account}/deposits");
    let call_deposit = Call::post(&path, deposit).named("/v1/accounts/{id}/deposits");
    call(user, &token, call_deposit).await?;
    let path = format!("/v1/accounts/{account}");
    call(user, &token, Call::get(&path).named("/v1/accounts/{id}")).await?;
    Ok(())
}

async fn log_in_afresh(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    let token = session::log_in(user, &shared, BOB).await?;
    call(
        user,
        &token,
        Call::get("/v1/accounts").named("/v1/accounts (fresh token)"),
    )
    .await?;
    Ok(())
}
