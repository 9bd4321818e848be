//! The users service's API description, generated from its handlers and types.

use baton_api::Problem;
use baton_api::openapi::BearerAuth;
use utoipa::OpenApi;

use super::users::{self, ContactView, ProfileView, UpdateProfile, UserList};

#[derive(OpenApi)]
#[openapi(
    info(title = "Baton users", description = "Profiles: your own, and the back office's view of everyone's."),
    paths(users::me, users::update_me, users::by_id, users::list),
    components(schemas(ProfileView, ContactView, UserList, UpdateProfile, Problem)),
    modifiers(&BearerAuth),
    tags((name = "users", description = "Profiles")),
)]
struct ApiDoc;

/// The users service's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
