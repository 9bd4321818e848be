//! The accounts service as the skeleton runs it: what is its own, and nothing else.
//!
//! [`baton_service`] does what every service does (bind, migrate, verify tokens, route, serve).
//! What the accounts service adds: the demo accounts in development mode, the state its handlers
//! share, its REST routes, the `Accounts` gRPC service beside them (`Debit`, `Refund`, `Settle`, `RefundState`),
//! and who may call that.

use std::sync::Arc;

use axum::Router;
use baton_platform::db::EmbeddedMigration;
use baton_platform::faults::Faults;
use baton_platform::{Controls, Settings, StartupError, Workload};
use baton_policy::PolicyText;
use baton_proto::accounts::v1::accounts_server::AccountsServer;
use baton_service::{Parts, Service};
use baton_token::Verifier;
use baton_workload::{PeerPolicy, Transport};
use sqlx::AnyPool;
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::AccountsService;
use crate::{http, policy, seed, storage};

/// The accounts service, built and run by the skeleton: `Application::build(config)`, `.port()`,
/// `.run_until_stopped()`.
pub type Application = baton_service::Application<Accounts>;

/// What every handler needs, cloned into each request (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: AnyPool,
    /// For the gRPC service, which checks the token itself.
    pub verifier: Arc<Verifier>,
    pub controls: Controls,
    /// The policy decision point, behind the lab switches that may skip it.
    pub guard: policy::Guard,
    /// Where a test may pause or fail a debit (none in production).
    pub faults: Faults,
    /// The SPIFFE ID of orders: the one workload whose own token `Settle` accepts.
    pub orders_id: String,
}

/// What the accounts service brings to the skeleton.
#[derive(Debug)]
pub struct Accounts;

impl Service for Accounts {
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
        seed::demo_accounts(db)
            .await
            .map_err(|err| StartupError::other("seeding the demo accounts", err))
    }

    async fn demo_data(db: &AnyPool) -> Result<Vec<String>, StartupError> {
        seed::demo_accounts_found(db)
            .await
            .map_err(|err| StartupError::other("looking for demo accounts", err))
    }

    async fn remove_demo_data(db: &AnyPool) -> Result<Vec<String>, StartupError> {
        seed::remove_demo_accounts(db)
            .await
            .map_err(|err| StartupError::other("removing the demo accounts", err))
    }

    fn state(config: Config, parts: Parts) -> Result<AppState, StartupError> {
        Ok(AppState {
            db: parts.db,
            verifier: parts.verifier,
            faults: config.settings.faults.clone(),
            controls: config.settings.controls.clone(),
            guard: policy::Guard::new(parts.policy),
            orders_id: config.settings.trust_domain.id_of(Workload::Orders),
        })
    }

    fn routes() -> Router<AppState> {
        http::routes()
    }

    fn grpc(state: &AppState) -> Option<Routes> {
        Some(Routes::new(AccountsServer::new(AccountsService::new(
            state.clone(),
        ))))
    }

    /// `Debit`, `Refund`, `Settle` and `RefundState` only from orders.
    fn peer_policy(policy: PeerPolicy) -> PeerPolicy {
        policy
            .allow_method("/baton.accounts.v1.Accounts/Debit", &[Workload::Orders])
            .allow_method("/baton.accounts.v1.Accounts/Refund", &[Workload::Orders])
            .allow_method("/baton.accounts.v1.Accounts/Settle", &[Workload::Orders])
            .allow_method(
                "/baton.accounts.v1.Accounts/RefundState",
                &[Workload::Orders],
            )
    }
}
