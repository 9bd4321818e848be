//! Generated gRPC code for the east-west calls between services.
//!
//! The `.proto` files under `proto/baton/` are the contract; a service never imports another
//! service's crate, only these types. Generated code is exempt from our lints.

#![allow(missing_debug_implementations, clippy::all, clippy::pedantic)]

pub mod accounts {
    pub mod v1 {
        tonic::include_proto!("baton.accounts.v1");
    }
}

pub mod users {
    pub mod v1 {
        tonic::include_proto!("baton.users.v1");
    }
}
