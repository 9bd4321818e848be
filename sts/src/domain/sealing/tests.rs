//! Sealing: values open only for their own row and under a known key; tampering, moving and
//! unknown keys fail closed; start-up seals plaintext rows in place, on SQLite and (with
//! `DATABASE_URL` set) PostgreSQL.

use baton_platform::config::Map;
use baton_platform::{Settings, Workload};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use sqlx::{AnyPool, Row};

use super::at_rest::{AtRestError, Report, seal_stored_secrets};
use super::*;

const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const ALICE: Binding<'static> = Binding::TotpSeed {
    user_id: "alice-id",
};
const BOB: Binding<'static> = Binding::TotpSeed { user_id: "bob-id" };

fn keys(kids: &[&str]) -> LocalKeys {
    let entries: Vec<String> = kids
        .iter()
        .map(|kid| entry(kid).expose_secret().to_owned())
        .collect();
    LocalKeys::parse(&entries.join("\n")).unwrap_or_else(|err| unreachable!("a key set: {err}"))
}

fn entry(kid: &str) -> SecretString {
    LocalKeys::new_entry(kid).unwrap_or_else(|err| unreachable!("a key: {err}"))
}

fn seal(keys: &LocalKeys, binding: Binding<'_>, plaintext: &str) -> Sealed {
    keys.seal(binding, plaintext.as_bytes())
        .unwrap_or_else(|err| unreachable!("sealing works: {err}"))
}

fn opened(keys: &LocalKeys, binding: Binding<'_>, sealed: &Sealed) -> Result<String, SealingError> {
    keys.open_text(binding, sealed)
        .map(|text| text.expose_secret().to_owned())
}

#[test]
fn a_sealed_seed_holds_no_plaintext_and_opens_to_it() {
    let keys = keys(&["k1"]);
    let sealed = seal(&keys, ALICE, SEED);
    assert!(sealed.as_str().starts_with("v1.k1."), "{}", sealed.as_str());
    assert!(!sealed.as_str().contains(SEED));
    assert_eq!(opened(&keys, ALICE, &sealed).ok().as_deref(), Some(SEED));
    assert_ne!(
        seal(&keys, ALICE, SEED),
        sealed,
        "every sealing draws a fresh nonce"
    );
}

#[test]
fn a_value_moved_to_another_row_does_not_open() {
    let keys = keys(&["k1"]);
    let alices = seal(&keys, ALICE, SEED);
    assert!(matches!(
        opened(&keys, BOB, &alices),
        Err(SealingError::DoesNotOpen(kid)) if kid == "k1"
    ));
    let key = seal(&keys, Binding::SigningKey { kid: "a" }, "key-a");
    for elsewhere in [
        Binding::SigningKey { kid: "b" },
        Binding::TotpSeed { user_id: "a" },
    ] {
        assert!(opened(&keys, elsewhere, &key).is_err(), "{elsewhere:?}");
    }
}

#[test]
fn a_tampered_value_does_not_open() {
    let keys = keys(&["k1", "k2"]);
    let sealed = seal(&keys, ALICE, SEED);
    let raw = sealed.as_str();
    let prefix = "v1.k1.".len();
    for at in prefix..raw.len() {
        let mut bytes = raw.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = Sealed::stored(String::from_utf8(bytes).unwrap_or_default());
        assert!(opened(&keys, ALICE, &tampered).is_err(), "byte {at}");
    }
    for tampered in [
        raw.replacen("v1.k1.", "v1.k2.", 1),
        raw[..raw.len() - 4].to_owned(),
        format!("{raw}AAAA"),
        "v1.k1.".to_owned(),
        "v1.k1.!!".to_owned(),
    ] {
        let result = opened(&keys, ALICE, &Sealed::stored(tampered.clone()));
        assert!(result.is_err(), "{tampered}");
    }
}

#[test]
fn plaintext_and_unknown_formats_are_never_opened() {
    let keys = keys(&["k1"]);
    let open = |raw: &str| opened(&keys, ALICE, &Sealed::stored(raw.to_owned()));
    assert!(matches!(open(SEED), Err(SealingError::NotSealed)));
    assert!(matches!(open("v2.k1.AAAA"), Err(SealingError::UnknownVersion(v)) if v == "v2"));
    assert!(matches!(
        open("v1.k1.x.AAAA"),
        Err(SealingError::DoesNotOpen(_))
    ));
    assert!(matches!(open("x.y"), Err(SealingError::Malformed)));
}

