//! Placing an order: check the limits, claim the idempotency key, price (catalogue, then the
//! supplier's quote), read the buyer, write it `pending`, debit, mark it `paid`.
//!
//! The order is written before the debit so its id can be the debit's idempotency reference, and
//! so that if we crash or lose the answer mid-debit, a `pending` order remains as evidence. After
//! a refusal (the accounts service answered "no") nothing was taken and the order is deleted;
//! after an unknown outcome it stays `pending`: deleting it could hide money that was taken.
//!
//! With an `Idempotency-Key` ([`super::idempotency`]) the key is claimed, with the order id it
//! will use, before anything else is written. A retry finds the claim: if the order is paid it
//! gets it back; if it is still `pending` the debit is asked again under the same reference,
//! which the accounts service answers once whatever the number of askings; if the order is not
//! written yet the first request is still working, and the retry is told so (409).

use std::collections::HashMap;

use baton_platform::time::now_unix;
use baton_platform::{Control, Controls};
use baton_proto::accounts::v1::DebitRequest;
use baton_token::Principal;
use sqlx::AnyPool;
use uuid::Uuid;

use super::idempotency::{self, IdempotencyKey, KEY_LIFETIME_SECS};
use super::items::{ItemsError, OrderItems};
use super::limits::{LimitError, OrderLimits};
use super::order::{Order, OrderId, OrderStatus};
use super::pricing::{self, CatalogEntry, PricingError, QuoteRefusal};
use crate::storage::idempotency::Claim;
use crate::storage::{self, StorageError};
use crate::supplier::{SupplierClient, SupplierError};
use crate::upstream::{BuyerError, DebitFailure, Upstreams};

/// An order request whose every field has been parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub account_id: Uuid,
    pub items: OrderItems,
    /// The webhook to notify once paid, as sent (the handler checks it against the SSRF guard).
    pub notify_url: Option<String>,
}

/// What placing needs besides the request: the database, the services and the supplier it
/// calls, the limits, and the switches.
#[derive(Debug, Clone, Copy)]
pub struct Placing<'a> {
    pub db: &'a AnyPool,
    pub upstreams: &'a Upstreams,
    pub supplier: &'a SupplierClient,
    pub limits: &'a OrderLimits,
    pub controls: &'a Controls,
}

/// A placed order, and whether it was placed by an earlier request with the same key.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: Order,
    pub replayed: bool,
}

/// Why an order was not placed (or not confirmed).
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("`account_id` is not a UUID")]
    AccountId,
    #[error(transparent)]
    Items(#[from] ItemsError),
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The key was used before by this buyer for a different request.
    #[error("the idempotency key was used for another request")]
    KeyReused,
    /// The key's first request has not written its order yet.
    #[error("a request with this idempotency key is in progress")]
    KeyInProgress,
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Supplier(#[from] SupplierError),
    #[error("the supplier's quote was refused: {0}")]
    Quote(#[from] QuoteRefusal),
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

impl PlaceError {
    /// Whether the request may have taken money: only a debit whose outcome is unknown (and a
    /// storage failure after it, which this cannot tell apart, so it says yes).
    fn may_have_charged(&self) -> bool {
        matches!(
            self,
            PlaceError::Payment {
                failure: DebitFailure::Unknown,
                ..
            } | PlaceError::Storage(_)
        )
    }
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
            notify_url: None,
        })
    }
}

/// Places `new` for `principal`, paying from the account it names; with `key`, at most once.
pub async fn place(
    ctx: Placing<'_>,
    principal: &Principal,
    new: NewOrder,
    key: Option<IdempotencyKey>,
) -> Result<Placed, PlaceError> {
    let limits_on = ctx.controls.is_on(Control::OrdersOrderLimits);
    if limits_on {
        ctx.limits.check_items(&new.items)?;
    }
    let id = OrderId::random();
    let buyer = principal.user_id();
    let key = key.filter(|_| ctx.controls.is_on(Control::OrdersIdempotency));
    if let Some(key) = &key {
        let now = now_unix();
        let fingerprint = idempotency::fingerprint(&new);
        let expired_before = now - KEY_LIFETIME_SECS;
        match storage::idempotency::claim(ctx.db, buyer, key, &fingerprint, id, now, expired_before)
            .await?
        {
            Claim::New => {}
            Claim::Existing {
                fingerprint: first,
                order_id,
            } if first == fingerprint => return replay(ctx, principal, order_id, key).await,
            Claim::Existing { .. } => return Err(PlaceError::KeyReused),
        }
    }
    let placed = place_new(ctx, principal, new, id, limits_on).await;
    if let (Err(err), Some(key)) = (&placed, &key)
        && !err.may_have_charged()
    {
        // Nothing was taken: forget the key, so the client's retry is a fresh attempt.
        if let Err(err) = storage::idempotency::release(ctx.db, buyer, key).await {
            tracing::error!(error = %err, "could not release an idempotency key");
        }
    }
    placed.map(|order| Placed {
        order,
        replayed: false,
    })
}

