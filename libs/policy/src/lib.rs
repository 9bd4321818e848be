//! The embedded policy decision point (PDP): the second, fine-grained layer of authorization.
//!
//! In the request's journey this sits inside every service, after the token check. The gateway
//! has already refused a caller whose token lacks the route's scope or role; the service asks
//! again, and more precisely: *may this principal do this action to this object, as stored?*
//!
//! The answer comes from [Cedar](https://www.cedarpolicy.com) policies, one set per service, kept
//! beside the service in `policy/schema.cedarschema` and `policy/policies.cedar`:
//!
//! - [`engine`]: parses the schema and the policies, validates the policies against the schema
//!   (a policy that does not validate stops the start), evaluates requests in-process and logs
//!   every decision as a security event;
//! - [`request`]: the entities a decision is about: the [`Actor`] from the verified token, the
//!   [`Resource`] built from the service's own storage (never from what the client sent);
//! - [`reload`]: watches a policy directory and swaps in a new policy set when the files change,
//!   keeping the old one when the new files do not validate;
//! - [`guard`]: a service's [`Policy`], asked with each question behind its lab switch.
//!
//! Why an embedded engine rather than a policy server: a decision is a function call, not a
//! network hop, so it can be asked on every request and every object without a latency budget,
//! and it cannot be "unavailable" (there is no fail-open question to answer).

pub mod engine;
pub mod guard;
pub mod reload;
pub mod request;

pub use engine::{Decision, PolicyEngine, PolicyError, PolicyText};
pub use guard::Policy;
pub use request::{Action, Actor, Resource};
