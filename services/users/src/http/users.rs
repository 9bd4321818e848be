//! `GET /v1/users/me`, `PATCH /v1/users/me`, `GET /v1/users/{id}` and `GET /v1/users`.
//!
//! Every answer is a view chosen for the caller: their own profile in full, someone else's in
//! full for an admin and masked for support. The stored row is never serialized as it is.

use axum::Json;
use axum::extract::{Path, State};
use baton_api::input::{JsonBody, PageParams, PageQuery};
use baton_api::openapi::{Forbidden, InvalidBody, InvalidPage, NotFound, Unauthorized};
use baton_api::{ApiError, Problem};
use baton_platform::Control;
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::http::require_scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::app::AppState;
use crate::domain::{self, Contact, ProfileChanges, UserId, Visible, mask_email, mask_phone};

/// A profile as the API shows it. For support, `email` and `phone` are masked (`a***@example.com`,
/// `***0001`) and `contact` says so.
// `deny_unknown_fields` does nothing for serializing: it makes the schema say
// `additionalProperties: false`, which the tests hold every answer to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileView {
    #[schema(format = Uuid)]
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub contact: ContactView,
}

/// How much of the contact details the caller was shown.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactView {
    Full,
    Masked,
}

impl From<Visible> for ProfileView {
    fn from(visible: Visible) -> Self {
        let Visible { user, contact } = visible;
        let (email, phone, contact) = match contact {
            Contact::Full => (user.email, user.phone, ContactView::Full),
            Contact::Masked => (
                mask_email(&user.email),
                user.phone.as_deref().map(mask_phone),
                ContactView::Masked,
            ),
        };
        Self {
            id: user.id.to_string(),
            username: user.username,
            display_name: user.display_name,
            email,
            phone,
            contact,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserList {
    pub users: Vec<ProfileView>,
}

/// The body of `PATCH /v1/users/me`: the two things a user may change about themself. Email and
/// username are not here (changing them needs a verification flow), and neither is anything about
/// roles: those live in the STS, and no request body reaches them.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    #[validate(length(min = 1, max = 80, message = "must be 1 to 80 characters"))]
    #[schema(min_length = 1, max_length = 80)]
    pub display_name: Option<String>,
    #[schema(
        pattern = r"^\+[1-9][0-9]{0,2}( ?[0-9]){6,15}$",
        example = "+44 20 7946 0001"
    )]
    #[validate(regex(path = *PHONE, message = "must be an international number such as +44 20 7946 0001"))]
    pub phone: Option<String>,
}

/// `+`, a country code, then digits with optional single spaces: 8 to 20 characters in all.
static PHONE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "a constant pattern, covered by a unit test"
    )]
    regex::Regex::new(r"^\+[1-9][0-9]{0,2}( ?[0-9]){6,15}$").expect("the phone pattern compiles")
});

/// LAB MODE ONLY (`service.mass_assignment` off): the classic mistake of binding a request body
/// to the stored row, so any column the body names is written. Never used otherwise.
#[derive(Debug, Deserialize)]
struct CarelessProfileBinding {
    display_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

/// The caller's own profile.
#[utoipa::path(get, path = "/v1/users/me", tag = "users",
    security(("bearer" = ["users:read"])),
    responses(
        (status = 200, description = "The caller's own profile, in full", body = ProfileView),
        Unauthorized, Forbidden,
    ))]
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ProfileView>, ApiError> {
    require_scope(&principal, scope::USERS_READ)?;
    let own = UserId::of(&principal);
    let visible = domain::profile(&state.db, &principal, &state.guard, own).await?;
    Ok(Json(visible.into()))
}

/// Changes the caller's display name or phone.
#[utoipa::path(patch, path = "/v1/users/me", tag = "users",
    security(("bearer" = ["users:write"])),
    request_body = UpdateProfile,
    responses(
        (status = 200, description = "The profile as it now is", body = ProfileView),
        InvalidBody, Unauthorized, Forbidden,
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBody,
) -> Result<Json<ProfileView>, ApiError> {
    require_scope(&principal, scope::USERS_WRITE)?;
    let changes = if state.controls.is_on(Control::ServiceMassAssignment) {
        let body: UpdateProfile = body.bind()?;
        ProfileChanges {
            display_name: body.display_name,
            phone: body.phone,
            email: None,
        }
    } else {
        let body: CarelessProfileBinding = serde_json::from_value(body.0)
            .map_err(|err| Problem::unprocessable(err.to_string()))?;
        ProfileChanges {
            display_name: body.display_name,
            phone: body.phone,
            email: body.email,
        }
    };
    let visible = domain::update_own(&state.db, &principal, &state.guard, changes).await?;
    Ok(Json(visible.into()))
}

/// One profile: the caller's own; anyone's for staff. Everything else, including an id that is
/// not a UUID, is the same 404.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users",
    security(("bearer" = ["users:read"])),
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The profile; masked for support", body = ProfileView),
        Unauthorized, Forbidden, NotFound,
    ))]
pub async fn by_id(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
) -> Result<Json<ProfileView>, ApiError> {
    require_scope(&principal, scope::USERS_READ)?;
    let id = UserId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    let visible = domain::profile(&state.db, &principal, &state.guard, id).await?;
    Ok(Json(visible.into()))
}

/// Every user, a page at a time (back office).
#[utoipa::path(get, path = "/v1/users", tag = "users",
    security(("bearer" = ["users:admin"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users, in username order", body = UserList),
        InvalidPage, Unauthorized, Forbidden,
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PageParams(query): PageParams,
) -> Result<Json<UserList>, ApiError> {
    require_scope(&principal, scope::USERS_ADMIN)?;
    let page = query.checked(&state.controls)?;
    let users = domain::list(&state.db, &principal, &state.guard, page).await?;
    Ok(Json(UserList {
        users: users.into_iter().map(ProfileView::from).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_phone_numbers_pass_and_anything_else_does_not() {
        assert!(PHONE.is_match("+44 20 7946 0001"));
        assert!(PHONE.is_match("+4915112345678"));
        for bad in [
            "020 7946 0001",
            "+44  20",
            "+44 20 7946 0001; DROP",
            "",
            "+0 123 456 789",
        ] {
            assert!(!PHONE.is_match(bad), "{bad}");
        }
    }
}