/// Answers a retry of the request that claimed the key for `order_id`.
async fn replay(
    ctx: Placing<'_>,
    principal: &Principal,
    order_id: OrderId,
    key: &IdempotencyKey,
) -> Result<Placed, PlaceError> {
    let order = storage::orders::find(ctx.db, order_id)
        .await?
        .ok_or(PlaceError::KeyInProgress)?;
    tracing::info!(order_id = %order.id, status = order.status.as_str(), "idempotent retry");
    let order = match order.status {
        // The first attempt lost the debit's answer, or is still waiting for it: ask again under
        // the same reference. The accounts service takes the money once per reference.
        OrderStatus::Pending => match pay(ctx, principal, order).await {
            Ok(order) => order,
            Err(err) => {
                if !err.may_have_charged() {
                    // Refused after all: the order is gone, and so is the key.
                    let _ = storage::idempotency::release(ctx.db, principal.user_id(), key).await;
                }
                return Err(err);
            }
        },
        OrderStatus::Paid | OrderStatus::Refunded => order,
    };
    Ok(Placed {
        order,
        replayed: true,
    })
}

async fn place_new(
    ctx: Placing<'_>,
    principal: &Principal,
    new: NewOrder,
    id: OrderId,
    limits_on: bool,
) -> Result<Order, PlaceError> {
    if limits_on {
        let now = now_unix();
        let since = ctx.limits.window_start(now);
        let (recent, oldest) =
            storage::orders::count_since(ctx.db, principal.user_id(), since).await?;
        ctx.limits.check_rate(recent, oldest, now)?;
    }
    let catalog = price_list(ctx, &new.items).await?;
    let priced = pricing::price(&new.items, &catalog)?;
    let upstreams = ctx.upstreams;
    let buyer = upstreams.buyer(principal).await?;
    let order = Order {
        id,
        buyer_id: principal.user_id(),
        account_id: new.account_id,
        status: OrderStatus::Pending,
        total_minor: priced.total_minor,
        currency: priced.currency,
        created_at: now_unix(),
        lines: priced.lines,
    };
    // Built before the order is written: a failure here leaves nothing to undo.
    let request = debit_request(upstreams, principal, &order).await?;
    storage::orders::insert(ctx.db, &order).await?;
    tracing::info!(order_id = %order.id, buyer = %buyer.username, "order pending payment");
    debit(ctx, order, request).await
}

/// The catalogue's entries for `items`, with each unit price replaced by the supplier's quote
/// where the quote is acceptable. Any refusal refuses the order, before anything is written.
async fn price_list(
    ctx: Placing<'_>,
    items: &OrderItems,
) -> Result<HashMap<super::Sku, CatalogEntry>, PlaceError> {
    let mut catalog = HashMap::new();
    for (sku, _) in items.iter() {
        // One small lookup per line; at most twenty, and the catalogue may grow without every
        // order reading all of it.
        let Some(mut entry) = storage::catalog::find(ctx.db, sku).await? else {
            continue;
        };
        entry.unit_price_minor = if ctx.supplier.validates() {
            let quote = ctx.supplier.quote(sku).await?;
            pricing::accept_quote(&entry, &quote)?
        } else {
            ctx.supplier
                .danger_trusting_quote(sku, &entry.currency)
                .await?
                .unit_price_minor
        };
        catalog.insert(sku.clone(), entry);
    }
    Ok(catalog)
}

async fn debit_request(
    upstreams: &Upstreams,
    principal: &Principal,
    order: &Order,
) -> Result<tonic::Request<DebitRequest>, PlaceError> {
    upstreams
        .debit_request(
            principal,
            DebitRequest {
                account_id: order.account_id.hyphenated().to_string(),
                amount_minor: order.total_minor,
                currency: order.currency.clone(),
                reference: order.id.to_string(),
            },
        )
        .await
        .map_err(|_| PlaceError::Prepare)
}

/// Asks again for the debit of a `pending` order, under its own id as the reference.
async fn pay(ctx: Placing<'_>, principal: &Principal, order: Order) -> Result<Order, PlaceError> {
    let request = debit_request(ctx.upstreams, principal, &order).await?;
    debit(ctx, order, request).await
}

async fn debit(
    ctx: Placing<'_>,
    mut order: Order,
    request: tonic::Request<DebitRequest>,
) -> Result<Order, PlaceError> {
    let db = ctx.db;
    match ctx.upstreams.debit(request).await {
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
