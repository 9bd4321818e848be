//! The users service as the skeleton runs it: what is its own, and nothing else.
//!
//! [`baton_service`] does what every service does (bind, migrate, verify tokens, route, serve).
//! What the users service adds: the demo users in development mode, the state its handlers
//! share, its REST routes, the `Users` gRPC service beside them, and who may call that.

use std::sync::Arc;

use axum::Router;
use baton_platform::db::EmbeddedMigration;
use baton_platform::{Controls, Settings, StartupError, Workload};
use baton_policy::PolicyText;
use baton_proto::users::v1::users_server::UsersServer;
use baton_service::{Parts, Service};
use baton_token::Verifier;
use baton_workload::{PeerPolicy, Transport};
use sqlx::AnyPool;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::UsersService;
use crate::{http, policy, seed, storage};

/// The users service, built and run by the skeleton: `Application::build(config)`, `.port()`,
/// `.run_until_stopped()`.
pub type Application = baton_service::Application<Users>;

/// What every handler needs, cloned into each request (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: AnyPool,
    /// For the gRPC service, which checks the token itself.
    pub verifier: Arc<Verifier>,
    pub controls: Controls,
    /// The policy decision point, behind the lab switches that may skip it.
    pub guard: policy::Guard,
}

/// What the users service brings to the skeleton.
#[derive(Debug)]
pub struct Users;

impl Service for Users {
    type Config = Config;
    type State = AppState;

    const MIGRATIONS: &'static [EmbeddedMigration] = storage::MIGRATIONS;

    fn shared(config: &Config) -> (&Settings, &Transport) {
        (&config.settings, &config.transport)
    }

    fn policies() -> PolicyText {
        policy::embedded()
    }

    async fn seed_demo_data(db: &AnyPool) -> Result<(), StartupError> {
        seed::demo_users(db)
            .await
            .map_err(|err| StartupError::other("seeding the demo users", err))
    }

    async fn demo_data(db: &AnyPool) -> Result<Vec<String>, StartupError> {
        seed::demo_users_found(db)
            .await
            .map_err(|err| StartupError::other("looking for demo users", err))
    }

    async fn remove_demo_data(db: &AnyPool) -> Result<Vec<String>, StartupError> {
        seed::remove_demo_users(db)
            .await
            .map_err(|err| StartupError::other("removing the demo users", err))
    }

    fn state(config: Config, parts: Parts) -> Result<AppState, StartupError> {
        Ok(AppState {
            db: parts.db,
            verifier: parts.verifier,
            controls: config.settings.controls,
            guard: policy::Guard::new(parts.policy),
        })
    }

    fn routes() -> Router<AppState> {
        http::routes()
    }

    fn grpc(state: &AppState) -> Option<Routes> {
        Some(Routes::new(UsersServer::new(UsersService::new(
            state.clone(),
        ))))
    }

    /// `GetUser` only from orders.
    fn peer_policy(policy: PeerPolicy) -> PeerPolicy {
        policy.allow_method("/baton.users.v1.Users/GetUser", &[Workload::Orders])
    }
}
