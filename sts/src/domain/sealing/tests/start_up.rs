//! Start-up brings every stored secret under the active key, in one transaction, on SQLite and
//! (with `DATABASE_URL` set) PostgreSQL.

use baton_platform::config::Map;
use sqlx::{AnyPool, Row};

use super::{ALICE, SEED, entry, key_set, keys, opened, refusal, seal};
use crate::domain::sealing::at_rest::{AtRestError, Report, seal_stored_secrets};
use crate::domain::sealing::{Binding, Sealed, SealingError};

/// A fresh STS database: PostgreSQL when `DATABASE_URL` names one (a new database, named as the
/// test kit names its own, so the kit's clean-up drops it later), SQLite in `dir` otherwise.
async fn fresh_pool(dir: &tempfile::TempDir) -> AnyPool {
    let url = match std::env::var("DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            // Tests never leave the machine (the test kit's hermetic rule, kept here too).
            let authority = admin_url.split('/').nth(2).unwrap_or_default();
            let host = authority.rsplit('@').next().unwrap_or_default();
            assert!(
                ["127.0.0.1", "localhost", "[::1]"]
                    .iter()
                    .any(|loopback| host == *loopback || host.starts_with(&format!("{loopback}:"))),
                "DATABASE_URL must name a loopback PostgreSQL server, not `{host}`"
            );
            sqlx::any::install_default_drivers();
            let now = baton_platform::time::now_unix();
            let name = format!(
                "baton_t_{now}_{}_sts",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            let admin = AnyPool::connect(&admin_url)
                .await
                .unwrap_or_else(|err| unreachable!("the PostgreSQL server answers: {err}"));
            // The name is made of our own prefix, digits and hex.
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap_or_else(|err| unreachable!("a test database: {err}"));
            admin.close().await;
            // `postgres://user@host:port/db?options`, with the new database in place of `db`.
            let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
            let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
            let server = if server.ends_with('/') { base } else { server };
            match query {
                "" => format!("{server}/{name}"),
                query => format!("{server}/{name}?{query}"),
            }
        }
        _ => format!("sqlite://{}", dir.path().join("sts.db").display()),
    };
    baton_platform::db::connect(&url, crate::storage::MIGRATIONS)
        .await
        .unwrap_or_else(|err| unreachable!("the test database opens: {err}"))
}

/// What an STS from before sealing left: alice's seed and one signing key, in plaintext.
async fn plant_plaintext(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credentials (user_id, username, password_hash, totp_secret, roles, created_at) \
         VALUES ('alice-id', 'alice', 'x', $1, 'customer', 0), ('bob-id', 'bob', 'x', NULL, 'customer', 0)",
    )
    .bind(SEED)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, activate_at, created_at) VALUES ('kid-a', 'UEtDUzg=', 0, 0)",
    )
    .execute(pool)
    .await?;
    Ok(())
}

async fn raw(pool: &AnyPool) -> Result<(Option<String>, String), sqlx::Error> {
    let seed = sqlx::query("SELECT totp_secret FROM credentials WHERE user_id = 'alice-id'")
        .fetch_one(pool)
        .await?
        .try_get("totp_secret")?;
    let key = sqlx::query("SELECT private_key FROM signing_keys WHERE kid = 'kid-a'")
        .fetch_one(pool)
        .await?
        .try_get("private_key")?;
    Ok((seed, key))
}

const KEY_BINDING: Binding<'static> = Binding::SigningKey { kid: "kid-a" };

/// A database as an STS from before sealing left it ([`plant_plaintext`]), and the folder it
/// lives in (SQLite).
async fn planted() -> Result<(tempfile::TempDir, AnyPool), sqlx::Error> {
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let pool = fresh_pool(&dir).await;
    plant_plaintext(&pool).await?;
    Ok((dir, pool))
}

#[tokio::test]
async fn start_up_seals_plaintext_rows_in_place() -> Result<(), AtRestError> {
    let (_dir, pool) = planted().await?;
    let keys = keys(&["k1"]);
    let report = seal_stored_secrets(&pool, &keys).await?;
    assert_eq!(
        report,
        Report {
            sealed: 2,
            resealed: 0
        }
    );
    let (seed, key) = raw(&pool).await?;
    let seed = Sealed::stored(seed.unwrap_or_default());
    let key = Sealed::stored(key);
    assert_ne!(seed.as_str(), SEED);
    assert_eq!(opened(&keys, ALICE, &seed).ok().as_deref(), Some(SEED));
    assert_eq!(
        opened(&keys, KEY_BINDING, &key).ok().as_deref(),
        Some("UEtDUzg=")
    );
    // Bob has no seed, and keeps none; a second start has nothing left to do.
    let bob: Option<String> =
        sqlx::query("SELECT totp_secret FROM credentials WHERE user_id = 'bob-id'")
            .fetch_one(&pool)
            .await?
            .try_get("totp_secret")?;
    assert_eq!(bob, None);
    assert_eq!(seal_stored_secrets(&pool, &keys).await?, Report::default());
    Ok(())
}

