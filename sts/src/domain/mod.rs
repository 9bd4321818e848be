//! The STS's rules, free of HTTP: how passwords, second factors, clients and tokens are checked
//! and made.

pub mod client;
pub mod exchange;
pub mod issue;
pub mod login;
pub mod opaque;
pub mod password;
pub mod signing;
pub mod totp;
