//! `GET` and `POST /oauth2/authorize`: the authorization endpoint (RFC 6749 §4.1, RFC 7636) and
//! the login pages behind it.
//!
//! 1. `GET` checks the client and its redirect URI (exactly as registered; when either is wrong the
//!    user sees an error page and is never redirected, RFC 6749 §4.1.2.1), then the rest of the
//!    request (other errors go back to the client, with its `state`), stores the request as a
//!    *login* under a random handle, and shows the password form.
//! 2. `POST` with username and password, then (for users enrolled in TOTP) `POST` with the code.
//! 3. On success: a single-use code, and `303 See Other` to the redirect URI with `code`, `state`
//!    and `iss` (RFC 9207).
//!
//! **CSRF.** The first `GET` sets a `__Host-` cookie holding a random browser binding; the login
//! stores its hash, and every `POST` must carry the cookie that matches. A forged cross-site form
//! (login CSRF: signing the victim in as the attacker) has the handle of the attacker's own login
//! but not the victim's browser's cookie. The cookie is `SameSite=Strict`, `HttpOnly`, `Secure`.
//!
//! **Enumeration and guessing.** Unknown user or wrong password: the same page, status and
//! Argon2id work. Throttling (per account and source, per source, per account across sources)
//! comes first, and a login ends after [`MAX_CODE_ATTEMPTS`] second-factor codes.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use baton_platform::Control;
use baton_platform::time::now_unix;
use baton_workload::Peer;
use secrecy::SecretString;
use subtle::ConstantTimeEq;

use super::AppState;
use super::browser::{BINDING_COOKIE, binding_of, client_source, internal, redirect};
use super::oauth::Params;
use super::page::{self, HANDLE_FIELD};
use crate::domain::client::{self, GRANT_AUTHORIZATION_CODE};
use crate::domain::login::{self, LoginError};
use crate::domain::opaque::{self, HANDLE_PREFIX, OpaqueToken};
use crate::domain::password::PasswordError;
use crate::domain::pkce;
use crate::domain::throttle::{Budgets, Counted, Locked};
use crate::storage::{self, Credentials, LoginRequestRow};

/// The longest `state` and `scope` an authorization request may carry.
const MAX_STATE_LEN: usize = 512;
const MAX_SCOPE_LEN: usize = 1024;
/// How long a login may take, from the first page to the last.
const LOGIN_TTL_SECS: i64 = 600;
/// Second-factor codes one login may be sent (`sts.code_attempts`); then it is over. Enough for a
/// person who mistyped, or whose code rolled over while they typed it.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

const WRONG_CREDENTIALS: &str = "Wrong username or password.";
const WRONG_CODE: &str = "That code is not valid. Wait for the next one and try again.";
/// The answer when too many logins wait for a password check: the control's own refusal.
pub const TRY_AGAIN_SHORTLY: &str = "Too many sign-ins at once. Try again in a moment.";
/// The answer once a login's second-factor attempts are spent: the control's own refusal.
pub const CODE_ATTEMPTS_SPENT: &str =
    "Too many wrong codes for this sign-in. Go back to the application and start again.";
const START_AGAIN: &str =
    "This sign-in has expired or is not valid. Go back to the application and start again.";

