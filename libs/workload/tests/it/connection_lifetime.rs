//! A connection lives no longer than its maximum age, nor than the client's certificate: then
//! the server closes it gracefully, and the client must open a new one, verified afresh.

use std::time::{Duration, SystemTime};

use baton_workload::Transport;

use crate::support::{CLIENT, Certs, SERVER, get_text as port, spawn_server};

#[tokio::test]
async fn a_connection_is_closed_at_its_maximum_age_after_its_requests_finish_and_the_next_request_opens_another()
 {
    let certs = Certs::new();
    certs.issue(SERVER, Duration::from_secs(600));
    certs.issue(CLIENT, Duration::from_secs(600));
    let base = spawn_server(certs.load(SERVER), Duration::from_millis(1000)).await;
    let client = Transport::mtls(certs.load(CLIENT))
        .http_client(SERVER)
        .expect("a client");

    let first = port(&client, &base, "/port").await.expect("answered");
    let again = port(&client, &base, "/port").await.expect("answered");
    assert_eq!(first, again, "a young connection is reused");
    let slow = port(&client, &base, "/slow").await;
    assert_eq!(
        slow.ok().as_deref(),
        Some(first.as_str()),
        "a request in flight at the deadline is answered on its connection"
    );
    let after = port(&client, &base, "/port").await.expect("answered");
    assert_ne!(
        after, first,
        "the old connection was closed at its maximum age"
    );
}

#[tokio::test]
async fn a_connection_is_closed_when_the_clients_certificate_expires_and_only_a_renewed_one_gets_back_in()
 {
    let certs = Certs::new();
    certs.issue(SERVER, Duration::from_secs(600));
    certs.issue(CLIENT, Duration::from_secs(2));
    let base = spawn_server(certs.load(SERVER), Duration::from_secs(3600)).await;
    let client_svid = certs.load(CLIENT);
    let client = Transport::mtls(client_svid.clone())
        .http_client(SERVER)
        .expect("a client");

    let first = port(&client, &base, "/port").await.expect("answered");
    // Past the certificate's `notAfter` by more than a second: certificate times are whole
    // seconds, and at the handshake rustls refuses only a time strictly after it.
    let not_after = client_svid.not_after().expect("a notAfter");
    let wait = not_after
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        + Duration::from_millis(1100);
    assert!(wait < Duration::from_secs(4), "waits {wait:?}");
    tokio::time::sleep(wait).await;
    assert!(
        port(&client, &base, "/port").await.is_err(),
        "the open connection was closed, and a new one is refused with the expired certificate"
    );

    certs.issue(CLIENT, Duration::from_secs(600));
    assert!(
        client_svid
            .reload_if_changed()
            .expect("the renewed SVID loads")
    );
    let renewed = port(&client, &base, "/port").await.expect("answered");
    assert_ne!(renewed, first);
}
