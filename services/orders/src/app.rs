//! The orders service as the skeleton runs it: what is its own, and nothing else.
//!
//! [`baton_service`] does what every service does (bind, migrate, verify tokens, route, serve).
//! What orders adds: the catalogue, seeded in every mode; the gRPC channels to users and
//! accounts (they connect lazily, so the services may start in any order), the supplier's client
//! and the webhook notifier (reading their trust roots), all in the state its handlers share; its
//! REST routes; and two background tasks: the reconciler, which settles orders left `pending`,
//! and the hourly purge of expired idempotency keys. Orders serves no gRPC of its own, so only
//! the gateway calls it.

use std::sync::Arc;

use axum::Router;
use baton_platform::db::EmbeddedMigration;
use baton_platform::faults::Faults;
use baton_platform::{Controls, Settings, StartupError, Workload};
use baton_policy::PolicyText;
use baton_proto::accounts::v1::accounts_client::AccountsClient;
use baton_proto::users::v1::users_client::UsersClient;
use baton_service::{Parts, Service};
use baton_token::OwnTokens;
use baton_token::onward::NextHop;
use baton_workload::{Generations, Transport};
use sqlx::AnyPool;

use crate::config::{Config, ReconcileConfig, SupplierConfig, WebhookConfig};
use crate::domain::reconcile::Reconciler;
use crate::domain::{OrderLimits, Placing};
use crate::egress::Egress;
use crate::supplier::SupplierClient;
use crate::upstream::Upstreams;
use crate::webhook::{Notifier, WebhookGuard};
use crate::{http, policy, seed, storage};

/// The orders service, built and run by the skeleton: `Application::build(config)`, `.port()`,
/// `.run_until_stopped()`.
pub type Application = baton_service::Application<Orders>;

/// What every handler needs, cloned into each request (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub controls: Controls,
    /// The clients of users, accounts and the STS for the certificate orders presents now: a
    /// request takes one generation and keeps it, so a token the STS bound to that certificate
    /// travels on connections that present it.
    pub upstreams: Arc<Generations<Upstreams>>,
    /// The policy decision point, behind the lab switches that may skip it.
    pub guard: policy::Guard,
    /// The third party that quotes prices.
    pub supplier: SupplierClient,
    /// Order notifications, behind the SSRF guard.
    pub notifier: Notifier,
    pub limits: OrderLimits,
    /// How long `POST /v1/orders` waits for the payment before answering `202 Accepted`.
    pub answer_within: std::time::Duration,
    /// Where a test may pause or fail the payment (none in production).
    pub faults: Faults,
    /// When the reconciler runs, and on which orders.
    pub reconcile: ReconcileConfig,
}

impl AppState {
    /// What placing an order needs, owned, for the task the payment runs on.
    pub fn placing(&self) -> Placing {
        Placing {
            db: self.db.clone(),
            upstreams: self.upstreams.current(),
            supplier: self.supplier.clone(),
            limits: self.limits,
            controls: self.controls.clone(),
            faults: self.faults.clone(),
        }
    }
}

/// What the orders service brings to the skeleton.
#[derive(Debug)]
pub struct Orders;

impl Service for Orders {
    type Config = Config;
    type State = AppState;

    const MIGRATIONS: &'static [EmbeddedMigration] = storage::MIGRATIONS;

    fn shared(config: &Config) -> (&Settings, &Transport) {
        (&config.settings, &config.transport)
    }

    fn policies() -> PolicyText {
        policy::embedded()
    }

    async fn seed_reference_data(db: &AnyPool) -> Result<(), StartupError> {
        seed::catalog(db)
            .await
            .map_err(|err| StartupError::other("seeding the catalogue", err))
    }

    fn state(config: Config, parts: Parts) -> Result<AppState, StartupError> {
        let Config {
            settings,
            transport,
            users_addr,
            accounts_addr,
            limits,
            webhooks,
            supplier,
            egress,
            answer_within,
            reconcile,
        } = config;
        let mode = settings.trust_mode;
        let users_id = settings.trust_domain.id_of(Workload::Users);
        let accounts_id = settings.trust_domain.id_of(Workload::Accounts);
        let sts_url = parts.sts_url;
        let upstreams = Generations::new(&transport, move |transport| {
            let sts = transport.http_client(Workload::Sts)?;
            Ok(Upstreams {
                users: UsersClient::new(transport.grpc_channel(&users_addr, Workload::Users)?),
                accounts: AccountsClient::new(
                    transport.grpc_channel(&accounts_addr, Workload::Accounts)?,
                ),
                own_tokens: OwnTokens::new(sts.clone(), &sts_url, Workload::Orders.name()),
                next_hop: NextHop::new(mode, sts, &sts_url, Workload::Orders.name()),
                users_id: users_id.clone(),
                accounts_id: accounts_id.clone(),
            })
        })
        .map_err(|err| {
            StartupError::other("building the clients of users, accounts and the STS", err)
        })?;
        Ok(AppState {
            db: parts.db,
            controls: settings.controls.clone(),
            upstreams: Arc::new(upstreams),
            guard: policy::Guard::new(parts.policy),
            supplier: supplier_client(&supplier, &settings, &egress)?,
            notifier: notifier(&webhooks, &settings, &egress)?,
            limits,
            answer_within,
            faults: settings.faults.clone(),
            reconcile,
        })
    }

    fn routes() -> Router<AppState> {
        http::routes()
    }

    fn spawn_background(state: &AppState) {
        let reconciler = Reconciler {
            db: state.db.clone(),
            upstreams: state.upstreams.clone(),
            faults: state.faults.clone(),
            grace: state.reconcile.after,
            every: state.reconcile.every,
        };
        tokio::spawn(reconciler.run());
        tokio::spawn(purge_idempotency_keys(state.db.clone()));
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