/// `GET /oauth2/authorize`.
pub async fn start(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let one = |name: &str| params.one(name).ok().flatten();
    let (Ok(Some(client_id)), Ok(Some(redirect_uri))) =
        (params.one("client_id"), params.one("redirect_uri"))
    else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The application sent an incomplete sign-in request.",
        );
    };
    let client = match client::registered(&state.pool, client_id).await {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "could not look the client up");
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            );
        }
    };
    let Some(client) = client.filter(|c| c.may_use(GRANT_AUTHORIZATION_CODE)) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The application is not registered here.",
        );
    };
    if !client.has_redirect_uri(redirect_uri) {
        tracing::warn!(
            security_event = "redirect_uri_mismatch",
            client_id,
            "refused an unregistered redirect URI"
        );
        return page::error(
            StatusCode::BAD_REQUEST,
            "The application asked to return to an address it has not registered.",
        );
    }
    // From here on the redirect URI is trusted, and errors go back to the client.
    let state_param = one("state");
    let back = |error: &'static str| {
        redirect(
            redirect_uri,
            &[("error", error)],
            state_param,
            &state.config.public_url,
        )
    };
    if one("response_type") != Some("code") {
        return back("unsupported_response_type");
    }
    // Every request is stored until it expires: bounded fields keep an anonymous flood of them
    // from filling the database with megabytes each.
    let oversized = state_param.is_some_and(|s| s.len() > MAX_STATE_LEN)
        || one("scope").is_some_and(|s| s.len() > MAX_SCOPE_LEN);
    if oversized {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The application sent an oversized sign-in request.",
        );
    }
    let challenge = match pkce::accept_challenge(
        &state.config.settings.controls,
        one("code_challenge"),
        one("code_challenge_method"),
    ) {
        Ok(challenge) => challenge,
        Err(err) => {
            tracing::info!(reason = %err, "authorization request refused");
            return back("invalid_request");
        }
    };
    let (binding, fresh) = match binding_of(&headers) {
        Some(binding) => (binding, false),
        None => (OpaqueToken::generate_with("").expose().to_owned(), true),
    };
    let handle = OpaqueToken::generate_with(HANDLE_PREFIX);
    let row = LoginRequestRow {
        binding_hash: opaque::hash(&binding),
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope: one("scope").unwrap_or_default().to_owned(),
        state: state_param.map(str::to_owned),
        code_challenge: challenge.as_ref().map(|c| c.value.clone()),
        challenge_method: challenge.map(|c| c.method),
        user_id: None,
        username: None,
        expires_at: now_unix() + LOGIN_TTL_SECS,
    };
    if let Err(err) = storage::insert_login_request(&state.pool, &handle.hash(), &row).await {
        tracing::error!(error = %err, "could not store the login");
        return page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side.",
        );
    }
    let mut response = page::login(StatusCode::OK, handle.expose(), &client.id, None);
    if fresh {
        let cookie = format!(
            "{BINDING_COOKIE}={binding}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={LOGIN_TTL_SECS}"
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// `POST /oauth2/authorize`: one step of the login.
pub async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let Ok(Some(handle)) = params.one(HANDLE_FIELD) else {
        return page::error(StatusCode::BAD_REQUEST, START_AGAIN);
    };
    let handle_hash = opaque::hash(handle);
    let login = match storage::login_request(&state.pool, &handle_hash).await {
        Ok(login) => login,
        Err(err) => return internal(&err),
    };
    let Some(login) = login.filter(|l| l.expires_at > now_unix()) else {
        return page::error(StatusCode::BAD_REQUEST, START_AGAIN);
    };
    let bound = binding_of(&headers).is_some_and(|binding| {
        bool::from(
            opaque::hash(&binding)
                .as_bytes()
                .ct_eq(login.binding_hash.as_bytes()),
        )
    });
    if !bound {
        tracing::warn!(
            security_event = "login_csrf",
            "a login form arrived without its browser binding"
        );
        return page::error(StatusCode::FORBIDDEN, START_AGAIN);
    }
    let step = Step {
        state: &state,
        handle,
        handle_hash: &handle_hash,
        login: &login,
        source: client_source(&headers, peer.as_deref(), &state),
    };
    match (&login.user_id, &login.username) {
        (Some(user_id), Some(username)) => step.second_factor(user_id, username, &params).await,
        _ => step.password(&params).await,
    }
}

/// One login step's context.
struct Step<'a> {
    state: &'a AppState,
    handle: &'a str,
    handle_hash: &'a str,
    login: &'a LoginRequestRow,
    source: String,
}

