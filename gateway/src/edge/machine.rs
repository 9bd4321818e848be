//! The STS's machine endpoints (token, introspection, revocation), counted per client.
//!
//! Backends call these, and many of them can sit behind one address (a NAT, an egress proxy), so
//! one allowance per address is outgrown at once. After the per-source ceiling
//! ([`Class::Machine`], all clients of one source together, checked before the body is read), a
//! request is counted against the OAuth client it names, from its source ([`Class::Client`]):
//! the `Basic` username, or the one `client_id` of its form body (RFC 6749 §2.3.1), read within
//! the gateway's body limit. Inventing a client id for every request gets no further than the
//! ceiling.
//!
//! A request whose client cannot be read (none named, two different names, a header that is not
//! `Basic`, a name that is not a client id) is counted against its source in [`Class::Login`]
//! instead: the strictest limit, closed rather than open.
//!
//! The gateway does not verify the name (the STS authenticates the client), so a client's key
//! keeps its source: a request naming another backend's client id spends its sender's allowance
//! and never locks that backend out. Counting a client across every source was rejected for that
//! reason: a client id is no secret, and anyone who knows one could exhaust it.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use baton_api::Problem;
use http::{HeaderMap, HeaderValue, header};

use crate::edge::rate::{Class, Decision, RateLimits, Source, Subject};
use crate::proxy::MAX_REQUEST_BODY;

/// Longer client ids are not read as one (and counted against the source instead).
const MAX_CLIENT_ID_LEN: usize = 128;

/// An OAuth client id as a request names it: 1 to 128 printable ASCII characters (RFC 6749
/// Appendix A.1 allows `%x20-7E`). Named, not verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedClient(String);

impl NamedClient {
    pub fn parse(unverified: &str) -> Option<Self> {
        let printable = unverified.bytes().all(|byte| (0x20..=0x7e).contains(&byte));
        let sized = (1..=MAX_CLIENT_ID_LEN).contains(&unverified.len());
        (printable && sized).then(|| Self(unverified.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Counts a machine request the per-source ceiling admitted against the client it names, or
/// against its source's login allowance if it names none the gateway can read. Gives the request
/// back with its body read (at most [`MAX_REQUEST_BODY`], else 413).
pub async fn check_client(
    limits: &RateLimits,
    source: Source,
    request: Request,
) -> Result<(Request, Decision), Problem> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_REQUEST_BODY)
        .await
        .map_err(|_| Problem::payload_too_large())?;
    let (class, subject) = match named_client(&parts.headers, &body) {
        Some(client) => (Class::Client, Subject::Client(client, source)),
        None => (Class::Login, Subject::Addr(source)),
    };
    let decision = limits.check(class, &[subject]).await;
    Ok((Request::from_parts(parts, Body::from(body)), decision))
}

/// What one part of a request says about its client.
#[derive(Debug, PartialEq, Eq)]
enum Naming {
    Absent,
    Names(String),
    Unreadable,
}

/// The client a token, introspection or revocation request names, as the STS would read it:
/// the `Basic` username, or the form's `client_id`; both only if they agree.
pub fn named_client(headers: &HeaderMap, body: &[u8]) -> Option<NamedClient> {
    let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
    let by_header = match (authorization.next(), authorization.next()) {
        (None, _) => Naming::Absent,
        (Some(value), None) => basic_username(value),
        (Some(_), Some(_)) => Naming::Unreadable,
    };
    let by_form = if is_form(headers) {
        form_client_id(body)
    } else {
        Naming::Absent
    };
    let name = match (by_header, by_form) {
        (Naming::Names(header), Naming::Names(form)) if header == form => header,
        (Naming::Names(name), Naming::Absent) | (Naming::Absent, Naming::Names(name)) => name,
        _ => return None,
    };
    NamedClient::parse(&name)
}

/// The username of `Basic base64(id:secret)` (RFC 7617); anything else in `Authorization` is
/// unreadable here.
fn basic_username(value: &HeaderValue) -> Naming {
    let username = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|decoded| decoded.split_once(':').map(|(id, _)| id.to_owned()));
    username.map_or(Naming::Unreadable, Naming::Names)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The one `client_id` of a form body; two of them are unreadable, even if they agree.
fn form_client_id(body: &[u8]) -> Naming {
    let mut ids = form_urlencoded::parse(body)
        .filter(|(key, _)| key == "client_id")
        .map(|(_, value)| value.into_owned());
    match (ids.next(), ids.next()) {
        (None, _) => Naming::Absent,
        (Some(id), None) => Naming::Names(id),
        (Some(_), Some(_)) => Naming::Unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";

    fn named(authorization: &[&str], content_type: Option<&str>, body: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        for value in authorization {
            headers.append(
                header::AUTHORIZATION,
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        if let Some(content_type) = content_type {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).expect("a header value"),
            );
        }
        named_client(&headers, body.as_bytes()).map(|client| client.as_str().to_owned())
    }

    fn basic(credentials: &str) -> String {
        format!("Basic {}", STANDARD.encode(credentials))
    }

    #[test]
    fn the_client_is_the_basic_username_or_the_forms_client_id() {
        let header = basic("reports:secret");
        assert_eq!(
            named(&[&header], Some(FORM), "grant_type=client_credentials").as_deref(),
            Some("reports")
        );
        assert_eq!(
            named(
                &[],
                Some("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
                "client_id=baton%2Dcli&code=x"
            )
            .as_deref(),
            Some("baton-cli")
        );
        assert_eq!(
            named(&[&header], Some(FORM), "client_id=reports").as_deref(),
            Some("reports"),
            "both, agreeing"
        );
    }

    #[test]
    fn anything_the_gateway_cannot_read_names_no_client() {
        let reports = basic("reports:secret");
        let cases: [(&[&str], Option<&str>, &str); 10] = [
            (&[], Some(FORM), "grant_type=client_credentials"),
            (&[], None, "client_id=reports"),
            (&[], Some("application/json"), r#"{"client_id":"reports"}"#),
            (&[&reports], Some(FORM), "client_id=orders"),
            (&[], Some(FORM), "client_id=reports&client_id=reports"),
            (&[&reports, &reports], Some(FORM), ""),
            (&["Bearer bat_abc"], Some(FORM), "client_id=reports"),
            (&["Basic not-base64!"], Some(FORM), ""),
            (&[], Some(FORM), "client_id="),
            (&[], Some(FORM), "client_id=tab%09inside"),
        ];
        for (authorization, content_type, body) in cases {
            assert_eq!(
                named(authorization, content_type, body),
                None,
                "{authorization:?} {content_type:?} {body}"
            );
        }
        let long = format!("client_id={}", "a".repeat(MAX_CLIENT_ID_LEN + 1));
        assert_eq!(named(&[], Some(FORM), &long), None);
        let longest = format!("client_id={}", "a".repeat(MAX_CLIENT_ID_LEN));
        assert!(named(&[], Some(FORM), &longest).is_some());
    }
}
