//! The users service's rules, free of HTTP, gRPC and SQL: what a user id is, and who may read
//! whose profile. Both the REST handlers and the gRPC service call in here, so the ownership rule
//! is written once.

pub mod user;

pub use user::{LookupError, Profile, UserId, profile};
