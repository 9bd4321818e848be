//! Starting and talking to the in-process platform.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use baton_orders::egress::{Egress, NoResolver};
use baton_platform::config::{Map, Source};
use baton_platform::demo::DemoUser;
use baton_platform::faults::Script;
use baton_platform::time::now_unix;
use baton_platform::{Control, TrustDomain, TrustMode, Workload};
use baton_sts::domain::issue::scopes_for;
use baton_sts::domain::opaque::OpaqueToken;
use baton_sts::domain::sealing::{LocalKeys, SealingKeySource};
use baton_sts::domain::signing::Signer;
use baton_sts::domain::totp;
use baton_sts::login_client::{LoginClient, TokenSet};
use baton_supplier::{Canary, CanaryHandle, ThirdPartyCa};
use baton_token::Claims;
use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyPool;
use tokio::sync::watch;

use crate::certs::TestCa;
use crate::database::Backend;
use crate::hermetic::{self, Breaches, HermeticDial, SocketWatch};

/// What to start: which controls lab mode switches off, and how workload certificates behave.
#[derive(Debug)]
pub struct PlatformBuilder {
    lab_disabled: Vec<Control>,
    /// `STS_KEY_ROTATION_SECS`, when a test wants keys to rotate while it runs.
    key_rotation: Option<Duration>,
    svid_lifetime: Duration,
    rotate_every: Option<Duration>,
    /// Settings on top of the test kit's (see [`PlatformBuilder::with_setting`]).
    settings: Vec<(String, String)>,
    /// How the fake supplier answers at first (see [`TestPlatform::supplier`]).
    supplier_mode: baton_supplier::Mode,
    trust_mode: TrustMode,
    /// What the flows that move money do at their fault points (nothing, unless a test says).
    faults: Script,
}

/// The trust mode a platform starts in unless a test says otherwise: `BATON_TEST_TRUST_MODE`
/// (`e2e` or `exchange`), E2E when unset. `just test` runs the whole-platform suites in both.
pub fn default_trust_mode() -> TrustMode {
    std::env::var("BATON_TEST_TRUST_MODE")
        .ok()
        .and_then(|mode| mode.parse().ok())
        .unwrap_or(TrustMode::E2e)
}

/// The gateway's rate limits in tests, per window of a minute: generous enough for any test's
/// own traffic, small enough that an attack can burst past them in a moment. (The gateway's own
/// defaults, 30 and 600, would throttle tests that log several users in.) Every test logs in
/// through one client from one address, so the per-client limit at the token endpoint is as
/// generous as the login pages'; the per-source ceiling over all clients is wider, as it must be.
pub const TEST_LOGIN_RATE_LIMIT: u32 = 100;
pub const TEST_API_RATE_LIMIT: u32 = 1000;
pub const TEST_CLIENT_RATE_LIMIT: u32 = 100;
pub const TEST_MACHINE_RATE_LIMIT: u32 = 300;

/// Orders per buyer per minute in tests: enough for any test's own traffic (a certificate
/// rotation test places an order every few hundred milliseconds), few enough that a bot bursts
/// past it in a moment. (Orders' own default, 10, is a person's pace.)
pub const TEST_ORDER_LIMIT: u32 = 100;

/// The webhook hosts orders allow-lists in tests.
pub const TEST_WEBHOOK_HOSTS: &str =
    "127.0.0.1,[::1],169.254.169.254,internal.baton.test,hooks.baton.test";

impl Default for PlatformBuilder {
    fn default() -> Self {
        Self {
            lab_disabled: Vec::new(),
            key_rotation: None,
            svid_lifetime: Duration::from_secs(3600),
            rotate_every: None,
            settings: Vec::new(),
            supplier_mode: baton_supplier::Mode::Honest,
            trust_mode: default_trust_mode(),
            faults: Script::new(),
        }
    }
}

impl PlatformBuilder {
    /// Issues every component's SVID anew every `period`, each living `lifetime`.
    pub fn rotate_certificates(mut self, period: Duration, lifetime: Duration) -> Self {
        self.rotate_every = Some(period);
        self.svid_lifetime = lifetime;
        self
    }

    /// Rotates the STS's signing key every `period` (at least 10 s).
    pub fn rotate_signing_keys(mut self, period: Duration) -> Self {
        self.key_rotation = Some(period);
        self
    }

