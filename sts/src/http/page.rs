//! The login pages: plain server-rendered HTML, no script, no external resources.
//!
//! Every page is sent with a strict Content Security Policy, `X-Frame-Options: DENY` (no
//! clickjacking of the login form), `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.
//! Nothing a user typed is ever echoed back: the only dynamic values are the login handle (our own
//! base64url) and the client id (registered by us), and both are escaped anyway.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The form field that carries the login handle.
pub const HANDLE_FIELD: &str = "request";

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#x27;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title} · Baton</title></head>\
         <body><main><h1>{title}</h1>\n{body}\n</main></body></html>\n",
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("x-content-type-options"), "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn message(text: Option<&str>) -> String {
    text.map(|text| format!("<p role=\"alert\"><strong>{}</strong></p>", escape(text)))
        .unwrap_or_default()
}

/// Step one: username and password.
pub fn login(status: StatusCode, handle: &str, client_id: &str, error: Option<&str>) -> Response {
    let body = format!(
        "<p>Sign in to continue to <code>{client}</code>.</p>{message}\
         <form method=\"post\" action=\"/oauth2/authorize\">\
         <input type=\"hidden\" name=\"{HANDLE_FIELD}\" value=\"{handle}\">\
         <p><label>Username <input name=\"username\" autocomplete=\"username\" required maxlength=\"64\"></label></p>\
         <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"256\"></label></p>\
         <p><button type=\"submit\">Sign in</button></p></form>",
        client = escape(client_id),
        message = message(error),
        handle = escape(handle),
    );
    page(status, "Sign in", &body)
}

/// Step two, for users enrolled in TOTP: the one-time code.
pub fn second_factor(status: StatusCode, handle: &str, error: Option<&str>) -> Response {
    let body = format!(
        "<p>Enter the six-digit code from your authenticator app.</p>{message}\
         <form method=\"post\" action=\"/oauth2/authorize\">\
         <input type=\"hidden\" name=\"{HANDLE_FIELD}\" value=\"{handle}\">\
         <p><label>One-time code <input name=\"totp_code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required pattern=\"[0-9]{{6}}\" maxlength=\"6\"></label></p>\
         <p><button type=\"submit\">Verify</button></p></form>",
        message = message(error),
        handle = escape(handle),
    );
    page(status, "Verify it is you", &body)
}

/// A dead end: the request cannot be honoured and there is nowhere safe to send the user.
pub fn error(status: StatusCode, text: &str) -> Response {
    page(
        status,
        "Sign-in failed",
        &format!("<p>{}</p>", escape(text)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;"
        );
    }
}
