//! `GET /v1/users/me` and `GET /v1/users/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use baton_platform::Problem;
use baton_token::Principal;
use baton_token::claims::scope;
use baton_token::http::require_scope;

use super::ApiError;
use crate::app::AppState;
use crate::domain::{self, Profile, UserId};

/// The caller's own profile.
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Profile>, ApiError> {
    require_scope(&principal, scope::USERS_READ)?;
    let own = UserId::of(&principal);
    Ok(Json(
        domain::profile(&state.db, &principal, &state.guard, own).await?,
    ))
}

/// One profile: the caller's own, or anyone's for an admin. Everything else, including an id
/// that is not a UUID, is the same 404.
pub async fn by_id(
    State(state): State<AppState>,
    principal: Principal,
    Path(unverified_id): Path<String>,
) -> Result<Json<Profile>, ApiError> {
    require_scope(&principal, scope::USERS_READ)?;
    let id = UserId::parse(&unverified_id).ok_or_else(Problem::not_found)?;
    Ok(Json(
        domain::profile(&state.db, &principal, &state.guard, id).await?,
    ))
}
