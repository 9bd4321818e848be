//! [`Application`]: a service built, then run.
//!
//! `Application::build` does everything that can fail before the first request: bind the
//! listener (port 0 picks a free one), open and migrate the database, seed it, build the token
//! verifier and the policies, and the service's own state. After that, running cannot fail for a
//! reason of ours. REST and gRPC share the one port: gRPC is an HTTP/2 route like any other.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use baton_platform::{Settings, StartupError, Workload, db, shutdown};
use baton_policy::{Policy, reload};
use baton_token::verifier;
use baton_workload::{PeerPolicy, Transport};
use tokio::net::TcpListener;

use crate::{Parts, Service, router};

/// A built service, ready to run.
#[derive(Debug)]
pub struct Application<S: Service> {
    port: u16,
    listener: TcpListener,
    router: Router,
    /// Kept for the background tasks, which start when the service runs.
    state: S::State,
    settings: Settings,
    transport: Transport,
}

/// `baton-<service> remove-demo-data`: opens the service's database (migrating it, as a start
/// would), deletes the demo data, and says what it deleted. The way out of
/// [`StartupError::DemoDataInProduction`], in any run mode.
pub async fn remove_demo_data<S: Service>(config: &S::Config) -> Result<Vec<String>, StartupError> {
    let (settings, _) = S::shared(config);
    let db = db::connect(&settings.database_url, S::MIGRATIONS).await?;
    S::remove_demo_data(&db).await
}

impl<S: Service> Application<S> {
    pub async fn build(config: S::Config) -> Result<Self, StartupError> {
        let (settings, transport) = S::shared(&config);
        let (settings, transport) = (settings.clone(), transport.clone());
        let listener = baton_workload::bind(settings.listen).await?;
        let port = listener.local_addr()?.port();
        let db = db::connect(&settings.database_url, S::MIGRATIONS).await?;
        if settings.seeds_demo_data() {
            S::seed_demo_data(&db).await?;
        } else {
            let found = S::demo_data(&db).await?;
            if !found.is_empty() {
                return Err(StartupError::DemoDataInProduction {
                    component: settings.workload.name(),
                    found,
                });
            }
        }
        S::seed_reference_data(&db).await?;
        let sts = transport
            .http_client(Workload::Sts)
            .map_err(|err| StartupError::other("building the STS client", err))?;
        let sts_url = transport.base_url(&settings.sts_addr);
        let verifier = Arc::new(verifier::for_service(sts, &sts_url, &settings));
        let engine = reload::load(
            settings.workload.name(),
            &S::policies(),
            settings.policy_dir.as_deref(),
        )
        .map_err(|err| StartupError::other("loading the policies", err))?;
        let parts = Parts {
            db,
            verifier: verifier.clone(),
            policy: Policy::new(engine, settings.controls.clone()),
            sts_url,
        };
        let state = S::state(config, parts)?;
        Ok(Self {
            port,
            listener,
            router: router::<S>(state.clone(), &settings, verifier),
            state,
            settings,
            transport,
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
        S::spawn_background(&self.state);
        let policy = S::peer_policy(
            PeerPolicy::deny_all(
                self.settings.trust_domain.clone(),
                self.settings.controls.clone(),
            )
            .allow("/v1/", &[Workload::Gateway])
            .allow_any_workload("/health"),
        );
        self.transport
            .serve(self.listener, self.router, policy, shutdown)
            .await
    }
}
