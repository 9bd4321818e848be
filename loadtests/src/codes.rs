//! One-time codes for many simulated users who share one demo identity.
//!
//! The STS accepts each TOTP step's code once per user (`sts.totp_replay`), and the codes of the
//! current step and its neighbours. Twenty simulated admins are all `carol`: if each computed
//! "the current code" they would collide, nineteen would be refused, and after five refusals the
//! STS's throttle would lock carol out. So the simulated users of one process hand out steps
//! among themselves: each login claims a step nobody in this process has used, the current one or
//! the next, and when both are taken it waits for the next step, as a person waits for their
//! authenticator app. A TOTP user can therefore log in at most about twice per 30 s here; the
//! scenarios put password-only `bob` wherever many logins are needed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use baton_sts::domain::totp;

/// The steps already used, per username, in this process.
#[derive(Debug, Default)]
pub struct CodeBook {
    last_claimed: Mutex<HashMap<String, u64>>,
}

impl CodeBook {
    /// The code to type for `username` (seed `seed`), waiting for a fresh step when this
    /// process has used both usable ones.
    pub async fn claim(&self, username: &str, seed: &str) -> anyhow::Result<String> {
        loop {
            let now_step = current_step();
            let choice = {
                let mut claimed = self
                    .last_claimed
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the code book's lock is poisoned"))?;
                let last = claimed.get(username).copied();
                let pick = match last {
                    Some(step) if step > now_step => None,
                    Some(step) if step == now_step => Some(now_step + 1),
                    _ => Some(now_step),
                };
                if let Some(step) = pick {
                    claimed.insert(username.to_owned(), step);
                }
                pick
            };
            match choice {
                Some(step) if step == now_step => {
                    return totp::current_code(seed)
                        .ok_or_else(|| anyhow::anyhow!("the TOTP seed does not decode"));
                }
                Some(_) => {
                    return totp::next_code(seed)
                        .ok_or_else(|| anyhow::anyhow!("the TOTP seed does not decode"));
                }
                None => {
                    tokio::time::sleep(totp::until_next_step() + Duration::from_millis(50)).await
                }
            }
        }
    }
}

fn current_step() -> u64 {
    baton_platform::time::now_unix().max(0).unsigned_abs() / totp::STEP_SECS
}
