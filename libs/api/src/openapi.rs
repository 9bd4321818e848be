//! What every service's OpenAPI description shares: the bearer-token security scheme, and the
//! error answers most operations have, in problem+json.
//!
//! Each service derives its own document from its handlers and types with utoipa
//! (`src/http/openapi.rs` in each service); the test kit merges them into the platform's one
//! document, which the gateway serves and checks its route table against.

use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::{IntoResponses, Modify};

use crate::problem::{CONTENT_TYPE, Problem};

/// The name of the security scheme every protected operation names.
pub const BEARER: &str = "bearer";

/// Adds the bearer-token security scheme (an opaque access token from the STS) to a document.
#[derive(Debug, Clone, Copy)]
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "An opaque access token from the STS (`/oauth2/token`). The gateway exchanges it for \
             an internal token; services never see the client's token."
                .to_owned(),
        );
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

// The error answers most operations share. A handler returns `ApiError`; these types only tell its
// `#[utoipa::path(responses(...))]` what that may become, so every operation describes the same
// answer in the same words: `responses((status = 200, ...), Unauthorized, Forbidden, NotFound)`.
// An answer with more to say about one operation (a 409, a 404 about something in the body) stays
// a row of its own beside them.

/// 401: every operation behind the token check.
#[derive(Debug, IntoResponses)]
#[response(status = 401, description = "No valid token", content_type = CONTENT_TYPE)]
pub struct Unauthorized(pub Problem);

/// 403: the scope check (the scope is in the operation's `security`), or a role the policy asks
/// for.
#[derive(Debug, IntoResponses)]
#[response(
    status = 403,
    description = "The token lacks the scope this needs, or the caller the role",
    content_type = CONTENT_TYPE
)]
pub struct Forbidden(pub Problem);

/// 404 for an object named in the path: none, or none the caller may see (the same answer by
/// design, so a caller cannot probe for other people's ids).
#[derive(Debug, IntoResponses)]
#[response(
    status = 404,
    description = "No such object, or not one the caller may see",
    content_type = CONTENT_TYPE
)]
pub struct NotFound(pub Problem);

/// The answers of a JSON body bound with [`crate::input`]: not JSON, or not this type.
#[derive(Debug, IntoResponses)]
pub enum InvalidBody {
    #[response(status = 400, description = "The body is not JSON", content_type = CONTENT_TYPE)]
    NotJson(Problem),
    #[response(
        status = 422,
        description = "A field is unknown or breaks its rule",
        content_type = CONTENT_TYPE
    )]
    BrokenRule(Problem),
}

/// The answers of a page query ([`crate::input::PageParams`]): malformed, or past the limits.
#[derive(Debug, IntoResponses)]
pub enum InvalidPage {
    #[response(status = 400, description = "The query does not parse", content_type = CONTENT_TYPE)]
    Malformed(Problem),
    #[response(status = 422, description = "The page is past the limits", content_type = CONTENT_TYPE)]
    PastLimits(Problem),
}

/// What the gateway may answer to any operation it serves, itself, before the service is asked
/// or instead of its answer: `(status, when, headers it carries)`. A 415 is only for operations
/// that take a body.
const EDGE_ANSWERS: [(u16, &str, &[&str]); 7] = [
    (
        400,
        "The body is JSON the gateway refuses: malformed, or past its limits on depth, length and keys",
        &[],
    ),
    (408, "The request took longer than the gateway waits", &[]),
    (413, "The body is larger than the gateway accepts", &[]),
    (
        415,
        "The body is not JSON: send `Content-Type: application/json`",
        &[],
    ),
    (
        429,
        "Too many requests from this address, client or user: retry after `Retry-After`",
        &[RETRY_AFTER, RATE_LIMIT, RATE_LIMIT_POLICY],
    ),
    (
        431,
        "The request's headers are larger than the gateway accepts",
        &[],
    ),
    (
        503,
        "A service this needs is busy, failing or unreachable: retry later (after `Retry-After`, when given)",
        &[RETRY_AFTER],
    ),
];

/// The headers the document describes once, under `components/headers`.
const REQUEST_ID: &str = "x-request-id";
const RETRY_AFTER: &str = "retry-after";
const RATE_LIMIT: &str = "ratelimit";
const RATE_LIMIT_POLICY: &str = "ratelimit-policy";

/// Adds to every operation of `document` the answers the gateway gives of its own
/// ([`EDGE_ANSWERS`]), and to every answer its `x-request-id` header, so that the description
/// lists every status and header a caller can meet. A status an operation already describes keeps
/// its own words, with the gateway's reason added.
pub fn add_edge_answers(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    for (name, description, schema) in [
        (
            REQUEST_ID,
            "The request's id, chosen by the gateway; quote it when asking about this answer",
            string_matching("^[A-Za-z0-9._-]{1,64}$"),
        ),
        (
            RETRY_AFTER,
            "Seconds until asking again may work",
            Schema::Object(Object::with_type(Type::Integer)),
        ),
        (
            RATE_LIMIT,
            "The limit's state: remaining requests and seconds until reset (IETF RateLimit header fields)",
            Schema::Object(Object::with_type(Type::String)),
        ),
        (
            RATE_LIMIT_POLICY,
            "The limit that applies: its quota and window",
            Schema::Object(Object::with_type(Type::String)),
        ),
    ] {
        let mut header = Header::new(schema);
        header.description = Some(description.to_owned());
        components.headers.insert(name.to_owned(), RefOr::T(header));
    }
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_to_operation(operation);
        }
    }
}

fn add_to_operation(operation: &mut Operation) {
    let takes_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    for (status, when, headers) in EDGE_ANSWERS {
        if status == 415 && !takes_body {
            continue;
        }
        let response = responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(problem_response(when)));
        if let RefOr::T(response) = response {
            if !response.description.contains(when) {
                response.description =
                    format!("{}; or, from the gateway: {when}", response.description);
            }
            for name in headers {
                response
                    .headers
                    .entry((*name).to_owned())
                    .or_insert_with(|| header_ref(name));
            }
        }
    }
    for response in responses.values_mut() {
        if let RefOr::T(response) = response {
            response
                .headers
                .entry(REQUEST_ID.to_owned())
                .or_insert_with(|| header_ref(REQUEST_ID));
        }
    }
}

fn problem_response(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        CONTENT_TYPE.to_owned(),
        RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
    );
    response
}

fn header_ref(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

fn string_matching(pattern: &str) -> Schema {
    let mut object = Object::with_type(Type::String);
    object.pattern = Some(pattern.to_owned());
    Schema::Object(object)
}