    /// Switches `controls` off in lab mode (every component gets the same switches).
    pub fn lab_disable(mut self, controls: impl IntoIterator<Item = Control>) -> Self {
        self.lab_disabled.extend(controls);
        self
    }

    /// Runs the platform in `mode` (E2E or token exchange at every hop).
    pub fn trust_mode(mut self, mode: TrustMode) -> Self {
        self.trust_mode = mode;
        self
    }

    /// Sets a configuration key for every component, over the test kit's own: say
    /// `GATEWAY_RATE_LIMIT_LOGIN` to `3` for a rate-limit test, or `REDIS_URL`.
    pub fn with_setting(mut self, key: &str, value: impl Into<String>) -> Self {
        self.settings.push((key.to_owned(), value.into()));
        self
    }

    /// Starts the fake supplier in `mode` (honest by default); it can be switched later through
    /// [`TestPlatform::supplier`].
    pub fn supplier_mode(mut self, mode: baton_supplier::Mode) -> Self {
        self.supplier_mode = mode;
        self
    }

    /// Lets `script` pause or fail the components at their fault points
    /// ([`baton_platform::faults`]): how a test drives a race or a crash deterministically.
    pub fn faults(mut self, script: &Script) -> Self {
        self.faults = script.clone();
        self
    }

    pub async fn spawn(self) -> anyhow::Result<TestPlatform> {
        TestPlatform::start(self).await
    }
}

/// A running platform. Dropping it stops every component.
#[derive(Debug)]
pub struct TestPlatform {
    pub gateway_url: String,
    pub sts_url: String,
    pub users_url: String,
    pub accounts_url: String,
    pub orders_url: String,
    /// A client for the gateway's public side, trusting the platform's CA; it never follows
    /// redirects.
    pub http: reqwest::Client,
    pub trust_domain: TrustDomain,
    pub trust_mode: TrustMode,
    /// The platform's CA, for clients that present a workload's certificate.
    pub ca: TestCa,
    /// The fake third-party supplier orders prices from: switch it to a malicious mode here.
    pub supplier: baton_supplier::SupplierHandle,
    /// The supplier's base URL (it also receives webhooks at `/v1/hooks`).
    pub supplier_url: String,
    /// What reached the public webhook host (`hooks.baton.test`, [`hermetic::PUBLIC_ADDRESS`]):
    /// orders' connections to it land on this local canary.
    pub public_webhook: CanaryHandle,
    /// What reached the cloud metadata address ([`hermetic::METADATA_ADDRESS`]), through the
    /// canary that stands in for it.
    pub metadata: CanaryHandle,
    /// The CA orders trusts for third parties, for canaries a test starts itself.
    third_party_ca: ThirdPartyCa,
    /// Every attempt to leave the machine; the test fails on drop if there is any.
    breaches: Breaches,
    watch: Option<SocketWatch>,
    rotation: Option<tokio::task::JoinHandle<()>>,
    /// Refresh tokens from earlier logins, by username (see [`TestPlatform::login`]).
    sessions: std::sync::Mutex<std::collections::HashMap<&'static str, String>>,
    signer: Arc<Signer>,
    sts_pool: AnyPool,
    /// The key set the STS seals its TOTP seeds and signing keys under: drawn afresh for every
    /// platform, unless a test sets `STS_SEALING_KEY` itself.
    sts_sealing_keys: SecretString,
    jwks_served: Arc<std::sync::atomic::AtomicU64>,
    stop: watch::Sender<bool>,
    _backend: Backend,
}

impl Drop for TestPlatform {
    #[expect(
        clippy::panic,
        reason = "a connection that left the machine must fail the test that made it"
    )]
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rotation) = &self.rotation {
            rotation.abort();
        }
        drop(self.watch.take());
        let breaches = self.breaches.list();
        if !breaches.is_empty() && !std::thread::panicking() {
            panic!(
                "the platform tried to reach beyond loopback (see baton_testkit::hermetic):\n  {}",
                breaches.join("\n  ")
            );
        }
    }
}

