//! The `users` table.

use baton_platform::db::Page;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{ProfileChanges, User, UserId};

/// A user to insert; used by the demo seed.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub created_at: i64,
}

/// The user `id`, if there is one.
#[tracing::instrument(skip(db), err)]
pub async fn find(db: &AnyPool, id: UserId) -> Result<Option<User>, StorageError> {
    let row = sqlx::query(
        "SELECT id, username, display_name, email, phone, created_at FROM users WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// One page of users, in username order.
#[tracing::instrument(skip(db), err)]
pub async fn list(db: &AnyPool, page: Page) -> Result<Vec<User>, StorageError> {
    let rows = sqlx::query(
        "SELECT id, username, display_name, email, phone, created_at FROM users \
         ORDER BY username LIMIT $1 OFFSET $2",
    )
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    rows.iter().map(user_from_row).collect()
}

/// Applies the changes that are set; true if the user exists. One statement: `COALESCE` keeps
/// each column whose change is `None`.
#[tracing::instrument(skip(db, changes), err)]
pub async fn update(
    db: &AnyPool,
    id: UserId,
    changes: &ProfileChanges,
) -> Result<bool, StorageError> {
    let result = sqlx::query(
        "UPDATE users SET display_name = COALESCE($1, display_name), \
         phone = COALESCE($2, phone), email = COALESCE($3, email) WHERE id = $4",
    )
    .bind(changes.display_name.as_deref())
    .bind(changes.phone.as_deref())
    .bind(changes.email.as_deref())
    .bind(id.to_string())
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Inserts `user` unless a user with that id or username exists; true if a row was written.
///
/// `ON CONFLICT DO NOTHING` (no target: any unique constraint) makes this safe to run on every
/// start and from several processes at once, on SQLite and PostgreSQL alike.
#[tracing::instrument(skip(db, user), fields(username = user.username), err)]
pub async fn insert_if_absent(db: &AnyPool, user: NewUser<'_>) -> Result<bool, StorageError> {
    let result = sqlx::query(
        "INSERT INTO users (id, username, display_name, email, phone, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(user.id.to_string())
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.email)
    .bind(user.phone)
    .bind(user.created_at)
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes the user `id`; true if there was one.
#[tracing::instrument(skip(db), err)]
pub async fn delete(db: &AnyPool, id: UserId) -> Result<bool, StorageError> {
    let result = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(result.rows_affected() == 1)
}

fn user_from_row(row: &AnyRow) -> Result<User, StorageError> {
    let stored_id: String = row.try_get("id")?;
    let id = Uuid::try_parse(&stored_id).map_err(|_| StorageError::Corrupt {
        table: "users",
        column: "id",
    })?;
    Ok(User {
        id: UserId::from(id),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        created_at: row.try_get("created_at")?,
    })
}
