//! Workload identity on every internal hop: who may connect, who may call what, and certificates
//! rotating under load.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use baton_devca::files::write_svid;
use baton_devca::{DevCa, LeafSpec};
use baton_platform::TrustMode;
use baton_platform::demo::ALICE;
use baton_platform::{TrustDomain, Workload};
use baton_proto::accounts::v1::DebitRequest;
use baton_proto::accounts::v1::accounts_client::AccountsClient;
use baton_testkit::{TestPlatform, client_presenting};
use baton_workload::{SvidPaths, SvidSource, Transport};
use reqwest::StatusCode;

use crate::support::first_account;

/// A transport presenting a certificate made by `issuer` to `spec`, trusting the platform's
/// bundle: how each caller below connects.
fn transport_with(
    platform: &TestPlatform,
    issuer: &DevCa,
    label: &str,
    spec: &LeafSpec,
) -> Transport {
    let dir = tempfile::tempdir().expect("a temp dir").keep().join(label);
    write_svid(&dir, &issuer.issue_leaf(spec).expect("a leaf")).expect("written");
    let ours = platform.ca.certs_dir().join("accounts").join("bundle.pem");
    let paths = SvidPaths {
        bundle: ours,
        ..SvidPaths::in_dir(&dir)
    };
    Transport::mtls(SvidSource::load(paths, TrustDomain::default()).expect("loads"))
}

fn workload(name: &str) -> LeafSpec {
    LeafSpec::workload("baton.local", name, Duration::from_secs(600))
}

