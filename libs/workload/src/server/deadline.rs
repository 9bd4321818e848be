//! How long one connection may live: until the first of its two certificates expires, and never
//! longer than the listener's maximum age.
//!
//! The peer's identity is read once, at the handshake, and every request on the connection
//! carries it. So the connection must end before that identity stops being true: when the
//! client's certificate expires (its SVID was not renewed, or its workload was retired), and when
//! ours does (a client checked it at the handshake, never again). The maximum age bounds the rest:
//! a renewed certificate, a changed trust bundle or a revoked workload is noticed at the next
//! handshake, at most that long after it happened. Closing is graceful, like the idle timeout's:
//! requests in flight are answered, then the client opens a new connection and is verified afresh
//! (session resumption is off on internal listeners for that reason, see [`crate::tls`]).

use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Why a connection reached its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndOfLife {
    /// The client's certificate expired.
    PeerCertificateExpired,
    /// The certificate we presented on this connection expired.
    OwnCertificateExpired,
    /// The connection is as old as the listener lets any connection be.
    MaxAge,
}

impl fmt::Display for EndOfLife {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PeerCertificateExpired => "the peer's certificate expired",
            Self::OwnCertificateExpired => "our certificate expired",
            Self::MaxAge => "the connection reached its maximum age",
        })
    }
}

/// When a connection must be closed, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    reason: EndOfLife,
}

impl Deadline {
    /// The deadline of a connection opened at `opened` (wall clock `opened_at`): the earliest of
    /// the peer's certificate's `notAfter` (`None`: no client certificate, the public listener),
    /// our own's, and `max_age` after opening. On a tie the certificate is named, being the
    /// stronger reason. A `notAfter` already past gives a deadline of now.
    pub fn earliest(
        opened: Instant,
        opened_at: SystemTime,
        peer_not_after: Option<SystemTime>,
        own_not_after: Option<SystemTime>,
        max_age: Duration,
    ) -> Self {
        let until = |not_after: SystemTime| {
            opened
                + not_after
                    .duration_since(opened_at)
                    .unwrap_or(Duration::ZERO)
        };
        let candidates = [
            peer_not_after.map(|t| (until(t), EndOfLife::PeerCertificateExpired)),
            own_not_after.map(|t| (until(t), EndOfLife::OwnCertificateExpired)),
        ];
        let mut earliest = Self {
            at: opened + max_age,
            reason: EndOfLife::MaxAge,
        };
        // From last to first, an equal one replaces: a tie goes to the first named.
        for (at, reason) in candidates.into_iter().flatten().rev() {
            if at <= earliest.at {
                earliest = Self { at, reason };
            }
        }
        earliest
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    pub fn reason(&self) -> EndOfLife {
        self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn deadline(peer: Option<u64>, own: Option<u64>, max_age: Duration) -> (Duration, EndOfLife) {
        let opened = Instant::now();
        let opened_at = SystemTime::now();
        let after = |secs: u64| opened_at + Duration::from_secs(secs);
        let deadline =
            Deadline::earliest(opened, opened_at, peer.map(after), own.map(after), max_age);
        (deadline.at() - opened, deadline.reason())
    }

    #[test]
    fn the_deadline_is_the_earliest_of_the_two_certificates_and_the_maximum_age() {
        let secs = Duration::from_secs;
        assert_eq!(
            deadline(Some(60), Some(120), HOUR),
            (secs(60), EndOfLife::PeerCertificateExpired)
        );
        assert_eq!(
            deadline(Some(7200), Some(120), HOUR),
            (secs(120), EndOfLife::OwnCertificateExpired)
        );
        assert_eq!(
            deadline(Some(7200), Some(7200), HOUR),
            (HOUR, EndOfLife::MaxAge)
        );
        assert_eq!(deadline(None, Some(7200), HOUR), (HOUR, EndOfLife::MaxAge));
        assert_eq!(
            deadline(None, Some(30), HOUR),
            (secs(30), EndOfLife::OwnCertificateExpired),
            "no client certificate: the public listener"
        );
    }

    #[test]
    fn on_a_tie_the_certificate_is_named_and_a_past_expiry_is_now() {
        assert_eq!(
            deadline(Some(3600), Some(3600), HOUR),
            (HOUR, EndOfLife::PeerCertificateExpired)
        );
        assert_eq!(
            deadline(Some(7200), Some(3600), HOUR),
            (HOUR, EndOfLife::OwnCertificateExpired)
        );
        let opened = Instant::now();
        let opened_at = SystemTime::now();
        let expired = opened_at - Duration::from_secs(5);
        let deadline = Deadline::earliest(opened, opened_at, Some(expired), None, HOUR);
        assert_eq!(deadline.at(), opened);
        assert_eq!(deadline.reason(), EndOfLife::PeerCertificateExpired);
    }
}
