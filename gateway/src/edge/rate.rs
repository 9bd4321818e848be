//! Rate limits (OWASP API4): GCRA, per source, per user and per client, in a class per route.
//!
//! GCRA (the generic cell rate algorithm) remembers one timestamp per key, the "theoretical
//! arrival time", and lets a request through if it is not too far in the future: a steady rate
//! with a burst allowance, no counters to reset and no thundering herd at a window's edge. In one
//! gateway, `governor` keeps those timestamps in memory (a lock-free map, no I/O). With
//! `REDIS_URL` set, they live in Redis and one small Lua script updates them atomically, so every
//! replica enforces one limit (see [`super::redis`]).
//!
//! A source is an IPv4 address or an IPv6 /64 ([`Source`]). It is checked before
//! authentication, so a flood of bad tokens costs the gateway nothing upstream; the user (and the client, when the token names one) after it.
//! Answers carry the IETF `RateLimit-Policy` and `RateLimit` headers
//! (draft-ietf-httpapi-ratelimit-headers) and, when refused, `Retry-After` and a 429 problem.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use baton_api::Problem;
use baton_workload::limits::source_key;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use http::{HeaderMap, HeaderValue, header};

use crate::edge::EdgeConfig;
use crate::edge::redis::SharedLimiter;
use crate::routes::{Access, Route};
use baton_platform::Workload;

/// A route's rate-limit class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// The STS's login, token, introspection and revocation endpoints: what brute force,
    /// credential stuffing and token floods aim at.
    Login,
    /// Everything else.
    Api,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Login => "login",
            Class::Api => "api",
        }
    }
}

/// The class of `route`, from what the route already says: the public OAuth endpoints of the STS
/// are `Login`; the STS's published metadata and keys, and every API route, are `Api`.
pub fn class_of(route: &Route) -> Class {
    let oauth_endpoint = route.path.starts_with("/oauth2/");
    if route.access == Access::Public && route.upstream == Workload::Sts && oauth_endpoint {
        Class::Login
    } else {
        Class::Api
    }
}

/// Where a request comes from, as the limits count it: an IPv4 address, or the /64 an IPv6
/// address is in. One subscriber is usually given a whole /64, so counting each IPv6 address
/// apart would hand one client 2^64 allowances. The rule is the listeners' own for their
/// connection caps ([`source_key`]), so the two never disagree on what one source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    pub fn of(addr: IpAddr) -> Self {
        Self(source_key(addr))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Addr(Source),
    /// A verified user id.
    User(String),
    /// A verified OAuth client id.
    Client(String),
}

impl Subject {
    /// The key under which a shared limiter stores this subject's state.
    pub fn key(&self, class: Class) -> String {
        match self {
            Subject::Addr(source) => format!("baton:rl:{}:addr:{source}", class.name()),
            Subject::User(id) => format!("baton:rl:{}:user:{id}", class.name()),
            Subject::Client(id) => format!("baton:rl:{}:client:{id}", class.name()),
        }
    }
}

/// The outcome of a check, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub class: Class,
    pub allowed: bool,
    /// Requests per window.
    pub limit: u32,
    pub window: Duration,
    /// Requests left before the tightest of the checked subjects is refused.
    pub remaining: u32,
    /// Until the tightest subject's allowance is whole again.
    pub reset: Duration,
    /// Until the next request would be allowed (zero when allowed).
    pub retry_after: Duration,
}

impl Decision {
    /// Adds the `RateLimit-Policy` and `RateLimit` headers (and `Retry-After` when refused).
    pub fn stamp(&self, headers: &mut HeaderMap) {
        let name = self.class.name();
        let policy = format!("\"{name}\";q={};w={}", self.limit, self.window.as_secs());
        let state = format!(
            "\"{name}\";r={};t={}",
            self.remaining,
            ceil_secs(self.reset)
        );
        for (key, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(key, value);
            }
        }
        if !self.allowed {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(ceil_secs(self.retry_after)),
            );
        }
    }

    /// The 429 answer for a refused decision.
    pub fn refusal(&self) -> Response {
        let mut headers = HeaderMap::new();
        self.stamp(&mut headers);
        Problem::too_many_requests().into_response_with(headers)
    }

    /// The tighter of two decisions: a refusal over a pass, then the fewer remaining.
    pub fn tighter(self, other: Decision) -> Decision {
        match (self.allowed, other.allowed) {
            (true, false) => other,
            (false, true) => self,
            (false, false) if other.retry_after > self.retry_after => other,
            (true, true) if other.remaining < self.remaining => other,
            _ => self,
        }
    }
}

fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

type Keyed =
    RateLimiter<Subject, DashMapStateStore<Subject>, DefaultClock, StateInformationMiddleware>;

/// One class's quota and its in-memory state.
#[derive(Debug)]
struct ClassLimiter {
    limit: NonZeroU32,
    limiter: Keyed,
}

/// The gateway's rate limits.
#[derive(Debug)]
pub struct RateLimits {
    window: Duration,
    login: ClassLimiter,
    api: ClassLimiter,
    clock: DefaultClock,
    /// Set when `REDIS_URL` is: the limits every replica shares.
    shared: Option<SharedLimiter>,
}

impl RateLimits {
    /// In-memory limits: `api` and `login` requests per `window`, for each subject.
    pub fn in_memory(api: NonZeroU32, login: NonZeroU32, window: Duration) -> Self {
        Self {
            window,
            login: ClassLimiter::new(login, window),
            api: ClassLimiter::new(api, window),
            clock: DefaultClock::default(),
            shared: None,
        }
    }

    /// The limits `edge` configures: in memory, or shared through Redis when `REDIS_URL` is set.
    /// With Redis, the in-memory state stays as the fallback when Redis cannot answer (each
    /// replica then still enforces the limit on its own).
    pub async fn from_config(edge: &EdgeConfig) -> Result<Self, ::redis::RedisError> {
        let mut limits = Self::in_memory(edge.api_limit, edge.login_limit, edge.window);
        if let Some(url) = &edge.redis_url {
            limits.shared = Some(SharedLimiter::connect(url).await?);
        }
        Ok(limits)
    }

    /// Whether the limits are shared through Redis.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Counts one request of `class` against every one of `subjects`.
    pub async fn check(&self, class: Class, subjects: &[Subject]) -> Decision {
        let limit = self.of(class).limit;
        if let Some(shared) = &self.shared
            && let Some(decision) = shared.check(class, limit, self.window, subjects).await
        {
            return decision;
        }
        self.check_locally(class, subjects)
    }

    fn check_locally(&self, class: Class, subjects: &[Subject]) -> Decision {
        let of = self.of(class);
        let limit = of.limit.get();
        let interval = self.window / limit;
        let whole = Decision {
            class,
            allowed: true,
            limit,
            window: self.window,
            remaining: limit,
            reset: Duration::ZERO,
            retry_after: Duration::ZERO,
        };
        subjects.iter().fold(whole, |decision, subject| {
            let this = match of.limiter.check_key(subject) {
                Ok(state) => {
                    let remaining = state.remaining_burst_capacity();
                    Decision {
                        remaining,
                        reset: interval * (limit - remaining.min(limit)),
                        ..whole
                    }
                }
                Err(refused) => {
                    let wait = refused.wait_time_from(self.clock.now());
                    Decision {
                        allowed: false,
                        remaining: 0,
                        reset: self.window,
                        retry_after: wait,
                        ..whole
                    }
                }
            };
            decision.tighter(this)
        })
    }

    /// Forgets subjects whose allowance is whole again, so the maps do not grow for ever.
    pub fn forget_idle(&self) {
        self.login.limiter.retain_recent();
        self.api.limiter.retain_recent();
    }

    fn of(&self, class: Class) -> &ClassLimiter {
        match class {
            Class::Login => &self.login,
            Class::Api => &self.api,
        }
    }
}

