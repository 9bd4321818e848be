//! The `order_idempotency` table: which order each (buyer, key) placed.

use baton_platform::faults::Faults;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::StorageError;
use crate::domain::{IdempotencyKey, OrderId};

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and is now ours, for `order_id`.
    New,
    /// The key was claimed before (by an earlier request, or by one still in flight).
    Existing {
        fingerprint: String,
        order_id: OrderId,
    },
    /// Every try found the key held, and free again by the time the holder was read: requests
    /// with it are still failing and releasing it. The caller should come back shortly.
    Unsettled,
}

/// Who claims a key: the buyer, the key, and the fingerprint of the request it comes with.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    pub buyer: Uuid,
    pub key: &'a IdempotencyKey,
    pub fingerprint: &'a str,
}

/// How many times a claim tries again when the claim it ran into was released before it could
/// be read. Each try finds the key free or held; only a holder that keeps failing and
/// releasing under it, faster than one round trip, could make every try miss.
const CLAIM_TRIES: usize = 3;

/// Claims `key` for `buyer` and `order_id`, unless a claim younger than `expired_before` holds it.
///
/// One statement decides: the insert either writes the row or hits the primary key, so two
/// requests racing with the same key cannot both win, on SQLite or on PostgreSQL. The claim it
/// hit is then read; if it is gone by then (its request failed without charging and released
/// the key, which on PostgreSQL can happen between the two statements), the key is free again
/// and the claim starts over.
#[tracing::instrument(skip(db, faults, claimant), fields(order_id = %order_id), err)]
pub async fn claim(
    db: &AnyPool,
    faults: &Faults,
    claimant: Claimant<'_>,
    order_id: OrderId,
    now: i64,
    expired_before: i64,
) -> Result<Claim, StorageError> {
    let Claimant {
        buyer,
        key,
        fingerprint,
    } = claimant;
    let buyer = buyer.hyphenated().to_string();
    // An expired claim is forgotten first, so the key can be used again.
    sqlx::query(
        "DELETE FROM order_idempotency WHERE buyer_id = $1 AND idem_key = $2 AND created_at < $3",
    )
    .bind(&buyer)
    .bind(key.as_str())
    .bind(expired_before)
    .execute(db)
    .await?;
    for _ in 0..CLAIM_TRIES {
        let inserted = sqlx::query(
            "INSERT INTO order_idempotency (buyer_id, idem_key, fingerprint, order_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (buyer_id, idem_key) DO NOTHING",
        )
        .bind(&buyer)
        .bind(key.as_str())
        .bind(fingerprint)
        .bind(order_id.to_string())
        .bind(now)
        .execute(db)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::New);
        }
        faults.reach("orders.idempotency.held").await?;
        let held = sqlx::query(
            "SELECT fingerprint, order_id FROM order_idempotency \
             WHERE buyer_id = $1 AND idem_key = $2",
        )
        .bind(&buyer)
        .bind(key.as_str())
        .fetch_optional(db)
        .await?;
        let Some(row) = held else {
            continue;
        };
        let stored: String = row.try_get("order_id")?;
        return Ok(Claim::Existing {
            fingerprint: row.try_get("fingerprint")?,
            order_id: OrderId::parse(&stored).ok_or(StorageError::Corrupt {
                table: "order_idempotency",
                column: "order_id",
            })?,
        });
    }
    Ok(Claim::Unsettled)
}

/// Releases `key`: the request that claimed it took no money, and a retry may start afresh.
#[tracing::instrument(skip(db, key), err)]
pub async fn release(db: &AnyPool, buyer: Uuid, key: &IdempotencyKey) -> Result<(), StorageError> {
    sqlx::query("DELETE FROM order_idempotency WHERE buyer_id = $1 AND idem_key = $2")
        .bind(buyer.hyphenated().to_string())
        .bind(key.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets the key that placed `order`, if one did.
#[tracing::instrument(skip(db), fields(order_id = %order), err)]
pub async fn release_for_order(db: &AnyPool, order: OrderId) -> Result<(), StorageError> {
    sqlx::query("DELETE FROM order_idempotency WHERE order_id = $1")
        .bind(order.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes every claim older than `expired_before`; returns how many.
#[tracing::instrument(skip(db), err)]
pub async fn purge(db: &AnyPool, expired_before: i64) -> Result<u64, StorageError> {
    let deleted = sqlx::query("DELETE FROM order_idempotency WHERE created_at < $1")
        .bind(expired_before)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected())
}

#[cfg(test)]
mod tests {
    use baton_platform::db;

    use super::*;
    use crate::storage::MIGRATIONS;

    async fn database() -> (tempfile::TempDir, AnyPool) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}/orders.db", dir.path().display());
        let pool = db::connect(&url, MIGRATIONS).await.expect("a database");
        (dir, pool)
    }

    fn key(raw: &str) -> IdempotencyKey {
        IdempotencyKey::parse(raw).expect("a key")
    }

    /// `buyer` claiming `key` for one and the same request.
    fn by(buyer: Uuid, key: &IdempotencyKey) -> Claimant<'_> {
        Claimant {
            buyer,
            key,
            fingerprint: "fp",
        }
    }

    #[tokio::test]
    async fn of_concurrent_claims_of_one_key_exactly_one_wins_and_the_rest_see_its_order() {
        let (_dir, db) = database().await;
        let buyer = Uuid::new_v4();
        let claims = (0..8).map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let (id, key) = (OrderId::random(), key("k-1"));
                let claim = claim(&db, &Faults::none(), by(buyer, &key), id, 1_000, 0).await;
                (id, claim.expect("the claim runs"))
            })
        });
        let mut winners = Vec::new();
        let mut seen = Vec::new();
        for handle in claims {
            match handle.await.expect("the task ends") {
                (id, Claim::New) => winners.push(id),
                (_, Claim::Existing { order_id, .. }) => seen.push(order_id),
                (_, Claim::Unsettled) => panic!("nobody released the key"),
            }
        }
        assert_eq!(winners.len(), 1);
        assert!(seen.iter().all(|id| *id == winners[0]));
    }

    #[tokio::test]
    async fn keys_are_per_buyer_and_an_expired_claim_is_replaced() {
        let (_dir, db) = database().await;
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (first, k, none) = (OrderId::random(), key("k"), Faults::none());
        let claimed = claim(&db, &none, by(alice, &k), first, 1_000, 0).await;
        assert_eq!(claimed.ok(), Some(Claim::New));
        let claimed = claim(&db, &none, by(bob, &k), OrderId::random(), 1_000, 0).await;
        assert_eq!(
            claimed.ok(),
            Some(Claim::New),
            "another buyer's key is another key"
        );
        let again = claim(&db, &none, by(alice, &k), OrderId::random(), 1_010, 0).await;
        assert_eq!(
            again.ok(),
            Some(Claim::Existing {
                fingerprint: "fp".to_owned(),
                order_id: first
            })
        );
        // A day later the first claim has expired: the key starts afresh.
        let later = claim(&db, &none, by(alice, &k), OrderId::random(), 90_000, 1_001).await;
        assert_eq!(later.ok(), Some(Claim::New));
        assert_eq!(purge(&db, 100_000).await.ok(), Some(2));
    }
}