/// GET /v1/accounts straight at the accounts service with `client`: the status, or `None` if
/// the connection was refused.
async fn rest_status(
    platform: &TestPlatform,
    client: &reqwest::Client,
    token: &str,
) -> Option<StatusCode> {
    let url = format!("{}/v1/accounts", platform.accounts_url);
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

/// Debits one cent from alice's account over gRPC through `transport`.
async fn debit(
    platform: &TestPlatform,
    transport: &Transport,
    token: &str,
    account: &str,
) -> Result<(), tonic::Status> {
    let authority = platform.accounts_url.trim_start_matches("https://");
    let channel = transport
        .grpc_channel(authority, Workload::Accounts)
        .expect("a channel");
    let mut request = tonic::Request::new(DebitRequest {
        account_id: account.to_owned(),
        amount_minor: 1,
        currency: "EUR".to_owned(),
        reference: uuid::Uuid::new_v4().to_string(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    AccountsClient::new(channel)
        .debit(request)
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_workloads_with_valid_svids_get_through_on_rest_and_grpc() {
    // E2E mode: the minted token is not bound to any certificate, so only the peer allow-lists
    // decide here. Exchange mode's binding has its own attacks (`token.binding`).
    let platform = TestPlatform::builder()
        .trust_mode(TrustMode::E2e)
        .spawn()
        .await
        .expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let token = platform.mint(&platform.claims_for(ALICE)).expect("mint");
    let ours = platform.ca.ca();
    let stranger = DevCa::generate("baton.local").expect("another CA");
    let expired = LeafSpec {
        backdate: Duration::from_secs(7200),
        lifetime: Duration::from_secs(3600),
        ..workload("gateway")
    };

    // REST: the gateway's identity is let in; everything else is refused.
    let gateway = transport_with(&platform, ours, "gateway", &workload("gateway"));
    let as_gateway = gateway.http_client(Workload::Accounts).expect("client");
    assert_eq!(
        rest_status(&platform, &as_gateway, &token).await,
        Some(StatusCode::OK)
    );
    let orders = transport_with(&platform, ours, "orders", &workload("orders"));
    let as_orders = orders.http_client(Workload::Accounts).expect("client");
    assert_eq!(
        rest_status(&platform, &as_orders, &token).await,
        Some(StatusCode::FORBIDDEN)
    );
    let refused_at_handshake = [
        ("no client certificate", platform.http.clone()),
        (
            "another CA",
            transport_with(&platform, &stranger, "stranger", &workload("gateway"))
                .http_client(Workload::Accounts)
                .expect("client"),
        ),
        (
            "an expired certificate",
            transport_with(&platform, ours, "expired", &expired)
                .http_client(Workload::Accounts)
                .expect("client"),
        ),
        (
            "a CA as the leaf",
            client_presenting(
                &ours
                    .issue_leaf(&LeafSpec {
                        is_ca: true,
                        ..workload("gateway")
                    })
                    .expect("leaf"),
                ours.bundle_pem(),
            )
            .expect("client"),
        ),
    ];
    for (what, client) in refused_at_handshake {
        assert_eq!(
            rest_status(&platform, &client, &token).await,
            None,
            "{what} got through"
        );
    }
    let two_ids = LeafSpec {
        uri_sans: vec![
            "spiffe://baton.local/gateway".to_owned(),
            "spiffe://baton.local/orders".to_owned(),
        ],
        ..workload("gateway")
    };
    let client = client_presenting(&ours.issue_leaf(&two_ids).expect("leaf"), ours.bundle_pem())
        .expect("client");
    assert_ne!(
        rest_status(&platform, &client, &token).await,
        Some(StatusCode::OK),
        "two SPIFFE IDs got through"
    );

    // gRPC Debit: orders is let in; the gateway, strangers and expired certificates are not.
    assert!(debit(&platform, &orders, &token, &account).await.is_ok());
    let status = debit(&platform, &gateway, &token, &account)
        .await
        .expect_err("gateway refused");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let stranger_orders =
        transport_with(&platform, &stranger, "stranger-orders", &workload("orders"));
    assert!(
        debit(&platform, &stranger_orders, &token, &account)
            .await
            .is_err()
    );
    let expired_orders = transport_with(
        &platform,
        ours,
        "expired-orders",
        &LeafSpec {
            backdate: Duration::from_secs(7200),
            lifetime: Duration::from_secs(3600),
            ..workload("orders")
        },
    );
    assert!(
        debit(&platform, &expired_orders, &token, &account)
            .await
            .is_err()
    );
}

/// The SHA-256 of the certificate the gateway presents on a fresh connection.
async fn gateway_certificate(platform: &TestPlatform) -> Vec<u8> {
    let client = platform.ca.public_client_with_tls_info().expect("client");
    let response = client
        .get(format!("{}/health", platform.gateway_url))
        .send()
        .await
        .expect("health");
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("TLS info");
    info.peer_certificate().expect("a certificate").to_vec()
}

/// Orders keep being placed while every certificate is renewed every 1.5 s. In exchange mode this
/// is also the proof that each hop token goes out on a connection presenting the certificate the
/// STS bound it to (`baton_workload::generation`): not one request may be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_keep_flowing_across_several_certificate_rotations() {
    let platform = TestPlatform::builder()
        .rotate_certificates(Duration::from_millis(1500), Duration::from_secs(6))
        .spawn()
        .await
        .expect("platform starts");
    let alice = platform.login(ALICE).await.expect("alice logs in");
    let (account, _) = first_account(&platform, &alice).await;
    let order = serde_json::json!({ "account_id": account, "items": [{ "sku": "BATON-STICKERS", "quantity": 1 }] });
    let (mut requests, mut failures, mut certificates) = (0, Vec::new(), BTreeSet::new());
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        certificates.insert(gateway_certificate(&platform).await);
        // An order crosses every hop: gateway -> STS, gateway -> orders, orders -> users and
        // accounts over gRPC.
        let answer = platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&alice)
            .json(&order)
            .send()
            .await;
        requests += 1;
        match answer {
            Ok(response) if response.status() == StatusCode::CREATED => {}
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                failures.push(format!("{status}: {body}"));
            }
            Err(err) => failures.push(err.to_string()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed: {failures:?}",
        failures.len()
    );
    assert!(
        certificates.len() >= 4,
        "only {} certificates seen in 8 s",
        certificates.len()
    );
}
