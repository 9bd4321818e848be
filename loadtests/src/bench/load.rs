//! A closed-loop load generator: `concurrency` requests in flight, each sent as soon as the one
//! before it answered, for a fixed time; every latency kept in microseconds.
//!
//! Closed loop means a slow server gets fewer requests rather than a growing queue, so the
//! throughput is the server's capacity at that concurrency and the latency is what a request
//! meets at that load. (Coordinated omission applies: the p99 at saturation is a lower bound.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One unit of work (a request, or a whole login): `Err` says why it failed.
pub type Work = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Builds the `n`th unit of work, or `None` when the row has no more to send.
pub type Factory = Arc<dyn Fn(u64) -> Option<Work> + Send + Sync>;

/// Sends `request`; anything but a 2xx whose body arrives whole is a failure.
pub fn send(request: reqwest::RequestBuilder) -> Work {
    Box::pin(async move {
        let response = request.send().await.map_err(|err| err.to_string())?;
        let status = response.status();
        response.bytes().await.map_err(|err| err.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    })
}

/// What one phase measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub requests: u64,
    pub failures: u64,
    pub elapsed: Duration,
    /// Successful requests' latencies, sorted, in microseconds.
    pub latencies_us: Vec<u64>,
    /// The first failure, for the report.
    pub first_failure: Option<String>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..=1) of the latencies, in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let last = self.latencies_us.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        self.latencies_us[index.min(last)]
    }
}

/// Sends requests from `factory` with `concurrency` in flight for `duration` (or until the
/// factory runs dry) and measures them. Answers other than 2xx count as failures.
pub async fn run(factory: Factory, concurrency: usize, duration: Duration) -> Measured {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (factory, next) = (factory.clone(), next.clone());
            tokio::spawn(async move { worker(factory, next, deadline).await })
        })
        .collect();
    let mut total = Measured::default();
    for worker in workers {
        if let Ok(measured) = worker.await {
            total.requests += measured.requests;
            total.failures += measured.failures;
            total.latencies_us.extend(measured.latencies_us);
            if total.first_failure.is_none() {
                total.first_failure = measured.first_failure;
            }
        }
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

async fn worker(factory: Factory, next: Arc<AtomicU64>, deadline: Instant) -> Measured {
    let mut measured = Measured::default();
    while Instant::now() < deadline {
        let Some(work) = factory(next.fetch_add(1, Ordering::Relaxed)) else {
            break;
        };
        let sent = Instant::now();
        let outcome = work.await;
        let latency = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        measured.requests += 1;
        match outcome {
            Ok(()) => measured.latencies_us.push(latency),
            Err(why) => {
                measured.failures += 1;
                measured.first_failure.get_or_insert(why);
            }
        }
    }
    measured
}
