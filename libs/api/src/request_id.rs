//! One id per request: on its answer, in its problem body, on every log line it causes, in every
//! component it crosses.
//!
//! The gateway names each request it admits with a fresh id and never adopts the one a client
//! sends: an id anyone can choose is an id anyone can collide, or fill with text meant for a log
//! reader. A client's own id, if it is well formed, is kept beside ours in the log
//! (`client_request_id`), so a support desk can find a request either way. Behind the gateway
//! every caller is a workload that proved who it is over mTLS, so a service adopts the id it is
//! given (still only if well formed) and passes it on to its own next hop: one request, one id,
//! from the edge to the database and back.
//!
//! Every component mounts [`assign`] outermost, around everything that can answer, so a refusal
//! by the edge guard carries the id as much as a success does. Inside, the id is the request's
//! task-local [`current`] and a field of its tracing span.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, HeaderValue};
use tracing::Instrument;

/// The header that carries the id, in both directions.
pub const HEADER: &str = "x-request-id";
/// The longest id accepted from a caller.
const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request's id: 1 to 64 characters of letters, digits, `-`, `_` and `.` (a UUID, as Baton
/// makes them, or a trace id of another system). Nothing else can be logged or echoed as one.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().hyphenated().to_string().into())
    }

    /// The id in `raw`, if it is well formed.
    pub fn parse(raw: &str) -> Option<Self> {
        let well_formed = (1..=MAX_LEN).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        well_formed.then(|| Self(raw.into()))
    }

    /// The id a request carries in `headers`, if exactly one well-formed one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut values = headers.get_all(HEADER).iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Self::parse(value.to_str().ok()?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a header value. Always valid: the id is visible ASCII.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.0)
    }
}

/// The id of the request being answered, if this code runs inside [`assign`] (a background task
/// runs outside any request and has none).
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(RequestId::clone).ok()
}

/// `work`, made to run as part of the current request wherever it is spawned: with its id and
/// inside its span. A task-local ends at a `tokio::spawn`; work a request hands to a task of its
/// own (so that a client hanging up cannot cancel it) still belongs to that request.
pub fn carry<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let span = tracing::Span::current();
    let id = current();
    async move {
        let work = work.instrument(span);
        match id {
            Some(id) => CURRENT.scope(id, work).await,
            None => work.await,
        }
    }
}

/// The headers that pass the current request's id on to a next hop: `x-request-id`, or nothing
/// outside a request.
pub fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(id) = current() {
        headers.insert(HEADER, id.header_value());
    }
    headers
}

/// Whose id a component adopts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// The public edge: every request gets a fresh id; the caller's is only logged.
    Untrusted,
    /// Behind mTLS, where every caller is a known workload: its id is adopted if well formed.
    FromWorkloads,
}

