//! Logging a simulated user in, and what it keeps afterwards.
//!
//! Every simulated user logs in the way a person does, once: the authorization-code flow with
//! PKCE through the gateway (the STS's login page, the password, the one-time code for users who
//! have one, the code redeemed at `/oauth2/token`), driven by the same scripted browser as
//! `just token` (`baton_sts::login_client`). It then holds an opaque access token for the rest of
//! its life, as a real client does for the token's ten minutes.
//!
//! Goose measures requests it sends itself; the login's four requests go through the scripted
//! browser, so the whole login is recorded as one request named `log in (code flow)`, timed from
//! the first request to the token, failing when any step fails.

use std::sync::Arc;
use std::time::Instant;

use baton_platform::demo::DemoUser;
use baton_sts::login_client::LoginClient;
use goose::prelude::*;

use crate::codes::CodeBook;
use crate::target::Target;

/// The name the login is recorded under in Goose's reports.
pub const LOGIN_REQUEST: &str = "log in (code flow)";

/// What a simulated user keeps between its transactions.
#[derive(Debug, Clone)]
pub struct Session {
    /// The opaque access token (`bat_…`) the login returned.
    pub token: String,
    /// The user's own account, for customers who place orders.
    pub account_id: Option<String>,
    /// Orders this user has seen, for reading one back.
    pub order_ids: Vec<String>,
}

/// What every simulated user shares: the target, and the code book that keeps simulated users
/// who are the same demo person from spending each other's one-time codes.
#[derive(Debug)]
pub struct Shared {
    pub target: Target,
    pub codes: CodeBook,
    /// Accounts the customers of this run own: where the simulated admins make deposits.
    pub accounts: std::sync::Mutex<Vec<String>>,
}

impl Shared {
    pub fn new(target: Target) -> Arc<Self> {
        Arc::new(Self {
            target,
            codes: CodeBook::default(),
            accounts: std::sync::Mutex::default(),
        })
    }

    /// Notes a customer's account, for the admins.
    pub fn note_account(&self, id: &str) {
        if let Ok(mut accounts) = self.accounts.lock()
            && !accounts.iter().any(|known| known == id)
        {
            accounts.push(id.to_owned());
        }
    }

    /// One of the customers' accounts, picked by `n`.
    pub fn some_account(&self, n: usize) -> Option<String> {
        let accounts = self.accounts.lock().ok()?;
        (!accounts.is_empty()).then(|| accounts[n % accounts.len()].clone())
    }
}

/// Gives `user` its own HTTP client (trusting only the target's CA), once.
pub async fn connect(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let builder = shared
        .target
        .client_builder()
        .map_err(|err| custom(&format!("could not build the HTTP client: {err}")))?;
    user.set_client_builder(builder).await?;
    Ok(())
}

/// Logs `person` in through the code flow and returns the access token. The attempt is recorded
/// as one request, [`LOGIN_REQUEST`].
pub async fn log_in(
    user: &mut GooseUser,
    shared: &Shared,
    person: DemoUser,
) -> Result<String, Box<TransactionError>> {
    let started = Instant::now();
    let result = attempt(user, shared, person).await;
    let (ok, error) = match &result {
        Ok(_) => (true, None),
        Err(err) => (false, Some(err.to_string())),
    };
    user.record_custom_request_duration(
        "POST",
        LOGIN_REQUEST,
        started.elapsed(),
        ok,
        None,
        error.as_deref(),
    )
    .await?;
    result.map_err(|err| custom(&format!("{} could not log in: {err}", person.username)))
}

async fn attempt(user: &GooseUser, shared: &Shared, person: DemoUser) -> anyhow::Result<String> {
    let codes = match person.totp_seed {
        Some(seed) => vec![shared.codes.claim(person.username, seed).await?],
        None => Vec::new(),
    };
    let mut browser = LoginClient::new(user.client.clone(), &shared.target.base_url);
    let tokens = browser
        .log_in(person.username, person.password, &codes)
        .await?;
    Ok(tokens.access_token)
}

/// A transaction error with a message, for Goose's error summary.
pub fn custom(message: &str) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(message.to_owned()))
}

/// The session of a user that has logged in; an error for one that has not.
pub fn session(user: &GooseUser) -> Result<Session, Box<TransactionError>> {
    user.get_session_data::<Session>()
        .cloned()
        .ok_or_else(|| custom("this user has not logged in"))
}
