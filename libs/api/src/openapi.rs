//! What every service's OpenAPI description shares: the bearer-token security scheme, and the
//! error answers most operations have, in problem+json.
//!
//! Each service derives its own document from its handlers and types with utoipa
//! (`src/http/openapi.rs` in each service); the test kit merges them into the platform's one
//! document, which the gateway serves and checks its route table against.

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
