//! Protecting the upstreams from the gateway's own traffic: a bound on requests in flight per
//! upstream, and a circuit breaker.
//!
//! A slow service must not collect every connection the gateway has: past
//! `GATEWAY_UPSTREAM_CONCURRENCY` requests in flight to one upstream, more are refused with 503
//! at once (no queue that would only add latency). And a service that keeps failing is given
//! room: after `GATEWAY_BREAKER_FAILURES` failures in a row, the breaker opens and requests fail
//! fast with 503 for `GATEWAY_BREAKER_COOLDOWN_SECS`; then one trial request is let through
//! (half-open), which closes the breaker if it succeeds and opens it again if it fails.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use baton_api::Problem;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The guard in front of one upstream.
#[derive(Debug)]
pub struct UpstreamGuard {
    in_flight: Arc<Semaphore>,
    breaker: Mutex<Breaker>,
    failures_to_open: u32,
    cooldown: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    /// Passing requests; counting failures in a row.
    Closed { failures: u32 },
    /// Failing fast until the instant.
    Open { until: Instant },
    /// One trial request is out; everyone else fails fast until it returns.
    HalfOpen,
}

/// Permission to send one request upstream. Report how it went with [`Pass::record`].
#[derive(Debug)]
pub struct Pass<'a> {
    guard: &'a UpstreamGuard,
    _permit: OwnedSemaphorePermit,
    recorded: bool,
}

impl UpstreamGuard {
    pub fn new(max_in_flight: usize, failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            breaker: Mutex::new(Breaker::Closed { failures: 0 }),
            failures_to_open,
            cooldown,
        }
    }

    /// A pass, or the refusal (a 503 with `Retry-After`) that says why there is none.
    pub fn admit(&self) -> Result<Pass<'_>, Refused> {
        self.breaker_admits()?;
        let permit = self.in_flight.clone().try_acquire_owned().map_err(|_| {
            tracing::warn!("upstream saturated: too many requests in flight");
            overloaded(Duration::from_secs(1))
        })?;
        Ok(Pass {
            guard: self,
            _permit: permit,
            recorded: false,
        })
    }

    fn breaker_admits(&self) -> Result<(), Refused> {
        let mut breaker = self.breaker.lock().map_err(|_| overloaded(self.cooldown))?;
        match *breaker {
            Breaker::Closed { .. } => Ok(()),
            Breaker::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(overloaded(until - now));
                }
                *breaker = Breaker::HalfOpen;
                tracing::info!("circuit breaker half-open: one trial request");
                Ok(())
            }
            Breaker::HalfOpen => Err(overloaded(Duration::from_secs(1))),
        }
    }

    fn record(&self, failed: bool) {
        let Ok(mut breaker) = self.breaker.lock() else {
            return;
        };
        *breaker = match (*breaker, failed) {
            (_, false) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, true) if failures + 1 < self.failures_to_open => {
                Breaker::Closed {
                    failures: failures + 1,
                }
            }
            (_, true) => {
                tracing::error!(cooldown = ?self.cooldown, "circuit breaker open: upstream failing");
                Breaker::Open {
                    until: Instant::now() + self.cooldown,
                }
            }
        };
    }
}

impl Pass<'_> {
    /// Counts the outcome: an unreachable upstream or a 502/503/504 from it is a failure; any
    /// other answer, even an error, shows the upstream is alive.
    pub fn record(mut self, outcome: &Result<Response, Problem>) {
        self.recorded = true;
        let failed = match outcome {
            Ok(response) => matches!(
                response.status(),
                StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ),
            Err(problem) => problem.status.is_server_error(),
        };
        self.guard.record(failed);
    }
}

impl Drop for Pass<'_> {
    /// A request abandoned half-way (the client went away, the timeout fired) says nothing about
    /// the upstream, except that a half-open breaker's trial never came back: open it again.
    fn drop(&mut self) {
        if !self.recorded
            && let Ok(mut breaker) = self.guard.breaker.lock()
            && *breaker == Breaker::HalfOpen
        {
            *breaker = Breaker::Open {
                until: Instant::now() + self.guard.cooldown,
            };
        }
    }
}

/// Why an upstream is not called now, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

fn overloaded(retry_after: Duration) -> Refused {
    Refused { retry_after }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        let wait = self.retry_after;
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        Problem::overloaded().into_response_with(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Result<Response, Problem> {
        Err(Problem::unavailable())
    }

    fn fine() -> Result<Response, Problem> {
        Ok(StatusCode::OK.into_response())
    }

    #[test]
    fn past_the_concurrency_limit_requests_are_refused_with_503() {
        let guard = UpstreamGuard::new(2, 5, Duration::from_secs(10));
        let first = guard.admit();
        let second = guard.admit();
        assert!(first.is_ok() && second.is_ok());
        let third = guard.admit().err().map(|r| r.into_response().status());
        assert_eq!(third, Some(StatusCode::SERVICE_UNAVAILABLE));
        drop(first);
        assert!(guard.admit().is_ok());
    }

    #[test]
    fn the_breaker_opens_after_n_failures_in_a_row_and_fails_fast() {
        let guard = UpstreamGuard::new(10, 3, Duration::from_secs(60));
        for _ in 0..2 {
            guard.admit().map(|pass| pass.record(&failed())).ok();
        }
        guard.admit().map(|pass| pass.record(&fine())).ok();
        for _ in 0..3 {
            assert!(guard.admit().is_ok_and(|pass| {
                pass.record(&failed());
                true
            }));
        }
        let refused = guard.admit().err().map(IntoResponse::into_response);
        assert_eq!(
            refused.as_ref().map(|r| r.status()),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(refused.is_some_and(|r| r.headers().contains_key(header::RETRY_AFTER)));
    }

    #[test]
    fn after_the_cooldown_one_trial_decides() {
        let guard = UpstreamGuard::new(10, 1, Duration::from_millis(1));
        guard.admit().map(|pass| pass.record(&failed())).ok();
        std::thread::sleep(Duration::from_millis(5));
        let trial = guard.admit();
        assert!(trial.is_ok());
        assert!(guard.admit().is_err(), "only one trial while half-open");
        trial.map(|pass| pass.record(&fine())).ok();
        assert!(guard.admit().is_ok());
    }
}
