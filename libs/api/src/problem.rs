//! RFC 9457 problem details: the one shape every error answer has.
//!
//! The body is fixed text chosen here, never an error's `to_string()`: internals belong in the
//! log, in the request's span, not in front of a client. Each constructor names the situation,
//! not the status code, so handlers read as what went wrong.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::request_id;

/// The media type of a problem body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem details object (RFC 9457).
// `deny_unknown_fields` does nothing for serializing: it makes the schema say
// `additionalProperties: false`, which the tests hold every answer to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, so clients can match on it.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    #[serde(serialize_with = "serialize_status")]
    #[schema(value_type = u16)]
    pub status: StatusCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The id of the request this answers, as in its `x-request-id` header: quote it when asking
    /// about this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub request_id: Option<request_id::RequestId>,
    /// Set on 401 answers: the `WWW-Authenticate` challenge (RFC 6750).
    #[serde(skip)]
    pub challenge: Option<&'static str>,
    /// Set on answers that know when asking again may work: the `Retry-After` seconds.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

fn serialize_status<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &'static str) -> Self {
        Self {
            kind: format!("urn:baton:problem:{slug}"),
            title,
            status,
            detail: None,
            request_id: None,
            challenge: None,
            retry_after: None,
        }
    }

    /// Adds a human-readable explanation. Keep it fixed text or validated input only.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Tells the caller when to ask again: a `Retry-After` of `secs` seconds.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
        )
        .with_detail(detail)
    }

    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "The request is not valid",
        )
        .with_detail(detail)
    }

    /// 401 with a bearer challenge: no token, or one that did not verify.
    pub fn unauthorized() -> Self {
        Self {
            challenge: Some(r#"Bearer error="invalid_token""#),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication is required",
            )
        }
    }

    /// 403: the caller is known but the token lacks what this needs.
    pub fn forbidden() -> Self {
        Self {
            challenge: Some(r#"Bearer error="insufficient_scope""#),
            ..Self::new(StatusCode::FORBIDDEN, "forbidden", "This is not allowed")
        }
    }

    /// 404: no such thing, or not yours; the answer is the same by design.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "No such resource")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        )
    }

    /// A path of a retired API version (RFC 9110 §15.5.11).
    pub fn gone() -> Self {
        Self::new(
            StatusCode::GONE,
            "gone",
            "This version of the API is retired",
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "The request body is too large",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Expected a JSON body",
        )
        .with_detail("send `Content-Type: application/json`")
    }

    /// 409: the request is valid but the state of things refuses it (say, not enough money).
    pub fn conflict(slug: &str, title: &'static str) -> Self {
        Self::new(StatusCode::CONFLICT, slug, title)
    }

    /// 502/503: something we depend on failed. The cause goes to the log, not here.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "A service this request needs is unavailable",
        )
    }

    /// 429: the caller sent more than its rate limit allows. Pair with a `Retry-After` header
    /// ([`Problem::with_retry_after`], or among other headers [`Problem::into_response_with`]).
    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
        )
        .with_detail("slow down and retry after the time in `Retry-After`")
    }

    /// 431: the request's headers are larger than the gateway accepts.
    pub fn headers_too_large() -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "The request headers are too large",
        )
    }

    /// 408: the request took longer than the gateway waits.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "The request took too long",
        )
    }

    /// 503 because the gateway is protecting a service: too many requests in flight to it, or it
    /// failed repeatedly and is given time to recover. Pair with a `Retry-After` header.
    pub fn overloaded() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "A service this request needs is busy; retry later",
        )
    }

    /// 500 with a fixed body. Log the cause before returning this.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if self.request_id.is_none() {
            self.request_id = request_id::current();
        }
        let status = self.status;
        let (challenge, retry_after) = (self.challenge, self.retry_after);
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(challenge) = challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl Problem {
    /// The answer with extra headers (say, `Retry-After` on a 429 or `Allow` on a 405).
    pub fn into_response_with(self, headers: http::HeaderMap) -> Response {
        let mut response = self.into_response();
        response.headers_mut().extend(headers);
        response
    }
}

/// The fallback for anything the router does not declare.
pub async fn not_found() -> Problem {
    Problem::not_found()
}

/// The fallback for a declared path called with an undeclared method.
pub async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}