#[tokio::test]
async fn a_value_under_a_key_not_given_stops_the_start_and_nothing_is_written()
-> Result<(), AtRestError> {
    let (_dir, pool) = planted().await?;
    let lost = keys(&["lost"]);
    let sealed = seal(&lost, KEY_BINDING, "UEtDUzg=");
    sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = 'kid-a'")
        .bind(sealed.as_str())
        .execute(&pool)
        .await?;
    let message = refusal(seal_stored_secrets(&pool, &keys(&["k1"])).await);
    assert!(
        message.contains("signing key `kid-a`") && message.contains("`lost`"),
        "{message}"
    );
    // One transaction: alice's seed, sealed before the key was reached, is plaintext again.
    assert_eq!(
        raw(&pool).await?,
        (Some(SEED.to_owned()), sealed.as_str().to_owned())
    );
    Ok(())
}

#[tokio::test]
async fn a_value_copied_onto_another_row_stops_the_start() -> Result<(), AtRestError> {
    let (_dir, pool) = planted().await?;
    let (old, new) = (entry("k1"), entry("k2"));
    let before = key_set(&[&old]);
    let alices = seal(&before, ALICE, SEED);
    sqlx::query("UPDATE credentials SET totp_secret = $1")
        .bind(alices.as_str())
        .execute(&pool)
        .await?;
    // A rotation makes start-up open every value under the old key: bob's copy does not open.
    let during = key_set(&[&new, &old]);
    let message = refusal(seal_stored_secrets(&pool, &during).await);
    assert!(
        message.contains("user `bob-id`") && message.contains("copied from another row"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn after_a_rotation_start_up_reseals_under_the_new_key() -> Result<(), AtRestError> {
    let (_dir, pool) = planted().await?;
    let (old, new) = (entry("k1"), entry("k2"));
    let before = key_set(&[&old]);
    seal_stored_secrets(&pool, &before).await?;
    let during = key_set(&[&new, &old]);
    assert_eq!(
        seal_stored_secrets(&pool, &during).await?,
        Report {
            sealed: 0,
            resealed: 2
        }
    );
    let after = key_set(&[&new]);
    assert_eq!(seal_stored_secrets(&pool, &after).await?, Report::default());
    let (seed, key) = raw(&pool).await?;
    let seed = Sealed::stored(seed.unwrap_or_default());
    assert!(seed.as_str().starts_with("v1.k2."));
    assert_eq!(opened(&after, ALICE, &seed).ok().as_deref(), Some(SEED));
    assert_eq!(
        opened(&after, KEY_BINDING, &Sealed::stored(key))
            .ok()
            .as_deref(),
        Some("UEtDUzg=")
    );
    Ok(())
}

#[tokio::test]
async fn a_login_whose_seed_was_copied_from_another_user_fails_closed() {
    use crate::domain::login::{LoginError, check_second_factor};
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let pool = fresh_pool(&dir).await;
    let keys = keys(&["k1"]);
    let controls = baton_platform::Controls::from_source(
        &Map::new(),
        baton_platform::mode::RunMode::Production,
    )
    .unwrap_or_else(|err| unreachable!("{err}"));
    // The attacker knows their own seed and copies its sealed value onto bob's row.
    let attackers = seal(&keys, ALICE, SEED);
    let bob = crate::storage::Credentials {
        user_id: "bob-id".to_owned(),
        username: "bob".to_owned(),
        password_hash: String::new(),
        totp_secret: Some(attackers),
        roles: Vec::new(),
    };
    let code = crate::domain::totp::current_code(SEED).unwrap_or_default();
    let now = baton_platform::time::now_unix();
    let checked = check_second_factor(&pool, &keys, &controls, &bob, &code, now).await;
    assert!(
        matches!(checked, Err(LoginError::Seed(SealingError::DoesNotOpen(_)))),
        "{checked:?}"
    );
}
