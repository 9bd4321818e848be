//! The HTTP API kit: how every Baton component takes a request in and answers it.
//!
//! In the request's journey this is at the door of every component, the gateway's as much as
//! each service's: input is bound and checked here before a handler sees it, and every error
//! leaves in the same RFC 9457 shape, with fixed text and nothing of our internals.
//!
//! Layout:
//! - [`problem`]: RFC 9457 problem+json, the one error format every HTTP answer uses.
//! - [`error`]: a service handler's error, and the one place it becomes a problem.
//! - [`input`]: request bodies bound to explicit types and validated, and page sizes.
//! - [`openapi`]: what every service's generated API description shares.
//! - [`lab`]: the `Baton-Lab-Mode` header on every answer while lab mode is on.
//! - [`request_id`]: one id per request, on its answer, its problem body and its log lines.

pub mod error;
pub mod input;
pub mod lab;
pub mod openapi;
pub mod problem;
pub mod request_id;

pub use error::ApiError;
pub use problem::Problem;
