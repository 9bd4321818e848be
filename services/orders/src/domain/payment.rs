//! The order's payment as a state machine, and the place each of its moves happens (the refund's,
//! `paid` → `refunded`, is in [`super::refund`]).
//!
//! ```text
//!              debit confirmed              refund confirmed
//!   pending ───────────────────▶ paid ───────────────────────▶ refunded
//!      │
//!      │  debit refused, or voided by the reconciler: nothing was taken
//!      └───────────────────────▶ failed
//! ```
//!
//! An order is written `pending` before its debit is asked for, under a reference (its id) the
//! accounts service debits at most once. Whatever happens after that, the order stays: deleting
//! one that may have been charged would hide money. Each move is a conditional update from the
//! state it leaves, so a retry and a concurrent request can both try the same move and exactly
//! one makes it.
//!
//! What each way a debit can end leaves behind:
//! - **confirmed** → `paid`;
//! - **refused** (a typed refusal: insufficient funds, frozen, unknown account, other currency,
//!   invalid) → `failed`, and nothing was taken; the idempotency key is released, so the client's
//!   retry is a fresh attempt;
//! - **unknown** (a timeout, an outage, a lost answer, a crash of orders or accounts, or a storage
//!   failure in orders after the debit) → still `pending`; the key is kept. A retry with the same
//!   key asks the debit again under the same reference; without one, the reconciler
//!   ([`super::reconcile`]) asks accounts what became of it, and moves the order `paid`, or
//!   `failed` once accounts has voided the reference so no debit can follow.

use baton_platform::faults::Faults;
use baton_proto::accounts::v1::DebitRequest;
use sqlx::AnyPool;

use super::order::{Order, OrderId, OrderStatus};
use crate::storage;
use crate::upstream::{DebitFailure, Upstreams};

/// Where a payment ended, as far as orders can tell.
#[derive(Debug)]
pub enum Settled {
    /// The money was taken; the order is `paid` (or already moved on from `paid`).
    Paid(Order),
    /// The accounts service refused; the order is `failed`.
    Refused {
        order: OrderId,
        failure: DebitFailure,
    },
    /// Not known: the order stays `pending`, for a retry or the reconciler.
    Pending(OrderId),
}

/// Asks for the debit of `order` (pending) with `request`, and moves the order as the answer says.
pub async fn charge(
    db: &AnyPool,
    upstreams: &Upstreams,
    faults: &Faults,
    order: Order,
    request: tonic::Request<DebitRequest>,
) -> Settled {
    let mut answer = upstreams.debit(request).await;
    if faults.reach("orders.payment.answer").await.is_err() {
        // A test made the answer get lost on its way back, whatever it was.
        answer = Err(DebitFailure::Unknown);
    }
    match answer {
        Ok(()) => confirmed(db, order).await,
        Err(DebitFailure::Unknown) => {
            tracing::warn!(order_id = %order.id, "the debit's outcome is unknown; the order stays pending");
            Settled::Pending(order.id)
        }
        Err(failure) => refused(db, order.id, failure).await,
    }
}

/// The debit happened: `pending` → `paid`.
pub async fn confirmed(db: &AnyPool, mut order: Order) -> Settled {
    match storage::orders::transition(db, order.id, OrderStatus::Pending, OrderStatus::Paid).await {
        Ok(true) => {
            order.status = OrderStatus::Paid;
            tracing::info!(order_id = %order.id, total_minor = order.total_minor, "order paid");
            Settled::Paid(order)
        }
        // Someone settled it first (a concurrent retry, the reconciler): read what it is now.
        Ok(false) => match storage::orders::find(db, order.id).await {
            Ok(Some(now)) if now.status != OrderStatus::Pending => Settled::Paid(now),
            _ => Settled::Pending(order.id),
        },
        Err(err) => {
            tracing::error!(order_id = %order.id, error = %err, "the debit happened but the order could not be marked paid; it stays pending");
            Settled::Pending(order.id)
        }
    }
}

/// The debit was refused, or settled as never made: `pending` → `failed`.
pub async fn refused(db: &AnyPool, order: OrderId, failure: DebitFailure) -> Settled {
    match storage::orders::transition(db, order, OrderStatus::Pending, OrderStatus::Failed).await {
        Ok(_) => {
            tracing::info!(order_id = %order, %failure, "order failed: nothing was taken");
            Settled::Refused { order, failure }
        }
        Err(err) => {
            tracing::error!(order_id = %order, error = %err, "could not mark a refused order failed; it stays pending");
            Settled::Pending(order)
        }
    }
}

/// Forgets the idempotency key that placed `order`, once nothing can have been charged for it.
pub async fn release_key(db: &AnyPool, order: OrderId) {
    if let Err(err) = storage::idempotency::release_for_order(db, order).await {
        // Harmless: the key then answers the failed order until it expires.
        tracing::error!(order_id = %order, error = %err, "could not release an idempotency key");
    }
}