/// The configuration every component of one platform shares.
fn base_config(lab_disabled: &[Control], ca: &TestCa) -> Map {
    let mut config = Map::new()
        .with("BATON_CERTS_DIR", ca.certs_dir().display().to_string())
        .with("BATON_ENV", "development")
        .with(
            "BATON_GATEWAY_CLIENT_SECRET",
            uuid::Uuid::new_v4().simple().to_string() + "-test-secret",
        )
        .with("STS_LISTEN", "127.0.0.1:0")
        .with("USERS_LISTEN", "127.0.0.1:0")
        .with("ACCOUNTS_LISTEN", "127.0.0.1:0")
        .with("ORDERS_LISTEN", "127.0.0.1:0")
        .with("GATEWAY_LISTEN", "127.0.0.1:0")
        .with(
            "GATEWAY_RATE_LIMIT_LOGIN",
            TEST_LOGIN_RATE_LIMIT.to_string(),
        )
        .with("GATEWAY_RATE_LIMIT_API", TEST_API_RATE_LIMIT.to_string())
        .with(
            "GATEWAY_RATE_LIMIT_CLIENT",
            TEST_CLIENT_RATE_LIMIT.to_string(),
        )
        .with(
            "GATEWAY_RATE_LIMIT_MACHINE",
            TEST_MACHINE_RATE_LIMIT.to_string(),
        )
        .with("ORDERS_MAX_ORDERS_PER_WINDOW", TEST_ORDER_LIMIT.to_string())
        // Webhooks: these hosts are allow-listed so that the SSRF guard's address check, not the
        // allow-list, is what stands in an attack's way. `hooks.baton.test` resolves to a public
        // address, which the guard lets pass and the hermetic dialer hands to a local canary.
        .with("ORDERS_WEBHOOK_ALLOWED_HOSTS", TEST_WEBHOOK_HOSTS)
        .with(
            "ORDERS_WEBHOOK_RESOLVE",
            format!(
                "internal.baton.test=127.0.0.1,{}={}",
                hermetic::PUBLIC_WEBHOOK_HOST,
                hermetic::PUBLIC_ADDRESS
            ),
        )
        .with("ORDERS_WEBHOOK_TIMEOUT_MS", "2000");
    if !lab_disabled.is_empty() {
        let names: Vec<_> = lab_disabled.iter().map(|control| control.name()).collect();
        config.set("BATON_LAB_MODE", "on");
        config.set("BATON_LAB_DISABLE", names.join(","));
    }
    config
}

/// Spawns `run` until the platform's stop signal fires.
fn run_in_background<F>(
    stop: &watch::Sender<bool>,
    run: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
) where
    F: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let mut stopped = stop.subscribe();
    let shutdown = Box::pin(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    });
    let task = run(shutdown);
    tokio::spawn(async move {
        if let Err(err) = task.await {
            tracing::error!(error = %err, "a platform component stopped with an error");
        }
    });
}

/// Binds a canary on `ip` for `names` and serves it until the platform's stop signal fires.
async fn start_canary(
    stop: &watch::Sender<bool>,
    ca: &ThirdPartyCa,
    ip: IpAddr,
    names: &[&str],
) -> anyhow::Result<(SocketAddr, CanaryHandle)> {
    let canary = Canary::bind(SocketAddr::new(ip, 0), ca, names)
        .await
        .context("a canary")?;
    let (addr, handle) = (canary.addr(), canary.handle());
    run_in_background(stop, |shutdown| async move {
        canary.run_until(shutdown).await;
        Ok(())
    });
    Ok((addr, handle))
}

