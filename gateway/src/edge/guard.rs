//! The first and last thing every request meets: a path in normal form, headers of a sane size,
//! and (on the way out) the security headers. Also the 405 answer with its `Allow` header.
//!
//! Paths are refused, never rewritten. A gateway that "cleans up" `/v1/accounts/../users` checks
//! one path and forwards another, and every layer behind it may clean up differently (the URL
//! parser inside the HTTP client resolves `..` and `%2e%2e` itself). Baton's routes use only
//! plain segments (letters, digits, `-._~`), so anything else cannot be a route: `..` or `.`
//! segments, empty segments (`//`, a trailing `/`), and any percent-encoding (`%2e`, `%2F`,
//! `%5C`, `%00`) is refused before routing has a chance to be confused. The refusal is the same
//! 404 problem as for any undeclared path (no such resource exists), so an oddly written path
//! tells a prober nothing an ordinary wrong path would not.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_api::Problem;
use baton_platform::Controls;
use http::{HeaderMap, HeaderValue, header};

use crate::edge::headers::secure;

/// What the guard needs.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub controls: Controls,
    pub max_header_bytes: usize,
}

/// Middleware: refuses non-normal paths and oversized headers, stamps security headers.
pub async fn guard(
    State(config): State<Arc<GuardConfig>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = if !is_normal_path(request.uri().path()) {
        tracing::info!("refused a path not in normal form");
        Problem::not_found().into_response()
    } else if header_bytes(request.headers()) > config.max_header_bytes {
        Problem::headers_too_large().into_response()
    } else {
        next.run(request).await
    };
    secure(&config.controls, response.headers_mut());
    response
}

/// Whether `path` is `/` or `/`-separated plain segments: no empty, `.` or `..` segment and no
/// byte outside RFC 3986's unreserved set (so no percent-encoding at all).
pub fn is_normal_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    })
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

/// The 405 for a declared path called with an undeclared method, naming the declared ones.
pub fn method_not_allowed(allow: HeaderValue) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::ALLOW, allow);
    Problem::method_not_allowed().into_response_with(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_paths_are_normal() {
        for path in [
            "/",
            "/v1/users/me",
            "/.well-known/jwks.json",
            "/v1/orders/0a-b_c~d",
        ] {
            assert!(is_normal_path(path), "{path}");
        }
    }

    #[test]
    fn traversal_and_encoded_variants_are_not() {
        for path in [
            "/v1/accounts/../users",
            "/v1/accounts/./users",
            "//v1/users/me",
            "/v1/users/me/",
            "/v1/accounts/%2e%2e/users",
            "/v1/accounts/%2E%2E/users",
            "/v1/accounts/..%2Fusers",
            "/v1/users%2fme",
            "/v1/users/me%00",
            "/v1/users\\me",
            "v1/users",
            "",
        ] {
            assert!(!is_normal_path(path), "{path}");
        }
    }

    proptest! {
        /// A normal path never holds a dot segment or an escape, whatever it is made of.
        #[test]
        fn a_normal_path_has_no_dot_segment_or_escape(path in "[/.%a-zA-Z0-9]{0,24}") {
            if is_normal_path(&path) {
                prop_assert!(!path.contains('%'));
                prop_assert!(!path.split('/').skip(1).any(|s| s == "." || s == ".." || s.is_empty()) || path == "/");
            }
        }
    }
}
