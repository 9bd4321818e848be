//! Sealing: values open only for their own row and under a known key; tampering, moving and
//! unknown keys fail closed; start-up seals plaintext rows in place, on SQLite and (with
//! `DATABASE_URL` set) PostgreSQL.

use proptest::prelude::*;
use secrecy::ExposeSecret;

use super::lab::Unsealed;
use super::*;

mod key_source;
mod start_up;

const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const ALICE: Binding<'static> = Binding::TotpSeed {
    user_id: "alice-id",
};
const BOB: Binding<'static> = Binding::TotpSeed { user_id: "bob-id" };

/// A key set of fresh keys with these ids, the first sealing.
fn keys(kids: &[&str]) -> LocalKeys {
    let entries: Vec<SecretString> = kids.iter().map(|kid| entry(kid)).collect();
    key_set(&entries.iter().collect::<Vec<_>>())
}

/// A key set of these entries (`<kid>:<key>`), the first sealing: for keys kept across sets.
fn key_set(entries: &[&SecretString]) -> LocalKeys {
    let text: Vec<&str> = entries.iter().map(|entry| entry.expose_secret()).collect();
    LocalKeys::parse(&text.join("\n")).unwrap_or_else(|err| unreachable!("a key set: {err}"))
}

fn entry(kid: &str) -> SecretString {
    LocalKeys::new_entry(kid).unwrap_or_else(|err| unreachable!("a key: {err}"))
}

/// The message a refusal gives, or nothing if there was none.
fn refusal<T, E: std::fmt::Display>(result: Result<T, E>) -> String {
    result.err().map(|err| err.to_string()).unwrap_or_default()
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
        let message = refusal(LocalKeys::parse(&text));
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

#[test]
fn in_lab_mode_new_secrets_are_written_in_plaintext_and_sealed_ones_still_open() {
    let keys = keys(&["k1"]);
    let sealed_before = seal(&keys, ALICE, SEED);
    let lab = Unsealed::new(std::sync::Arc::new(keys));
    let written = lab
        .seal(BOB, SEED.as_bytes())
        .unwrap_or_else(|err| unreachable!("{err}"));
    assert_eq!(written.as_str(), SEED);
    let open = |binding, sealed: &Sealed| {
        lab.open_text(binding, sealed)
            .map(|text| text.expose_secret().to_owned())
            .ok()
    };
    assert_eq!(open(BOB, &written).as_deref(), Some(SEED));
    assert_eq!(open(ALICE, &sealed_before).as_deref(), Some(SEED));
    assert_eq!(open(BOB, &sealed_before), None, "still bound to its row");
}
