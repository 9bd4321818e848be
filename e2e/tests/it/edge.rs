//! The gateway's edge (issue 6): rate limits (alone and shared through Redis), size and shape
//! limits, security headers, CORS, declared verbs and normal paths, on a real platform.

use std::time::Duration;

use baton_platform::demo::BOB;
use baton_testkit::TestPlatform;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::call;

/// The Redis the shared-limit test uses; CI runs one here.
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn platform_with(settings: &[(&str, &str)]) -> TestPlatform {
    let mut builder = TestPlatform::builder();
    for (key, value) in settings {
        builder = builder.with_setting(key, *value);
    }
    builder.spawn().await.expect("platform starts")
}

/// A token request that the STS refuses cheaply: what a flood of the token endpoint looks like.
async fn token_request(platform: &TestPlatform, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = platform
        .http
        .post(format!("{}/oauth2/token", platform.gateway_url))
        .form(&[("grant_type", "password"), ("username", "x")]);
    if let Some(addr) = forwarded_for {
        request = request.header("x-forwarded-for", addr);
    }
    request.send().await.expect("an answer")
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

async fn assert_rate_limited(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = response.headers().clone();
    assert!(
        header(&headers, "retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1)
    );
    assert!(header(&headers, "ratelimit").contains(";r=0;"));
    assert_eq!(header(&headers, "content-type"), "application/problem+json");
    let body: Value = response.json().await.expect("problem+json");
    assert_eq!(body["status"], 429);
    assert_eq!(body["type"], "urn:baton:problem:rate-limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_flood_is_refused_with_429_and_retry_after() {
    let platform = platform_with(&[("GATEWAY_RATE_LIMIT_LOGIN", "3")]).await;
    for left in ["2", "1", "0"] {
        let response = token_request(&platform, None).await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let headers = response.headers();
        assert_eq!(header(headers, "ratelimit-policy"), "\"login\";q=3;w=60");
        assert!(header(headers, "ratelimit").starts_with(&format!("\"login\";r={left};")));
    }
    assert_rate_limited(token_request(&platform, None).await).await;
    // The API class is counted apart.
    let (status, _, _) = call(&platform, Method::GET, "/v1/users/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_burst_is_refused_per_address_before_any_token_is_looked_at() {
    let platform = platform_with(&[("GATEWAY_RATE_LIMIT_API", "5")]).await;
    for _ in 0..5 {
        let (status, _, _) = call(&platform, Method::GET, "/v1/users/me", None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused = platform
        .http
        .get(format!("{}/v1/users/me", platform.gateway_url))
        .send()
        .await
        .expect("an answer");
    assert_rate_limited(refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_limited_whatever_address_they_come_from() {
    // Behind a trusted proxy (the test's own address), every request names another client address,
    // so only the per-user limit can stop the fourth.
    let platform = platform_with(&[
        ("GATEWAY_RATE_LIMIT_API", "3"),
        ("GATEWAY_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let bob = platform.login(BOB).await.expect("bob logs in");
    let me = |n: u8| {
        platform
            .http
            .get(format!("{}/v1/users/me", platform.gateway_url))
            .bearer_auth(&bob)
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .send()
    };
    for n in 1..=3 {
        assert_eq!(me(n).await.expect("an answer").status(), StatusCode::OK);
    }
    assert_rate_limited(me(4).await.expect("an answer")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let platform = platform_with(&[("GATEWAY_RATE_LIMIT_LOGIN", "2")]).await;
    for n in 1..=2 {
        let addr = format!("203.0.113.{n}");
        assert_ne!(
            token_request(&platform, Some(&addr)).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_rate_limited(token_request(&platform, Some("203.0.113.3")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_sources_are_counted_per_slash_64_and_ipv4_sources_per_address() {
    let platform = platform_with(&[
        ("GATEWAY_RATE_LIMIT_LOGIN", "2"),
        ("GATEWAY_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    for addr in ["2001:db8:7:7::1", "2001:db8:7:7:ffff::2"] {
        let response = token_request(&platform, Some(addr)).await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{addr}");
    }
    assert_rate_limited(token_request(&platform, Some("2001:db8:7:7:1234:5678:9abc:def0")).await)
        .await;
    for addr in [
        "2001:db8:7:8::1",
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
    ] {
        let response = token_request(&platform, Some(addr)).await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{addr}");
    }
}

/// A token request naming `client_id` in its form, as a backend's client credentials grant does.
async fn client_token_request(platform: &TestPlatform, client_id: &str) -> reqwest::Response {
    platform
        .http
        .post(format!("{}/oauth2/token", platform.gateway_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
        ])
        .send()
        .await
        .expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_client_within_its_own_limit_is_served_while_another_clients_burst_is_refused() {
    let platform = platform_with(&[
        ("GATEWAY_RATE_LIMIT_CLIENT", "3"),
        ("GATEWAY_RATE_LIMIT_MACHINE", "20"),
        ("GATEWAY_RATE_LIMIT_LOGIN", "2"),
    ])
    .await;
    for _ in 0..3 {
        let response = client_token_request(&platform, "noisy").await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            header(response.headers(), "ratelimit-policy"),
            "\"client\";q=3;w=60"
        );
    }
    let refused = client_token_request(&platform, "noisy").await;
    assert_eq!(
        header(refused.headers(), "ratelimit-policy"),
        "\"client\";q=3;w=60"
    );
    assert_rate_limited(refused).await;
    // Another backend behind the same address, naming its client in a Basic header, is served
    // past the login limit of an address, and within its own.
    for _ in 0..3 {
        let response = platform
            .http
            .post(format!("{}/oauth2/token", platform.gateway_url))
            .basic_auth("steady", Some("its-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("an answer");
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventing_client_ids_stops_at_the_per_source_ceiling() {
    let platform = platform_with(&[
        ("GATEWAY_RATE_LIMIT_CLIENT", "2"),
        ("GATEWAY_RATE_LIMIT_MACHINE", "4"),
    ])
    .await;
    for n in 0..4 {
        let response = client_token_request(&platform, &format!("invented-{n}")).await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let refused = client_token_request(&platform, "invented-4").await;
    assert_eq!(
        header(refused.headers(), "ratelimit-policy"),
        "\"machine\";q=4;w=60"
    );
    assert_rate_limited(refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_request_naming_no_readable_client_is_held_to_the_login_limit() {
    let platform = platform_with(&[("GATEWAY_RATE_LIMIT_LOGIN", "2")]).await;
    let unreadable = || {
        platform
            .http
            .post(format!("{}/oauth2/introspect", platform.gateway_url))
            .header("authorization", "Basic not base64")
            .form(&[("token", "bat_x"), ("client_id", "reports")])
            .send()
    };
    for _ in 0..2 {
        let response = unreadable().await.expect("an answer");
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_rate_limited(unreadable().await.expect("an answer")).await;
}

/// Whether a Redis answers at `url`'s address (host and port only).
async fn redis_reachable(url: &str) -> bool {
    let authority = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let connect = tokio::net::TcpStream::connect(authority.to_owned());
    matches!(
        tokio::time::timeout(Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_redis_enforce_one_limit() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    if !redis_reachable(&url).await {
        // CI starts Redis (`.ci/run`), so there a missing Redis is a failure, not a skip; on a
        // laptop without one the test says so and passes.
        assert!(
            std::env::var_os("CI").is_none(),
            "no Redis at {url}: CI must run this test for real"
        );
        eprintln!("SKIPPED two_gateways_sharing_redis_enforce_one_limit: no Redis at {url}");
        return;
    }
    // A client address of its own (from a trusted proxy) keeps this test's key apart from any
    // other run's.
    let settings = [
        ("REDIS_URL", url.as_str()),
        ("GATEWAY_RATE_LIMIT_LOGIN", "4"),
        ("GATEWAY_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let (one, two) = tokio::join!(platform_with(&settings), platform_with(&settings));
    let bytes = uuid::Uuid::new_v4();
    let bytes = bytes.as_bytes();
    // IPv6 sources are counted per /64, so the run's own part is in the first 64 bits.
    let client = format!("2001:db8:{:x}:{:x}::1", bytes[0], bytes[1]);
    for gateway in [&one, &two, &one, &two] {
        let response = token_request(gateway, Some(&client)).await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    // Each gateway has seen two requests; alone, each would let two more through.
    assert_rate_limited(token_request(&two, Some(&client)).await).await;
    assert_rate_limited(token_request(&one, Some(&client)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_no_banner() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    for (path, token) in [
        ("/v1/users/me", Some(bob.as_str())),
        ("/v1/users/me", None),
        ("/nowhere", None),
        ("/health", None),
    ] {
        let mut request = platform.http.get(format!("{}{path}", platform.gateway_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("an answer");
        let headers = response.headers();
        assert!(header(headers, "strict-transport-security").starts_with("max-age="));
        assert_eq!(header(headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(headers, "x-frame-options"), "DENY");
        assert!(header(headers, "content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header(headers, "referrer-policy"), "no-referrer");
        assert_eq!(header(headers, "cache-control"), "no-store");
        assert!(!headers.contains_key("server"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_verbs_get_405_problems_naming_the_declared_ones() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    for method in ["TRACE", "HEAD", "OPTIONS", "DELETE", "PUT"] {
        let answer = platform
            .raw_request(method, "/v1/users/me", &[])
            .await
            .expect("an answer");
        assert_eq!(answer.status, 405, "{method}: {}", answer.head);
        assert_eq!(answer.header("allow"), Some("GET, PATCH"), "{method}");
        if method != "HEAD" {
            assert_eq!(
                answer.header("content-type"),
                Some("application/problem+json")
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_encoded_paths_never_reach_a_route() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let bearer = format!("Bearer {bob}");
    for path in [
        "/v1/accounts/../users",
        "/v1/accounts/%2e%2e/users",
        "/v1/accounts/%2E%2E%2Fusers",
        "//v1/users/me",
        "/v1/users%2Fme",
        "/v1/users/./me",
        "/v1/users/me/",
        "/v1/users/me%00",
    ] {
        let answer = platform
            .raw_request("GET", path, &[("authorization", &bearer)])
            .await
            .expect("an answer");
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert!(
            answer.body.contains("urn:baton:problem:not-found"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_shape_limits_and_body_size_are_refused_before_forwarding() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let post = |body: Vec<u8>| {
        platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&bob)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let deep = ("[".repeat(10_000) + &"]".repeat(10_000)).into_bytes();
    let long_string = format!("{{\"account_id\":\"{}\"}}", "x".repeat(10_000)).into_bytes();
    let many = format!("[{}]", vec!["1"; 1000].join(",")).into_bytes();
    for body in [deep, long_string, many] {
        let response = post(body).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let problem: Value = response.json().await.expect("problem+json");
        assert_eq!(problem["type"], "urn:baton:problem:json-limits");
    }
    // A body declared larger than the limit is refused before a byte of it is read.
    let huge = platform
        .http
        .post(format!("{}/v1/orders", platform.gateway_url))
        .bearer_auth(&bob)
        .header("content-type", "application/json")
        .body(vec![b' '; 10 * 1024 * 1024])
        .send()
        .await;
    match huge {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(err) => assert!(!err.is_status() && !err.is_decode(), "{err}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_is_checked_whatever_the_case_of_its_media_type() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let bob = platform.login(BOB).await.expect("bob logs in");
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    for content_type in ["Application/JSON", "application/merge-patch+JSON"] {
        let response = platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&bob)
            .header("content-type", content_type)
            .body(deep.clone())
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{content_type}");
        let problem: Value = response.json().await.expect("problem+json");
        assert_eq!(
            problem["type"], "urn:baton:problem:json-limits",
            "{content_type}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_431() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let response = platform
        .http
        .get(format!("{}/health", platform.gateway_url))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // Far past it, hyper refuses the head itself before the gateway reads it.
    let huge = platform
        .http
        .get(format!("{}/health", platform.gateway_url))
        .header("x-padding", "a".repeat(100 * 1024))
        .send()
        .await;
    match huge {
        Ok(response) => assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        ),
        Err(err) => assert!(!err.is_status() && !err.is_decode(), "{err}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_grants_only_the_listed_origins() {
    let platform = platform_with(&[("GATEWAY_CORS_ORIGINS", "https://app.baton.example")]).await;
    let preflight = |origin: &'static str| {
        platform
            .http
            .request(
                Method::OPTIONS,
                format!("{}/v1/users/me", platform.gateway_url),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let listed = preflight("https://app.baton.example")
        .await
        .expect("an answer");
    assert_eq!(
        header(listed.headers(), "access-control-allow-origin"),
        "https://app.baton.example"
    );
    let foreign = preflight("https://evil.example").await.expect("an answer");
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // With no origins configured (the default), a preflight is just an undeclared OPTIONS.
    let closed = TestPlatform::spawn().await.expect("platform starts");
    let answer = closed
        .http
        .request(
            Method::OPTIONS,
            format!("{}/v1/users/me", closed.gateway_url),
        )
        .header("origin", "https://app.baton.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!answer.headers().contains_key("access-control-allow-origin"));
}
