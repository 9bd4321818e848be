//! What the STS registers at start-up: its clients (always), and the demo users' credentials
//! (development mode only, see `baton_platform::demo`). In production none of the demo data may
//! be there: [`demo_data_found`] is what the start-up refuses on, [`remove_demo_data`] what
//! `baton-sts remove-demo-data` runs.

use baton_platform::{Workload, demo, time::now_unix};
use secrecy::SecretString;
use sqlx::AnyPool;

use crate::config::Config;
use crate::domain::client::{
    AuthMethod, CLI_CLIENT_ID, CLI_REDIRECT_URI, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE,
};
use crate::domain::opaque;
use crate::domain::password::{PasswordError, Passwords};
use crate::domain::sealing::{Binding, KeyProvider, SealingError};
use crate::storage::{self, ClientRow, Credentials};

/// The demo machine client: `client_secret_basic`, client credentials only, read-only scope.
pub const DEMO_MACHINE_CLIENT_ID: &str = "reports";
/// Its secret, development mode only (like the demo passwords). Only its hash is stored.
pub const DEMO_MACHINE_CLIENT_SECRET: &str = "reports-demo-secret-7f3a9c1e5b2d8460";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Sealing(#[from] SealingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Registers the clients every deployment has: the command-line client (public, PKCE, loopback
/// redirect) and one `tls_client_auth` client per service, named after it and bound to its SPIFFE
/// ID. In development mode, the demo machine client too.
pub async fn clients(pool: &AnyPool, config: &Config) -> Result<(), SeedError> {
    let now = now_unix();
    let cli = ClientRow {
        client_id: CLI_CLIENT_ID.to_owned(),
        auth_method: AuthMethod::None.name().to_owned(),
        secret_hash: None,
        tls_san_uri: None,
        redirect_uris: CLI_REDIRECT_URI.to_owned(),
        grant_types: format!("{GRANT_AUTHORIZATION_CODE} {GRANT_REFRESH_TOKEN}"),
        scope: String::new(),
    };
    storage::upsert_client(pool, &cli, now).await?;
    for workload in Workload::SERVICES {
        let service = ClientRow {
            client_id: workload.name().to_owned(),
            auth_method: AuthMethod::TlsClientAuth.name().to_owned(),
            secret_hash: None,
            tls_san_uri: Some(config.settings.trust_domain.id_of(workload)),
            redirect_uris: String::new(),
            // Token exchange for the next hop in exchange mode; which service may reach which
            // is the exchange policy's call (`domain::delegation::hop_scopes`).
            grant_types: format!("{GRANT_CLIENT_CREDENTIALS} {GRANT_TOKEN_EXCHANGE}"),
            scope: String::new(),
        };
        storage::upsert_client(pool, &service, now).await?;
    }
    if config.settings.seeds_demo_data() {
        let machine = ClientRow {
            client_id: DEMO_MACHINE_CLIENT_ID.to_owned(),
            auth_method: AuthMethod::ClientSecretBasic.name().to_owned(),
            secret_hash: Some(opaque::hash(DEMO_MACHINE_CLIENT_SECRET)),
            tls_san_uri: None,
            redirect_uris: String::new(),
            grant_types: GRANT_CLIENT_CREDENTIALS.to_owned(),
            scope: "orders:read".to_owned(),
        };
        storage::upsert_client(pool, &machine, now).await?;
    }
    Ok(())
}

/// Inserts the demo users unless they exist, their TOTP seeds sealed with `sealer`. Hashes only
/// for users that are missing, so a restart does not pay for an Argon2id hash per user.
pub async fn demo_users(
    pool: &AnyPool,
    passwords: &Passwords,
    sealer: &dyn KeyProvider,
) -> Result<(), SeedError> {
    for user in demo::ALL {
        if storage::credentials_by_username(pool, user.username)
            .await?
            .is_some()
        {
            continue;
        }
        let user_id = user.id.to_string();
        let totp_secret = user
            .totp_seed
            .map(|seed| sealer.seal(Binding::TotpSeed { user_id: &user_id }, seed.as_bytes()))
            .transpose()?;
        let credentials = Credentials {
            user_id,
            username: user.username.to_owned(),
            password_hash: passwords.hash(SecretString::from(user.password)).await?,
            totp_secret,
            roles: user.roles.iter().map(|role| (*role).to_owned()).collect(),
        };
        storage::insert_credentials_if_absent(pool, &credentials, now_unix()).await?;
    }
    tracing::info!("demo users seeded (development mode)");
    Ok(())
}

/// The demo users' credentials and the demo machine client, if the database holds them, in words.
/// The demo client counts only with its published secret: a deployment's own `reports` client,
/// registered with a secret of its own, is not demo data.
pub async fn demo_data_found(pool: &AnyPool) -> Result<Vec<String>, SeedError> {
    let mut found = Vec::new();
    for (id, user) in demo::ids() {
        if storage::credentials_by_id(pool, &id).await?.is_some() {
            found.push(format!("demo user {}", user.username));
        }
    }
    if demo_client_registered(pool).await? {
        found.push(format!("demo client {DEMO_MACHINE_CLIENT_ID}"));
    }
    Ok(found)
}

/// Deletes the demo users' credentials and the demo machine client, with everything issued to
/// them; says what was there.
pub async fn remove_demo_data(pool: &AnyPool) -> Result<Vec<String>, SeedError> {
    let mut removed = Vec::new();
    for (id, user) in demo::ids() {
        if storage::delete_user(pool, &id).await? {
            removed.push(format!("demo user {}", user.username));
        }
    }
    if demo_client_registered(pool).await?
        && storage::delete_client(pool, DEMO_MACHINE_CLIENT_ID).await?
    {
        removed.push(format!("demo client {DEMO_MACHINE_CLIENT_ID}"));
    }
    Ok(removed)
}

async fn demo_client_registered(pool: &AnyPool) -> Result<bool, SeedError> {
    let demo_secret = opaque::hash(DEMO_MACHINE_CLIENT_SECRET);
    Ok(storage::client_by_id(pool, DEMO_MACHINE_CLIENT_ID)
        .await?
        .is_some_and(|client| client.secret_hash.as_deref() == Some(demo_secret.as_str())))
}
