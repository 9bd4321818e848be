//! Attacks on the gateway's edge: floods past each rate-limit class (from one address, from
//! addresses rotating within one IPv6 /64, under one client id or a new one each time), a
//! slowloris, oversized and over-nested bodies, undeclared verbs, traversal paths, a foreign
//! origin's preflight, and answers a browser would mishandle without the security headers.
//!
//! A flood succeeds when every request of a burst larger than the platform's limit was served
//! (none refused with 429), and is blocked only by a 429 of the class it aims at (its
//! `RateLimit-Policy` names it); a body succeeds when it got past the edge to a service; a verb
//! or a path succeeds when it reached a handler; a preflight when the foreign origin was granted;
//! a slowloris when its connection is still held open long after its head should have ended.
//! The bursts are sized from the test kit's limits ([`TEST_API_RATE_LIMIT`],
//! [`TEST_LOGIN_RATE_LIMIT`], [`TEST_CLIENT_RATE_LIMIT`], [`TEST_MACHINE_RATE_LIMIT`]), what a
//! real attacker would read from `RateLimit-Policy`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use baton_platform::Control;
use baton_platform::demo::BOB;
use baton_testkit::{
    TEST_API_RATE_LIMIT, TEST_CLIENT_RATE_LIMIT, TEST_LOGIN_RATE_LIMIT, TEST_MACHINE_RATE_LIMIT,
    TestPlatform,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::attacks::{Attack, AttackFuture, Modes, Outcome, answer, judge, outcome};
use crate::risk::OwaspRisk;

/// Requests in flight at once during a burst.
const BURST_CONCURRENCY: usize = 32;
/// How far past the limit a burst goes.
const PAST_THE_LIMIT: u32 = 20;

/// The edge's attacks.
pub fn catalogue() -> Vec<Attack> {
    use Control::*;
    use OwaspRisk::*;
    vec![
        Attack {
            name: "request burst past the API rate limit",
            risk: Api4ResourceConsumption,
            controls: &[GatewayRateLimit],
            modes: Modes::BOTH,
            settings: &[],
            run: api_burst,
        },
        Attack {
            name: "token endpoint flood",
            risk: Api4ResourceConsumption,
            controls: &[GatewayRateLimit],
            modes: Modes::BOTH,
            settings: &[],
            run: token_endpoint_flood,
        },
        Attack {
            name: "token endpoint flood under a new client id each time",
            risk: Api4ResourceConsumption,
            controls: &[GatewayRateLimit],
            modes: Modes::BOTH,
            settings: &[],
            run: invented_client_flood,
        },
        Attack {
            name: "login page flood",
            risk: Api4ResourceConsumption,
            controls: &[GatewayRateLimit],
            modes: Modes::BOTH,
            settings: &[],
            run: login_page_flood,
        },
        Attack {
            name: "login page flood from addresses rotating within one IPv6 /64",
            risk: Api4ResourceConsumption,
            controls: &[GatewayRateLimit],
            modes: Modes::BOTH,
            // The gateway sits behind a load balancer (the test's own address) whose
            // `X-Forwarded-For` it believes: how a client's IPv6 address reaches it.
            settings: &[("GATEWAY_TRUSTED_PROXIES", "127.0.0.1")],
            run: rotating_ipv6_login_flood,
        },
        Attack {
            name: "request body of 10 MB",
            risk: Api4ResourceConsumption,
            // The proxy reads at most 64 KiB of any body; there is no unbounded read to switch to.
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: ten_megabyte_body,
        },
        Attack {
            name: "slowloris: a request head dripped a byte at a time",
            risk: Api4ResourceConsumption,
            controls: &[TransportConnectionLimits],
            modes: Modes::BOTH,
            // Production gives a head 10 s; the proof would wait that out twice per mode.
            settings: &[("BATON_HEADER_READ_TIMEOUT_MS", "1000")],
            run: slowloris,
        },
        Attack {
            name: "JSON nested 10,000 deep",
            risk: Api4ResourceConsumption,
            controls: &[GatewayJsonLimits],
            modes: Modes::BOTH,
            settings: &[],
            run: deeply_nested_json,
        },
        Attack {
            name: "TRACE and other undeclared verbs",
            risk: Api8Misconfiguration,
            // The route table is the router: an undeclared verb has no handler to reach.
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: undeclared_verbs,
        },
        Attack {
            name: "path traversal and encoded-slash variants",
            risk: Api8Misconfiguration,
            // Routing matches the raw path and non-normal paths are refused outright.
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: path_traversal,
        },
        Attack {
            name: "CORS preflight from a foreign origin",
            risk: Api8Misconfiguration,
            controls: &[GatewayCors],
            modes: Modes::BOTH,
            settings: &[],
            run: foreign_preflight,
        },
        Attack {
            name: "answers without security headers",
            risk: Api8Misconfiguration,
            controls: &[GatewaySecurityHeaders],
            modes: Modes::BOTH,
            settings: &[],
            run: missing_security_headers,
        },
    ]
}

/// What a burst met.
#[derive(Debug, Clone, Copy, Default)]
struct Burst {
    answered: u32,
    /// Refused with 429, by any class.
    refused: u32,
    /// Refused with 429 by the class the burst aims at.
    refused_by_class: u32,
}

/// Sends `count` requests (the `n`th built by `request` from a client, the gateway's URL and `n`)
/// at once, and counts the answers refused with 429, and those of them `class` refused.
async fn burst(
    platform: &TestPlatform,
    count: u32,
    class: &str,
    request: fn(&reqwest::Client, &str, u32) -> reqwest::RequestBuilder,
) -> anyhow::Result<Burst> {
    let policy = format!("\"{class}\";");
    let mut in_flight = JoinSet::new();
    let mut burst = Burst::default();
    for sent in 0..count {
        let client = platform.http.clone();
        let url = platform.gateway_url.clone();
        in_flight.spawn(async move {
            let response = request(&client, &url, sent).send().await?;
            let policy = response
                .headers()
                .get("ratelimit-policy")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            Ok::<_, reqwest::Error>((response.status(), policy))
        });
        if in_flight.len() >= BURST_CONCURRENCY || sent + 1 == count {
            while let Some(answer) = in_flight.join_next().await {
                let (status, answered_policy) = answer??;
                burst.answered += 1;
                if status == StatusCode::TOO_MANY_REQUESTS {
                    burst.refused += 1;
                    if answered_policy.is_some_and(|p| p.starts_with(&policy)) {
                        burst.refused_by_class += 1;
                    }
                }
            }
        }
    }
    Ok(burst)
}

fn flood_outcome(burst: Burst) -> Outcome {
    let evidence = json!({
        "sent": burst.answered,
        "refused_429": burst.refused,
        "refused_429_by_its_class": burst.refused_by_class,
    });
    judge(burst.refused == 0, burst.refused_by_class > 0, &evidence)
}

fn api_burst(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let count = TEST_API_RATE_LIMIT + PAST_THE_LIMIT;
        let burst = burst(platform, count, "api", |c, u, _| {
            c.get(format!("{u}/v1/users/me"))
        })
        .await?;
        Ok(flood_outcome(burst))
    })
}

