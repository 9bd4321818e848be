//! The users service: who a user is (name, display name, e-mail), over REST and gRPC.
//!
//! In the request's journey this is the last hop: the gateway forwards `GET /v1/users/...` here
//! with an internal token, and the orders service calls `Users/GetUser` with the same token to
//! read the buyer. Either way the service verifies the token itself and answers only the user it
//! speaks for (or an admin).
//!
//! Layout, in the order a request meets it:
//! - [`config`]: what the service reads from its environment;
//! - [`app`]: the service as the skeleton every service shares (`baton_service`) runs it: its
//!   state, seeds, routes and peers, and the [`Application`] they make;
//! - [`http`]: REST handlers, thin: scope check, parse, call the domain, shape the answer;
//! - [`grpc`]: the `Users` gRPC service, the same checks over gRPC;
//! - [`domain`]: user ids and the ownership rule; no HTTP, no SQL;
//! - [`storage`]: the SQL, and the embedded migrations;
//! - [`seed`]: the demo users, development mode only.

pub mod app;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod policy;
pub mod seed;
pub mod storage;

pub use app::{AppState, Application};
pub use config::Config;