impl ClassLimiter {
    fn new(limit: NonZeroU32, window: Duration) -> Self {
        // The whole allowance may be used at once, and comes back over the window.
        let quota = Quota::with_period(window / limit.get())
            .unwrap_or_else(|| Quota::per_second(limit))
            .allow_burst(limit);
        Self {
            limit,
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }
}

/// Keeps the in-memory limiters small: every `period`, while the gateway runs.
pub fn spawn_housekeeping(limits: &Arc<RateLimits>, period: Duration) {
    let limits = Arc::downgrade(limits);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            limits.forget_idle();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::table;

    fn limits(api: u32, login: u32) -> RateLimits {
        let n = |v| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        RateLimits::in_memory(n(api), n(login), Duration::from_secs(60))
    }

    fn addr(raw: &str) -> Subject {
        Subject::Addr(Source::of(raw.parse().expect("an address")))
    }

    #[test]
    fn the_public_oauth_endpoints_and_only_they_are_in_the_login_class() {
        let login: Vec<_> = table()
            .into_iter()
            .filter(|route| class_of(route) == Class::Login)
            .map(|route| route.path)
            .collect();
        assert!(login.contains(&"/oauth2/token"));
        assert!(login.contains(&"/oauth2/authorize"));
        assert!(login.contains(&"/oauth2/introspect"));
        assert!(login.contains(&"/oauth2/revoke"));
        assert!(login.iter().all(|path| path.starts_with("/oauth2/")));
        assert!(
            table()
                .iter()
                .filter(|route| route.path.starts_with("/v1/"))
                .all(|route| class_of(route) == Class::Api)
        );
    }

    #[tokio::test]
    async fn a_burst_past_the_limit_is_refused_with_a_time_to_retry() {
        let limits = limits(100, 3);
        let addr = [addr("192.0.2.1")];
        for left in (0..3).rev() {
            let decision = limits.check(Class::Login, &addr).await;
            assert!(decision.allowed);
            assert_eq!(decision.remaining, left);
        }
        let refused = limits.check(Class::Login, &addr).await;
        assert!(!refused.allowed);
        assert!(refused.retry_after > Duration::ZERO);
        assert!(refused.retry_after <= Duration::from_secs(20));
    }

    #[tokio::test]
    async fn classes_and_subjects_are_counted_apart() {
        let limits = limits(100, 1);
        let one = [addr("192.0.2.1")];
        let other = [addr("192.0.2.2")];
        assert!(limits.check(Class::Login, &one).await.allowed);
        assert!(!limits.check(Class::Login, &one).await.allowed);
        assert!(limits.check(Class::Login, &other).await.allowed);
        assert!(limits.check(Class::Api, &one).await.allowed);
    }

    #[tokio::test]
    async fn the_tightest_subject_decides() {
        let limits = limits(2, 100);
        let user = Subject::User("alice".to_owned());
        assert!(
            limits
                .check(Class::Api, std::slice::from_ref(&user))
                .await
                .allowed
        );
        assert!(
            limits
                .check(Class::Api, std::slice::from_ref(&user))
                .await
                .allowed
        );
        let both = [addr("192.0.2.9"), user];
        let decision = limits.check(Class::Api, &both).await;
        assert!(!decision.allowed);
    }

    #[tokio::test]
    async fn ipv6_sources_share_one_limit_per_slash_64_and_ipv4_sources_count_per_address() {
        let limits = limits(100, 1);
        let allowed = async |raw: &str| limits.check(Class::Login, &[addr(raw)]).await.allowed;
        assert!(allowed("2001:db8:1:2::1").await);
        assert!(!allowed("2001:db8:1:2::2").await, "the same /64");
        assert!(
            !allowed("2001:db8:1:2:ffff:ffff:ffff:ffff").await,
            "the same /64"
        );
        assert!(allowed("2001:db8:1:3::1").await, "the next /64");
        assert!(allowed("192.0.2.1").await);
        assert!(allowed("192.0.2.2").await, "another IPv4 address");
        // An IPv4 address written as IPv4-mapped IPv6 is that IPv4 address.
        assert!(!allowed("::ffff:192.0.2.2").await);
    }

    #[test]
    fn keys_name_the_source_block() {
        assert_eq!(
            addr("2001:db8:1:2:aaaa::9").key(Class::Login),
            "baton:rl:login:addr:2001:db8:1:2::"
        );
    }

    #[test]
    fn the_headers_follow_the_ietf_draft() {
        let decision = Decision {
            class: Class::Api,
            allowed: false,
            limit: 600,
            window: Duration::from_secs(60),
            remaining: 0,
            reset: Duration::from_millis(1500),
            retry_after: Duration::from_millis(100),
        };
        let mut headers = HeaderMap::new();
        decision.stamp(&mut headers);
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(get("ratelimit-policy"), Some("\"api\";q=600;w=60"));
        assert_eq!(get("ratelimit"), Some("\"api\";r=0;t=2"));
        assert_eq!(get("retry-after"), Some("1"));
    }
}
