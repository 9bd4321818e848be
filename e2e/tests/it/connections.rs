//! What a listener grants a connection (`transport.connection_limits`): a slowloris dripping its
//! request head, a source holding more connections than its share, and a connection that never
//! says a word after its handshake, each while another client is still served.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use baton_platform::Control;
use baton_testkit::{PlatformBuilder, TestPlatform};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback address other than the attacker's: a normal client, counted apart.
const BYSTANDER: [u8; 4] = [127, 0, 0, 2];

fn short_patience() -> PlatformBuilder {
    TestPlatform::builder()
        .with_setting("BATON_HEADER_READ_TIMEOUT_MS", "1000")
        .with_setting("BATON_IDLE_TIMEOUT_MS", "1000")
}

/// Whether the server closes `stream` within `within`, while the test keeps `write` going.
async fn closed_within<S>(stream: &mut S, within: Duration, drip: bool) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let deadline = Instant::now() + within;
    if drip {
        let _ = stream.write_all(b"GET /health HTTP/1.1\r\n").await;
    }
    let mut byte = [0u8; 1];
    while Instant::now() < deadline {
        if drip && stream.write_all(b"X").await.is_err() {
            return true;
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => return true,
            // The server answered something (a 408, say) and will close next.
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
    }
    false
}

async fn health_from(platform: &TestPlatform, from: [u8; 4]) -> bool {
    let Ok(mut tls) = platform.tls_to_gateway(IpAddr::from(from)).await else {
        return false;
    };
    let request = "GET /health HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n";
    if tls.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    answer.starts_with(b"HTTP/1.1 200")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dripping_its_request_head_is_cut_off_while_others_are_served() {
    let platform = short_patience().spawn().await.expect("platform starts");
    let mut slow = platform
        .tls_to_gateway(IpAddr::from([127, 0, 0, 1]))
        .await
        .expect("connects");
    let bystander = tokio::spawn({
        let url = format!("{}/health", platform.gateway_url);
        let http = platform.http.clone();
        async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    assert!(
        closed_within(&mut slow, Duration::from_secs(4), true).await,
        "a head dripped a byte at a time was still being read after four seconds"
    );
    assert_eq!(bystander.await.expect("joins").expect("answered"), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_says_nothing_after_its_handshake_is_closed_when_idle() {
    let platform = short_patience().spawn().await.expect("platform starts");
    let mut silent = platform
        .tls_to_gateway(IpAddr::from([127, 0, 0, 1]))
        .await
        .expect("connects");
    assert!(closed_within(&mut silent, Duration::from_secs(4), false).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_limits_off_in_lab_mode_a_dripping_head_holds_its_connection() {
    let platform = short_patience()
        .lab_disable([Control::TransportConnectionLimits])
        .spawn()
        .await
        .expect("platform starts");
    let mut slow = platform
        .tls_to_gateway(IpAddr::from([127, 0, 0, 1]))
        .await
        .expect("connects");
    assert!(
        !closed_within(&mut slow, Duration::from_secs(3), true).await,
        "without the limits nothing cuts a slow client off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_past_its_share_of_connections_is_refused_and_another_source_is_served() {
    let platform = TestPlatform::builder()
        .with_setting("BATON_MAX_CONNECTIONS_PER_SOURCE", "4")
        .spawn()
        .await
        .expect("platform starts");
    let attacker = IpAddr::from([127, 0, 0, 1]);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(
            platform
                .tls_to_gateway(attacker)
                .await
                .expect("within the share"),
        );
    }
    let refused = platform.tls_to_gateway(attacker).await;
    assert!(
        refused.is_err(),
        "a fifth connection from one source got a handshake"
    );
    assert!(
        health_from(&platform, BYSTANDER).await,
        "another source is served"
    );
    drop(held.pop());
    // The server notices the close, then the place is free again.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut again = platform.tls_to_gateway(attacker).await;
    while again.is_err() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        again = platform.tls_to_gateway(attacker).await;
    }
    assert!(again.is_ok(), "a closed connection gives its place back");
}
