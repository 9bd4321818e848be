//! Everything the rows measure, started once: three platforms and the reference servers.
//!
//! Three platforms run side by side (E2E, exchange, and E2E with mTLS off in lab mode), each as
//! the test kit starts it, with the rate limits raised so that they count every request but
//! refuse none. Next to the E2E platform run the hello-world service, the bare proxy in front of
//! it, and a second gateway whose `orders` upstream is the hello-world service (its token
//! exchanges go to the E2E platform's STS).

use anyhow::Context;
use baton_platform::config::Map;
use baton_platform::{Control, TrustMode};
use baton_testkit::TestPlatform;
use tokio::sync::watch;

use super::servers;

/// The gateway client secret of the benchmark's platforms (they are torn down with the run).
fn secret() -> String {
    format!("{}-bench-secret", uuid::Uuid::new_v4().simple())
}

/// Limits high enough that nothing is refused, while every request is still counted.
const NO_REFUSAL: &str = "100000000";

/// Everything the rows need, started on the server runtime.
#[derive(Debug)]
pub struct Setup {
    pub e2e: TestPlatform,
    pub exchange: TestPlatform,
    pub plaintext: TestPlatform,
    pub plaintext_gateway: String,
    pub secret: String,
    pub hello_port: u16,
    pub proxy_port: u16,
    pub front_gateway_port: u16,
    stop: watch::Sender<bool>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn platform(secret: &str, mode: TrustMode) -> anyhow::Result<baton_testkit::PlatformBuilder> {
    Ok(TestPlatform::builder()
        .trust_mode(mode)
        .with_setting("BATON_GATEWAY_CLIENT_SECRET", secret)
        .with_setting("GATEWAY_RATE_LIMIT_API", NO_REFUSAL)
        .with_setting("GATEWAY_RATE_LIMIT_LOGIN", NO_REFUSAL)
        .with_setting("GATEWAY_RATE_LIMIT_CLIENT", NO_REFUSAL)
        .with_setting("GATEWAY_RATE_LIMIT_MACHINE", NO_REFUSAL)
        .with_setting("GATEWAY_UPSTREAM_CONCURRENCY", "10000")
        .with_setting("ORDERS_MAX_ORDERS_PER_WINDOW", NO_REFUSAL))
}

impl Setup {
    /// Starts every server. Call it on the server runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let secret = secret();
        let e2e = platform(&secret, TrustMode::E2e)
            .await?
            .spawn()
            .await
            .context("E2E platform")?;
        let exchange = platform(&secret, TrustMode::Exchange)
            .await?
            .spawn()
            .await
            .context("exchange platform")?;
        let plaintext = platform(&secret, TrustMode::E2e)
            .await?
            .lab_disable([Control::MtlsPeerId])
            .with_setting("BATON_TRANSPORT", "insecure-plaintext")
            .spawn()
            .await
            .context("plaintext platform")?;
        let plaintext_gateway = plaintext.gateway_url.replacen("https://", "http://", 1);

        let (stop, _) = watch::channel(false);
        let until_stopped = || {
            let mut stopped = stop.subscribe();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let certs = e2e.ca.certs_dir();
        let hello_port = servers::hello_world(&certs, &e2e.trust_domain, until_stopped()).await?;
        let proxy_port =
            servers::bare_proxy(&certs, &e2e.trust_domain, hello_port, until_stopped()).await?;

        let port_of = |url: &str| url.rsplit(':').next().unwrap_or_default().to_owned();
        let config = Map::new()
            .with("BATON_CERTS_DIR", certs.display().to_string())
            .with("BATON_ENV", "development")
            .with("TRUST_MODE", "e2e")
            .with("BATON_GATEWAY_CLIENT_SECRET", secret.clone())
            .with("GATEWAY_LISTEN", "127.0.0.1:0")
            .with("STS_ADDR", format!("127.0.0.1:{}", port_of(&e2e.sts_url)))
            .with(
                "USERS_ADDR",
                format!("127.0.0.1:{}", port_of(&e2e.users_url)),
            )
            .with(
                "ACCOUNTS_ADDR",
                format!("127.0.0.1:{}", port_of(&e2e.accounts_url)),
            )
            .with("ORDERS_ADDR", format!("127.0.0.1:{hello_port}"))
            .with("GATEWAY_RATE_LIMIT_API", NO_REFUSAL)
            .with("GATEWAY_RATE_LIMIT_LOGIN", NO_REFUSAL)
            .with("GATEWAY_RATE_LIMIT_CLIENT", NO_REFUSAL)
            .with("GATEWAY_RATE_LIMIT_MACHINE", NO_REFUSAL)
            .with("GATEWAY_UPSTREAM_CONCURRENCY", "10000");
        let front = baton_gateway::Application::build(baton_gateway::Config::from_source(&config)?)
            .await
            .context("the gateway in front of hello-world")?;
        let front_gateway_port = front.port();
        let shutdown = until_stopped();
        tokio::spawn(async move {
            if let Err(err) = front.run_until(shutdown).await {
                tracing::error!(error = %err, "the benchmark's gateway stopped");
            }
        });
        Ok(Self {
            e2e,
            exchange,
            plaintext,
            plaintext_gateway,
            secret,
            hello_port,
            proxy_port,
            front_gateway_port,
            stop,
        })
    }
}
