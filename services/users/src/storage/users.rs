//! The `users` table.

use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{Profile, UserId};

/// A user to insert; used by the demo seed.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub created_at: i64,
}

/// The profile of `id`, if there is such a user.
#[tracing::instrument(skip(db), err)]
pub async fn find(db: &AnyPool, id: UserId) -> Result<Option<Profile>, StorageError> {
    let row = sqlx::query("SELECT id, username, display_name, email FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored_id: String = row.try_get("id")?;
    let id = Uuid::try_parse(&stored_id).map_err(|_| StorageError::Corrupt {
        table: "users",
        column: "id",
    })?;
    Ok(Some(Profile {
        id: UserId::from(id),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
    }))
}

/// Inserts `user` unless a user with that id or username exists; true if a row was written.
///
/// `ON CONFLICT DO NOTHING` (no target: any unique constraint) makes this safe to run on every
/// start and from several processes at once, on SQLite and PostgreSQL alike.
#[tracing::instrument(skip(db, user), fields(username = user.username), err)]
pub async fn insert_if_absent(db: &AnyPool, user: NewUser<'_>) -> Result<bool, StorageError> {
    let result = sqlx::query(
        "INSERT INTO users (id, username, display_name, email, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(user.id.to_string())
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.email)
    .bind(user.created_at)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}
