//! One id per request: on its answer and its problem body, chosen by the gateway and never by the
//! client, and on the log lines of every component the request crosses.

use baton_platform::demo::BOB;
use baton_platform::telemetry::Captured;
use baton_testkit::TestPlatform;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;

use crate::support::first_account;

/// What a client would like its request to be called.
const CHOSEN_BY_CLIENT: &str = "chosen-by-the-client";

fn is_uuid(raw: &str) -> bool {
    uuid::Uuid::try_parse(raw).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_names_its_request_and_the_client_cannot_choose_the_name() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let get = |path: String| {
        platform
            .http
            .get(format!("{}{path}", platform.gateway_url))
            .bearer_auth(&bob)
            .header("x-request-id", CHOSEN_BY_CLIENT)
    };

    // A service's refusal, passed on by the gateway: the id in the body is the one in the header.
    let missing = get(format!("/v1/accounts/{}", uuid::Uuid::new_v4()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let id = request_id(&missing);
    assert!(is_uuid(&id), "the gateway names the request itself: {id}");
    let body: Value = missing.json().await.expect("a problem body");
    assert_eq!(body["request_id"].as_str(), Some(id.as_str()), "{body}");

    // The gateway's own refusal (an undeclared path), and a success.
    let unknown = get("/v1/nothing-here".to_owned())
        .send()
        .await
        .expect("an answer");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown_id = request_id(&unknown);
    let body: Value = unknown.json().await.expect("a problem body");
    assert_eq!(body["request_id"].as_str(), Some(unknown_id.as_str()));
    let listed = get("/v1/accounts".to_owned())
        .send()
        .await
        .expect("an answer");
    assert_eq!(listed.status(), StatusCode::OK);
    let listed_id = request_id(&listed);

    let ids = [id, unknown_id, listed_id];
    assert!(ids.iter().all(|id| is_uuid(id) && id != CHOSEN_BY_CLIENT));
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_carries_one_id_through_every_component_s_log() {
    let log = Log::capture();
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (account, _) = first_account(&platform, &bob).await;
    let order = json!({ "account_id": account, "items": [{ "sku": "BATON-MUG", "quantity": 1 }] });
    let placed = platform
        .http
        .post(format!("{}/v1/orders", platform.gateway_url))
        .bearer_auth(&bob)
        .header("x-request-id", CHOSEN_BY_CLIENT)
        .json(&order)
        .send()
        .await
        .expect("an answer");
    assert_eq!(placed.status(), StatusCode::CREATED);
    let id = request_id(&placed);

    // Each component closes its span for the request with the request's id and the path it was
    // asked: the gateway and orders `/v1/orders`, then the users and accounts services the gRPC
    // methods orders called (and in exchange mode the STS its token endpoint, once per hop).
    // A span closes once its answer is written, which can be just after the client has it: give
    // the gateway's a moment.
    let count_on =
        |paths: &[String], path: &str| paths.iter().filter(|seen| seen.ends_with(path)).count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut paths = log.paths_of(&id);
    while count_on(&paths, "/v1/orders") < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        paths = log.paths_of(&id);
    }
    let on = |path: &str| count_on(&paths, path);
    assert_eq!(on("/v1/orders"), 2, "the gateway's and orders': {paths:?}");
    assert!(on("/GetUser") >= 1, "users, asked by orders: {paths:?}");
    assert!(on("/Debit") >= 1, "accounts, asked by orders: {paths:?}");
    if platform.trust_mode == baton_platform::TrustMode::Exchange {
        assert!(on("/oauth2/token") >= 2, "the STS, once per hop: {paths:?}");
    }
    // The client's own name for the request is kept beside ours, by the gateway only.
    let logged = log.lines();
    assert!(
        logged.iter().any(
            |line| line.contains(&format!("client_request_id={CHOSEN_BY_CLIENT}"))
                && line.contains(&id)
        ),
        "the gateway logs the client's id beside its own"
    );
    assert!(
        !logged.iter().any(
            |line| line.contains(&format!("request_id={CHOSEN_BY_CLIENT}"))
                && !line.contains("client_request_id")
        ),
        "no component adopts the client's id"
    );
}

fn request_id(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .expect("every answer carries x-request-id")
        .to_owned()
}

/// Every log line of this test process, kept in memory. nextest runs each test in a process of
/// its own, so this test's subscriber sees this test's platform.
struct Log(Captured);

impl Log {
    fn capture() -> Self {
        let log = Captured::default();
        tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .with_span_events(FmtSpan::CLOSE)
            .with_env_filter("info")
            .try_init()
            .expect("no other subscriber in this process");
        Self(log)
    }

    fn lines(&self) -> Vec<String> {
        self.0.text().lines().map(str::to_owned).collect()
    }

    /// The paths of the request spans that closed with request id `id`: the lines that close
    /// the `request{…}` span itself (`request{… path="/x" …}: baton_api::request_id: close`), not
    /// the spans inside it.
    fn paths_of(&self, id: &str) -> Vec<String> {
        let marker = format!("request{{request_id={id} ");
        self.lines()
            .into_iter()
            .filter(|line| {
                line.contains(&marker) && line.contains(": baton_api::request_id: close")
            })
            .filter_map(|line| {
                let (_, rest) = line.split_once("path=\"")?;
                let (path, _) = rest.split_once('"')?;
                Some(path.to_owned())
            })
            .collect()
    }
}
