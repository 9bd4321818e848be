//! The security token service (STS): where long-term credentials are used, once, and traded for
//! short-lived tokens.
//!
//! Its place in the request's journey:
//! 1. a client sends its user to the STS's login pages (`/oauth2/authorize`, through the gateway:
//!    password, then a TOTP code), gets an authorization code back and redeems it with its PKCE
//!    verifier at `/oauth2/token` for an **opaque** access token (a random string that means
//!    nothing outside the STS) and a refresh token; machine clients use client credentials;
//! 2. the gateway trades that opaque token for a signed internal JWT at `POST /oauth2/token`
//!    (an RFC 8693 token exchange; this is the phantom-token pattern), authenticating itself as a
//!    client;
//! 3. every service verifies the JWT with the keys published at `GET /.well-known/jwks.json`.
//!
//! Layout: [`config`], [`app`] (the `Application` shape every component shares), [`http`]
//! (handlers and the login pages), [`domain`] (passwords, TOTP, throttling, clients, PKCE, grants,
//! signing keys and their rotation; no HTTP in there), [`storage`] (SQL), [`seed`] (clients, and
//! demo users in development mode only), [`login_client`] (the scripted browser `baton-login` and
//! the test kit log in with). See `docs/authorization-server.md`.

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod login_client;
pub mod seed;
pub mod storage;

pub use app::Application;
pub use config::Config;
