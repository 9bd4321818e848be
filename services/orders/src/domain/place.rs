//! Placing an order: check the limits, claim the idempotency key, price (the catalogue, then the
//! supplier's quotes, all at once under one deadline), read the buyer, write it `pending` within
//! the buyer's limit, debit, and settle ([`super::payment`]).
//!
//! The order is written before the debit so its id can be the debit's idempotency reference, and
//! so that whatever interrupts the payment, a `pending` order remains as evidence, which a retry
//! with the same key settles. Everything that can fail before the write (limits, pricing, the
//! buyer, the token for the debit) fails with nothing to undo.
//!
//! With an `Idempotency-Key` ([`super::idempotency`]) the key is claimed, with the order id it
//! will use, before anything else is written. A retry finds the claim: if the order is paid it
//! gets it back; if it is still `pending` the debit is asked again under the same reference,
//! which the accounts service answers once whatever the number of askings; if the order is not
//! written yet the first request is still working, and the retry is told so (409). The key is
//! released exactly when nothing can have been charged: the request failed before the order was
//! written, or the debit was refused.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use baton_platform::faults::Faults;
use baton_platform::time::now_unix;
use baton_platform::{Control, Controls};
use baton_proto::accounts::v1::DebitRequest;
use baton_token::Principal;
use baton_workload::Generation;
use sqlx::AnyPool;
use uuid::Uuid;

