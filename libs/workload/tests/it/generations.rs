//! Clients built for one certificate present it on every connection they open, even after a
//! rotation; the next generation presents the new one; and a generation is rebuilt once per
//! rotation, not per request.

use std::sync::Arc;
use std::time::Duration;

use baton_workload::{Generations, Transport};

use crate::support::{CLIENT, Certs, SERVER, get_text, spawn_server};

/// Long enough for a request, short enough that waiting it out closes the pooled connection.
const MAX_AGE: Duration = Duration::from_millis(400);

#[tokio::test]
async fn a_generation_keeps_presenting_its_certificate_on_new_connections_and_the_next_one_presents_the_renewed_one()
 {
    let certs = Certs::new();
    certs.issue(SERVER, Duration::from_secs(600));
    certs.issue(CLIENT, Duration::from_secs(600));
    let base = spawn_server(certs.load(SERVER), MAX_AGE).await;
    let svid = certs.load(CLIENT);
    let generations = Generations::new(&Transport::mtls(svid.clone()), |transport| {
        transport.http_client(SERVER)
    })
    .expect("the first generation");
    let presented = |client: reqwest::Client| {
        let base = base.clone();
        async move {
            get_text(&client, &base, "/certificate")
                .await
                .expect("answered")
        }
    };

    let first = generations.current();
    let first_certificate = first.certificate().expect("pinned over mTLS").0.clone();
    assert_eq!(presented((*first).clone()).await, first_certificate);
    assert!(
        Arc::ptr_eq(&first, &generations.current()),
        "no rotation, no new generation"
    );

    certs.issue(CLIENT, Duration::from_secs(600));
    assert!(svid.reload_if_changed().expect("the renewed SVID loads"));
    let opened_before = get_text(&first, &base, "/port").await.expect("answered");
    tokio::time::sleep(MAX_AGE * 2).await;
    let opened_after = get_text(&first, &base, "/port").await.expect("answered");
    assert_ne!(opened_before, opened_after, "the old connection was closed");
    assert_eq!(
        presented((*first).clone()).await,
        first_certificate,
        "a new connection of the old generation presents the old certificate"
    );

    let second = generations.current();
    let second_certificate = second.certificate().expect("pinned over mTLS").0.clone();
    assert_ne!(second_certificate, first_certificate);
    assert_eq!(presented((*second).clone()).await, second_certificate);
    assert!(
        Arc::ptr_eq(&second, &generations.current()),
        "one new generation per rotation"
    );
}
