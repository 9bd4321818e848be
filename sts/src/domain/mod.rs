//! The STS's rules, free of HTTP: how passwords, second factors, clients and tokens are checked
//! and made, and how the secrets among them are sealed at rest.

pub mod client;
pub mod delegation;
pub mod exchange;
pub mod grants;
pub mod introspect;
pub mod issue;
pub mod login;
pub mod opaque;
pub mod password;
pub mod pkce;
pub mod sealing;
pub mod signing;
pub mod throttle;
pub mod totp;
pub mod workload_token;
