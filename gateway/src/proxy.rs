//! Forwarding a request to its upstream, with only what the upstream should see.
//!
//! Headers cross the gateway by allow-list in both directions. Everything else a client sends
//! (`X-Forwarded-For`, `X-User-Id`, a made-up `X-Baton-Internal`, cookies) stops here, so a
//! service can never be tricked into trusting a header a client set. The `Authorization` header
//! is replaced: the client's opaque token never leaves the gateway.
//!
//! The STS's client-facing endpoints are the one exception, and only for the credentials the STS
//! itself checks: `Authorization` (client authentication at the token, introspection and
//! revocation endpoints) and `Cookie` (the login pages' browser binding) go through, answers may
//! set that cookie, and the STS learns the client's address (for login throttling) in a header
//! only the gateway writes.
//!
//! Every forwarded request carries the gateway's id for it (`x-request-id`, never the client's).

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use baton_api::{Problem, request_id};

use crate::edge::client_addr::ClientAddr;

/// Request bodies larger than this are refused with 413 before they reach a service.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;
/// Upstream answers larger than this are a fault, not something to pass on.
const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Request headers a client may send through to a service.
const FORWARDED_REQUEST_HEADERS: [HeaderName; 3] =
    [header::ACCEPT, header::CONTENT_TYPE, header::IF_NONE_MATCH];
/// A client's idempotency key travels with the request (order creation uses it).
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Response headers a service may send back to a client.
const FORWARDED_RESPONSE_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::CACHE_CONTROL,
    header::WWW_AUTHENTICATE,
    header::RETRY_AFTER,
];

/// The STS endpoints where the client authenticates itself (or its user) to the STS.
const STS_CLIENT_PATHS: [&str; 4] = [
    "/oauth2/authorize",
    "/oauth2/token",
    "/oauth2/introspect",
    "/oauth2/revoke",
];
/// Request headers that reach the STS on [`STS_CLIENT_PATHS`] only.
const STS_REQUEST_HEADERS: [HeaderName; 2] = [header::AUTHORIZATION, header::COOKIE];
/// Response headers the STS's login pages send back: their cookie and their security policy.
const STS_RESPONSE_HEADERS: [HeaderName; 5] = [
    header::SET_COOKIE,
    header::CONTENT_SECURITY_POLICY,
    header::X_FRAME_OPTIONS,
    header::REFERRER_POLICY,
    header::X_CONTENT_TYPE_OPTIONS,
];
/// Where the gateway tells the STS the client's address; whatever a client sent under this name
/// never crosses (it is not allow-listed).
const CLIENT_ADDR_HEADER: &str = "x-baton-client-addr";

/// Sends `request` to `base_url` with `internal_token` (if any), and relays the answer.
pub async fn forward(
    http: &reqwest::Client,
    base_url: &str,
    request: Request,
    internal_token: Option<&str>,
) -> Result<Response, Problem> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_REQUEST_BODY)
        .await
        .map_err(|_| Problem::payload_too_large())?;
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let to_sts_client_endpoint =
        internal_token.is_none() && STS_CLIENT_PATHS.contains(&parts.uri.path());
    let mut headers = allowed_request_headers(&parts.headers);
    if to_sts_client_endpoint {
        headers.extend(sts_request_headers(&parts.headers, &parts.extensions));
    }
    headers.extend(request_id::headers());
    let mut upstream = http
        .request(parts.method, format!("{base_url}{path_and_query}"))
        .headers(headers)
        .body(body);
    if let Some(token) = internal_token {
        upstream = upstream.bearer_auth(token);
    }
    let answer = upstream.send().await.map_err(|err| {
        tracing::error!(error = %err, "upstream unreachable");
        Problem::unavailable()
    })?;
    let status = answer.status();
    let mut headers = allowed_response_headers(answer.headers());
    if to_sts_client_endpoint {
        for name in &STS_RESPONSE_HEADERS {
            for value in answer.headers().get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    let bytes = read_bounded(answer).await?;
    let mut response = (status, Body::from(bytes)).into_response();
    response.headers_mut().extend(headers);
    Ok(response)
}

fn allowed_request_headers(incoming: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in FORWARDED_REQUEST_HEADERS
        .iter()
        .chain(std::iter::once(&HeaderName::from_static(IDEMPOTENCY_KEY)))
    {
        for value in incoming.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// The client credentials the STS checks itself, and the client's address as the gateway saw it:
/// the one the rate limits use ([`ClientAddr`], which believes trusted proxies only), else the
/// TCP peer.
fn sts_request_headers(incoming: &HeaderMap, extensions: &http::Extensions) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in &STS_REQUEST_HEADERS {
        for value in incoming.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let remote = extensions
        .get::<ClientAddr>()
        .map(|addr| addr.0)
        .or_else(|| {
            extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip())
        });
    // Always set, the unknown address included: it also tells the STS that this request is a
    // relay, whose credentials are a client's, never the gateway's own.
    let remote = remote.unwrap_or(crate::edge::client_addr::UNKNOWN);
    if let Ok(addr) = HeaderValue::from_str(&remote.to_string()) {
        headers.insert(CLIENT_ADDR_HEADER, addr);
    }
    headers
}

fn allowed_response_headers(upstream: &HeaderMap) -> HeaderMap<HeaderValue> {
    let mut headers = HeaderMap::new();
    for name in &FORWARDED_RESPONSE_HEADERS {
        if let Some(value) = upstream.get(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    headers
}

async fn read_bounded(mut answer: reqwest::Response) -> Result<Vec<u8>, Problem> {
    let mut bytes = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|err| {
        tracing::error!(error = %err, "upstream answer broke off");
        Problem::unavailable()
    })? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BODY {
            tracing::error!("upstream answer too large");
            return Err(Problem::unavailable());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allow_listed_request_headers_cross() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        incoming.insert("x-user-id", HeaderValue::from_static("someone-else"));
        incoming.insert("x-baton-internal", HeaderValue::from_static("1"));
        incoming.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer bat_client"),
        );
        incoming.insert(header::COOKIE, HeaderValue::from_static("session=1"));
        let forwarded = allowed_request_headers(&incoming);
        assert_eq!(forwarded.len(), 1);
        assert!(forwarded.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn the_sts_gets_client_credentials_and_the_gateways_view_of_the_address_only() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        incoming.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-baton-login=1"),
        );
        incoming.insert(CLIENT_ADDR_HEADER, HeaderValue::from_static("203.0.113.9"));
        let mut extensions = http::Extensions::new();
        extensions.insert(ConnectInfo(std::net::SocketAddr::from((
            [192, 0, 2, 1],
            4000,
        ))));
        let forwarded = sts_request_headers(&incoming, &extensions);
        assert_eq!(forwarded.len(), 3);
        assert_eq!(
            forwarded
                .get(CLIENT_ADDR_HEADER)
                .and_then(|v| v.to_str().ok()),
            Some("192.0.2.1")
        );
    }

    #[test]
    fn the_sts_gets_the_address_the_rate_limits_trusted_not_the_proxys() {
        let mut extensions = http::Extensions::new();
        extensions.insert(ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 2],
            4000,
        ))));
        extensions.insert(ClientAddr(std::net::IpAddr::from([203, 0, 113, 9])));
        let forwarded = sts_request_headers(&HeaderMap::new(), &extensions);
        assert_eq!(
            forwarded
                .get(CLIENT_ADDR_HEADER)
                .and_then(|v| v.to_str().ok()),
            Some("203.0.113.9")
        );
    }
}
