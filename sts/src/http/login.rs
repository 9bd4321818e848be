//! `POST /v1/login`: username, password and TOTP code in, opaque access token out.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use baton_platform::Problem;
use baton_platform::time::now_unix;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::domain::login::{self, Attempt, LoginError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: SecretString,
    #[serde(default)]
    totp_code: Option<String>,
}

impl LoginRequest {
    /// Bounds checked before any work: an Argon2id hash of a megabyte password is a denial of
    /// service, not a login.
    fn into_attempt(self) -> Result<Attempt, Problem> {
        let username_ok = (1..=64).contains(&self.username.len());
        let password_ok = (1..=256).contains(&self.password.expose_secret().len());
        let code_ok = self.totp_code.as_ref().is_none_or(|code| code.len() <= 16);
        if !(username_ok && password_ok && code_ok) {
            return Err(Problem::unprocessable(
                "`username` must be 1-64 bytes, `password` 1-256 bytes and `totp_code` at most 16",
            ));
        }
        Ok(Attempt {
            unverified_username: self.username,
            unverified_password: self.password,
            unverified_totp_code: self.totp_code,
        })
    }
}

pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let Json(request) = body?;
    let attempt = request.into_attempt()?;
    let ttl = i64::try_from(state.config.access_token_ttl.as_secs()).unwrap_or(600);
    match login::login(&state.pool, &state.passwords, attempt, now_unix(), ttl).await {
        Ok(issued) => {
            let body = json!({
                "access_token": issued.token.expose(),
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            });
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(LoginError::Rejected) => {
            tracing::info!("login refused");
            Err(Problem::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "login-failed",
                "Username, password or one-time code is wrong",
            ))
        }
        Err(err) => {
            tracing::error!(error = %err, "login failed");
            Err(Problem::internal())
        }
    }
}
