//! The guard's rules one by one, a rebinding between check and delivery, and a real delivery
//! pinned to the checked address (to the fake supplier's webhook receiver, over TLS).

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_platform::mode::RunMode;
use baton_platform::{Control, Controls};
use baton_supplier::{Mode, Supplier};
use serde_json::json;

use super::*;
use crate::egress::Egress;
use crate::egress::resolve::{NoResolver, Resolve, Resolving, StaticHosts};

fn guard(hosts: &[&str], names: &[(&str, &str)], controls: Controls) -> WebhookGuard {
    let pairs: Vec<(String, IpAddr)> = names
        .iter()
        .map(|(name, ip)| ((*name).to_owned(), ip.parse().expect("an address")))
        .collect();
    let resolver = Arc::new(StaticHosts::new(&pairs, Arc::new(NoResolver)));
    let hosts: Vec<String> = hosts.iter().map(|host| (*host).to_owned()).collect();
    WebhookGuard::new(&hosts, resolver, controls)
}

fn guard_off() -> Controls {
    Controls::lab(RunMode::Development, [Control::OrdersSsrfGuard]).expect("lab mode")
}

#[tokio::test]
async fn with_no_allowed_host_every_webhook_is_refused() {
    let guard = guard(&[], &[], Controls::enforcing());
    assert_eq!(
        guard.check("https://hooks.example.com/").await.err(),
        Some(Refusal::Off)
    );
}

#[tokio::test]
async fn scheme_userinfo_and_host_are_checked_before_any_lookup() {
    let guard = guard(
        &["hooks.example.com"],
        &[("hooks.example.com", "93.184.216.34")],
        Controls::enforcing(),
    );
    let cases = [
        ("http://hooks.example.com/", Refusal::Scheme),
        ("file:///etc/passwd", Refusal::Scheme),
        ("gopher://hooks.example.com/", Refusal::Scheme),
        ("https://user:pw@hooks.example.com/", Refusal::Userinfo),
        ("https://hooks.example.com@127.0.0.1/", Refusal::Userinfo),
        ("https://evil.example.com/", Refusal::HostNotAllowed),
        (
            "https://hooks.example.com.evil.example/",
            Refusal::HostNotAllowed,
        ),
        ("https://127.0.0.1/", Refusal::HostNotAllowed),
        ("https://2130706433/", Refusal::HostNotAllowed),
        ("not a url", Refusal::Malformed),
    ];
    for (url, refusal) in cases {
        assert_eq!(guard.check(url).await.err(), Some(refusal), "{url}");
    }
    let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN));
    assert_eq!(guard.check(&long).await.err(), Some(Refusal::Malformed));
}

#[tokio::test]
async fn an_allowed_name_with_public_addresses_passes_with_them() {
    let guard = guard(
        &["HOOKS.example.com"],
        &[("hooks.example.com", "93.184.216.34")],
        Controls::enforcing(),
    );
    let checked = guard
        .check("https://Hooks.Example.com:8443/orders")
        .await
        .expect("allowed");
    assert_eq!(checked.host, "hooks.example.com");
    assert_eq!(
        checked.addrs,
        vec!["93.184.216.34".parse::<IpAddr>().expect("ip")]
    );
}

#[tokio::test]
async fn allow_listed_internal_literals_and_names_are_still_refused() {
    let guard = guard(
        &[
            "127.0.0.1",
            "[::1]",
            "169.254.169.254",
            "[::ffff:127.0.0.1]",
            "internal.test",
            "split.test",
        ],
        &[
            ("internal.test", "10.0.0.7"),
            ("split.test", "93.184.216.34"),
            ("split.test", "192.168.1.1"),
        ],
        Controls::enforcing(),
    );
    for url in [
        "https://127.0.0.1/",
        "https://[::1]:8443/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://internal.test/",
        "https://split.test/",
    ] {
        assert_eq!(
            guard.check(url).await.err(),
            Some(Refusal::InternalAddress),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_refused() {
    let guard = guard(&["nowhere.test"], &[], Controls::enforcing());
    assert_eq!(
        guard.check("https://nowhere.test/").await.err(),
        Some(Refusal::Unresolvable)
    );
}

#[tokio::test]
async fn with_the_guard_off_in_lab_mode_internal_addresses_pass() {
    let guard = guard(&["127.0.0.1"], &[], guard_off());
    assert!(guard.check("https://127.0.0.1/").await.is_ok());
}

/// Answers a public address the first time and a private one after: DNS rebinding.
#[derive(Debug, Default)]
struct Rebinding(AtomicUsize);

impl Resolve for Rebinding {
    fn resolve<'a>(&'a self, _host: &'a str) -> Resolving<'a> {
        let first = self.0.fetch_add(1, Ordering::SeqCst) == 0;
        let ip: IpAddr = if first {
            [93, 184, 216, 34].into()
        } else {
            [127, 0, 0, 1].into()
        };
        Box::pin(async move { Ok::<_, io::Error>(vec![ip]) })
    }
}

#[tokio::test]
async fn a_name_that_rebinds_to_an_internal_address_after_the_check_is_refused_at_delivery() {
    let hosts = vec!["rebind.test".to_owned()];
    let guard = WebhookGuard::new(
        &hosts,
        Arc::new(Rebinding::default()),
        Controls::enforcing(),
    );
    assert!(
        guard.check("https://rebind.test/").await.is_ok(),
        "the first answer is public"
    );
    let notifier = Notifier::new(guard, None, Duration::from_secs(1), Egress::default());
    let delivered = notifier.deliver("https://rebind.test/", &json!({})).await;
    assert!(
        matches!(
            delivered,
            Err(DeliveryError::Refused(Refusal::InternalAddress))
        ),
        "{delivered:?}"
    );
}

#[tokio::test]
async fn a_delivery_goes_to_the_checked_address_and_reads_a_bounded_answer() {
    let supplier = Supplier::bind(([127, 0, 0, 1], 0).into(), Mode::Honest)
        .await
        .expect("a supplier");
    let (port, handle) = (supplier.port(), supplier.handle());
    let tls = tls_from_pem(supplier.ca_pem().as_bytes()).expect("roots");
    tokio::spawn(supplier.run_until(std::future::pending()));
    // `localhost` resolves only through the fixed answer, so the delivery reaching the supplier
    // shows the connection used the checked address. (Loopback needs the guard off.)
    let guard = guard(&["localhost"], &[("localhost", "127.0.0.1")], guard_off());
    let notifier = Notifier::new(guard, Some(tls), Duration::from_secs(2), Egress::default());
    let status = notifier
        .deliver(
            &format!("https://localhost:{port}/v1/hooks"),
            &json!({"event": "order.paid"}),
        )
        .await
        .expect("delivered");
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(handle.hooks_received(), 1);
}
