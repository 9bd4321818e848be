//! The STS as an `Application`: build it (bind, migrate, seal what is stored, seed), ask its port,
//! run it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use baton_platform::time::now_unix;
use baton_platform::{Control, Settings, StartupError, Workload, db, shutdown};
use baton_workload::PeerPolicy;
use sqlx::AnyPool;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::password::Passwords;
use crate::domain::sealing::lab::Unsealed;
use crate::domain::sealing::{KeyProvider, LocalKeys, at_rest};
use crate::domain::signing::{RotationPolicy, Signer};
use crate::domain::throttle::Throttle;
use crate::http::{AppState, router};
use crate::{seed, storage};

/// How often expired opaque tokens are swept from the database.
const SWEEP_INTERVAL: Duration = Duration::from_secs(300);

/// A built, not yet running STS.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// `baton-sts remove-demo-data`: opens the STS's database (migrating it, as a start would),
/// deletes the demo users' credentials and the demo client with everything issued to them, and
/// says what it deleted. The way out of [`StartupError::DemoDataInProduction`].
pub async fn remove_demo_data(config: &Config) -> Result<Vec<String>, StartupError> {
    let pool = db::connect(&config.settings.database_url, storage::MIGRATIONS).await?;
    seed::remove_demo_data(&pool)
        .await
        .map_err(|err| StartupError::other("removing the demo data", err))
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener = baton_workload::bind(config.settings.listen).await?;
        let pool = db::connect(&config.settings.database_url, storage::MIGRATIONS).await?;
        let mut sealer: Arc<dyn KeyProvider> = Arc::new(
            LocalKeys::load(&config.sealing)
                .map_err(|err| StartupError::other("reading the sealing keys", err))?,
        );
        if config.settings.controls.is_on(Control::StsSealingAtRest) {
            at_rest::seal_stored_secrets(&pool, sealer.as_ref())
                .await
                .map_err(|err| StartupError::other("sealing the stored secrets", err))?;
        } else {
            // LAB MODE ONLY: new secrets are written in plaintext, old ones left as they are.
            sealer = Arc::new(Unsealed::new(sealer));
        }
        let passwords = Passwords::new(&config.settings.controls)
            .await
            .map_err(|err| StartupError::other("password hashing", err))?;
        seed::clients(&pool, &config)
            .await
            .map_err(|err| StartupError::other("registering clients", err))?;
        if config.settings.seeds_demo_data() {
            seed::demo_users(&pool, &passwords, sealer.as_ref())
                .await
                .map_err(|err| StartupError::other("seeding demo users", err))?;
        } else {
            let found = seed::demo_data_found(&pool)
                .await
                .map_err(|err| StartupError::other("looking for demo data", err))?;
            if !found.is_empty() {
                return Err(StartupError::DemoDataInProduction {
                    component: "sts",
                    found,
                });
            }
        }
        let signer = Signer::load(&pool, rotation_policy(&config), sealer.clone())
            .await
            .map_err(|err| StartupError::other("signing keys", err))?;
        let state = AppState {
            config: Arc::new(config),
            pool,
            passwords,
            signer: Arc::new(signer),
            sealer,
            throttle: Throttle::default(),
            jwks_served: Arc::default(),
        };
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or(0)
    }

    /// The signer, for the test kit: attack tests mint tokens the STS would never issue (expired,
    /// for another audience) with the real key, to prove the services refuse them anyway.
    pub fn signer(&self) -> Arc<Signer> {
        self.state.signer.clone()
    }

    /// How many times the JWKS has been served, for the test kit (the JWKS refresh-limit
    /// attack counts what made-up key ids cost the STS).
    pub fn jwks_served(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.state.jwks_served.clone()
    }

    /// The database, for the test kit (for example to plant an already-expired opaque token).
    pub fn pool(&self) -> AnyPool {
        self.state.pool.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown::signal()).await
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let config = self.state.config.clone();
        config.settings.announce(self.port());
        tokio::spawn(sweep_expired_tokens(self.state.pool.clone()));
        tokio::spawn(rotate_keys(
            self.state.signer.clone(),
            self.state.pool.clone(),
            rotation_policy(&config),
        ));
        let policy = peer_policy(&config.settings);
        config
            .transport
            .serve(self.listener, router(self.state), policy, shutdown)
            .await
    }
}

/// Who may call what. The login pages and the metadata are reached only through the gateway. The
/// token, introspection and revocation endpoints also take direct calls from the services, which
/// authenticate there with their certificates (`tls_client_auth`). Any workload of the platform
/// may read the published keys.
fn peer_policy(settings: &Settings) -> PeerPolicy {
    const CLIENTS: [Workload; 4] = [
        Workload::Gateway,
        Workload::Users,
        Workload::Accounts,
        Workload::Orders,
    ];
    PeerPolicy::deny_all(settings.trust_domain.clone(), settings.controls.clone())
        .allow("/oauth2/authorize", &[Workload::Gateway])
        .allow("/oauth2/token", &CLIENTS)
        .allow("/oauth2/introspect", &CLIENTS)
        .allow("/oauth2/revoke", &CLIENTS)
        .allow(
            "/.well-known/oauth-authorization-server",
            &[Workload::Gateway],
        )
        .allow_any_workload("/.well-known/jwks.json")
        .allow_any_workload("/health")
}

fn rotation_policy(config: &Config) -> RotationPolicy {
    RotationPolicy {
        period: config.key_rotation,
        max_token_lifetime: config.internal_token_ttl,
    }
}

/// Rotates the signing keys: checks four times a period, so the next key is always published a
/// good while before it signs. A failed step is retried at the next tick; until then the keys in
/// memory keep working.
async fn rotate_keys(signer: Arc<Signer>, pool: AnyPool, policy: RotationPolicy) {
    let mut interval = tokio::time::interval((policy.period / 4).max(Duration::from_secs(1)));
    loop {
        interval.tick().await;
        if let Err(err) = signer.rotate(&pool, policy, now_unix()).await {
            tracing::warn!(error = %err, "could not rotate the signing keys");
        }
    }
}

async fn sweep_expired_tokens(pool: AnyPool) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        if let Err(err) = storage::delete_expired_tokens(&pool, now_unix()).await {
            tracing::warn!(error = %err, "could not sweep expired tokens");
        }
    }
}