/// One client's flood of the token endpoint, past its own allowance (the per-source ceiling over
/// all clients is wider).
fn token_endpoint_flood(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let count = TEST_CLIENT_RATE_LIMIT + PAST_THE_LIMIT;
        let burst = burst(platform, count, "client", |c, u, _| {
            c.post(format!("{u}/oauth2/token"))
                .form(&[("grant_type", "client_credentials"), ("client_id", "guess")])
        })
        .await?;
        Ok(flood_outcome(burst))
    })
}

/// The same flood, naming a client id never seen before in every request, so that no per-client
/// allowance ever runs out: past the per-source ceiling over all clients.
fn invented_client_flood(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let count = TEST_MACHINE_RATE_LIMIT + PAST_THE_LIMIT;
        let burst = burst(platform, count, "machine", |c, u, n| {
            let client_id = format!("invented-{n}");
            c.post(format!("{u}/oauth2/token")).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
            ])
        })
        .await?;
        Ok(flood_outcome(burst))
    })
}

fn login_page_flood(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let count = TEST_LOGIN_RATE_LIMIT + PAST_THE_LIMIT;
        let burst = burst(platform, count, "login", |c, u, _| {
            c.get(format!("{u}/oauth2/authorize?response_type=code"))
        })
        .await?;
        Ok(flood_outcome(burst))
    })
}

/// The login page flood again, each request from another address of the one /64 a subscriber is
/// given (2^64 of them), as the load balancer in front of the gateway reports it.
fn rotating_ipv6_login_flood(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let count = TEST_LOGIN_RATE_LIMIT + PAST_THE_LIMIT;
        let burst = burst(platform, count, "login", |c, u, n| {
            c.get(format!("{u}/oauth2/authorize?response_type=code"))
                .header("x-forwarded-for", format!("2001:db8:4:5:{n:x}::1"))
        })
        .await?;
        Ok(flood_outcome(burst))
    })
}

fn ten_megabyte_body(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let answer = platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&bob)
            .header("content-type", "application/json")
            .body(vec![b' '; 10 * 1024 * 1024])
            .send()
            .await;
        // A refusal may arrive as a 413 or as the connection closed mid-upload.
        Ok(match answer {
            Ok(response) => {
                let status = response.status();
                outcome(
                    status != StatusCode::PAYLOAD_TOO_LARGE,
                    status,
                    &Value::Null,
                )
            }
            Err(err) => Outcome::Blocked(format!("connection closed: {err}")),
        })
    })
}

