//! A scripted browser for the authorization-code flow: what `baton-login` (`just token`) and the
//! test kit use to log a user in exactly as a person would, through the gateway.
//!
//! It is a public client (`baton-cli`) doing the standard dance: a PKCE verifier and `state` of its
//! own, `GET /oauth2/authorize`, the password form, the one-time-code form when the page asks for
//! it, the code read from the redirect's `Location` (checking `state` and `iss`), and the code
//! redeemed at `/oauth2/token`. The redirect URI is never visited: nothing listens there, the
//! client only reads where it would have been sent (a native app's loopback listener would receive
//! it, RFC 8252 §7.3).

use rand::RngCore;
use rand::rngs::OsRng;
use reqwest::header;
use serde::Deserialize;

use crate::domain::client::{CLI_CLIENT_ID, CLI_REDIRECT_URI};
use crate::domain::pkce;

/// A failed login, described for a person.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FlowError(pub String);

fn fail(what: impl Into<String>) -> FlowError {
    FlowError(what.into())
}

/// A token answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: String,
    pub expires_in: i64,
}

/// One answer of the authorization endpoint, as a browser would see it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: reqwest::StatusCode,
    /// The login handle in the page's form, if it shows one.
    pub handle: Option<String>,
    /// Where a redirect sends the browser.
    pub location: Option<String>,
    pub body: String,
}

/// Drives the flow against `base_url` (the gateway).
#[derive(Debug, Clone)]
pub struct LoginClient {
    http: reqwest::Client,
    base_url: String,
    /// The browser-binding cookie, once the server set one.
    cookie: Option<String>,
}

/// A fresh random string of 43 base64url characters (a PKCE verifier, a `state`).
pub fn random_string() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl LoginClient {
    /// `http` must not follow redirects.
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.to_owned(),
            cookie: None,
        }
    }

    /// Logs `username` in and returns the tokens. `codes` gives the one-time codes to try, in
    /// order, if the STS asks for one.
    pub async fn log_in(
        &mut self,
        username: &str,
        password: &str,
        codes: &[String],
    ) -> Result<TokenSet, FlowError> {
        let verifier = random_string();
        let state = random_string();
        let challenge = pkce::s256(&verifier);
        let page = self
            .authorize(&[
                ("response_type", "code"),
                ("client_id", CLI_CLIENT_ID),
                ("redirect_uri", CLI_REDIRECT_URI),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", &state),
            ])
            .await?;
        let handle = page
            .handle
            .ok_or_else(|| fail(format!("no login form ({})", page.status)))?;
        let mut page = self
            .submit(&handle, &[("username", username), ("password", password)])
            .await?;
        for code in codes {
            if page.location.is_some() {
                break;
            }
            let Some(handle) = page.handle.clone() else {
                break;
            };
            page = self.submit(&handle, &[("totp_code", code)]).await?;
        }
        let location = page
            .location
            .ok_or_else(|| fail(format!("login refused ({})", page.status)))?;
        let code = code_from(&location, &state)?;
        self.redeem(&code, &verifier).await
    }

    /// `GET /oauth2/authorize` with `params`; remembers the cookie it sets.
    pub async fn authorize(&mut self, params: &[(&str, &str)]) -> Result<Page, FlowError> {
        let request = self
            .http
            .get(format!("{}/oauth2/authorize", self.base_url))
            .query(params);
        self.send(request).await
    }

    /// Sends later requests through `http`, keeping the browser binding: the same browser, on
    /// another network (a test moves it between addresses this way).
    pub fn move_to(&mut self, http: reqwest::Client) {
        self.http = http;
    }

    /// `POST /oauth2/authorize`: one step of the login form.
    pub async fn submit(
        &mut self,
        handle: &str,
        fields: &[(&str, &str)],
    ) -> Result<Page, FlowError> {
        let mut form: Vec<(&str, &str)> = vec![("request", handle)];
        form.extend_from_slice(fields);
        let request = self
            .http
            .post(format!("{}/oauth2/authorize", self.base_url))
            .form(&form);
        self.send(request).await
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Result<Page, FlowError> {
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = request
            .send()
            .await
            .map_err(|err| fail(format!("could not reach {}: {err}", self.base_url)))?;
        if let Some(set) = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        Ok(Page {
            status,
            handle: handle_in(&body),
            location,
            body,
        })
    }

    /// The authorization code grant.
    pub async fn redeem(&self, code: &str, verifier: &str) -> Result<TokenSet, FlowError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CLI_REDIRECT_URI),
            ("code_verifier", verifier),
            ("client_id", CLI_CLIENT_ID),
        ])
        .await
    }

    /// The refresh token grant (the answer carries the next refresh token).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, FlowError> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLI_CLIENT_ID),
        ])
        .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenSet, FlowError> {
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.base_url))
            .form(form)
            .send()
            .await
            .map_err(|err| fail(format!("could not reach {}: {err}", self.base_url)))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(fail(format!(
                "the token endpoint refused ({status}): {body}"
            )));
        }
        response
            .json()
            .await
            .map_err(|err| fail(format!("the token answer does not parse: {err}")))
    }
}

/// The login handle in a page's hidden form field.
fn handle_in(body: &str) -> Option<String> {
    const FIELD: &str = "name=\"request\" value=\"";
    let start = body.find(FIELD)? + FIELD.len();
    let rest = body.get(start..)?;
    Some(rest.get(..rest.find('"')?)?.to_owned())
}

/// The code from a redirect to our redirect URI, after checking `state`.
pub fn code_from(location: &str, expected_state: &str) -> Result<String, FlowError> {
    let query = location
        .strip_prefix(CLI_REDIRECT_URI)
        .and_then(|rest| rest.strip_prefix('?'))
        .ok_or_else(|| fail(format!("redirected somewhere unexpected: {location}")))?;
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    if get("state").as_deref() != Some(expected_state) {
        return Err(fail("the redirect's state is not ours"));
    }
    if let Some(error) = get("error") {
        return Err(fail(format!("authorization refused: {error}")));
    }
    get("code").ok_or_else(|| fail("the redirect carries no code"))
}
