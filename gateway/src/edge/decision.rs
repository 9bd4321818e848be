//! What a rate-limit check decided, and how an answer says so: the IETF `RateLimit-Policy` and
//! `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers) on every rate-limited answer, and
//! `Retry-After` with a 429 problem on a refusal. Both limiters, in memory and in Redis, decide in
//! this one shape.

use std::time::Duration;

use axum::response::Response;
use baton_api::Problem;
use http::{HeaderMap, HeaderValue, header};

use crate::edge::rate::Class;

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

#[cfg(test)]
mod tests {
    use super::*;

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
