//! Nothing leaves the machine: how the test kit keeps every connection on loopback, and the
//! checks that fail a test the moment one does not.
//!
//! A test platform may only reach loopback (`127.0.0.0/8`, `::1`). Three things hold it there:
//!
//! 1. **Configuration.** Every address the test kit hands a component (listeners, peers,
//!    databases, Redis, the supplier) must be loopback; [`check_config`] refuses to start a
//!    platform otherwise, so a `DATABASE_URL` naming another host stops the run before it
//!    connects.
//! 2. **Orders' third parties**, the one place where a destination comes from outside: a
//!    webhook URL from a customer, a redirect from a supplier. Orders dials them through
//!    [`HermeticDial`]. Loopback is reached as it is. The public and metadata addresses the
//!    tests need ([`PUBLIC_ADDRESS`], [`METADATA_ADDRESS`]) are *judged* by the SSRF guard as
//!    what they are, but the connection lands on a local [`baton_supplier::Canary`] standing in
//!    for them, which records what arrived. Any other address is refused without a packet sent,
//!    and recorded as a breach. Names resolve only through the fixed table the test kit gives
//!    orders: no DNS query leaves either.
//! 3. **A watch over the process's own sockets** (Linux): [`SocketWatch`] samples
//!    `/proc/self/net/{tcp,tcp6,udp,udp6}` and records any socket of this process whose remote
//!    end is not loopback, whatever code opened it. It samples, so it is the backstop; the
//!    first two are exact.
//!
//! A breach found by 2 or 3 fails the test when its platform is dropped
//! ([`crate::TestPlatform`]'s `Drop`), listing every address that was tried.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use baton_orders::egress::{Dial, Dialing};
use baton_platform::config::Map;
use tokio::net::TcpStream;

/// The host an allowed, public webhook names in tests. Orders resolves it (through
/// `ORDERS_WEBHOOK_RESOLVE`) to [`PUBLIC_ADDRESS`].
pub const PUBLIC_WEBHOOK_HOST: &str = "hooks.baton.test";
/// A public address for the SSRF guard to judge and let pass (example.com's, once). Nothing
/// connects to it: the hermetic dialer hands its connections to the public canary.
pub const PUBLIC_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34));
/// The cloud metadata address, the classic SSRF target. Its connections go to the metadata
/// canary.
pub const METADATA_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));
/// How often [`SocketWatch`] looks.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// Whether `ip` is loopback, an IPv4-mapped IPv6 loopback address included.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Every attempt to leave the machine a platform made, shared by its checks.
#[derive(Debug, Clone, Default)]
pub struct Breaches(Arc<Mutex<Vec<String>>>);

impl Breaches {
    fn record(&self, what: String) {
        if let Ok(mut all) = self.0.lock()
            && !all.contains(&what)
        {
            all.push(what);
        }
    }

    /// What was tried, in the order it was first seen.
    pub fn list(&self) -> Vec<String> {
        self.0.lock().map(|all| all.clone()).unwrap_or_default()
    }
}

/// Orders' dialer in tests: loopback as it is, stand-in addresses to their canaries, nothing
/// else at all.
#[derive(Debug)]
pub struct HermeticDial {
    stand_ins: HashMap<IpAddr, SocketAddr>,
    breaches: Breaches,
}

impl HermeticDial {
    /// A dialer that sends connections for each address in `stand_ins` to its local canary.
    pub fn new(stand_ins: HashMap<IpAddr, SocketAddr>, breaches: Breaches) -> Self {
        Self {
            stand_ins,
            breaches,
        }
    }
}

impl Dial for HermeticDial {
    fn dial(&self, target: SocketAddr) -> Dialing<'_> {
        let local = if is_loopback(target.ip()) {
            Some(target)
        } else {
            self.stand_ins.get(&target.ip().to_canonical()).copied()
        };
        Box::pin(async move {
            match local {
                Some(local) => TcpStream::connect(local).await,
                None => {
                    self.breaches
                        .record(format!("orders dialled {target}, which has no stand-in"));
                    Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!("the test kit lets no connection leave the machine ({target})"),
                    ))
                }
            }
        })
    }
}

/// Refuses a configuration that names a host other than loopback in any address a component
/// connects to or listens on (keys ending in `_ADDR`, `_LISTEN` or `_URL`).
pub fn check_config(config: &Map) -> Result<(), String> {
    let mut outside: Vec<String> = config
        .iter()
        .filter(|(key, _)| {
            ["_ADDR", "_LISTEN", "_URL"]
                .iter()
                .any(|end| key.ends_with(end))
        })
        .filter(|(_, value)| !names_only_loopback(value))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    outside.sort();
    Err(format!(
        "the test kit connects only to loopback, and these settings name another host: {}",
        outside.join(", ")
    ))
}

