//! The `Application` every Baton component has, and the router that puts the pieces together.
//!
//! `Application::build` does everything that can fail before the first request: bind the
//! listener (port 0 picks a free one), open and migrate the database, seed the demo users in
//! development mode, build the token verifier. After that, running cannot fail for a reason of
//! ours. REST and gRPC share the one port: gRPC is an HTTP/2 route like any other.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use baton_api::lab::announce_lab_mode;
use baton_api::problem;
use baton_platform::{Controls, Settings, StartupError, TrustMode, Workload, db, shutdown};
use baton_policy::Policy;
use baton_proto::users::v1::users_server::UsersServer;
use baton_token::{Verifier, verifier};
use baton_workload::{PeerPolicy, Transport};
use sqlx::AnyPool;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::grpc::UsersService;
use crate::{http, policy, seed, storage};

/// What every handler needs, cloned into each request (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub verifier: Arc<Verifier>,
    pub controls: Controls,
    pub trust_mode: TrustMode,
    /// The policy decision point, behind the lab switches that may skip it.
    pub guard: policy::Guard,
}

/// The whole service: REST routes behind the token check, the gRPC service (which checks the
/// token itself, from metadata), `/health`, and problem+json fallbacks for everything else.
pub fn router(state: AppState) -> Router {
    let grpc = tonic::service::Routes::new(UsersServer::new(UsersService::new(state.clone())))
        .into_axum_router()
        // tonic's own fallback answers in gRPC; ours answers problem+json, and axum allows one.
        .reset_fallback();
    Router::new()
        .merge(http::routes(state.clone()))
        .merge(grpc)
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.controls,
            announce_lab_mode,
        ))
}

/// Who may call what: REST only from the gateway, `GetUser` only from orders.
fn peer_policy(settings: &Settings) -> PeerPolicy {
    PeerPolicy::deny_all(settings.trust_domain.clone(), settings.controls.clone())
        .allow("/v1/", &[Workload::Gateway])
        .allow("/baton.users.v1.Users/GetUser", &[Workload::Orders])
        .allow_any_workload("/health")
}

/// A built service, ready to run.
#[derive(Debug)]
pub struct Application {
    port: u16,
    listener: TcpListener,
    router: Router,
    transport: Transport,
    settings: Settings,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let Config {
            settings,
            transport,
        } = config;
        let listener = baton_workload::bind(settings.listen).await?;
        let port = listener.local_addr()?.port();
        let db = db::connect(&settings.database_url, storage::MIGRATIONS).await?;
        if settings.seeds_demo_data() {
            seed::demo_users(&db)
                .await
                .map_err(|err| StartupError::other("seeding the demo users", err))?;
        }
        let client = transport
            .http_client(Workload::Sts)
            .map_err(|err| StartupError::other("building the JWKS client", err))?;
        let verifier =
            verifier::for_service(client, &transport.base_url(&settings.sts_addr), &settings);
        let state = AppState {
            db,
            verifier: Arc::new(verifier),
            controls: settings.controls.clone(),
            trust_mode: settings.trust_mode,
            guard: policy::Guard::new(Policy::new(
                policy::engine(settings.policy_dir.as_deref())
                    .map_err(|err| StartupError::other("loading the policies", err))?,
                settings.controls.clone(),
            )),
        };
        Ok(Self {
            port,
            listener,
            router: router(state),
            transport,
            settings,
        })
    }

    /// The port the listener is bound to (the real one, when the config asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown::signal()).await
    }

    /// Serves until `shutdown` resolves, then drains requests in flight. The test kit uses this.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.settings.announce(self.port);
        let policy = peer_policy(&self.settings);
        self.transport
            .serve(self.listener, self.router, policy, shutdown)
            .await
    }
}
