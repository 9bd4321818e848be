//! The security token service (STS): where long-term credentials are used, once, and traded for
//! short-lived tokens.
//!
//! Its place in the request's journey:
//! 1. a client logs in (`POST /v1/login`, through the gateway) with username, password and a TOTP
//!    code, and gets an **opaque** access token: a random string that means nothing outside the
//!    STS;
//! 2. the gateway trades that opaque token for a signed internal JWT at `POST /oauth2/token`
//!    (an RFC 8693 token exchange; this is the phantom-token pattern), authenticating itself as a
//!    client;
//! 3. every service verifies the JWT with the keys published at `GET /.well-known/jwks.json`.
//!
//! Layout: [`config`], [`app`] (the `Application` shape every component shares), [`http`]
//! (handlers), [`domain`] (passwords, TOTP, signing, token issuance; no HTTP in there),
//! [`storage`] (SQL), [`seed`] (demo users, development mode only).

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod seed;
pub mod storage;

pub use app::Application;
pub use config::Config;
