//! Secrets at rest: what the STS's database really holds. No TOTP seed and no signing key is
//! there in plaintext, after enrolment or after a start on a database an older STS left; a start
//! under a key set that cannot open what is stored fails closed; a rotated key set re-seals.

use std::time::Duration;

use baton_platform::config::Map;
use baton_platform::demo::{self, ALICE};
use baton_platform::{StartupError, TrustDomain};
use baton_sts::domain::sealing::{Binding, KeyProvider, LocalKeys, Sealed, SealingKeySource};
use baton_testkit::{Backend, TestCa, TestPlatform};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{AnyPool, Row};

/// Every demo user's raw `totp_secret` column, with their seed.
async fn stored_seeds(pool: &AnyPool) -> Vec<(String, String, &'static str)> {
    let mut found = Vec::new();
    for user in demo::ALL {
        let Some(seed) = user.totp_seed else { continue };
        let id = user.id.to_string();
        let stored: String = sqlx::query("SELECT totp_secret FROM credentials WHERE user_id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await
            .expect("the demo user's row")
            .try_get("totp_secret")
            .expect("a seed");
        found.push((id, stored, seed));
    }
    found
}

/// Every raw `signing_keys` row: `(kid, private_key)`.
async fn stored_keys(pool: &AnyPool) -> Vec<(String, String)> {
    sqlx::query("SELECT kid, private_key FROM signing_keys ORDER BY kid")
        .fetch_all(pool)
        .await
        .expect("the signing keys")
        .iter()
        .map(|row| (row.get("kid"), row.get("private_key")))
        .collect()
}

fn open(keys: &LocalKeys, binding: Binding<'_>, stored: &str) -> String {
    keys.open_text(binding, &Sealed::stored(stored.to_owned()))
        .map(|text| text.expose_secret().to_owned())
        .expect("a stored secret opens under the STS's keys")
}

#[tokio::test]
async fn the_sts_database_holds_no_plaintext_seed_or_signing_key() {
    let platform = TestPlatform::spawn().await.expect("a platform");
    let keys = platform.sts_sealing_keys().expect("the STS's keys");
    let pool = platform.sts_database();
    let seeds = stored_seeds(pool).await;
    assert_eq!(seeds.len(), 3, "alice, carol and dave have seeds");
    for (user_id, stored, seed) in &seeds {
        assert!(
            !stored.contains(seed),
            "{user_id}'s seed is stored in plaintext"
        );
        assert!(stored.starts_with("v1.test."), "{stored}");
        assert_eq!(open(&keys, Binding::TotpSeed { user_id }, stored), *seed);
    }
    let signing_keys = stored_keys(pool).await;
    assert!(!signing_keys.is_empty());
    for (kid, stored) in &signing_keys {
        assert!(stored.starts_with("v1.test."), "{stored}");
        // The plaintext is base64 PKCS#8 (an Ed25519 key's 48 bytes at least), nowhere in the row.
        let plaintext = open(&keys, Binding::SigningKey { kid }, stored);
        assert!(plaintext.len() >= 64, "{}", plaintext.len());
        assert!(!stored.contains(&plaintext));
    }
    // The sealed seed still checks codes: alice logs in with her second factor.
    platform.log_in_afresh(ALICE).await.expect("alice logs in");
}

/// One STS, in development (so the demo users are seeded), on `url`, under the key set `keys`.
fn sts_config(ca: &TestCa, url: &str, data: &tempfile::TempDir, keys: &str) -> Map {
    Map::new()
        .with("BATON_ENV", "development")
        .with("BATON_CERTS_DIR", ca.certs_dir().display().to_string())
        .with("BATON_DATA_DIR", data.path().display().to_string())
        .with(
            "BATON_GATEWAY_CLIENT_SECRET",
            "a-long-random-test-secret-of-the-gateway",
        )
        .with("STS_LISTEN", "127.0.0.1:0")
        .with("STS_DATABASE_URL", url)
        .with(SealingKeySource::SECRET_KEY, keys)
}

/// Builds (and drops) an STS; the kid it signs with if it started.
async fn start(config: &Map) -> Result<Option<String>, StartupError> {
    let config = baton_sts::Config::from_source(config)?;
    let app = baton_sts::Application::build(config).await?;
    Ok(app.signer().kid())
}

fn key(kid: &str) -> SecretString {
    LocalKeys::new_entry(kid).expect("a sealing key")
}

fn parse(text: &str) -> LocalKeys {
    LocalKeys::parse(text).expect("a key set")
}

#[tokio::test]
async fn start_up_seals_plaintext_fails_closed_on_an_unknown_key_and_reseals_after_a_rotation() {
    let ca = TestCa::new(&TrustDomain::default(), Duration::from_secs(3600)).expect("a CA");
    let backend = Backend::from_env().await.expect("a database backend");
    let url = backend.url_for("sts").await.expect("a database");
    let data = tempfile::tempdir().expect("a folder");
    let (k1, k2) = (key("k1"), key("k2"));
    let k1_only = sts_config(&ca, &url, &data, k1.expose_secret());
    let kid = start(&k1_only).await.expect("a first start");

    // Put back what an STS from before sealing would have stored: every secret in plaintext.
    let pool = baton_platform::db::connect(&url, baton_sts::storage::MIGRATIONS)
        .await
        .expect("the STS's database");
    let old_keys = parse(k1.expose_secret());
    let mut plaintext = Vec::new();
    for (user_id, stored, seed) in stored_seeds(&pool).await {
        assert_eq!(
            open(&old_keys, Binding::TotpSeed { user_id: &user_id }, &stored),
            seed
        );
        sqlx::query("UPDATE credentials SET totp_secret = $1 WHERE user_id = $2")
            .bind(seed)
            .bind(&user_id)
            .execute(&pool)
            .await
            .expect("a plaintext seed");
    }
    for (kid, stored) in stored_keys(&pool).await {
        let key = open(&old_keys, Binding::SigningKey { kid: &kid }, &stored);
        sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2")
            .bind(&key)
            .bind(&kid)
            .execute(&pool)
            .await
            .expect("a plaintext key");
        plaintext.push((kid, key));
    }

    // A start seals every row in place, and signs with the very key it had.
    assert_eq!(start(&k1_only).await.expect("a start on plaintext"), kid);
    for (user_id, stored, seed) in stored_seeds(&pool).await {
        assert!(
            stored.starts_with("v1.k1.") && !stored.contains(seed),
            "{stored}"
        );
        assert_eq!(
            open(&old_keys, Binding::TotpSeed { user_id: &user_id }, &stored),
            seed
        );
    }
    let sealed_keys = stored_keys(&pool).await;
    for ((kid, stored), (_, key)) in sealed_keys.iter().zip(&plaintext) {
        assert!(stored.starts_with("v1.k1.") && !stored.contains(key.as_str()));
        assert_eq!(open(&old_keys, Binding::SigningKey { kid }, stored), *key);
    }

    // A key set that lost k1 cannot open what is stored: the start fails, and says why.
    let k2_only = sts_config(&ca, &url, &data, k2.expose_secret());
    let refused = start(&k2_only).await.map(drop);
    let message = refused.err().map(|err| err.to_string()).unwrap_or_default();
    assert!(
        message.contains("sealed under key `k1`") && message.contains("was not given"),
        "{message}"
    );

    // k2 first and k1 after: the start re-seals everything under k2, after which k1 can go.
    let rotating = format!("{}\n{}", k2.expose_secret(), k1.expose_secret());
    assert_eq!(
        start(&sts_config(&ca, &url, &data, &rotating))
            .await
            .expect("a rotation"),
        kid
    );
    let new_keys = parse(k2.expose_secret());
    for (user_id, stored, seed) in stored_seeds(&pool).await {
        assert!(stored.starts_with("v1.k2."), "{stored}");
        assert_eq!(
            open(&new_keys, Binding::TotpSeed { user_id: &user_id }, &stored),
            seed
        );
    }
    assert!(
        stored_keys(&pool)
            .await
            .iter()
            .all(|(_, stored)| stored.starts_with("v1.k2."))
    );
    assert_eq!(start(&k2_only).await.expect("k1 retired"), kid);
    pool.close().await;
}
