//! What the login pages need of the browser and the gateway: the browser-binding cookie, the
//! client's address, and the redirect back to the client.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_platform::Workload;
use baton_workload::Peer;

use super::AppState;
use super::page;

/// The browser-binding cookie. `__Host-`: only ever set by this host, over HTTPS, for `/`.
pub const BINDING_COOKIE: &str = "__Host-baton-login";
/// The header in which the gateway tells the STS the client's address (it strips any a client
/// sent). Trusted only on requests whose mTLS peer is the gateway.
pub const CLIENT_ADDR_HEADER: &str = "x-baton-client-addr";
/// `303 See Other` to the client's (already verified) redirect URI with `pairs`, `state` and `iss`.
pub fn redirect(
    redirect_uri: &str,
    pairs: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, value);
    }
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", issuer);
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{}", query.finish());
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => page::error(
            StatusCode::BAD_REQUEST,
            "The application's address cannot be used. Start again from the application.",
        ),
    }
}

/// The browser binding from the request's cookies, if it has one of the right shape.
pub fn binding_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == BINDING_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|value| {
            value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Who is trying: the client address the gateway vouches for, or the calling workload.
pub fn client_source(headers: &HeaderMap, peer: Option<&Peer>, state: &AppState) -> String {
    let gateway =
        baton_workload::SpiffeId::of(&state.config.settings.trust_domain, Workload::Gateway);
    match peer {
        // An IPv6 client counts per /64, as at the gateway: one host is usually given a whole
        // /64, and every address in it must not be a fresh source.
        Some(Peer::Workload(id)) if *id == gateway => headers
            .get(CLIENT_ADDR_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<std::net::IpAddr>().ok())
            .map_or_else(
                || "gateway:unknown".to_owned(),
                |addr| format!("ip:{}", baton_workload::limits::source_key(addr)),
            ),
        Some(Peer::Workload(id)) => format!("workload:{id}"),
        _ => "unknown".to_owned(),
    }
}

pub fn internal(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "login failed");
    page::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side.",
    )
}
