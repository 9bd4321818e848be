//! Which addresses a webhook may never reach: everything that is not the public internet.
//!
//! The ranges are written out as numbers, one per line with its RFC, and compared as integers:
//! no string matching on host names, which is how SSRF filters are usually bypassed (`0x7f.1`,
//! `017700000001`, `[::ffff:127.0.0.1]` all parse to the same address before they reach here).
//! IPv6 addresses that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by
//! the IPv4 address inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges a webhook may not reach, as (network, prefix length).
const FORBIDDEN_V4: [([u8; 4], u32); 16] = [
    ([0, 0, 0, 0], 8),  // "this network", including the unspecified 0.0.0.0 (RFC 791)
    ([10, 0, 0, 0], 8), // private (RFC 1918)
    ([100, 64, 0, 0], 10), // carrier-grade NAT, shared address space (RFC 6598)
    ([127, 0, 0, 0], 8), // loopback (RFC 1122)
    ([169, 254, 0, 0], 16), // link-local, with the cloud metadata endpoint 169.254.169.254 (RFC 3927)
    ([172, 16, 0, 0], 12),  // private (RFC 1918)
    ([192, 0, 0, 0], 24),   // IETF protocol assignments (RFC 6890)
    ([192, 0, 2, 0], 24),   // documentation, TEST-NET-1 (RFC 5737)
    ([192, 88, 99, 0], 24), // 6to4 relay anycast (RFC 7526)
    ([192, 168, 0, 0], 16), // private (RFC 1918)
    ([198, 18, 0, 0], 15),  // benchmarking (RFC 2544)
    ([198, 51, 100, 0], 24), // documentation, TEST-NET-2 (RFC 5737)
    ([203, 0, 113, 0], 24), // documentation, TEST-NET-3 (RFC 5737)
    ([224, 0, 0, 0], 4),    // multicast (RFC 5771)
    ([240, 0, 0, 0], 4),    // reserved (RFC 1112), including broadcast 255.255.255.255
    ([255, 255, 255, 255], 32),
];

/// IPv6 ranges a webhook may not reach, as (network, prefix length). The ranges that embed an
/// IPv4 address are handled before this table is consulted.
const FORBIDDEN_V6: [(u128, u32); 8] = [
    (0, 96), // ::/96: unspecified, loopback, IPv4-compatible (RFC 4291)
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // discard-only (RFC 6666)
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 32), // Teredo: an IPv4 address in disguise (RFC 4380)
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation (RFC 3849)
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // unique local, with fd00:ec2::254 (RFC 4193)
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // link-local (RFC 4291)
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10), // site-local, deprecated (RFC 3879)
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // multicast (RFC 4291)
];

/// Whether a webhook may connect to `ip`: false for every range above.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    // `std` knows most of these too; asking it as well costs nothing and covers a range this
    // table might have missed.
    let std_says_internal = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation();
    !std_says_internal
        && !FORBIDDEN_V4.iter().any(|&(network, prefix)| {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            bits & mask == u32::from_be_bytes(network) & mask
        })
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let bits = u128::from(ip);
    let std_says_internal = ip.is_loopback() || ip.is_unspecified() || ip.is_multicast();
    !std_says_internal
        && !FORBIDDEN_V6.iter().any(|&(network, prefix)| {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            bits & mask == network & mask
        })
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or
/// 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = u128::from(ip);
    let last_32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(last_32);
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(raw: &str) -> bool {
        is_public(raw.parse().expect("an address"))
    }

    #[test]
    fn every_internal_ipv4_range_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.192",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn every_internal_ipv6_range_is_refused() {
        for ip in [
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "fec0::1",
            "2001:db8::1",
            "::127.0.0.1",
            "100::1",
            "2001::1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn ipv6_forms_of_internal_ipv4_addresses_are_refused() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[test]
    fn the_edges_of_a_range_are_exact() {
        assert!(!public("172.16.0.0"));
        assert!(public("172.15.255.255"));
        assert!(!public("100.64.0.0"));
        assert!(public("100.63.255.255"));
        assert!(!public("169.254.255.255"));
        assert!(public("169.253.255.255"));
    }
}
