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
//! authentication, so a flood of bad tokens costs the gateway nothing upstream; the user after
//! it. The STS's machine endpoints are counted per client under a per-source ceiling (see
//! [`super::machine`]). What a check decides, and the headers and refusal that say so, are in
//! [`super::decision`].

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use baton_workload::limits::source_key;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::edge::EdgeConfig;
pub use crate::edge::decision::Decision;
use crate::edge::machine::NamedClient;
use crate::edge::redis::SharedLimiter;
use crate::routes::{Access, Route};
use baton_platform::Workload;

/// A rate-limit class: one quota, and the keys counted against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// The STS's login pages (`/oauth2/authorize`), per source: what brute force and credential
    /// stuffing aim at. Also a machine endpoint's request that names no client the gateway can
    /// read, so that an unreadable request is held to the strictest limit (closed, not open).
    Login,
    /// The STS's machine endpoints (token, introspection, revocation), per source, all clients
    /// together: the ceiling that inventing client ids cannot get past.
    Machine,
    /// The same endpoints, per client a request names, from one source.
    Client,
    /// Everything else.
    Api,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Login => "login",
            Class::Machine => "machine",
            Class::Client => "client",
            Class::Api => "api",
        }
    }
}

/// The STS endpoints backends call by machine rather than people through a browser.
pub const MACHINE_PATHS: [&str; 3] = ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"];

/// The class a route's requests are first counted in, from what the route already says: the
/// STS's public machine endpoints are `Machine` (and then `Client` or `Login`, see
/// [`super::machine`]), its other public OAuth endpoints (the login pages) `Login`; the STS's
/// published metadata and keys, and every API route, are `Api`.
pub fn class_of(route: &Route) -> Class {
    let oauth_endpoint = route.path.starts_with("/oauth2/");
    if route.access != Access::Public || route.upstream != Workload::Sts || !oauth_endpoint {
        Class::Api
    } else if MACHINE_PATHS.contains(&route.path) {
        Class::Machine
    } else {
        Class::Login
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
    /// The OAuth client a machine request names, from one source. The gateway cannot verify the
    /// name (the STS authenticates the client), so the key keeps the source: naming another
    /// backend's client id spends the caller's own allowance, never that backend's.
    Client(NamedClient, Source),
}

impl Subject {
    /// The key under which a shared limiter stores this subject's state. A client id may hold
    /// any printable character, so it comes first and the source (which holds no `@`) last.
    pub fn key(&self, class: Class) -> String {
        match self {
            Subject::Addr(source) => format!("baton:rl:{}:addr:{source}", class.name()),
            Subject::User(id) => format!("baton:rl:{}:user:{id}", class.name()),
            Subject::Client(client, source) => {
                format!(
                    "baton:rl:{}:client:{}@{source}",
                    class.name(),
                    client.as_str()
                )
            }
        }
    }
}

/// Requests per window, for each class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub api: NonZeroU32,
    pub login: NonZeroU32,
    pub machine: NonZeroU32,
    pub client: NonZeroU32,
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
    machine: ClassLimiter,
    client: ClassLimiter,
    api: ClassLimiter,
    clock: DefaultClock,
    /// Set when `REDIS_URL` is: the limits every replica shares.
    shared: Option<SharedLimiter>,
}

impl RateLimits {
    /// In-memory limits: each class's quota per `window`, for each subject.
    pub fn in_memory(quotas: &Quotas, window: Duration) -> Self {
        Self {
            window,
            login: ClassLimiter::new(quotas.login, window),
            machine: ClassLimiter::new(quotas.machine, window),
            client: ClassLimiter::new(quotas.client, window),
            api: ClassLimiter::new(quotas.api, window),
            clock: DefaultClock::default(),
            shared: None,
        }
    }

    /// The limits `edge` configures: in memory, or shared through Redis when `REDIS_URL` is set.
    /// With Redis, the in-memory state stays as the fallback when Redis cannot answer (each
    /// replica then still enforces the limit on its own).
    pub async fn from_config(edge: &EdgeConfig) -> Result<Self, ::redis::RedisError> {
        let mut limits = Self::in_memory(&edge.quotas, edge.window);
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
        for class in [&self.login, &self.machine, &self.client, &self.api] {
            class.limiter.retain_recent();
        }
    }

    fn of(&self, class: Class) -> &ClassLimiter {
        match class {
            Class::Login => &self.login,
            Class::Machine => &self.machine,
            Class::Client => &self.client,
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
        let quotas = Quotas {
            api: n(api),
            login: n(login),
            machine: n(login * 4),
            client: n(login * 2),
        };
        RateLimits::in_memory(&quotas, Duration::from_secs(60))
    }

    fn addr(raw: &str) -> Subject {
        Subject::Addr(Source::of(raw.parse().expect("an address")))
    }

    #[test]
    fn the_public_oauth_endpoints_and_only_they_are_in_the_login_and_machine_classes() {
        let class = |path: &str| {
            table()
                .iter()
                .find(|route| route.path == path)
                .map(class_of)
        };
        assert_eq!(class("/oauth2/authorize"), Some(Class::Login));
        for machine in MACHINE_PATHS {
            assert_eq!(class(machine), Some(Class::Machine), "{machine}");
        }
        assert!(
            table()
                .iter()
                .filter(|route| class_of(route) != Class::Api)
                .all(|route| route.path.starts_with("/oauth2/"))
        );
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
    fn keys_name_the_source_block_and_a_client_with_its_source() {
        assert_eq!(
            addr("2001:db8:1:2:aaaa::9").key(Class::Login),
            "baton:rl:login:addr:2001:db8:1:2::"
        );
        let client = |id: &str, source: &str| match (NamedClient::parse(id), addr(source)) {
            (Some(client), Subject::Addr(source)) => Subject::Client(client, source),
            _ => panic!("{id} from {source}"),
        };
        assert_eq!(
            client("reports", "192.0.2.7").key(Class::Client),
            "baton:rl:client:client:reports@192.0.2.7"
        );
    }
}
