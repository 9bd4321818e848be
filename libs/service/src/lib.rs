//! The service skeleton: what every Baton service is made of, written once.
//!
//! In the request's journey this is the frame around a service's handlers. A request from the
//! gateway (or a gRPC call from orders) meets, in order: the peer allow-list (may this workload
//! call this route, by the SPIFFE ID of its certificate), the lab-mode header, the token check
//! (REST; a gRPC service checks the token itself, from metadata), and only then the service's
//! own handler. `/health` is open to any workload of the trust domain; an undeclared path is a
//! problem+json 404, an undeclared method on an API route a 405.
//!
//! A service says what is its own by implementing [`Service`] in its `app.rs`: its migrations,
//! its policies, what it seeds, the state its handlers share, its routes and gRPC services, who
//! besides the gateway may call it, and its background tasks. [`Application`] is the rest, the
//! same for every service, in the shape STYLE.md asks for: `Application::build(config)`,
//! `.port()`, `.run_until_stopped()`, and `.run_until(shutdown)` for the test kit.
//!
//! Layout:
//! - [`Service`] and [`Parts`] (here): what a service brings, and what the skeleton hands it;
//! - [`app`]: [`Application`], built (everything that can fail) and run;
//! - [`router()`]: the one router a service answers through, without a socket.
//!
//! The STS and the gateway are built differently (the STS issues tokens rather than verifying
//! them, neither asks Cedar policies, and the gateway's listener is the public one), so they keep
//! their own `Application`.

pub mod app;
pub mod router;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use baton_platform::db::EmbeddedMigration;
use baton_platform::{Settings, StartupError};
use baton_policy::{Policy, PolicyText};
use baton_token::Verifier;
use baton_workload::{PeerPolicy, Transport};
use sqlx::AnyPool;

pub use app::{Application, remove_demo_data};
pub use router::router;

/// What a service brings to the skeleton. Everything else is the same for every service.
pub trait Service: 'static {
    /// The service's configuration, read once in `main` (or built from a map by the test kit).
    type Config: Send;
    /// What its handlers share, cloned into each request (every field cheap to clone).
    type State: Clone + std::fmt::Debug + Send + Sync + 'static;

    /// The schema, embedded in the binary and applied at start-up.
    const MIGRATIONS: &'static [EmbeddedMigration];

    /// The part of the configuration every service has.
    fn shared(config: &Self::Config) -> (&Settings, &Transport);

    /// The policies built into the binary (a `BATON_POLICY_DIR` replaces them).
    fn policies() -> PolicyText;

    /// Writes the demo data. The skeleton calls it in development mode only, never in production.
    fn seed_demo_data(_db: &AnyPool) -> impl Future<Output = Result<(), StartupError>> + Send {
        async { Ok(()) }
    }

    /// The demo data found in the database, in words (`demo user alice`). In production the
    /// skeleton refuses to start while this is not empty.
    fn demo_data(_db: &AnyPool) -> impl Future<Output = Result<Vec<String>, StartupError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Deletes the demo data, and whatever hangs off it, from the database; says what it deleted.
    fn remove_demo_data(
        _db: &AnyPool,
    ) -> impl Future<Output = Result<Vec<String>, StartupError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Writes the reference data every mode needs (say, a catalogue), before the first request.
    fn seed_reference_data(_db: &AnyPool) -> impl Future<Output = Result<(), StartupError>> + Send {
        async { Ok(()) }
    }

    /// The state the handlers share, from the parts the skeleton made and the rest of the
    /// configuration.
    fn state(config: Self::Config, parts: Parts) -> Result<Self::State, StartupError>;

    /// The REST routes. The skeleton puts the token check in front of them and `/health` beside
    /// them.
    fn routes() -> Router<Self::State>;

    /// The gRPC services, for a service that serves any. They check the token themselves, from
    /// metadata; the skeleton only routes to them.
    fn grpc(_state: &Self::State) -> Option<tonic::service::Routes> {
        None
    }

    /// Who may call what, on top of the skeleton's rules: REST only from the gateway, `/health`
    /// from any workload. Anything no rule covers is refused.
    fn peer_policy(policy: PeerPolicy) -> PeerPolicy {
        policy
    }

    /// Starts the service's background tasks, once, as it starts serving.
    fn spawn_background(_state: &Self::State) {}
}

/// What the skeleton has made by the time it asks a service for its state.
#[derive(Debug)]
pub struct Parts {
    /// The service's own database, migrated and seeded.
    pub db: AnyPool,
    /// Verifies the internal tokens addressed to this service. The REST routes already sit behind
    /// it; a gRPC service calls it itself.
    pub verifier: Arc<Verifier>,
    /// The service's policies, asked behind the lab switches.
    pub policy: Policy,
    /// The STS's base URL, for a service that asks it for tokens. It builds its own clients for
    /// that, in `baton_workload::Generations`, so the tokens travel with the certificate they are
    /// bound to.
    pub sts_url: String,
}
