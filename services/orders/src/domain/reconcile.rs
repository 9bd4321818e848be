//! The reconciler: settles orders whose payment was left `pending` and that no retry came back
//! for (no `Idempotency-Key`, or a client that gave up).
//!
//! A payment ends `pending` when its outcome is unknown: a lost answer, a timeout, a crash of
//! orders or accounts between the order's insert and its `paid`, a storage failure after the
//! debit. The ledger at accounts knows what happened, so the reconciler asks it, for each order
//! pending longer than a grace period, with `Accounts/Settle` ([`Upstreams::settle`]):
//!
//! ```text
//!   pending ── Settle: debited, for the order's total ──▶ paid
//!      │
//!      └────── Settle: voided (no debit, and none can follow) ──▶ failed, key released
//! ```
//!
//! Anything else (no token, accounts unreachable, a debit of another amount) leaves the order
//! `pending` for the next round. A round is started at once at start-up and every
//! `ORDERS_RECONCILE_EVERY_MS` after, and settles at most [`BATCH`] orders, oldest first.
//!
//! Racing the live payment: an order younger than the grace period (`ORDERS_RECONCILE_AFTER_MS`)
//! is left to the task paying for it. Past it, the race is still safe, because both sides settle
//! through one key and one conditional move each: accounts writes a debit or a void for the
//! reference, never both (`UNIQUE (account_id, reference)`), so a debit that comes after a void
//! is refused and the order cannot be both paid and voided; and orders' moves are conditional
//! updates from `pending` ([`super::payment`]), so whoever is second finds the move made.
//!
//! A round also finishes refunds left half way. A refund marks the order (`refund_requested_at`)
//! before it asks accounts for the credit, and moves it `paid → refunded` once the credit is
//! known; if orders stopped in between, or the answer was lost, the order stays `paid` and marked.
//! For each order marked longer than the grace period, the round asks accounts whether the
//! credit was made (`Accounts/RefundState`, read only):
//!
//! ```text
//!   paid, refund asked ── RefundState: refunded, the order's total ──▶ refunded
//!      │
//!      └───────────────── RefundState: not refunded ──▶ stays paid, still marked (asked again)
//! ```
//!
//! A refund that was never credited is left for an admin to ask again; the reconciler never
//! makes one, since a refund is a back-office decision with an admin behind it.
//!
//! No user is behind a round, so it carries no user's token: it presents orders' own workload
//! token, asked afresh each round, which accounts accepts for `Settle` and `RefundState` alone.

use std::sync::Arc;
use std::time::Duration;

use baton_platform::faults::Faults;
use baton_platform::time::now_unix;
use baton_workload::Generations;
use sqlx::AnyPool;

use super::order::{Order, OrderStatus};
use super::payment::{self, Settled};
use crate::storage;
use crate::upstream::{DebitFailure, Settlement, Upstreams};

/// Most orders one round settles; the rest wait for the next.
pub const BATCH: i64 = 100;

/// What the reconciler needs: owned, for its task.
#[derive(Debug, Clone)]
pub struct Reconciler {
    pub db: AnyPool,
    /// Each round takes the current generation and keeps it to the end of the round, so its
    /// token goes out on connections that present the certificate it is bound to.
    pub upstreams: Arc<Generations<Upstreams>>,
    pub faults: Faults,
    /// How long an order stays its live payment's before the reconciler may settle it.
    pub grace: Duration,
    /// How often a round starts.
    pub every: Duration,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub paid: u32,
    pub failed: u32,
    pub left_pending: u32,
    /// Refunds found credited, their orders now `refunded`.
    pub refunded: u32,
}

/// How one order came out of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Paid,
    Failed,
    LeftPending,
}