fn deeply_nested_json(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let body = "[".repeat(10_000) + &"]".repeat(10_000);
        let response = platform
            .http
            .post(format!("{}/v1/orders", platform.gateway_url))
            .bearer_auth(&bob)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let (status, body) = answer(response).await?;
        // What the attacker wants is a parser behind the edge spending itself on the body: the
        // service's own answer to a body it could not parse shows that the body reached it.
        let stopped_at_the_edge =
            status == StatusCode::BAD_REQUEST && body["type"] == "urn:baton:problem:json-limits";
        let parsed_by_the_service = body["type"] == "urn:baton:problem:bad-request";
        let evidence = json!({ "status": status.as_u16(), "answer": body });
        Ok(judge(parsed_by_the_service, stopped_at_the_edge, &evidence))
    })
}

/// How long the slowloris keeps dripping: well past the head's allowance in its settings.
const SLOWLORIS_FOR: Duration = Duration::from_secs(4);

/// Opens a connection to the gateway and sends its request head a byte at a time, for ever: the
/// attack succeeds if the connection is still held open after [`SLOWLORIS_FOR`], which is how a
/// few thousand such clients keep a server from anyone else.
fn slowloris(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let mut stream = platform
            .tls_to_gateway(IpAddr::from([127, 0, 0, 1]))
            .await?;
        let started = Instant::now();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: gateway\r\n")
            .await?;
        let mut answer = Vec::new();
        let mut closed = false;
        while started.elapsed() < SLOWLORIS_FOR {
            if stream.write_all(b"x").await.is_err() {
                closed = true;
                break;
            }
            let mut chunk = [0u8; 256];
            match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut chunk)).await {
                Ok(Ok(0) | Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(read)) => answer.extend_from_slice(&chunk[..read]),
                Err(_) => {}
            }
        }
        let held_ms = started.elapsed().as_millis() as u64;
        let first_line = String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let evidence =
            json!({ "held_ms": held_ms, "closed_by_server": closed, "answer": first_line });
        let held = !closed && held_ms >= SLOWLORIS_FOR.as_millis() as u64;
        Ok(outcome(held, StatusCode::OK, &evidence))
    })
}

fn undeclared_verbs(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let bearer = format!("Bearer {bob}");
        let mut evidence = Vec::new();
        let (mut reached, mut all_refused) = (false, true);
        for method in ["TRACE", "HEAD", "OPTIONS", "DELETE", "PUT", "CONNECT"] {
            let answer = platform
                .raw_request(method, "/v1/users/me", &[("authorization", &bearer)])
                .await?;
            reached |= (200..300).contains(&answer.status) || answer.body.contains(&bearer);
            // The router's refusal: 405 naming the methods the route has.
            all_refused &= answer.status == 405 && answer.header("allow").is_some();
            evidence.push(json!({ "method": method, "status": answer.status,
                                  "allow": answer.header("allow") }));
        }
        Ok(judge(reached, all_refused, &Value::from(evidence)))
    })
}

fn path_traversal(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let bearer = format!("Bearer {bob}");
        let mut evidence = Vec::new();
        let (mut reached, mut all_refused) = (false, true);
        // From a route bob may call towards the admin-only user list.
        for path in [
            "/v1/accounts/../users",
            "/v1/accounts/%2e%2e/users",
            "/v1/accounts/%2E%2E/users",
            "/v1/users/me/..",
            "/v1/users/me%2F..%2F..%2Fusers",
            "/v1/users/%2e",
            "//v1/users",
            "/v1/./users",
            "/v1/users/me/%2e%2e/%2e%2e/users",
        ] {
            let answer = platform
                .raw_request("GET", path, &[("authorization", &bearer)])
                .await?;
            reached |= (200..300).contains(&answer.status);
            // Refused outright: no route matches a path that is not in normal form (404), or the
            // request line itself is refused (400).
            all_refused &= matches!(answer.status, 400 | 404);
            evidence.push(json!({ "path": path, "status": answer.status }));
        }
        Ok(judge(reached, all_refused, &Value::from(evidence)))
    })
}

fn foreign_preflight(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let evil = "https://evil.example";
        let response = platform
            .http
            .request(
                Method::OPTIONS,
                format!("{}/v1/accounts", platform.gateway_url),
            )
            .header("origin", evil)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await?;
        let status = response.status();
        let granted = response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let succeeded =
            matches!(granted.as_deref(), Some(origin) if origin == evil || origin == "*");
        Ok(outcome(
            succeeded,
            status,
            &json!({ "access-control-allow-origin": granted }),
        ))
    })
}

fn missing_security_headers(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = platform.login(BOB).await?;
        let response = platform
            .http
            .get(format!("{}/v1/users/me", platform.gateway_url))
            .bearer_auth(&bob)
            .send()
            .await?;
        let status = response.status();
        let missing: Vec<&str> = [
            "strict-transport-security",
            "x-content-type-options",
            "x-frame-options",
            "content-security-policy",
            "cache-control",
        ]
        .into_iter()
        .filter(|name| !response.headers().contains_key(*name))
        .collect();
        // The attacker's win: a personal answer a browser may sniff, frame or cache.
        Ok(outcome(
            status.is_success() && !missing.is_empty(),
            status,
            &json!({ "missing": missing }),
        ))
    })
}