/// Axum middleware: names the request, runs it in that name's span and task-local, and puts the
/// id on the answer. The request goes on with the id in its `x-request-id` header, replacing
/// whatever the caller sent, so a proxy behind this forwards ours.
///
/// Attach outermost with `axum::middleware::from_fn_with_state(incoming, request_id::assign)`.
pub async fn assign(
    State(incoming): State<Incoming>,
    mut request: Request,
    next: Next,
) -> Response {
    let sent = RequestId::from_headers(request.headers());
    let (id, client_id) = match incoming {
        Incoming::FromWorkloads => (sent.unwrap_or_default(), None),
        Incoming::Untrusted => (RequestId::new(), sent),
    };
    request.headers_mut().insert(HEADER, id.header_value());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client_request_id = tracing::field::Empty,
        method = %request.method(),
        path = request.uri().path(),
    );
    if let Some(client_id) = &client_id {
        span.record("client_request_id", tracing::field::display(client_id));
    }
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    response.headers_mut().insert(HEADER, id.header_value());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_the_usual_shapes_are_well_formed() {
        for raw in [
            "0b8f6d0e-3a53-4bd1-9d5e-6a4f2f3c1e2a",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "req_01.a",
        ] {
            assert!(RequestId::parse(raw).is_some(), "{raw}");
        }
    }

    #[test]
    fn anything_else_is_not_an_id() {
        let long = "a".repeat(MAX_LEN + 1);
        for raw in [
            "",
            "a b",
            "a\nINFO forged log line",
            "ä",
            "a/b",
            "<script>",
            &long,
        ] {
            assert!(RequestId::parse(raw).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn two_ids_in_one_request_are_none() {
        let mut headers = HeaderMap::new();
        headers.append(HEADER, HeaderValue::from_static("a"));
        headers.append(HEADER, HeaderValue::from_static("b"));
        assert_eq!(RequestId::from_headers(&headers), None);
    }

    #[test]
    fn fresh_ids_differ() {
        assert_ne!(RequestId::new(), RequestId::new());
    }

    /// A router that answers `/ok` with the id it saw and `/problem` with a 404 problem.
    fn app(incoming: Incoming) -> axum::Router {
        use axum::routing::get;
        axum::Router::new()
            .route(
                "/ok",
                get(|| async { current().map(|id| id.to_string()).unwrap_or_default() }),
            )
            .route("/problem", get(|| async { crate::Problem::not_found() }))
            .layer(axum::middleware::from_fn_with_state(incoming, assign))
    }

    async fn call(app: axum::Router, path: &str, sent: Option<&str>) -> (String, String) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = http::Request::builder().uri(path);
        if let Some(sent) = sent {
            request = request.header(HEADER, sent);
        }
        let request = request.body(axum::body::Body::empty()).unwrap_or_default();
        let Ok(response) = app.oneshot(request).await;
        let header = response
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        let body = String::from_utf8_lossy(&body.unwrap_or_default()).into_owned();
        (header, body)
    }

    #[tokio::test]
    async fn the_edge_names_every_request_itself() {
        let (header, seen) = call(app(Incoming::Untrusted), "/ok", Some("chosen-by-client")).await;
        assert!(RequestId::parse(&header).is_some());
        assert_ne!(header, "chosen-by-client");
        assert_eq!(seen, header, "the handler sees the id the answer carries");
    }

    #[tokio::test]
    async fn a_workload_s_id_is_adopted_if_well_formed() {
        let (header, seen) = call(app(Incoming::FromWorkloads), "/ok", Some("from-gateway")).await;
        assert_eq!(
            (header.as_str(), seen.as_str()),
            ("from-gateway", "from-gateway")
        );
        let (header, _) = call(app(Incoming::FromWorkloads), "/ok", Some("not an id")).await;
        assert!(RequestId::parse(&header).is_some_and(|id| id.as_str() != "not an id"));
    }

    #[tokio::test]
    async fn a_problem_body_names_its_request() {
        let (header, body) = call(app(Incoming::Untrusted), "/problem", None).await;
        let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(body["request_id"].as_str(), Some(header.as_str()));
        assert_eq!(body["status"], 404);
    }

    #[tokio::test]
    async fn carried_work_keeps_its_request_s_id_on_another_task() {
        let id = RequestId::new();
        let on_its_own = CURRENT
            .scope(id.clone(), async {
                tokio::spawn(async { current() }).await
            })
            .await;
        assert_eq!(
            on_its_own.ok().flatten(),
            None,
            "a spawn alone loses the id"
        );
        let carried = CURRENT
            .scope(id.clone(), async {
                tokio::spawn(carry(async { current() })).await
            })
            .await;
        assert_eq!(carried.ok().flatten(), Some(id));
    }

    #[tokio::test]
    async fn the_current_id_is_the_scope_s() {
        let id = RequestId::new();
        let seen = CURRENT.scope(id.clone(), async { current() }).await;
        assert_eq!(seen, Some(id));
        assert_eq!(current(), None);
    }
}
