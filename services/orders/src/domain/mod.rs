//! The orders service's rules, free of HTTP and SQL.
//!
//! - [`items`]: what an order may contain (SKUs, quantities, how many lines);
//! - [`pricing`]: turning items into money with the catalogue's prices, checked arithmetic only;
//! - [`order`]: order ids, statuses, the ownership rule, reading orders;
//! - [`place`]: placing an order, from parsed request to paid (or refused) order;
//! - [`refund`]: the back office giving an order's money back, once.

pub mod items;
pub mod order;
pub mod place;
pub mod pricing;
pub mod refund;

pub use items::{ItemsError, OrderItems, Quantity, Sku};
pub use order::{Line, Order, OrderId, OrderStatus};
pub use place::{NewOrder, PlaceError};
pub use pricing::{CatalogEntry, PricingError};
pub use refund::RefundError;
