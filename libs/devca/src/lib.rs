//! The development CA: the stand-in for SPIRE (or cert-manager) on a laptop.
//!
//! It holds a root and an intermediate CA and issues every component an X.509 SVID: a short-lived
//! certificate whose one URI SAN is the component's SPIFFE ID, `spiffe://<trust domain>/<name>`.
//! It writes each SVID to the files SPIRE's helper would write (`svid.pem` with the chain,
//! `svid_key.pem`, `bundle.pem`) and renews them well before they expire; the components watch
//! those files and pick up new certificates without restarting.
//!
//! Layout: [`ca`] (the CA itself: create, persist, load, issue), [`files`] (writing SVIDs the
//! way a helper does, atomically), [`renew`] (the renewal loop `baton-ca` runs).

pub mod ca;
pub mod files;
pub mod renew;

pub use ca::{DevCa, LeafSpec, Svid};