use super::idempotency::{self, IdempotencyKey, KEY_LIFETIME_SECS};
use super::items::{ItemsError, OrderItems, Sku};
use super::limits::{LimitError, OrderLimits};
use super::order::{Order, OrderId, OrderStatus};
use super::payment::{self, Settled};
use super::pricing::{self, CatalogEntry, PricingError, QuoteRefusal};
use crate::storage::idempotency::{Claim, Claimant};
use crate::storage::orders::{Inserted, Window};
use crate::storage::{self, StorageError};
use crate::supplier::{SupplierClient, SupplierError, UnverifiedQuote};
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
/// calls, the limits, the switches and the fault points. Owned (every field is cheap to clone),
/// so the payment can run on its own task, beyond the reach of the client's patience.
#[derive(Debug, Clone)]
pub struct Placing {
    pub db: AnyPool,
    /// One certificate generation's clients, kept for the whole order.
    pub upstreams: Arc<Generation<Upstreams>>,
    pub supplier: SupplierClient,
    pub limits: OrderLimits,
    pub controls: Controls,
    pub faults: Faults,
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
    /// The key's first request has not written its order yet, or requests with the key keep
    /// failing and releasing it faster than a claim can read who holds it.
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
    /// The accounts service refused the debit: the order is `failed`, nothing was taken.
    #[error("payment refused: {failure}")]
    Payment {
        failure: DebitFailure,
        order: OrderId,
    },
    /// The key's order failed earlier; the key is released now, for a fresh attempt.
    #[error("the order this key placed was not paid")]
    PreviouslyFailed(OrderId),
    /// The order is written and its payment not settled (an unknown outcome, an interruption):
    /// it is `pending`, and a retry with the same key or the reconciler settles it.
    #[error("order {0} is pending")]
    Pending(OrderId),
    /// The token could not be attached to the debit call; nothing was written.
    #[error("could not prepare the debit call")]
    Prepare,
    /// No token for the debit call may be had for this caller (in exchange mode the STS refused
    /// the exchange: the user's token does not carry what paying needs); nothing was written.
    #[error("the debit call is not allowed for this caller")]
    PaymentNotAllowed,
    /// A storage failure before the order was written.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PlaceError {
    /// Whether the request may have taken money, so its key must stay: only an order left
    /// pending. Everything else failed before the order was written, or was refused.
    fn may_have_charged(&self) -> bool {
        matches!(self, PlaceError::Pending(_))
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

/// Places `new` as order `id` for `principal`, paying from the account it names; with `key`, at
/// most once.
pub async fn place(
    ctx: &Placing,
    principal: &Principal,
    new: NewOrder,
    id: OrderId,
    key: Option<IdempotencyKey>,
) -> Result<Placed, PlaceError> {
    let limits_on = ctx.controls.is_on(Control::OrdersOrderLimits);
    if limits_on {
        ctx.limits.check_items(&new.items)?;
    }
    let buyer = principal.user_id();
    let key = key.filter(|_| ctx.controls.is_on(Control::OrdersIdempotency));
    if let Some(key) = &key {
        let now = now_unix();
        let fingerprint = idempotency::fingerprint(&new);
        let expired_before = now - KEY_LIFETIME_SECS;
        let claimant = Claimant {
            buyer,
            key,
            fingerprint: &fingerprint,
        };
        match storage::idempotency::claim(&ctx.db, &ctx.faults, claimant, id, now, expired_before)
            .await?
        {
            Claim::New => {}
            Claim::Existing {
                fingerprint: first,
                order_id,
            } if first == fingerprint => return replay(ctx, principal, order_id, key).await,
            Claim::Existing { .. } => return Err(PlaceError::KeyReused),
            Claim::Unsettled => return Err(PlaceError::KeyInProgress),
        }
    }
    let placed = place_new(ctx, principal, new, id, limits_on).await;
    if let (Err(err), Some(key)) = (&placed, &key)
        && !err.may_have_charged()
    {
        // Nothing was taken: forget the key, so the client's retry is a fresh attempt.
        if let Err(err) = storage::idempotency::release(&ctx.db, buyer, key).await {
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
    ctx: &Placing,
    principal: &Principal,
    order_id: OrderId,
    key: &IdempotencyKey,
) -> Result<Placed, PlaceError> {
    let order = storage::orders::find(&ctx.db, order_id)
        .await?
        .ok_or(PlaceError::KeyInProgress)?;
    tracing::info!(order_id = %order.id, status = order.status.as_str(), "idempotent retry");
    let order = match order.status {
        // The first attempt lost the debit's answer, or is still waiting for it: ask again under
        // the same reference. The accounts service takes the money once per reference. A failure
        // here leaves the order pending and the key held: this order may have been charged.
        OrderStatus::Pending => {
            let prepared = match ctx.faults.reach("orders.payment.prepare").await {
                Ok(()) => debit_request(&ctx.upstreams, principal, &order).await.ok(),
                Err(_) => None,
            };
            let request = prepared.ok_or(PlaceError::Pending(order.id))?;
            settle(ctx, order, request).await?
        }
        OrderStatus::Paid | OrderStatus::Refunded => order,
        OrderStatus::Failed => {
            // Its key should have been released when it failed; release it now.
            let _ = storage::idempotency::release(&ctx.db, principal.user_id(), key).await;
            return Err(PlaceError::PreviouslyFailed(order.id));
        }
    };
    Ok(Placed {
        order,
        replayed: true,
    })
}

async fn place_new(
    ctx: &Placing,
    principal: &Principal,
    new: NewOrder,
    id: OrderId,
    limits_on: bool,
) -> Result<Order, PlaceError> {
    let window = limits_on.then(|| Window {
        max: ctx.limits.max_orders_per_window,
        since: ctx.limits.window_start(now_unix()),
    });
    if let Some(window) = window {
        // A quick refusal before any pricing; the insert below is what holds the limit.
        let (recent, oldest) =
            storage::orders::count_since(&ctx.db, principal.user_id(), window.since).await?;
        ctx.limits.check_rate(recent, oldest, now_unix())?;
    }
    let catalog = price_list(ctx, &new.items).await?;
    let priced = pricing::price(&new.items, &catalog)?;
    let buyer = ctx.upstreams.buyer(principal).await?;
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
    let request = debit_request(&ctx.upstreams, principal, &order)
        .await
        .map_err(|status| match status.code() {
            tonic::Code::PermissionDenied => PlaceError::PaymentNotAllowed,
            _ => PlaceError::Prepare,
        })?;
    ctx.faults
        .reach("orders.place.before_insert")
        .await
        .map_err(StorageError::from)?;
    match storage::orders::insert_within(&ctx.db, &order, window).await? {
        Inserted::Written => {}
        Inserted::AtLimit { oldest, .. } => {
            return Err(ctx.limits.too_many(oldest, now_unix()).into());
        }
    }
    tracing::info!(order_id = %order.id, buyer = %buyer.username, "order pending payment");
    if ctx.faults.reach("orders.place.after_insert").await.is_err() {
        // A test stopped the flow here, as a crash would: the order is written, nothing asked.
        return Err(PlaceError::Pending(order.id));
    }
    settle(ctx, order, request).await
}

/// Charges `order` and turns where the payment ended into the answer.
async fn settle(
    ctx: &Placing,
    order: Order,
    request: tonic::Request<DebitRequest>,
) -> Result<Order, PlaceError> {
    match payment::charge(&ctx.db, &ctx.upstreams, &ctx.faults, order, request).await {
        Settled::Paid(order) => Ok(order),
        Settled::Refused { order, failure } => {
            payment::release_key(&ctx.db, order).await;
            Err(PlaceError::Payment { failure, order })
        }
        Settled::Pending(order) => Err(PlaceError::Pending(order)),
    }
}

/// How much longer than one quote all the quotes of an order may take together.
const QUOTES_SLACK: Duration = Duration::from_millis(250);

/// The catalogue's entries for `items`, with each unit price replaced by the supplier's quote
/// where the quote is acceptable. The quotes are asked all at once and must all be in within one
/// deadline (one quote's timeout, and a little), so an order of twenty lines waits as long as an
/// order of one. Any refusal refuses the order, before anything is written.
async fn price_list(
    ctx: &Placing,
    items: &OrderItems,
) -> Result<HashMap<Sku, CatalogEntry>, PlaceError> {
    let mut catalog = HashMap::new();
    for (sku, _) in items.iter() {
        if let Some(entry) = storage::catalog::find(&ctx.db, sku).await? {
            catalog.insert(sku.clone(), entry);
        }
    }
    let mut quotes = tokio::task::JoinSet::new();
    for entry in catalog.values() {
        let (supplier, entry) = (ctx.supplier.clone(), entry.clone());
        quotes.spawn(baton_api::request_id::carry(async move {
            let quote = if supplier.validates() {
                supplier.quote(&entry.sku).await
            } else {
                supplier
                    .danger_trusting_quote(&entry.sku, &entry.currency)
                    .await
            };
            (entry.sku, quote)
        }));
    }
    let all_in = async {
        let mut answered: Vec<(Sku, Result<UnverifiedQuote, SupplierError>)> = Vec::new();
        while let Some(joined) = quotes.join_next().await {
            answered.push(joined.map_err(|_| SupplierError::Unavailable)?);
        }
        Ok::<_, SupplierError>(answered)
    };
    let answered = if ctx.supplier.validates() {
        tokio::time::timeout(ctx.supplier.timeout() + QUOTES_SLACK, all_in)
            .await
            .map_err(|_| SupplierError::Unavailable)??
    } else {
        // Lab mode (`orders.supplier_validation` off): as long as the supplier likes.
        all_in.await?
    };
    for (sku, quote) in answered {
        let quote = quote?;
        let Some(entry) = catalog.get_mut(&sku) else {
            continue;
        };
        entry.unit_price_minor = if ctx.supplier.validates() {
            pricing::accept_quote(entry, &quote)?
        } else {
            quote.unit_price_minor
        };
    }
    Ok(catalog)
}

async fn debit_request(
    upstreams: &Upstreams,
    principal: &Principal,
    order: &Order,
) -> Result<tonic::Request<DebitRequest>, tonic::Status> {
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

    #[test]
    fn only_an_order_left_pending_keeps_its_key() {
        let order = OrderId::random();
        assert!(PlaceError::Pending(order).may_have_charged());
        for released in [
            PlaceError::Prepare,
            PlaceError::PaymentNotAllowed,
            PlaceError::Payment {
                failure: DebitFailure::InsufficientFunds,
                order,
            },
            PlaceError::Supplier(SupplierError::Unavailable),
            PlaceError::Storage(StorageError::Corrupt {
                table: "orders",
                column: "id",
            }),
        ] {
            assert!(!released.may_have_charged(), "{released:?}");
        }
    }
}