impl TestPlatform {
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::default()
    }

    /// Every control on, as production runs.
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::builder().spawn().await
    }

    async fn start(builder: PlatformBuilder) -> anyhow::Result<Self> {
        let breaches = Breaches::default();
        let watch = SocketWatch::start(breaches.clone());
        let backend = Backend::from_env().await?;
        let trust_domain = TrustDomain::default();
        let ca = TestCa::new(&trust_domain, builder.svid_lifetime)?;
        let rotation = builder.rotate_every.map(|period| ca.rotate_every(period));
        let mut config = base_config(&builder.lab_disabled, &ca);
        config.set("TRUST_MODE", builder.trust_mode.to_string());
        let builder_trust_mode = builder.trust_mode;
        for (key, value) in &builder.settings {
            config.set(key, value.clone());
        }
        if config.get(SealingKeySource::SECRET_KEY).is_none() {
            let fresh = LocalKeys::new_entry("test")?;
            config.set(SealingKeySource::SECRET_KEY, fresh.expose_secret());
        }
        let sts_sealing_keys =
            SecretString::from(config.get(SealingKeySource::SECRET_KEY).unwrap_or_default());
        if let Some(period) = builder.key_rotation {
            config.set("STS_KEY_ROTATION_SECS", period.as_secs().to_string());
        }
        for component in ["sts", "users", "accounts", "orders"] {
            let key = format!("{}_DATABASE_URL", component.to_ascii_uppercase());
            config.set(&key, backend.url_for(component).await?);
        }
        hermetic::check_config(&config).map_err(anyhow::Error::msg)?;
        let (stop, _) = watch::channel(false);

        let mut sts_config = baton_sts::Config::from_source(&config)?;
        sts_config.settings.faults = builder.faults.faults();
        let sts = baton_sts::Application::build(sts_config)
            .await
            .context("sts")?;
        config.set("STS_ADDR", format!("127.0.0.1:{}", sts.port()));
        let (signer, sts_pool, sts_port) = (sts.signer(), sts.pool(), sts.port());
        let jwks_served = sts.jwks_served();
        run_in_background(&stop, |shutdown| sts.run_until(shutdown));

        let users = baton_users::Application::build(baton_users::Config::from_source(&config)?)
            .await
            .context("users")?;
        let users_port = users.port();
        run_in_background(&stop, |shutdown| users.run_until(shutdown));
        config.set("USERS_ADDR", format!("127.0.0.1:{users_port}"));

        let mut accounts_config = baton_accounts::Config::from_source(&config)?;
        accounts_config.settings.faults = builder.faults.faults();
        let accounts = baton_accounts::Application::build(accounts_config)
            .await
            .context("accounts")?;
        let accounts_port = accounts.port();
        run_in_background(&stop, |shutdown| accounts.run_until(shutdown));
        config.set("ACCOUNTS_ADDR", format!("127.0.0.1:{accounts_port}"));

        // The supplier is a third party: its own CA, which orders trusts for it and for webhooks.
        let supplier = baton_supplier::Supplier::bind(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            builder.supplier_mode,
        )
        .await
        .context("supplier")?;
        let supplier_ca = ca.certs_dir().join("supplier-ca.pem");
        std::fs::write(&supplier_ca, supplier.ca_pem())?;
        let (supplier_handle, supplier_port) = (supplier.handle(), supplier.port());
        let third_party_ca = supplier.ca().clone();
        run_in_background(&stop, |shutdown| async move {
            supplier
                .run_until(shutdown)
                .await
                .map_err(std::io::Error::other)
        });
        let supplier_url = format!("https://127.0.0.1:{supplier_port}");
        config.set("ORDERS_SUPPLIER_URL", supplier_url.clone());
        for key in ["ORDERS_SUPPLIER_CA_FILE", "ORDERS_WEBHOOK_CA_FILE"] {
            config.set(key, supplier_ca.display().to_string());
        }
        // The stand-ins for the two addresses outside the machine that tests make orders judge.
        let public_ip = hermetic::PUBLIC_ADDRESS.to_string();
        let (public_addr, public_webhook) = start_canary(
            &stop,
            &third_party_ca,
            Ipv4Addr::LOCALHOST.into(),
            &[hermetic::PUBLIC_WEBHOOK_HOST, &public_ip],
        )
        .await?;
        let metadata_ip = hermetic::METADATA_ADDRESS.to_string();
        let (metadata_addr, metadata) = start_canary(
            &stop,
            &third_party_ca,
            Ipv4Addr::LOCALHOST.into(),
            &[&metadata_ip],
        )
        .await?;

        let mut orders_config = baton_orders::Config::from_source(&config)?;
        orders_config.settings.faults = builder.faults.faults();
        // Orders reaches third parties through the hermetic dialer, and resolves names only from
        // ORDERS_WEBHOOK_RESOLVE's table: no connection and no DNS query leaves the machine.
        orders_config.egress = Egress::new(
            Arc::new(NoResolver),
            Arc::new(HermeticDial::new(
                HashMap::from([
                    (hermetic::PUBLIC_ADDRESS, public_addr),
                    (hermetic::METADATA_ADDRESS, metadata_addr),
                ]),
                breaches.clone(),
            )),
        );
        let orders = baton_orders::Application::build(orders_config)
            .await
            .context("orders")?;
        let orders_port = orders.port();
        run_in_background(&stop, |shutdown| orders.run_until(shutdown));
        config.set("ORDERS_ADDR", format!("127.0.0.1:{orders_port}"));

        let gateway =
            baton_gateway::Application::build(baton_gateway::Config::from_source(&config)?)
                .await
                .context("gateway")?;
        let gateway_port = gateway.port();
        run_in_background(&stop, |shutdown| gateway.run_until(shutdown));

        let url = |port: u16| format!("https://127.0.0.1:{port}");
        Ok(Self {
            gateway_url: url(gateway_port),
            sts_url: url(sts_port),
            users_url: url(users_port),
            accounts_url: url(accounts_port),
            orders_url: url(orders_port),
            http: ca.public_client()?,
            trust_domain,
            trust_mode: builder_trust_mode,
            ca,
            supplier: supplier_handle,
            supplier_url,
            public_webhook,
            metadata,
            third_party_ca,
            breaches,
            watch: Some(watch),
            rotation,
            sessions: std::sync::Mutex::default(),
            signer,
            sts_pool,
            sts_sealing_keys,
            jwks_served,
            stop,
            _backend: backend,
        })
    }

    /// Starts a canary on `ip` (port 0: one is picked) with a certificate orders trusts for
    /// `names`, running until the platform stops: the internal service an SSRF attack aims at.
    pub async fn canary(
        &self,
        ip: IpAddr,
        names: &[&str],
    ) -> anyhow::Result<(SocketAddr, CanaryHandle)> {
        start_canary(&self.stop, &self.third_party_ca, ip, names).await
    }

    /// A client that is the workload `caller`, for calling `target` directly.
    pub fn client_as(&self, caller: Workload, target: Workload) -> anyhow::Result<reqwest::Client> {
        self.ca.client_as(caller, target)
    }

    /// Like [`TestPlatform::client_as`], with the thumbprint a token bound to it carries.
    pub fn client_as_bound(
        &self,
        caller: Workload,
        target: Workload,
    ) -> anyhow::Result<(reqwest::Client, baton_platform::CertThumbprint)> {
        self.ca.client_as_bound(caller, target)
    }

    /// A transport that is the workload `caller`, for gRPC channels straight to a service, with
    /// the thumbprint a token bound to it carries.
    pub fn transport_as_bound(
        &self,
        caller: Workload,
    ) -> anyhow::Result<(baton_workload::Transport, baton_platform::CertThumbprint)> {
        self.ca.transport_as_bound(caller)
    }

    /// The base URL of a service, for calling it directly (bypassing the gateway).
    pub fn service_url(&self, workload: Workload) -> &str {
        match workload {
            Workload::Users => &self.users_url,
            Workload::Accounts => &self.accounts_url,
            Workload::Orders => &self.orders_url,
            Workload::Sts => &self.sts_url,
            Workload::Gateway => &self.gateway_url,
        }
    }

    /// Logs `user` in through the gateway, as a client would, and returns the opaque token.
    ///
    /// The first login of a user runs the authorization-code flow through the login pages (see
    /// [`TestPlatform::log_in_afresh`]); later ones use the refresh token that login returned, as a
    /// real client would, because a one-time code is accepted only once and tests log the same
    /// user in many times within one 30 s step.
    pub async fn login(&self, user: DemoUser) -> anyhow::Result<String> {
        let remembered = self
            .sessions
            .lock()
            .ok()
            .and_then(|mut sessions| sessions.remove(user.username));
        if let Some(refresh_token) = remembered
            && let Ok(tokens) = self.oauth_client().refresh(&refresh_token).await
        {
            self.remember(user, &tokens);
            return Ok(tokens.access_token);
        }
        let tokens = self.log_in_afresh(user).await?;
        self.remember(user, &tokens);
        Ok(tokens.access_token)
    }

    /// Logs `user` in through the login pages (password, then the one-time code if the user has
    /// TOTP) and returns the tokens. If this step's codes were both spent already, it waits for the
    /// next step once.
    pub async fn log_in_afresh(&self, user: DemoUser) -> anyhow::Result<TokenSet> {
        let codes = || -> Vec<String> {
            user.totp_seed
                .into_iter()
                .flat_map(|seed| [totp::current_code(seed), totp::next_code(seed)])
                .flatten()
                .collect()
        };
        match self
            .oauth_client()
            .log_in(user.username, user.password, &codes())
            .await
        {
            Ok(tokens) => Ok(tokens),
            Err(_) if user.totp_seed.is_some() => {
                tokio::time::sleep(totp::until_next_step()).await;
                Ok(self
                    .oauth_client()
                    .log_in(user.username, user.password, &codes())
                    .await?)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// A fresh OAuth client (the CLI's) against the gateway, with no cookie yet.
    pub fn oauth_client(&self) -> LoginClient {
        LoginClient::new(self.http.clone(), &self.gateway_url)
    }

    /// Like [`TestPlatform::oauth_client`], for a browser at `client` behind the load balancer
    /// the gateway trusts (see [`TestCa::public_client_from`]).
    pub fn oauth_client_from(&self, client: IpAddr) -> anyhow::Result<LoginClient> {
        Ok(LoginClient::new(
            self.ca.public_client_from(client)?,
            &self.gateway_url,
        ))
    }

    fn remember(&self, user: DemoUser, tokens: &TokenSet) {
        if let (Some(refresh_token), Ok(mut sessions)) =
            (tokens.refresh_token.clone(), self.sessions.lock())
        {
            sessions.insert(user.username, refresh_token);
        }
    }

    /// An internal token's claims for `user` as the STS would mint them now, for every service.
    pub fn claims_for(&self, user: DemoUser) -> Claims {
        let roles: Vec<String> = user.roles.iter().map(|role| (*role).to_owned()).collect();
        let now = now_unix();
        Claims {
            iss: baton_platform::settings::DEFAULT_ISSUER.to_owned(),
            sub: user.id.to_string(),
            aud: Workload::SERVICES
                .iter()
                .map(|w| self.trust_domain.id_of(*w))
                .collect(),
            exp: now + 300,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scopes_for(&roles),
            roles,
            preferred_username: user.username.to_owned(),
            act: None,
            may_act: None,
            cnf: None,
        }
    }

    /// How many times the STS has served its JWKS so far.
    pub fn jwks_served(&self) -> u64 {
        self.jwks_served.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Signs `claims` with the STS's real key: a token the STS would sign, whatever it says.
    pub fn mint(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(self.signer.sign(claims)?)
    }

    /// Signs `claims` with the STS's real key under the JWT type `typ`, whatever the two are.
    pub fn mint_typed<T: serde::Serialize>(&self, typ: &str, claims: &T) -> anyhow::Result<String> {
        Ok(self.signer.sign_typed(typ, claims)?)
    }

    /// Signs `claims` as a workload's own token (`baton_token::workload`) with the STS's real
    /// key: one the STS would sign, for any workload, audience and scope.
    pub fn mint_workload(&self, claims: &baton_token::WorkloadClaims) -> anyhow::Result<String> {
        self.mint_typed(baton_token::claims::WORKLOAD_TOKEN_TYPE, claims)
    }

    /// The STS's database, for tests that read what it really stores.
    pub fn sts_database(&self) -> &AnyPool {
        &self.sts_pool
    }

    /// The keys the STS seals its secrets under, for tests that open what it stored.
    pub fn sts_sealing_keys(&self) -> anyhow::Result<LocalKeys> {
        Ok(LocalKeys::parse(self.sts_sealing_keys.expose_secret())?)
    }

    /// Stores an opaque access token for `user` that expired `ago_secs` ago, as if the user had
    /// logged in long before, and returns it.
    pub async fn expired_opaque_token(
        &self,
        user: DemoUser,
        ago_secs: i64,
    ) -> anyhow::Result<String> {
        let roles: Vec<String> = user.roles.iter().map(|role| (*role).to_owned()).collect();
        self.plant_opaque_token(user, &scopes_for(&roles), -ago_secs)
            .await
    }

    /// Stores an opaque access token for `user` with exactly `scope`, expiring `expires_in`
    /// seconds from now (negative: already expired), and returns it.
    pub async fn plant_opaque_token(
        &self,
        user: DemoUser,
        scope: &str,
        expires_in: i64,
    ) -> anyhow::Result<String> {
        let token = OpaqueToken::generate();
        let now = now_unix();
        let record = baton_sts::storage::StoredToken {
            user_id: user.id.to_string(),
            scope: scope.to_owned(),
            expires_at: now + expires_in,
        };
        let issued_at = record.expires_at.min(now) - 600;
        baton_sts::storage::insert_access_token(&self.sts_pool, &token.hash(), &record, issued_at)
            .await?;
        Ok(token.expose().to_owned())
    }
}
