//! The whole-platform suite: Baton's best executable description of itself.
//!
//! Everything is in `tests/it/`, one module per theme (the journey, the authorization server,
//! tokens, mTLS, edge protection, the ordering flow, bad input, the API inventory, and the house
//! rules of the workspace itself). Each test starts the whole platform in-process through the
//! test kit (`baton-testkit`), on random ports with fresh databases, and talks to it through the
//! gateway as a client would, or straight to a service as a misbehaving workload would.
//!
//! ```sh
//! cargo nextest run -p baton-e2e                               # E2E trust mode, SQLite
//! BATON_TEST_TRUST_MODE=exchange cargo nextest run -p baton-e2e
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo nextest run -p baton-e2e
//! ```
//!
//! This crate has no code of its own; the library target exists only so the suite has a home.
