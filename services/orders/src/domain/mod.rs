//! The orders service's rules, free of HTTP and SQL.
//!
//! - [`items`]: what an order may contain (SKUs, quantities, how many lines);
//! - [`pricing`]: turning items into money with the catalogue's prices, checked arithmetic only;
//! - [`order`]: order ids, statuses, the ownership rule, reading orders;
//! - [`limits`]: how many orders per buyer and window, how many items per order (API6);
//! - [`idempotency`]: `Idempotency-Key`s, so a retried order is placed and charged once;
//! - [`payment`]: the payment's state machine, pending → paid | failed, paid → refunded;
//! - [`place`]: placing an order, from parsed request to paid (or refused) order;
//! - [`reconcile`]: settling orders a payment left `pending`, by asking accounts' ledger;
//! - [`refund`]: the back office giving an order's money back, once.

pub mod idempotency;
pub mod items;
pub mod limits;
pub mod order;
pub mod payment;
pub mod place;
pub mod pricing;
pub mod reconcile;
pub mod refund;

pub use idempotency::IdempotencyKey;
pub use items::{ItemsError, OrderItems, Quantity, Sku};
pub use limits::{LimitError, OrderLimits};
pub use order::{Line, Order, OrderId, OrderStatus};
pub use place::{NewOrder, PlaceError, Placed, Placing};
pub use pricing::{CatalogEntry, PricingError, QuoteRefusal};
pub use refund::RefundError;
