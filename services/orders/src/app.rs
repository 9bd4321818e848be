//! The `Application` every Baton component has, and the router that puts the pieces together.
//!
//! `Application::build` does everything that can fail before the first request: bind the
//! listener (port 0 picks a free one), open and migrate the database, seed the catalogue, build
//! the token verifier and the gRPC channels to users and accounts, the supplier's client and the
//! webhook notifier (reading their trust roots). The channels connect lazily, so the services
//! may start in any order.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use baton_api::lab::announce_lab_mode;
use baton_api::problem;
use baton_platform::{Controls, Settings, StartupError, TrustMode, Workload, db, shutdown};
use baton_policy::Policy;
use baton_proto::accounts::v1::accounts_client::AccountsClient;
use baton_proto::users::v1::users_client::UsersClient;
use baton_token::onward::NextHop;
use baton_token::{Verifier, verifier};
use baton_workload::{PeerPolicy, Transport};
use sqlx::AnyPool;
use tokio::net::TcpListener;

use crate::config::{Config, SupplierConfig, WebhookConfig};
use crate::domain::OrderLimits;
use crate::egress::Egress;
use crate::supplier::SupplierClient;
use crate::upstream::Upstreams;
use crate::webhook::{Notifier, WebhookGuard};
use crate::{http, policy, seed, storage};

/// What every handler needs, cloned into each request (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub verifier: Arc<Verifier>,
    pub controls: Controls,
    pub trust_mode: TrustMode,
    pub upstreams: Upstreams,
    /// The policy decision point, behind the lab switches that may skip it.
    pub guard: policy::Guard,
    /// The third party that quotes prices.
    pub supplier: SupplierClient,
    /// Order notifications, behind the SSRF guard.
    pub notifier: Notifier,
    pub limits: OrderLimits,
}

/// The whole service: REST routes behind the token check, `/health`, and problem+json fallbacks.
/// Orders serves no gRPC of its own; it only calls out.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(http::routes(state.clone()))
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.controls,
            announce_lab_mode,
        ))
}

/// Who may call what: REST only from the gateway.
fn peer_policy(settings: &Settings) -> PeerPolicy {
    PeerPolicy::deny_all(settings.trust_domain.clone(), settings.controls.clone())
        .allow("/v1/", &[Workload::Gateway])
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
    db: AnyPool,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let Config {
            settings,
            transport,
            users_addr,
            accounts_addr,
            limits,
            webhooks,
            supplier,
            egress,
        } = config;
        let listener = baton_workload::bind(settings.listen).await?;
        let port = listener.local_addr()?.port();
        let db = db::connect(&settings.database_url, storage::MIGRATIONS).await?;
        seed::catalog(&db)
            .await
            .map_err(|err| StartupError::other("seeding the catalogue", err))?;
        let channel = |addr: &str, peer: Workload| {
            transport
                .grpc_channel(addr, peer)
                .map_err(|err| StartupError::other("building a gRPC channel", err))
        };
        let client = transport
            .http_client(Workload::Sts)
            .map_err(|err| StartupError::other("building the STS client", err))?;
        let sts_url = transport.base_url(&settings.sts_addr);
        let upstreams = Upstreams {
            users: UsersClient::new(channel(&users_addr, Workload::Users)?),
            accounts: AccountsClient::new(channel(&accounts_addr, Workload::Accounts)?),
            next_hop: NextHop::new(
                settings.trust_mode,
                client.clone(),
                &sts_url,
                Workload::Orders.name(),
            ),
            users_id: settings.trust_domain.id_of(Workload::Users),
            accounts_id: settings.trust_domain.id_of(Workload::Accounts),
        };
        let verifier = verifier::for_service(client, &sts_url, &settings);
        let state = AppState {
            db,
            verifier: Arc::new(verifier),
            controls: settings.controls.clone(),
            trust_mode: settings.trust_mode,
            upstreams,
            guard: policy::Guard::new(Policy::new(
                policy::engine(settings.policy_dir.as_deref())
                    .map_err(|err| StartupError::other("loading the policies", err))?,
                settings.controls.clone(),
            )),
            supplier: supplier_client(&supplier, &settings, &egress)?,
            notifier: notifier(&webhooks, &settings, &egress)?,
            limits,
        };
        Ok(Self {
            port,
            listener,
            db: state.db.clone(),
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
        tokio::spawn(purge_idempotency_keys(self.db.clone()));
        let policy = peer_policy(&self.settings);
        self.transport
            .serve(self.listener, self.router, policy, shutdown)
            .await
    }
}

/// The supplier's client, trusting the roots in its CA file (a missing file stops the start).
fn supplier_client(
    config: &SupplierConfig,
    settings: &Settings,
    egress: &Egress,
) -> Result<SupplierClient, StartupError> {
    let tls = crate::webhook::tls_from_roots(&config.ca_file).map_err(|reason| {
        StartupError::other(
            "reading ORDERS_SUPPLIER_CA_FILE",
            std::io::Error::other(reason),
        )
    })?;
    SupplierClient::new(
        &config.url,
        tls,
        config.timeout,
        settings.controls.clone(),
        egress,
    )
    .map_err(|reason| {
        StartupError::other("reading ORDERS_SUPPLIER_URL", std::io::Error::other(reason))
    })
}

/// The webhook notifier. With webhooks off (no allowed host) no roots are read.
fn notifier(
    config: &WebhookConfig,
    settings: &Settings,
    egress: &Egress,
) -> Result<Notifier, StartupError> {
    let egress = egress.with_fixed_hosts(&config.static_hosts);
    let guard = WebhookGuard::new(
        &config.allowed_hosts,
        egress.resolver(),
        settings.controls.clone(),
    );
    let tls = if guard.is_on() {
        Some(
            crate::webhook::tls_from_roots(&config.ca_file).map_err(|reason| {
                StartupError::other(
                    "reading ORDERS_WEBHOOK_CA_FILE",
                    std::io::Error::other(reason),
                )
            })?,
        )
    } else {
        None
    };
    Ok(Notifier::new(guard, tls, config.timeout, egress))
}

/// Forgets idempotency keys past their lifetime, at start-up and hourly after.
async fn purge_idempotency_keys(db: AnyPool) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let expired_before =
            baton_platform::time::now_unix() - crate::domain::idempotency::KEY_LIFETIME_SECS;
        match storage::idempotency::purge(&db, expired_before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot expired idempotency keys"),
            Err(err) => tracing::warn!(error = %err, "could not purge idempotency keys"),
        }
    }
}
