//! The accounts service's rules, free of HTTP, gRPC and SQL.
//!
//! - [`money`]: currencies (an allow-list) and strictly positive amounts;
//! - [`account`]: account ids, who may see or spend from an account, reading and opening;
//! - [`debit`]: a parsed debit order and the idempotent debit itself;
//! - [`backoffice`]: the admin functions: freeze, deposit, refund;
//! - [`settle`]: what became of an order's debit, for orders' reconciler: debited, or voided.
//!
//! Values from the network become these types at the edge (`parse`), so the code below the
//! handlers never holds an unchecked currency, amount, id or reference.

pub mod account;
pub mod backoffice;
pub mod debit;
pub mod money;
pub mod settle;

pub use account::{Account, AccountError, AccountId, AccountStatus};
pub use backoffice::{Credit, CreditError, Credited};
pub use debit::{DebitError, DebitOrder, Debited, Reference};
pub use money::{Amount, Currency, CurrencyError};
pub use settle::{SettleError, Settlement};
