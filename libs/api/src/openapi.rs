//! What every service's OpenAPI description shares: the bearer-token security scheme, and the
//! problem+json media type of every error answer.
//!
//! Each service derives its own document from its handlers and types with utoipa
//! (`src/http/openapi.rs` in each service); the test kit merges them into the platform's one
//! document, which the gateway serves and checks its route table against.

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

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
