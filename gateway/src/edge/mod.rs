//! The gateway's edge protection: what every request meets before any service sees it.
//!
//! In the order a request meets them (see `app::router` for where each is attached):
//! 1. [`guard`]: the path must be in normal form (no `..`, `//`, percent-encoding, ...), the
//!    headers small enough, and every answer leaves with the security headers;
//! 2. CORS (tower-http's layer) grants cross-origin access to allow-listed origins only, see
//!    [`headers::cors`];
//! 3. the route table (in `app`) answers undeclared paths 404 and undeclared methods 405 with an
//!    `Allow` header ([`guard::method_not_allowed`]);
//! 4. [`rate`]: GCRA limits per source (an IPv4 address or an IPv6 /64; [`client_addr`] says
//!    which address is trustworthy) before authentication, and per user after it, in a class per
//!    route; the STS's machine endpoints per client under a per-source ceiling ([`machine`]);
//! 5. [`json`]: a JSON body's shape (depth, keys, strings, arrays) is checked before it is
//!    forwarded;
//! 6. [`upstream`]: at most so many requests in flight per upstream, and a circuit breaker that
//!    fails fast while an upstream keeps failing.
//!
//! Every refusal is an RFC 9457 problem. The settings, their defaults and the start-up refusal of
//! dangerous ones live in [`config`].

pub mod client_addr;
pub mod config;
pub mod decision;
pub mod guard;
pub mod headers;
pub mod json;
pub mod machine;
pub mod rate;
mod redis;
pub mod upstream;

pub use config::EdgeConfig;