impl Reconciler {
    /// Runs a round now and every [`Reconciler::every`] after, for ever. A round that fails is
    /// logged; the next one starts on time.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if self.faults.reach("orders.reconcile.round").await.is_err() {
                // A test made this round fail before it began.
                continue;
            }
            let round = self.round().await;
            if round != Round::default() {
                tracing::info!(
                    paid = round.paid,
                    failed = round.failed,
                    left_pending = round.left_pending,
                    refunded = round.refunded,
                    "reconciled pending orders and refunds"
                );
            }
        }
    }

    /// Settles the orders pending for longer than the grace period, and finishes the refunds
    /// asked for longer than it, oldest first, at most [`BATCH`] of each.
    pub async fn round(&self) -> Round {
        let grace_secs = i64::try_from(self.grace.as_millis().div_ceil(1000)).unwrap_or(i64::MAX);
        let before = now_unix().saturating_sub(grace_secs);
        let pending = storage::orders::pending_since(&self.db, before, BATCH).await;
        let refunding = storage::orders::refunds_requested_since(&self.db, before, BATCH).await;
        let (pending, refunding) = match (pending, refunding) {
            (Ok(pending), Ok(refunding)) => (pending, refunding),
            (Err(err), _) | (_, Err(err)) => {
                tracing::error!(error = %err, "could not list the orders to reconcile");
                return Round::default();
            }
        };
        let mut round = Round::default();
        if pending.is_empty() && refunding.is_empty() {
            return round;
        }
        let upstreams = self.upstreams.current();
        let Ok(token) = upstreams.settle_token().await else {
            round.left_pending = u32::try_from(pending.len()).unwrap_or(u32::MAX);
            return round;
        };
        for order in pending {
            match self.settle(&upstreams, &token, order).await {
                Outcome::Paid => round.paid += 1,
                Outcome::Failed => round.failed += 1,
                Outcome::LeftPending => round.left_pending += 1,
            }
        }
        for order in refunding {
            if self.finish_refund(&upstreams, &token, &order).await {
                round.refunded += 1;
            }
        }
        round
    }

    /// Asks accounts whether `order`'s refund was credited, and if it was, for the order's
    /// total, moves the order `paid → refunded`. True if it did.
    async fn finish_refund(&self, upstreams: &Upstreams, token: &str, order: &Order) -> bool {
        let account = order.account_id.hyphenated().to_string();
        match upstreams
            .refund_state(token, &account, &order.id.to_string())
            .await
        {
            Ok(Some(credited)) if credited == order.total_minor => {
                let moved = storage::orders::transition(
                    &self.db,
                    order.id,
                    OrderStatus::Paid,
                    OrderStatus::Refunded,
                )
                .await;
                match moved {
                    Ok(moved) => {
                        tracing::warn!(order_id = %order.id, total_minor = order.total_minor, "a refund left half way is finished: the order is refunded");
                        moved
                    }
                    Err(err) => {
                        tracing::error!(order_id = %order.id, error = %err, "could not mark a refunded order");
                        false
                    }
                }
            }
            Ok(Some(credited)) => {
                tracing::error!(
                    order_id = %order.id,
                    total_minor = order.total_minor,
                    credited_minor = credited,
                    "the ledger's refund is not the order's total; the order stays paid"
                );
                false
            }
            Ok(None) => false,
            Err(failure) => {
                tracing::warn!(order_id = %order.id, %failure, "could not ask about a refund; asked again next round");
                false
            }
        }
    }

    /// Asks accounts about `order`'s debit and moves the order as the ledger says.
    async fn settle(&self, upstreams: &Upstreams, token: &str, order: Order) -> Outcome {
        let account = order.account_id.hyphenated().to_string();
        let reference = order.id.to_string();
        match upstreams.settle(token, &account, &reference).await {
            Ok(Settlement::Debited { amount_minor }) if amount_minor == order.total_minor => {
                match payment::confirmed(&self.db, order).await {
                    Settled::Paid(_) => Outcome::Paid,
                    _ => Outcome::LeftPending,
                }
            }
            Ok(Settlement::Debited { amount_minor }) => {
                // A debit under this order's id for another sum: never a retry of ours. Leave
                // the order for a person to look at; nothing here can make it right.
                tracing::error!(
                    order_id = %order.id,
                    total_minor = order.total_minor,
                    debited_minor = amount_minor,
                    "the ledger's debit is not the order's total; the order stays pending"
                );
                Outcome::LeftPending
            }
            Ok(Settlement::Voided | Settlement::NoSuchAccount) => {
                match payment::refused(&self.db, order.id, DebitFailure::Voided).await {
                    Settled::Refused { order, .. } => {
                        // Nothing was taken and nothing can be: the client may place it again.
                        payment::release_key(&self.db, order).await;
                        Outcome::Failed
                    }
                    _ => Outcome::LeftPending,
                }
            }
            Err(failure) => {
                tracing::warn!(order_id = %order.id, %failure, "could not settle; the order stays pending");
                Outcome::LeftPending
            }
        }
    }
}
