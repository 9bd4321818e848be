//! Idempotency keys for placing orders (draft-ietf-httpapi-idempotency-key-header).
//!
//! A client that lost the answer to `POST /v1/orders` cannot know whether it was charged. It
//! sends the same request again with the same `Idempotency-Key`, and gets the first order back,
//! paid once. The key is remembered per buyer for [`KEY_LIFETIME_SECS`] together with a
//! fingerprint of the request and the id the order got; the order id is also the debit's
//! reference at the accounts service, which is what makes a resumed payment safe. The same key
//! with a different body is a client bug, refused with 422, never a second order.
//!
//! The header is optional: an order without one is placed as before (and a retry of it is a
//! second order). Clients that retry should always send one; the load tests do.

use sha2::{Digest, Sha256};

use super::place::NewOrder;

/// How long a key is remembered: 24 hours.
pub const KEY_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 64;

/// A client's idempotency key: 1 to 64 printable ASCII characters (no spaces, no controls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(unverified: &str) -> Option<Self> {
        let valid = !unverified.is_empty()
            && unverified.len() <= MAX_KEY_LEN
            && unverified.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(unverified.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of what the request asks for, independent of the order of its lines: the same order
/// sent again has the same fingerprint, any change to it a different one.
pub fn fingerprint(new: &NewOrder) -> String {
    let mut lines: Vec<_> = new
        .items
        .iter()
        .map(|(sku, quantity)| format!("{}={}", sku.as_str(), quantity.get()))
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    hasher.update(new.account_id.hyphenated().to_string());
    hasher.update("\n");
    hasher.update(lines.join(","));
    hasher.update("\n");
    hasher.update(new.notify_url.as_deref().unwrap_or_default());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn order(account: Uuid, items: &[(&str, i64)], notify: Option<&str>) -> Option<NewOrder> {
        let mut new = NewOrder::parse(
            &account.to_string(),
            items.iter().map(|&(s, q)| (s.to_owned(), q)).collect(),
        )
        .ok()?;
        new.notify_url = notify.map(str::to_owned);
        Some(new)
    }

    #[test]
    fn keys_are_one_to_sixty_four_printable_characters() {
        assert!(IdempotencyKey::parse("a").is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(64)).is_some());
        assert!(IdempotencyKey::parse("8e0f-4c1b:retry#1").is_some());
        for bad in ["", "with space", "tab\there", "ünïcode", &"k".repeat(65)] {
            assert!(IdempotencyKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_ignores_line_order_but_not_content() {
        let account = Uuid::new_v4();
        let a = order(account, &[("A", 1), ("B", 2)], None).map(|o| fingerprint(&o));
        let b = order(account, &[("B", 2), ("A", 1)], None).map(|o| fingerprint(&o));
        let c = order(account, &[("A", 1), ("B", 3)], None).map(|o| fingerprint(&o));
        let d = order(account, &[("A", 1), ("B", 2)], Some("https://h.example/"))
            .map(|o| fingerprint(&o));
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