impl Step<'_> {
    /// The budgets a login counts against, as the lab switches leave them.
    fn budgets(&self) -> Budgets {
        Budgets {
            account_wide: self
                .state
                .config
                .settings
                .controls
                .is_on(Control::StsAccountBudget),
        }
    }

    fn throttled(&self, username: &str) -> Option<Response> {
        if !self
            .state
            .config
            .settings
            .controls
            .is_on(Control::StsLoginThrottle)
        {
            return None;
        }
        let Locked(wait) = self
            .state
            .throttle
            .check(username, &self.source, self.budgets())
            .err()?;
        tracing::warn!(
            security_event = "login_throttled",
            "a login attempt was refused by the throttle"
        );
        let text = format!(
            "Too many attempts. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        let mut response = page::error(StatusCode::TOO_MANY_REQUESTS, &text);
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        Some(response)
    }

    async fn password(&self, params: &Params) -> Response {
        let (Ok(Some(username)), Ok(Some(password))) =
            (params.one("username"), params.one("password"))
        else {
            return page::login(
                StatusCode::BAD_REQUEST,
                self.handle,
                &self.login.client_id,
                Some(WRONG_CREDENTIALS),
            );
        };
        // Bounds before any work: an Argon2id hash of a megabyte password is a denial of service.
        if !(1..=64).contains(&username.len()) || !(1..=256).contains(&password.len()) {
            return page::login(
                StatusCode::BAD_REQUEST,
                self.handle,
                &self.login.client_id,
                Some(WRONG_CREDENTIALS),
            );
        }
        if let Some(refused) = self.throttled(username) {
            return refused;
        }
        let state = self.state;
        let checked = login::check_password(
            &state.pool,
            &state.passwords,
            username,
            SecretString::from(password.to_owned()),
        )
        .await;
        match checked {
            Ok(credentials)
                if login::needs_second_factor(&state.config.settings.controls, &credentials) =>
            {
                let passed = storage::login_request_password_passed(
                    &state.pool,
                    self.handle_hash,
                    &credentials.user_id,
                    &credentials.username,
                )
                .await;
                match passed {
                    Ok(()) => page::second_factor(StatusCode::OK, self.handle, None),
                    Err(err) => internal(&err),
                }
            }
            Ok(credentials) => self.finish(&credentials).await,
            Err(LoginError::Rejected) => {
                self.count_failure(username);
                tracing::info!(
                    security_event = "login_failed",
                    step = "password",
                    username,
                    client_id = %self.login.client_id,
                    "login refused"
                );
                page::login(
                    StatusCode::UNAUTHORIZED,
                    self.handle,
                    &self.login.client_id,
                    Some(WRONG_CREDENTIALS),
                )
            }
            Err(LoginError::Password(PasswordError::Busy)) => {
                tracing::warn!(
                    security_event = "login_queue_full",
                    "a login was refused: too many are waiting for a password check"
                );
                let mut response = page::error(StatusCode::SERVICE_UNAVAILABLE, TRY_AGAIN_SHORTLY);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Err(err) => internal(&err),
        }
    }

    async fn second_factor(&self, user_id: &str, username: &str, params: &Params) -> Response {
        if let Some(refused) = self.throttled(username) {
            return refused;
        }
        let state = self.state;
        if let Some(spent) = self.take_code_attempt().await {
            return spent;
        }
        let code = params.one("totp_code").ok().flatten().unwrap_or_default();
        let credentials = match storage::credentials_by_id(&state.pool, user_id).await {
            Ok(Some(credentials)) => credentials,
            Ok(None) => return page::error(StatusCode::BAD_REQUEST, START_AGAIN),
            Err(err) => return internal(&err),
        };
        let checked = login::check_second_factor(
            &state.pool,
            state.sealer.as_ref(),
            &state.config.settings.controls,
            &credentials,
            code,
            now_unix(),
        )
        .await;
        match checked {
            Ok(()) => self.finish(&credentials).await,
            Err(LoginError::Rejected) => {
                self.count_failure(username);
                tracing::info!(
                    security_event = "login_failed",
                    step = "second_factor",
                    username,
                    user_id = %credentials.user_id,
                    client_id = %self.login.client_id,
                    "second factor refused"
                );
                page::second_factor(StatusCode::UNAUTHORIZED, self.handle, Some(WRONG_CODE))
            }
            Err(err) => internal(&err),
        }
    }

    /// Counts a failed step against every budget; a soft lock of the account is a security event.
    fn count_failure(&self, username: &str) {
        let counted = self
            .state
            .throttle
            .failed(username, &self.source, self.budgets());
        if let Counted::AccountLocked(wait) = counted {
            tracing::warn!(
                security_event = "account_soft_locked",
                username = ?username,
                lock_secs = wait.as_secs(),
                "failed logins from many sources soft-locked an account"
            );
        }
    }

    /// Takes one of the login's second-factor attempts; the answer that ends the login when none
    /// is left (`sts.code_attempts`).
    async fn take_code_attempt(&self) -> Option<Response> {
        let state = self.state;
        if !state
            .config
            .settings
            .controls
            .is_on(Control::StsCodeAttempts)
        {
            return None;
        }
        match storage::take_code_attempt(&state.pool, self.handle_hash, MAX_CODE_ATTEMPTS).await {
            Ok(true) => None,
            Ok(false) => {
                if let Err(err) = storage::delete_login_request(&state.pool, self.handle_hash).await
                {
                    return Some(internal(&err));
                }
                tracing::warn!(
                    security_event = "login_code_attempts_spent",
                    "a login ended after too many wrong second-factor codes"
                );
                Some(page::error(StatusCode::BAD_REQUEST, CODE_ATTEMPTS_SPENT))
            }
            Err(err) => Some(internal(&err)),
        }
    }

    /// The user is who they say: end the login and send the code to the client.
    async fn finish(&self, credentials: &Credentials) -> Response {
        let state = self.state;
        state
            .throttle
            .succeeded(&credentials.username, &self.source);
        match storage::delete_login_request(&state.pool, self.handle_hash).await {
            Ok(true) => {}
            // Another request finished this login first: one login, one code.
            Ok(false) => return page::error(StatusCode::BAD_REQUEST, START_AGAIN),
            Err(err) => return internal(&err),
        }
        let grants = super::grants(state);
        let login = self.login;
        match grants
            .issue_code(login, &credentials.user_id, &credentials.roles)
            .await
        {
            Ok(code) => {
                tracing::info!(
                    security_event = "login_succeeded",
                    user_id = %credentials.user_id,
                    client_id = %login.client_id,
                    "logged in; an authorization code issued"
                );
                redirect(
                    &login.redirect_uri,
                    &[("code", code.expose())],
                    login.state.as_deref(),
                    &state.config.public_url,
                )
            }
            Err(crate::domain::grants::GrantError::InvalidScope) => redirect(
                &login.redirect_uri,
                &[("error", "invalid_scope")],
                login.state.as_deref(),
                &state.config.public_url,
            ),
            Err(err) => internal(&err),
        }
    }
}
