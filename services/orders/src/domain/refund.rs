//! Refunding an order: a back-office function for admins.
//!
//! The order is loaded and the policy asked, with the order in hand, whether this caller may
//! refund it (`service.role`, after the gateway's `gateway.role`). Only a `paid` order can be
//! refunded. The order is first marked as having a refund asked for (`refund_requested_at`);
//! then the money goes back, through the accounts service's `Refund`, which credits once per
//! order whatever happens; only then is the order marked `refunded`, with a conditional update.
//! A crash between the credit and the mark, or a lost answer, leaves a `paid` order still marked:
//! the reconciler asks accounts whether the credit was made and finishes the move
//! ([`super::reconcile`]), and a refund asked again is answered from the ledger without paying
//! twice. A refund accounts refused unmarks the order.

use baton_platform::faults::Faults;
use baton_platform::time::now_unix;
use baton_proto::accounts::v1::RefundRequest;
use baton_token::Principal;
use sqlx::AnyPool;

use super::order::{Order, OrderId, OrderStatus};
use crate::policy::Guard;
use crate::storage::{self, StorageError};
use crate::upstream::{RefundFailure, Upstreams};

/// Why an order was not refunded.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// No such order, or not one the caller may see.
    #[error("no such order")]
    NotFound,
    /// The caller may see the order but not refund it (a customer, or support).
    #[error("not allowed")]
    Forbidden,
    /// Only a paid order can be refunded; this one is pending, failed, or already refunded.
    #[error("the order is {0:?}, not paid")]
    NotPaid(OrderStatus),
    #[error(transparent)]
    Upstream(#[from] RefundFailure),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Refunds order `id` on behalf of `principal`; answers the order as it now is.
pub async fn refund(
    db: &AnyPool,
    upstreams: &Upstreams,
    faults: &Faults,
    principal: &Principal,
    guard: &Guard,
    id: OrderId,
) -> Result<Order, RefundError> {
    let mut order = storage::orders::find(db, id)
        .await?
        .ok_or(RefundError::NotFound)?;
    if !guard.may_refund(principal, &order) {
        return Err(if guard.may_see(principal, &order) {
            RefundError::Forbidden
        } else {
            RefundError::NotFound
        });
    }
    if order.status != OrderStatus::Paid {
        return Err(RefundError::NotPaid(order.status));
    }
    if !storage::orders::request_refund(db, id, now_unix()).await? {
        // Moved since it was read: a concurrent refund got there first.
        let now = storage::orders::find(db, id).await?;
        return Err(RefundError::NotPaid(
            now.map_or(order.status, |now| now.status),
        ));
    }
    let credited = upstreams
        .refund(
            principal,
            RefundRequest {
                account_id: order.account_id.hyphenated().to_string(),
                amount_minor: order.total_minor,
                currency: order.currency.clone(),
                order_id: order.id.to_string(),
            },
        )
        .await;
    match credited {
        Ok(()) => {}
        // Unknown: the credit may have been made. The mark stays, for the reconciler.
        Err(RefundFailure::Unknown) => return Err(RefundFailure::Unknown.into()),
        Err(refused) => {
            storage::orders::forget_refund_request(db, id).await?;
            return Err(refused.into());
        }
    }
    // A crash here, after the credit, is what the mark is for.
    faults
        .reach("orders.refund.after_credit")
        .await
        .map_err(StorageError::from)?;
    // A concurrent refund may have marked it first; the money went back once either way.
    storage::orders::transition(db, id, OrderStatus::Paid, OrderStatus::Refunded).await?;
    order.status = OrderStatus::Refunded;
    tracing::warn!(
        order_id = %id,
        total_minor = order.total_minor,
        by = %principal.user_id(),
        "order refunded"
    );
    Ok(order)
}
