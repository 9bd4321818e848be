//! The test kit's promise that nothing leaves the machine, held to account: a platform that
//! tries to reach beyond loopback fails the test that started it. Neither test sends a packet
//! anywhere: the hermetic dialer refuses before connecting, and connecting a UDP socket only
//! sets its peer.

use std::time::Duration;

use baton_platform::demo::ALICE;
use baton_testkit::TestPlatform;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::first_account;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "orders dialled 93.184.216.35:443, which has no stand-in")]
async fn a_webhook_to_a_public_address_with_no_stand_in_fails_the_test() {
    // The guard passes this public address; the dialer refuses it and records the breach.
    let platform = TestPlatform::builder()
        .with_setting("ORDERS_WEBHOOK_RESOLVE", "hooks.baton.test=93.184.216.35")
        .spawn()
        .await
        .expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let placed = platform
        .http
        .post(format!("{}/v1/orders", platform.gateway_url))
        .bearer_auth(&alice)
        .json(&json!({
            "account_id": account,
            "items": [{ "sku": "BATON-MUG", "quantity": 1 }],
            "notify_url": "https://hooks.baton.test/orders",
        }))
        .send()
        .await
        .expect("the platform answers");
    assert_eq!(placed.status(), StatusCode::CREATED);
    // The delivery runs in the background; give it a moment to be refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(platform);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "socket of this process is connected to 93.184.216.35:9")]
async fn a_socket_of_the_process_with_a_remote_end_outside_fails_the_test() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("a socket");
    socket.connect("93.184.216.35:9").expect("a peer set");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(platform);
    drop(socket);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_naming_another_host_stops_the_platform_before_it_starts() {
    let refused = TestPlatform::builder()
        .with_setting("REDIS_URL", "redis://cache.example.com:6379")
        .spawn()
        .await
        .expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("REDIS_URL=redis://cache.example.com:6379"),
        "{refused}"
    );
}
