//! Login throttling: failed attempts slow down the next ones, per account *and* source, and per
//! source across accounts.
//!
//! - **Per account and source** (`alice` from one address): five failures are free; after that the
//!   pair is locked for 2 s, then 4 s, 8 s… doubling up to [`MAX_LOCKOUT`]. An online guessing
//!   attack slows to one guess per five minutes, yet the lockout is bounded and tied to the source:
//!   an attacker elsewhere cannot lock alice out of her own laptop, and never for longer than
//!   five minutes.
//! - **Per source** (one address, any usernames: credential stuffing): the same curve after
//!   twenty failures.
//!
//! Locked attempts are refused before any password work and are not counted, so hammering a lock
//! does not extend it. A success clears the account-and-source record. The throttle keys on the
//! username *as typed*, whether or not it exists, so the lockout answers an unknown user exactly
//! as it answers a real one.
//!
//! The state is in memory, per STS process: simple, fast, and good enough for one replica.
//! Several replicas each keep their own (so the budget multiplies by the replica count); a shared
//! store (Redis, as the gateway's rate limits use) is the step up. Entries are forgotten after
//! [`FORGET_AFTER`] and the table is bounded, so a flood of made-up usernames cannot exhaust
//! memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures allowed before the first lockout.
const FREE_PER_ACCOUNT: u32 = 5;
const FREE_PER_SOURCE: u32 = 20;
/// The first lockout; each further failure doubles it.
const FIRST_LOCKOUT: Duration = Duration::from_secs(2);
/// No lockout is ever longer than this.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(300);
/// A record with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// At most this many records are kept; past it the stalest go first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    locked_until: Instant,
    last_failure: Instant,
}

/// The throttle's memory. Cheap to clone; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    records: Arc<Mutex<HashMap<String, Record>>>,
}

/// The attempt is refused for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked(pub Duration);

fn account_key(username: &str, source: &str) -> String {
    format!("a\u{0}{}\u{0}{source}", username.to_lowercase())
}

fn source_key(source: &str) -> String {
    format!("s\u{0}{source}")
}

/// How long a record with `failures` is locked after its last failure.
fn lockout(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(16);
    FIRST_LOCKOUT
        .saturating_mul(1 << doublings)
        .min(MAX_LOCKOUT)
}

impl Throttle {
    /// Whether `username` may try from `source` now.
    pub fn check(&self, username: &str, source: &str) -> Result<(), Locked> {
        let now = Instant::now();
        let Ok(records) = self.records.lock() else {
            // A poisoned lock means a thread panicked mid-update; refuse rather than fail open.
            return Err(Locked(FIRST_LOCKOUT));
        };
        let wait = [account_key(username, source), source_key(source)]
            .iter()
            .filter_map(|key| records.get(key))
            .map(|record| record.locked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            Err(Locked(wait))
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, username: &str, source: &str) {
        let now = Instant::now();
        let Ok(mut records) = self.records.lock() else {
            return;
        };
        if records.len() >= MAX_ENTRIES {
            records.retain(|_, record| now.duration_since(record.last_failure) < FORGET_AFTER);
            if records.len() >= MAX_ENTRIES
                && let Some(stalest) = records
                    .iter()
                    .min_by_key(|(_, record)| record.last_failure)
                    .map(|(key, _)| key.clone())
            {
                records.remove(&stalest);
            }
        }
        for (key, free) in [
            (account_key(username, source), FREE_PER_ACCOUNT),
            (source_key(source), FREE_PER_SOURCE),
        ] {
            let record = records.entry(key).or_insert(Record {
                failures: 0,
                locked_until: now,
                last_failure: now,
            });
            if now.duration_since(record.last_failure) >= FORGET_AFTER {
                record.failures = 0;
            }
            record.failures = record.failures.saturating_add(1);
            record.last_failure = now;
            record.locked_until = now + lockout(record.failures, free);
        }
    }

    /// A successful login clears the account's record for this source.
    pub fn succeeded(&self, username: &str, source: &str) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(&account_key(username, source));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_grows_but_never_past_the_cap() {
        assert_eq!(lockout(4, 5), Duration::ZERO);
        assert_eq!(lockout(5, 5), Duration::from_secs(2));
        assert_eq!(lockout(6, 5), Duration::from_secs(4));
        assert_eq!(lockout(50, 5), MAX_LOCKOUT);
        assert_eq!(lockout(u32::MAX, 5), MAX_LOCKOUT);
    }

    #[test]
    fn failures_lock_the_account_for_that_source_only() {
        let throttle = Throttle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            assert!(throttle.check("alice", "10.0.0.1").is_ok());
            throttle.failed("alice", "10.0.0.1");
        }
        assert!(throttle.check("alice", "10.0.0.1").is_err());
        assert!(throttle.check("ALICE", "10.0.0.1").is_err());
        assert!(
            throttle.check("alice", "10.0.0.2").is_ok(),
            "another source is not locked out"
        );
        assert!(throttle.check("bob", "10.0.0.1").is_ok());
    }

    #[test]
    fn one_source_trying_many_accounts_is_throttled() {
        let throttle = Throttle::default();
        for n in 0..FREE_PER_SOURCE {
            throttle.failed(&format!("user{n}"), "10.0.0.9");
        }
        assert!(throttle.check("someone-new", "10.0.0.9").is_err());
    }

    #[test]
    fn a_success_clears_the_account_record() {
        let throttle = Throttle::default();
        for _ in 0..3 {
            throttle.failed("bob", "s");
        }
        throttle.succeeded("bob", "s");
        for _ in 0..FREE_PER_ACCOUNT - 1 {
            throttle.failed("bob", "s");
        }
        assert!(throttle.check("bob", "s").is_ok());
    }
}
