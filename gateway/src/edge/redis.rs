//! GCRA in Redis, so several gateway replicas enforce one limit.
//!
//! The same algorithm as `governor`'s, in a Lua script Redis runs atomically: for each key it
//! reads the theoretical arrival time (TAT), decides, and only if every key allows the request
//! writes the new TATs, with an expiry so idle keys vanish. Time comes from Redis (`TIME`), so
//! replicas whose clocks disagree still agree on the limit. One round trip per check.
//!
//! If Redis does not answer in time the caller falls back to its in-memory limiter: each replica
//! still enforces the limit, only no longer together. The error goes to the log.

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use crate::edge::rate::{Class, Decision, Subject};

/// How long a check waits for Redis before the in-memory limiter decides instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// ARGV[1]: the emission interval (window / limit) in ms; ARGV[2]: the limit.
/// Returns {allowed, remaining, retry-after ms, reset ms}.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = interval * limit
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local remaining = limit
local retry = 0
local reset = 0
local next = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  local wait = new_tat - window - now
  if wait > retry then retry = wait end
  local left = math.floor((now + window - new_tat) / interval)
  if left < remaining then remaining = left end
  if new_tat - now > reset then reset = new_tat - now end
  next[i] = new_tat
end
if retry > 0 then
  return {0, 0, retry, reset - interval}
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, next[i], 'PX', next[i] - now)
end
return {1, remaining, 0, reset}
";

/// Rate-limit state shared through Redis.
#[derive(Clone)]
pub struct SharedLimiter {
    connection: ConnectionManager,
    script: Script,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedLimiter")
    }
}

impl SharedLimiter {
    /// Connects to `url` (`redis://host:port/db`); the connection reconnects by itself.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let connection =
            tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new(client))
                .await
                .map_err(|_| {
                    redis::RedisError::from((redis::ErrorKind::Io, "timed out connecting to Redis"))
                })??;
        Ok(Self {
            connection,
            script: Script::new(GCRA),
        })
    }

    /// One request of `class` against every subject, or `None` if Redis could not answer.
    pub async fn check(
        &self,
        class: Class,
        limit: std::num::NonZeroU32,
        window: Duration,
        subjects: &[Subject],
    ) -> Option<Decision> {
        let interval_ms = (window.as_millis() / u128::from(limit.get())).max(1);
        let mut invocation = self.script.prepare_invoke();
        for subject in subjects {
            invocation.key(subject.key(class));
        }
        invocation.arg(u64::try_from(interval_ms).unwrap_or(u64::MAX));
        invocation.arg(limit.get());
        let mut connection = self.connection.clone();
        let answer =
            tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async(&mut connection)).await;
        let (allowed, remaining, retry_ms, reset_ms): (i64, i64, i64, i64) = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(err)) => {
                tracing::error!(error = %err, "rate limit: Redis refused; limiting locally");
                return None;
            }
            Err(_) => {
                tracing::error!("rate limit: Redis timed out; limiting locally");
                return None;
            }
        };
        let millis = |ms: i64| Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        Some(Decision {
            class,
            allowed: allowed == 1,
            limit: limit.get(),
            window,
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset: millis(reset_ms),
            retry_after: millis(retry_ms),
        })
    }
}
