//! Where the sealing key comes from: an environment secret or a file in production, a generated
//! file in development.

use baton_platform::config::Map;
use baton_platform::{Settings, Workload};
use secrecy::ExposeSecret;

use super::{ALICE, SEED, entry, opened, refusal, seal};
use crate::domain::sealing::{LocalKeys, SealingKeySource};

fn settings(source: &Map) -> Settings {
    Settings::from_source(source, Workload::Sts, "127.0.0.1:0")
        .unwrap_or_else(|err| unreachable!("settings: {err}"))
}

#[test]
fn production_without_a_sealing_key_refuses_to_start_and_says_how_to_make_one() {
    let production = Map::new();
    let message = refusal(SealingKeySource::from_source(
        &production,
        &settings(&production),
    ));
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
    let message = refusal(SealingKeySource::from_source(&both, &settings(&both)));
    assert!(message.contains("not both"), "{message}");
    assert!(!message.contains(secret.expose_secret()), "{message}");
    let malformed = Map::new().with("STS_SEALING_KEY", "k1:c2hvcnQ=");
    let message = refusal(SealingKeySource::from_source(
        &malformed,
        &settings(&malformed),
    ));
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