#[test]
fn a_value_sealed_under_a_key_not_given_fails_closed() {
    let sealed = seal(&keys(&["old"]), ALICE, SEED);
    assert!(matches!(
        opened(&keys(&["new"]), ALICE, &sealed),
        Err(SealingError::UnknownKey(kid)) if kid == "old"
    ));
    // The same id with other key material does not open it either.
    assert!(matches!(
        opened(&keys(&["old"]), ALICE, &sealed),
        Err(SealingError::DoesNotOpen(_))
    ));
}

#[test]
fn after_a_rotation_the_new_key_seals_and_the_old_one_still_opens() {
    let (old, new) = (entry("k1"), entry("k2"));
    let before = LocalKeys::parse(old.expose_secret()).unwrap_or_else(|err| unreachable!("{err}"));
    let during = LocalKeys::parse(&format!(
        "# new first, old after\n{}\n{}",
        new.expose_secret(),
        old.expose_secret()
    ))
    .unwrap_or_else(|err| unreachable!("{err}"));
    let sealed_before = seal(&before, ALICE, SEED);
    assert_eq!(
        opened(&during, ALICE, &sealed_before).ok().as_deref(),
        Some(SEED)
    );
    assert_eq!(during.active_prefix(), "v1.k2.");
    assert!(seal(&during, ALICE, SEED).as_str().starts_with("v1.k2."));
}

#[test]
fn a_key_set_is_refused_without_showing_its_keys() {
    let good = entry("k1");
    let key = good
        .expose_secret()
        .split_once(':')
        .map_or("", |(_, key)| key);
    let short = format!("k2:{}", &key[..20]);
    let cases = [
        (String::new(), "no key"),
        (key.to_owned(), "entry 1"),
        (format!("{}, {short}", good.expose_secret()), "entry 2"),
        (format!("bad.id:{key}"), "entry 1"),
        (
            format!("{} {}", good.expose_secret(), good.expose_secret()),
            "twice",
        ),
    ];
    for (text, expected) in cases {
        let message = LocalKeys::parse(&text)
            .map(drop)
            .err()
            .map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains(&key[..20]), "{message}");
    }
    let url_safe = format!(
        "k1:{}",
        key.replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
    );
    assert!(LocalKeys::parse(&url_safe).is_ok());
}

proptest! {
    #[test]
    fn any_value_opens_for_its_own_row_only(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        user in "[a-z0-9-]{1,40}",
        other in "[a-z0-9-]{1,40}",
    ) {
        let keys = keys(&["k1"]);
        let sealed = keys.seal(Binding::TotpSeed { user_id: &user }, &plaintext)
            .unwrap_or_else(|err| unreachable!("{err}"));
        let back = keys.open(Binding::TotpSeed { user_id: &user }, &sealed)
            .map(|opened| opened.expose_secret().to_vec());
        prop_assert_eq!(back.ok(), Some(plaintext));
        if other != user {
            let elsewhere = Binding::TotpSeed { user_id: &other };
            prop_assert!(keys.open(elsewhere, &sealed).is_err());
        }
    }
}

fn settings(source: &Map) -> Settings {
    Settings::from_source(source, Workload::Sts, "127.0.0.1:0")
        .unwrap_or_else(|err| unreachable!("settings: {err}"))
}

#[test]
fn production_without_a_sealing_key_refuses_to_start_and_says_how_to_make_one() {
    let production = Map::new();
    let refused = SealingKeySource::from_source(&production, &settings(&production));
    let message = refused
        .map(drop)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("STS_SEALING_KEY_FILE"), "{message}");
    assert!(message.contains("openssl rand"), "{message}");
}

