//! Placing an order: validate, price, read the buyer, write it `pending`, debit, mark it `paid`.
//!
//! The order is written before the debit so its id can be the debit's idempotency reference, and
//! so that if we crash or lose the answer mid-debit, a `pending` order remains as evidence. After
//! a refusal (the accounts service answered "no") nothing was taken and the order is deleted;
//! after an unknown outcome it stays `pending`: deleting it could hide money that was taken.

use std::collections::HashMap;

use baton_platform::time::now_unix;
use baton_proto::accounts::v1::DebitRequest;
use baton_token::Principal;
use sqlx::AnyPool;
use uuid::Uuid;

use super::items::{ItemsError, OrderItems};
use super::order::{Order, OrderId, OrderStatus};
use super::pricing::{self, PricingError};
use crate::storage::{self, StorageError};
use crate::upstream::{BuyerError, DebitFailure, Upstreams};

/// An order request whose every field has been parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub account_id: Uuid,
    pub items: OrderItems,
}

/// Why an order was not placed (or not confirmed).
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("`account_id` is not a UUID")]
    AccountId,
    #[error(transparent)]
    Items(#[from] ItemsError),
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Buyer(#[from] BuyerError),
    /// The accounts service refused the debit, or its outcome is unknown (`order` then names the
    /// order left `pending`).
    #[error("payment failed: {failure}")]
    Payment {
        failure: DebitFailure,
        order: OrderId,
    },
    /// The token could not be attached to the next call; nothing was written.
    #[error("could not prepare the debit call")]
    Prepare,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl NewOrder {
    /// Parses the request body's fields.
    pub fn parse(
        unverified_account_id: &str,
        unverified_items: Vec<(String, i64)>,
    ) -> Result<Self, PlaceError> {
        Ok(Self {
            account_id: Uuid::try_parse(unverified_account_id)
                .map_err(|_| PlaceError::AccountId)?,
            items: OrderItems::parse(unverified_items)?,
        })
    }
}

/// Places `new` for `principal`, paying from the account it names.
pub async fn place(
    db: &AnyPool,
    upstreams: &Upstreams,
    principal: &Principal,
    new: NewOrder,
) -> Result<Order, PlaceError> {
    let mut catalog = HashMap::new();
    for (sku, _) in new.items.iter() {
        // One small lookup per line; at most twenty, and the catalogue may grow without every
        // order reading all of it.
        if let Some(entry) = storage::catalog::find(db, sku).await? {
            catalog.insert(sku.clone(), entry);
        }
    }
    let priced = pricing::price(&new.items, &catalog)?;
    let buyer = upstreams.buyer(principal).await?;
    let mut order = Order {
        id: OrderId::random(),
        buyer_id: principal.user_id(),
        account_id: new.account_id,
        status: OrderStatus::Pending,
        total_minor: priced.total_minor,
        currency: priced.currency,
        created_at: now_unix(),
        lines: priced.lines,
    };
    let request = upstreams
        .debit_request(
            principal,
            DebitRequest {
                account_id: order.account_id.hyphenated().to_string(),
                amount_minor: order.total_minor,
                currency: order.currency.clone(),
                reference: order.id.to_string(),
            },
        )
        .map_err(|_| PlaceError::Prepare)?;
    storage::orders::insert(db, &order).await?;
    tracing::info!(order_id = %order.id, buyer = %buyer.username, "order pending payment");
    match upstreams.debit(request).await {
        Ok(()) => {
            storage::orders::set_status(db, order.id, OrderStatus::Paid).await?;
            order.status = OrderStatus::Paid;
            tracing::info!(order_id = %order.id, total_minor = order.total_minor, "order paid");
            Ok(order)
        }
        Err(DebitFailure::Unknown) => Err(PlaceError::Payment {
            failure: DebitFailure::Unknown,
            order: order.id,
        }),
        Err(refused) => {
            // Refused means nothing was taken, so the order has nothing to show for itself. If
            // the delete fails, a stray `pending` order is harmless; the refusal is the answer.
            if let Err(err) = storage::orders::delete(db, order.id).await {
                tracing::error!(order_id = %order.id, error = %err, "could not delete a refused order");
            }
            Err(PlaceError::Payment {
                failure: refused,
                order: order.id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_id_that_is_not_a_uuid_is_refused_before_anything_else() {
        let parsed = NewOrder::parse("my-account", vec![("BATON-MUG".to_owned(), 1)]);
        assert!(matches!(parsed, Err(PlaceError::AccountId)));
    }

    #[test]
    fn bad_items_are_refused_with_the_reason() {
        let id = Uuid::new_v4().to_string();
        let parsed = NewOrder::parse(&id, vec![("BATON-MUG".to_owned(), 0)]);
        assert!(matches!(
            parsed,
            Err(PlaceError::Items(ItemsError::Quantity))
        ));
    }
}
