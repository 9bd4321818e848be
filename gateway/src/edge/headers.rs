//! Security headers and CORS (OWASP API8, security misconfiguration).
//!
//! Every answer says what a browser should assume about it: only over HTTPS from now on (HSTS),
//! never guess its type (no-sniff), never frame it, load nothing from it (a CSP of `default-src
//! 'none'`: this is JSON, not a page), send no referrer, cache nothing (the answers are personal).
//! The STS's login pages bring their own page policy, which is kept. No `Server` header leaves.
//!
//! Cross-origin access is closed unless `GATEWAY_CORS_ORIGINS` lists origins; tower-http's
//! `CorsLayer` then grants exactly those, for the verbs the route table declares.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use baton_platform::{Control, Controls};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::edge::EdgeConfig;

/// The headers every answer carries. A header the upstream already set (the login page's own
/// policy) is kept.
const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Adds the security headers to an answer's `headers` (unless lab mode switched them off).
pub fn secure(controls: &Controls, headers: &mut HeaderMap) {
    headers.remove(header::SERVER);
    if !controls.is_on(Control::GatewaySecurityHeaders) {
        return;
    }
    for (name, value) in &SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
}

/// The request headers a browser may send cross-origin.
const CORS_REQUEST_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("idempotency-key"),
];

/// The CORS layer, or none when no origin is allowed (then a preflight is just an undeclared
/// `OPTIONS`: 405 with no grant).
///
/// With `gateway.cors` switched off in lab mode, the classic mistake instead: every origin is
/// mirrored back, with credentials.
pub fn cors(edge: &EdgeConfig, controls: &Controls, methods: Vec<Method>) -> Option<CorsLayer> {
    if !controls.is_on(Control::GatewayCors) {
        return Some(CorsLayer::very_permissive());
    }
    if edge.cors_origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(edge.cors_origins.iter().cloned()))
        .allow_methods(methods)
        .allow_headers(CORS_REQUEST_HEADERS)
        .expose_headers([
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600));
    Some(if edge.cors_allow_credentials {
        layer.allow_credentials(true)
    } else {
        layer
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_gets_the_headers_and_a_page_keeps_its_own_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(header::SERVER, HeaderValue::from_static("hyper/1.0"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        secure(&Controls::enforcing(), &mut headers);
        assert!(!headers.contains_key(header::SERVER));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
}
