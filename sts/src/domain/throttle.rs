//! Login throttling: failed attempts slow down the next ones, per account *and* source, per
//! source across accounts, and per account across sources.
//!
//! - **Per account and source** (`alice` from one address): five failures are free; after that the
//!   pair is locked for 2 s, then 4 s, 8 s… doubling up to [`MAX_LOCKOUT`]. An online guessing
//!   attack slows to one guess per five minutes, yet the lockout is bounded and tied to the source:
//!   an attacker elsewhere cannot lock alice out of her own laptop, and never for longer than
//!   five minutes.
//! - **Per source** (one address, any usernames: credential stuffing): the same curve after
//!   twenty failures.
//! - **Per account, across every source** (alice, from many addresses: a botnet sharing out the
//!   guesses): the same curve after twenty failures, whatever their sources. This is the soft
//!   lock NIST SP 800-63B §5.2.2 asks for: it does lock alice out for a while, from everywhere,
//!   which is why it starts later than the per-source lock, stays bounded, and raises a security
//!   event (`account_soft_locked`) each time it closes. With it, guessing a six-digit code from
//!   any number of addresses gets about one try per five minutes.
//!
//! A source is an IPv4 address or an IPv6 /64 (`http::browser::client_source` aggregates
//! before it gets here): one host is usually given a whole /64, so counting /128s would hand an
//! attacker 2^64 fresh sources.
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
const FREE_PER_ACCOUNT_ANYWHERE: u32 = 20;
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

fn anywhere_key(username: &str) -> String {
    format!("u\u{0}{}", username.to_lowercase())
}

/// Which budgets a check and a failure count against: the per-account-and-source and per-source
/// ones always, the account's own across every source when [`Budgets::account_wide`] is set (the
/// `sts.account_budget` control).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub account_wide: bool,
}

impl Budgets {
    fn keys(self, username: &str, source: &str) -> Vec<(String, u32)> {
        let mut keys = vec![
            (account_key(username, source), FREE_PER_ACCOUNT),
            (source_key(source), FREE_PER_SOURCE),
        ];
        if self.account_wide {
            keys.push((anywhere_key(username), FREE_PER_ACCOUNT_ANYWHERE));
        }
        keys
    }
}

/// What a counted failure did to the account's budget across every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Within the budget.
    Counted,
    /// The account is now soft-locked, from everywhere, for this long.
    AccountLocked(Duration),
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
    pub fn check(&self, username: &str, source: &str, budgets: Budgets) -> Result<(), Locked> {
        let now = Instant::now();
        let Ok(records) = self.records.lock() else {
            // A poisoned lock means a thread panicked mid-update; refuse rather than fail open.
            return Err(Locked(FIRST_LOCKOUT));
        };
        let wait = budgets
            .keys(username, source)
            .iter()
            .filter_map(|(key, _)| records.get(key))
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
    pub fn failed(&self, username: &str, source: &str, budgets: Budgets) -> Counted {
        let now = Instant::now();
        let Ok(mut records) = self.records.lock() else {
            return Counted::Counted;
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
        let anywhere = anywhere_key(username);
        let mut counted = Counted::Counted;
        for (key, free) in budgets.keys(username, source) {
            let locks_the_account = key == anywhere;
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
            let locked_for = lockout(record.failures, free);
            record.locked_until = now + locked_for;
            if locks_the_account && !locked_for.is_zero() {
                counted = Counted::AccountLocked(locked_for);
            }
        }
        counted
    }

    /// A successful login clears the account's record for this source, and its record across
    /// sources: the person who holds every factor is back, so a lock the attacker's failures
    /// earned no longer stands in their way.
    pub fn succeeded(&self, username: &str, source: &str) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(&account_key(username, source));
            records.remove(&anywhere_key(username));
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

    const ALL: Budgets = Budgets { account_wide: true };
    const PER_SOURCE: Budgets = Budgets {
        account_wide: false,
    };

    #[test]
    fn failures_lock_the_account_for_that_source_only() {
        let throttle = Throttle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            assert!(throttle.check("alice", "10.0.0.1", ALL).is_ok());
            throttle.failed("alice", "10.0.0.1", ALL);
        }
        assert!(throttle.check("alice", "10.0.0.1", ALL).is_err());
        assert!(throttle.check("ALICE", "10.0.0.1", ALL).is_err());
        assert!(
            throttle.check("alice", "10.0.0.2", ALL).is_ok(),
            "another source is not locked out"
        );
        assert!(throttle.check("bob", "10.0.0.1", ALL).is_ok());
    }

    #[test]
    fn one_source_trying_many_accounts_is_throttled() {
        let throttle = Throttle::default();
        for n in 0..FREE_PER_SOURCE {
            throttle.failed(&format!("user{n}"), "10.0.0.9", ALL);
        }
        assert!(throttle.check("someone-new", "10.0.0.9", ALL).is_err());
    }

    #[test]
    fn many_sources_share_one_budget_per_account() {
        let throttle = Throttle::default();
        let sources: Vec<String> = (0..FREE_PER_ACCOUNT_ANYWHERE)
            .map(|n| format!("10.0.1.{n}"))
            .collect();
        for (n, source) in sources.iter().enumerate() {
            assert!(throttle.check("alice", source, ALL).is_ok());
            let counted = throttle.failed("alice", source, ALL);
            let last = n + 1 == sources.len();
            assert_eq!(
                matches!(counted, Counted::AccountLocked(_)),
                last,
                "failure {n}: the account locks at its budget, not before"
            );
        }
        assert!(
            throttle.check("alice", "10.0.2.1", ALL).is_err(),
            "a fresh source finds the account soft-locked"
        );
        assert!(throttle.check("bob", "10.0.2.1", ALL).is_ok());
        assert!(
            throttle.check("alice", "10.0.2.1", PER_SOURCE).is_ok(),
            "with the account-wide budget off, only the source counts"
        );
    }

    #[test]
    fn a_success_clears_the_account_records() {
        let throttle = Throttle::default();
        for _ in 0..3 {
            throttle.failed("bob", "s", ALL);
        }
        for n in 0..FREE_PER_ACCOUNT_ANYWHERE - 1 {
            throttle.failed("bob", &format!("elsewhere-{n}"), ALL);
        }
        throttle.succeeded("bob", "s");
        for _ in 0..FREE_PER_ACCOUNT - 1 {
            throttle.failed("bob", "s", ALL);
        }
        assert!(throttle.check("bob", "s", ALL).is_ok());
    }
}
