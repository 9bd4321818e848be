//! Orders: ids, statuses, and reading them back. Who may see one is the policy's call
//! ([`crate::policy`], `policy/policies.cedar`).

use std::fmt;

use baton_platform::db::Page;
use baton_token::Principal;
use serde::Serialize;
use sqlx::AnyPool;
use uuid::Uuid;

use crate::policy::Guard;
use crate::storage::{self, StorageError};

/// An order's id: a random UUID. It is also the reference of the order's debit, which is what
/// makes retrying a payment safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(Uuid);

impl OrderId {
    /// Parses an id from a path; anything that is not a UUID is `None` (and answered "not found").
    pub fn parse(unverified: &str) -> Option<Self> {
        Uuid::try_parse(unverified).ok().map(Self)
    }

    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for OrderId {
    /// The stored form: hyphenated, lowercase.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// Where an order's payment is: `pending` → `paid` | `failed`, and `paid` → `refunded`. Every
/// move is a conditional update from the state it leaves ([`crate::storage::orders::transition`]),
/// so of two racing moves one wins and the other finds it done. An order is never deleted: one
/// that may have been charged must stay to show for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Written, and the debit not (yet) confirmed. An order left here after an outage may or may
    /// not have been paid; asking the debit again with its id as the reference, or the reconciler
    /// asking the accounts service what became of that reference, settles it safely.
    Pending,
    /// The accounts service confirmed the debit.
    Paid,
    /// The accounts service refused the debit, or confirmed that none happened: nothing was
    /// taken. The order stays as a record; placing it again is a new order.
    Failed,
    /// An admin gave the money back; the accounts service confirmed the credit.
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "pending" => Some(OrderStatus::Pending),
            "paid" => Some(OrderStatus::Paid),
            "failed" => Some(OrderStatus::Failed),
            "refunded" => Some(OrderStatus::Refunded),
            _ => None,
        }
    }
}

/// One line of an order, with the unit price it was sold at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub sku: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub buyer_id: Uuid,
    pub account_id: Uuid,
    pub status: OrderStatus,
    pub total_minor: i64,
    pub currency: String,
    pub created_at: i64,
    pub lines: Vec<Line>,
}

/// One page of the caller's own orders, newest first. Staff list their own here too.
pub async fn list_own(
    db: &AnyPool,
    principal: &Principal,
    page: Page,
) -> Result<Vec<Order>, StorageError> {
    storage::orders::list_by_buyer(db, principal.user_id(), page).await
}

/// One order, if `principal` may see it; `None` for "no such order" and "not yours" alike.
pub async fn get(
    db: &AnyPool,
    principal: &Principal,
    guard: &Guard,
    id: OrderId,
) -> Result<Option<Order>, StorageError> {
    Ok(storage::orders::find(db, id)
        .await?
        .filter(|order| guard.may_see(principal, order)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_form() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Failed,
            OrderStatus::Refunded,
        ] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn a_status_serializes_as_its_stored_form() {
        let json = serde_json::to_string(&OrderStatus::Paid).ok();
        assert_eq!(json.as_deref(), Some("\"paid\""));
    }

    #[test]
    fn a_malformed_order_id_parses_to_nothing() {
        assert_eq!(OrderId::parse("1"), None);
        assert!(OrderId::parse(&OrderId::random().to_string()).is_some());
    }
}
