//! The users service's rules, free of HTTP, gRPC and SQL: what a user id is, and who may read
//! or change whose profile, and how much of it they see. Both the REST handlers and the gRPC service call in here, so the ownership rule
//! is written once.

pub mod user;

pub use user::{
    Contact, LookupError, ProfileChanges, User, UserId, Visible, list, mask_email, mask_phone,
    profile, update_own,
};
