//! The attack suite: every attack names the control it defeats and the OWASP API risk it
//! belongs to, and is proven both ways.
//!
//! [`prove`] runs an attack in one trust mode against fresh in-process platforms (every attack is
//! proven in each mode it applies to; see [`Modes`]):
//! 1. with every control on: it must be **blocked**;
//! 2. if it needs more than one mistake, with each of its controls off alone: still **blocked**
//!    (the other layer holds: "two mistakes high");
//! 3. with all of its controls off, in lab mode: it must **succeed**. This proves the attack test
//!    has teeth: an attack that never succeeds proves nothing about the control.
//!
//! Layout: [`risk`] (the OWASP API Security Top 10, 2023, with the 2019 names), [`attacks`] (the
//! catalogue, and the object- and function-level attacks), with the rest by theme:
//! [`authorization_server`] (logins, PKCE, refresh tokens), [`edge`] (limits, headers, verbs,
//! paths, CORS), [`business`] (order flow, webhooks, the supplier), [`exchange`] (token-exchange
//! mode), [`forgery`] (forged JWTs), [`inventory`] (the retired API version), [`money`] (money moved from
//! inside); [`proof`] (the
//! runner above) [`report`] (what `baton-attack` writes for people and CI) and [`risk_map`] (risk → endpoint →
//! attack → control → code, as `docs/owasp/risk-map.json`).

pub mod attacks;
pub mod authorization_server;
pub mod business;
pub mod edge;
pub mod exchange;
pub mod forgery;
pub mod inventory;
pub mod money;
pub mod proof;
pub mod report;
pub mod risk;
pub mod risk_map;

pub use attacks::{Attack, Modes, Outcome, catalogue};
pub use proof::{Proof, prove};
pub use risk::OwaspRisk;
