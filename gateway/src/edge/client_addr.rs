//! Which address a request came from, for per-address rate limits.
//!
//! The TCP peer is the only address a client cannot lie about. `X-Forwarded-For` is a list any
//! client can write, so it is read only when the peer is one of the configured trusted proxies
//! (`GATEWAY_TRUSTED_PROXIES`, default none), and then from the right: each trusted proxy
//! appends the address it saw, so the first address from the right that is not itself a trusted
//! proxy is the client. Everything left of it is whatever the client chose to send.
//! (The RFC 7239 `Forwarded` header is not read: one format, parsed by the standard library's
//! address parser, is less to get wrong.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap};
use ipnet::IpNet;

/// The address requests are counted under when the transport gave none (plaintext lab mode):
/// they all share one limit, which is closed rather than open.
pub const UNKNOWN: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address as [`client_addr`] decided it, put in the request's extensions by the
/// gateway so later steps (the STS's login throttling, through the proxy) use the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client's address as far as the gateway can trust it.
pub fn client_addr(extensions: &Extensions, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let Some(peer) = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
    else {
        return UNKNOWN;
    };
    if trusted.is_empty() || !is_trusted(peer, trusted) {
        return peer;
    }
    let mut client = peer;
    // Later headers were appended by later proxies, so walk them last to first too.
    let hops = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .rev()
        .flat_map(|value| value.to_str().unwrap_or("").rsplit(','));
    for hop in hops {
        let Ok(addr) = hop.trim().parse::<IpAddr>() else {
            // Garbage where an address should be: stop at the last address we could trust.
            break;
        };
        client = addr;
        if !is_trusted(addr, trusted) {
            break;
        }
    }
    client
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn from(peer: [u8; 4], forwarded_for: Option<&'static str>, trusted: &[&str]) -> IpAddr {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from((peer, 443))));
        let mut headers = HeaderMap::new();
        if let Some(value) = forwarded_for {
            headers.insert(X_FORWARDED_FOR, HeaderValue::from_static(value));
        }
        let trusted: Vec<IpNet> = trusted.iter().filter_map(|n| n.parse().ok()).collect();
        client_addr(&extensions, &headers, &trusted)
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let addr = from([198, 51, 100, 7], Some("203.0.113.1"), &[]);
        assert_eq!(addr, IpAddr::from([198, 51, 100, 7]));
    }

    #[test]
    fn an_untrusted_peer_cannot_name_another_address() {
        let addr = from([198, 51, 100, 7], Some("203.0.113.1"), &["10.0.0.0/8"]);
        assert_eq!(addr, IpAddr::from([198, 51, 100, 7]));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        // The client forged the first entry; the proxies appended the real one and each other.
        let addr = from(
            [10, 0, 0, 2],
            Some("1.2.3.4, 203.0.113.9, 10.0.0.1"),
            &["10.0.0.0/8"],
        );
        assert_eq!(addr, IpAddr::from([203, 0, 113, 9]));
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk() {
        let addr = from(
            [10, 0, 0, 2],
            Some("203.0.113.9, not-an-ip"),
            &["10.0.0.0/8"],
        );
        assert_eq!(addr, IpAddr::from([10, 0, 0, 2]));
    }

    #[test]
    fn a_request_without_a_peer_address_counts_as_unknown() {
        let addr = client_addr(&Extensions::new(), &HeaderMap::new(), &[]);
        assert_eq!(addr, UNKNOWN);
    }
}