#[test]
fn a_sealing_key_is_read_from_the_environment_or_a_file_never_both() {
    let secret = entry("k1");
    let source = Map::new().with("STS_SEALING_KEY", secret.expose_secret());
    let read = SealingKeySource::from_source(&source, &settings(&source));
    assert!(matches!(read, Ok(SealingKeySource::Secret(_))));
    let both = source
        .clone()
        .with("STS_SEALING_KEY_FILE", "/run/secrets/key");
    let refused = SealingKeySource::from_source(&both, &settings(&both));
    let message = refused
        .map(drop)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("not both"), "{message}");
    assert!(!message.contains(secret.expose_secret()), "{message}");
    let malformed = Map::new().with("STS_SEALING_KEY", "k1:c2hvcnQ=");
    let refused = SealingKeySource::from_source(&malformed, &settings(&malformed));
    let message = refused
        .map(drop)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("entry 1") && !message.contains("c2hvcnQ"),
        "{message}"
    );
}

#[test]
fn development_generates_a_key_file_readable_by_its_owner_only_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let source = Map::new().with("BATON_ENV", "development").with(
        "BATON_DATA_DIR",
        dir.path().join("data").display().to_string(),
    );
    let Ok(found) = SealingKeySource::from_source(&source, &settings(&source)) else {
        unreachable!("development needs no key")
    };
    let path = dir
        .path()
        .join("data")
        .join(SealingKeySource::DEVELOPMENT_FILE);
    assert!(matches!(&found, SealingKeySource::DevelopmentFile(p) if *p == path));
    let first = LocalKeys::load(&found).unwrap_or_else(|err| unreachable!("{err}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
    }
    let sealed = seal(&first, ALICE, SEED);
    let again = LocalKeys::load(&found).unwrap_or_else(|err| unreachable!("{err}"));
    assert_eq!(opened(&again, ALICE, &sealed).ok().as_deref(), Some(SEED));
}

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

#[tokio::test]
async fn start_up_seals_plaintext_rows_in_place() -> Result<(), AtRestError> {
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let pool = fresh_pool(&dir).await;
    plant_plaintext(&pool).await?;
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
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let pool = fresh_pool(&dir).await;
    plant_plaintext(&pool).await?;
    let lost = keys(&["lost"]);
    let sealed = seal(&lost, KEY_BINDING, "UEtDUzg=");
    sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = 'kid-a'")
        .bind(sealed.as_str())
        .execute(&pool)
        .await?;
    let refused = seal_stored_secrets(&pool, &keys(&["k1"])).await;
    let message = refused
        .map(drop)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
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
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let pool = fresh_pool(&dir).await;
    plant_plaintext(&pool).await?;
    let (old, new) = (entry("k1"), entry("k2"));
    let before = LocalKeys::parse(old.expose_secret()).unwrap_or_else(|err| unreachable!("{err}"));
    let alices = seal(&before, ALICE, SEED);
    sqlx::query("UPDATE credentials SET totp_secret = $1")
        .bind(alices.as_str())
        .execute(&pool)
        .await?;
    // A rotation makes start-up open every value under the old key: bob's copy does not open.
    let both = format!("{}\n{}", new.expose_secret(), old.expose_secret());
    let during = LocalKeys::parse(&both).unwrap_or_else(|err| unreachable!("{err}"));
    let refused = seal_stored_secrets(&pool, &during).await;
    let message = refused
        .map(drop)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("user `bob-id`") && message.contains("copied from another row"),
        "{message}"
    );
    Ok(())
}

#[tokio::test]
async fn after_a_rotation_start_up_reseals_under_the_new_key() -> Result<(), AtRestError> {
    let dir = tempfile::tempdir().unwrap_or_else(|err| unreachable!("{err}"));
    let pool = fresh_pool(&dir).await;
    plant_plaintext(&pool).await?;
    let (old, new) = (entry("k1"), entry("k2"));
    let before = LocalKeys::parse(old.expose_secret()).unwrap_or_else(|err| unreachable!("{err}"));
    seal_stored_secrets(&pool, &before).await?;
    let both = format!("{}\n{}", new.expose_secret(), old.expose_secret());
    let during = LocalKeys::parse(&both).unwrap_or_else(|err| unreachable!("{err}"));
    assert_eq!(
        seal_stored_secrets(&pool, &during).await?,
        Report {
            sealed: 0,
            resealed: 2
        }
    );
    let after = LocalKeys::parse(new.expose_secret()).unwrap_or_else(|err| unreachable!("{err}"));
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
