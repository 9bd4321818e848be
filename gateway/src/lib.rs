//! The API gateway: the platform's only public listener and its first enforcement layer.
//!
//! A request's journey through it:
//! 0. [`edge`]: the path must be in normal form and the headers small; the source address,
//!    then the user, must be within their rate limits; a JSON body must have a sane shape; every
//!    answer leaves with the security headers;
//! 1. [`routes`]: the method and path must match a declared route; anything else is 404 or 405
//!    before any other work is done (deny by default);
//! 2. [`auth`]: a protected route needs a bearer token, which must be an opaque access token the
//!    STS knows; the gateway trades it for a signed internal JWT (the phantom-token pattern) and
//!    caches the JWT until shortly before it expires;
//! 3. the route's scope is checked against what the STS granted (the coarse check; the service
//!    checks again);
//! 4. [`proxy`]: the request is forwarded with only allow-listed headers and the internal token,
//!    so nothing a client makes up (an `X-User-Id`, a forged internal header) reaches a service.

pub mod app;
pub mod auth;
pub mod config;
pub mod edge;
pub mod proxy;
pub mod routes;

pub use app::Application;
pub use config::Config;