/// Whether an address setting (`host:port`, or a URL) names loopback or no host at all (a
/// SQLite file, a Unix socket).
fn names_only_loopback(value: &str) -> bool {
    let host = match reqwest::Url::parse(value) {
        Ok(url) if url.has_host() => url.host_str().unwrap_or_default().to_owned(),
        Ok(_) => return true,
        Err(_) => match value.rsplit_once(':') {
            Some((host, _)) => host.to_owned(),
            None => value.to_owned(),
        },
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse().is_ok_and(is_loopback)
}

/// Samples this process's sockets and records any whose remote end is not loopback. Stops when
/// dropped.
#[derive(Debug)]
pub struct SocketWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SocketWatch {
    pub fn start(breaches: Breaches) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("baton-socket-watch".to_owned())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    for what in outside_sockets() {
                        breaches.record(what);
                    }
                    std::thread::sleep(WATCH_EVERY);
                }
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for SocketWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// This process's sockets whose remote end is neither unset nor loopback, described.
fn outside_sockets() -> Vec<String> {
    let mut candidates = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/self/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            if let Some((remote, inode)) = parse_socket_line(line)
                && !remote.ip().is_unspecified()
                && !is_loopback(remote.ip())
                && inode != 0
            {
                candidates.push((table, remote, inode));
            }
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    let ours = own_socket_inodes();
    candidates
        .into_iter()
        .filter(|(_, _, inode)| ours.contains(inode))
        .map(|(table, remote, _)| {
            format!("a {table} socket of this process is connected to {remote}")
        })
        .collect()
}

/// The remote address and inode of one line of `/proc/net/{tcp,udp}[6]`:
/// `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...`, addresses as
/// the kernel's native-endian 32-bit words in hex, then `:port` in hex.
fn parse_socket_line(line: &str) -> Option<(SocketAddr, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (address, port) = fields.get(2)?.split_once(':')?;
    let inode = fields.get(9)?.parse().ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = address.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut octets = [0u8; 16];
            for i in 0..4 {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some((SocketAddr::new(ip, port), inode))
}

/// The inodes of the sockets this process holds open (`/proc/self/fd/* -> socket:[inode]`).
fn own_socket_inodes() -> HashSet<u64> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return HashSet::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_includes_the_whole_v4_block_v6_and_mapped_addresses() {
        for ip in ["127.0.0.1", "127.4.5.6", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().expect("an address")), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "169.254.169.254",
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "fe80::1",
        ] {
            assert!(!is_loopback(ip.parse().expect("an address")), "{ip}");
        }
    }

    #[test]
    fn a_configuration_naming_another_host_is_refused_with_every_offending_key() {
        let good = Map::new()
            .with("STS_ADDR", "127.0.0.1:4000")
            .with("USERS_LISTEN", "[::1]:0")
            .with("STS_DATABASE_URL", "sqlite:///tmp/x/sts.db")
            .with(
                "ORDERS_DATABASE_URL",
                "postgres://postgres@localhost:5432/t",
            )
            .with("REDIS_URL", "redis://127.0.0.1:6379")
            .with("ORDERS_WEBHOOK_RESOLVE", "hooks.baton.test=93.184.216.34");
        assert_eq!(check_config(&good), Ok(()));
        let bad = good
            .with("DATABASE_URL", "postgres://db.example.com/test")
            .with("ACCOUNTS_ADDR", "10.0.0.7:9000");
        let refusal = check_config(&bad).expect_err("refused");
        assert!(
            refusal.contains("ACCOUNTS_ADDR=10.0.0.7:9000")
                && refusal.contains("DATABASE_URL=postgres://db.example.com/test"),
            "{refusal}"
        );
    }

    #[test]
    fn proc_net_lines_parse_to_remote_addresses_and_inodes() {
        let v4 = "   1: 0100007F:1F90 22D8B85D:01BB 02 00000000:00000000 01:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        let (remote, inode) = parse_socket_line(v4).expect("parses");
        if cfg!(target_endian = "little") {
            assert_eq!(remote, "93.184.216.34:443".parse().expect("addr"));
        }
        assert_eq!(inode, 4242);
        let v6 = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:D431 01 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 20 4 30 10 -1";
        let (remote, inode) = parse_socket_line(v6).expect("parses");
        if cfg!(target_endian = "little") {
            assert_eq!(remote, "[::1]:54321".parse().expect("addr"));
        }
        assert_eq!(inode, 77);
        assert_eq!(parse_socket_line("  sl  local_address rem_address"), None);
    }

    #[tokio::test]
    async fn the_hermetic_dialer_reaches_loopback_and_stand_ins_and_refuses_the_rest() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let canary = listener.local_addr().expect("an address");
        let breaches = Breaches::default();
        let dial = HermeticDial::new(
            HashMap::from([(METADATA_ADDRESS, canary)]),
            breaches.clone(),
        );
        let reached = dial
            .dial(SocketAddr::new(METADATA_ADDRESS, 443))
            .await
            .expect("handed to the canary");
        assert_eq!(reached.peer_addr().expect("a peer"), canary);
        dial.dial(canary).await.expect("loopback as it is");
        let refused = dial.dial("198.51.100.7:443".parse().expect("addr")).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|err| err.kind()),
            Err(io::ErrorKind::PermissionDenied)
        );
        assert_eq!(
            breaches.list(),
            vec!["orders dialled 198.51.100.7:443, which has no stand-in".to_owned()]
        );
    }
}
