//! What the services' policy tests share: the table their policies must follow, and callers to
//! put to them.
//!
//! Each service decides with its own Cedar policies (`services/*/policy/policies.cedar`). What
//! those policies must allow is written once, in the roles-against-functions table of
//! `docs/authorization.md`. Each service's `policy.rs` tests generate callers and objects and
//! check that the service answers exactly what the table says, for every function it decides:
//!
//! - [`table`]: the table, read from the doc itself, so the doc and the policies cannot drift
//!   apart: a change to either that the other does not follow fails a test;
//! - [`caller`]: generated callers (roles, some of them unknown; scopes; delegation chains) and
//!   the [`Principal`](baton_token::Principal) a service makes of each one's token, signed and
//!   verified as every service verifies it.
//!
//! This crate is only ever a dev-dependency: no binary links it.

pub mod caller;
pub mod table;

pub use caller::{Caller, caller, object};
pub use table::{Object, Outcome, Row, Table};
