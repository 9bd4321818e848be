//! The STS as an OAuth 2.x authorization server, through the gateway: metadata, the code flow
//! with PKCE and its login pages, refresh rotation, client credentials (secret and certificate),
//! introspection, revocation and signing-key rotation.

use std::time::{Duration, Instant};

use baton_platform::Workload;
use baton_platform::demo::{ALICE, BOB};
use baton_platform::faults::Script;
use baton_sts::domain::client::{CLI_CLIENT_ID, CLI_REDIRECT_URI};
use baton_sts::domain::pkce;
use baton_sts::login_client::{FlowError, LoginClient, TokenSet, code_from, random_string};
use baton_sts::seed::{DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_CLIENT_SECRET};
use baton_testkit::TestPlatform;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::call;

/// A form POST to the gateway, with optional basic client credentials.
async fn post_form(
    platform: &TestPlatform,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = platform
        .http
        .post(format!("{}{path}", platform.gateway_url))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The authorization request parameters of the CLI client, with `overrides` replacing defaults.
fn authorization_request<'a>(
    challenge: &'a str,
    overrides: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", CLI_CLIENT_ID),
        ("redirect_uri", CLI_REDIRECT_URI),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ];
    for (key, value) in overrides {
        params.retain(|(k, _)| k != key);
        params.push((key, value));
    }
    params
}

/// Bob signs in through the login page; the client, an unredeemed code and its PKCE verifier.
async fn bobs_code(platform: &TestPlatform) -> (LoginClient, String, String) {
    let verifier = random_string();
    let challenge = pkce::s256(&verifier);
    let mut client = platform.oauth_client();
    let form = client
        .authorize(&authorization_request(&challenge, &[]))
        .await
        .expect("the login page");
    let page = client
        .submit(
            &form.handle.expect("a form"),
            &[("username", "bob"), ("password", BOB.password)],
        )
        .await
        .expect("a redirect");
    let code = code_from(&page.location.expect("a redirect"), "xyz").expect("a code");
    (client, code, verifier)
}

async fn introspect(platform: &TestPlatform, token: &str) -> Value {
    post_form(
        platform,
        "/oauth2/introspect",
        Some((DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_CLIENT_SECRET)),
        &[("token", token)],
    )
    .await
    .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_names_every_endpoint_and_there_is_no_openid_document_to_overpromise() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let (status, _, metadata) = call(
        &platform,
        Method::GET,
        "/.well-known/oauth-authorization-server",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let issuer = metadata["issuer"].as_str().expect("an issuer");
    for endpoint in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
        assert!(
            metadata[endpoint]
                .as_str()
                .is_some_and(|url| url.starts_with(issuer)),
            "{metadata}"
        );
    }
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let grants = metadata["grant_types_supported"].to_string();
    assert!(!grants.contains("password"), "{grants}");
    let (status, _, _) = call(
        &platform,
        Method::GET,
        "/.well-known/openid-configuration",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_through_the_login_pages_and_the_token_calls_the_apis() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let tokens = platform.log_in_afresh(ALICE).await.expect("alice logs in");
    assert!(tokens.access_token.starts_with("bat_"));
    assert!(
        tokens
            .refresh_token
            .as_deref()
            .is_some_and(|t| t.starts_with("bar_"))
    );
    let (status, _, me) = call(
        &platform,
        Method::GET,
        "/v1/users/me",
        Some(&tokens.access_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_and_a_wrong_password_get_the_same_page_and_a_wrong_code_is_refused() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let challenge = pkce::s256(&random_string());
    let mut pages = Vec::new();
    for (username, password) in [("bob", "not-bobs-password"), ("mallory", "whatever-it-is")] {
        let mut client = platform.oauth_client();
        let form = client
            .authorize(&authorization_request(&challenge, &[]))
            .await
            .expect("the login page");
        let handle = form.handle.expect("a login form");
        let page = client
            .submit(&handle, &[("username", username), ("password", password)])
            .await
            .expect("an answer");
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.location.is_none());
        pages.push(page.body.replace(&handle, "HANDLE"));
    }
    assert_eq!(pages[0], pages[1], "the answers must not tell users apart");

    let mut client = platform.oauth_client();
    let form = client
        .authorize(&authorization_request(&challenge, &[]))
        .await
        .expect("the login page");
    let handle = form.handle.expect("a login form");
    let second = client
        .submit(
            &handle,
            &[("username", "alice"), ("password", ALICE.password)],
        )
        .await
        .expect("the code page");
    assert_eq!(second.status, StatusCode::OK);
    assert!(
        second.body.contains("totp_code"),
        "alice has a second factor"
    );
    let refused = client
        .submit(&handle, &[("totp_code", "12345x")])
        .await
        .expect("an answer");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.location.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_posted_without_its_browser_cookie_is_refused() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let challenge = pkce::s256(&random_string());
    let mut victim_browser = platform.oauth_client();
    let form = victim_browser
        .authorize(&authorization_request(&challenge, &[]))
        .await
        .expect("the login page");
    let handle = form.handle.expect("a login form");
    // A cross-site form knows the handle (the attacker started this login) but not the cookie.
    let mut forged = platform.oauth_client();
    let page = forged
        .submit(&handle, &[("username", "bob"), ("password", BOB.password)])
        .await
        .expect("an answer");
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.location.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_must_be_s256_and_the_redirect_uri_must_match_exactly() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let verifier = random_string();
    let s256 = pkce::s256(&verifier);
    let refusals = [
        vec![
            ("code_challenge", verifier.as_str()),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge_method", "")],
        vec![("response_type", "token")],
    ];
    for overrides in &refusals {
        let mut params = authorization_request(&s256, overrides);
        params.retain(|(_, v)| !v.is_empty());
        let page = platform
            .oauth_client()
            .authorize(&params)
            .await
            .expect("an answer");
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{overrides:?}");
        let location = page.location.expect("back to the client");
        assert!(code_from(&location, "xyz").is_err(), "{location}");
        assert!(location.contains("error="), "{location}");
    }
    let mut without_challenge = authorization_request(&s256, &[]);
    without_challenge.retain(|(k, _)| *k != "code_challenge");
    let page = platform
        .oauth_client()
        .authorize(&without_challenge)
        .await
        .expect("an answer");
    assert!(
        page.location
            .is_some_and(|l| l.contains("error=invalid_request"))
    );
    let huge_state = "s".repeat(4096);
    let params = authorization_request(&s256, &[("state", &huge_state)]);
    let page = platform
        .oauth_client()
        .authorize(&params)
        .await
        .expect("an answer");
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "an oversized state is not stored"
    );
    for near_miss in [
        "http://127.0.0.1:8976/callbacK",
        "http://127.0.0.1:8976/callback/",
        "http://127.0.0.1:8976/callback?next=https://evil.example",
        "https://evil.example/callback",
    ] {
        let params = authorization_request(&s256, &[("redirect_uri", near_miss)]);
        let page = platform
            .oauth_client()
            .authorize(&params)
            .await
            .expect("an answer");
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{near_miss}");
        assert!(page.location.is_none(), "never redirect to {near_miss}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_once_and_a_second_use_revokes_what_the_first_issued() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let verifier = random_string();
    let challenge = pkce::s256(&verifier);
    let mut client = platform.oauth_client();
    let form = client
        .authorize(&authorization_request(&challenge, &[]))
        .await
        .expect("the login page");
    let page = client
        .submit(
            &form.handle.expect("a form"),
            &[("username", "bob"), ("password", BOB.password)],
        )
        .await
        .expect("a redirect");
    let location = page.location.expect("a redirect");
    assert!(location.contains("iss="), "RFC 9207: {location}");
    let code = code_from(&location, "xyz").expect("a code");
    assert!(
        client.redeem(&code, &random_string()).await.is_err(),
        "wrong verifier"
    );
    // The wrong verifier spent the code: even the right one is too late now.
    assert!(client.redeem(&code, &verifier).await.is_err());

    let (client, code, verifier) = bobs_code(&platform).await;
    let tokens = client
        .redeem(&code, &verifier)
        .await
        .expect("the first use");
    assert_eq!(
        introspect(&platform, &tokens.access_token).await["active"],
        false,
        "another client's token"
    );
    assert!(
        client.redeem(&code, &verifier).await.is_err(),
        "the second use"
    );
    let refresh = tokens.refresh_token.expect("a refresh token");
    assert!(
        client.refresh(&refresh).await.is_err(),
        "the grant was revoked"
    );
    let (status, _, _) = call(
        &platform,
        Method::GET,
        "/v1/users/me",
        Some(&tokens.access_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_whole_family() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let first = platform.log_in_afresh(BOB).await.expect("bob logs in");
    let client: LoginClient = platform.oauth_client();
    let r1 = first.refresh_token.expect("a refresh token");
    let second = client.refresh(&r1).await.expect("the first refresh");
    let r2 = second.refresh_token.clone().expect("a new refresh token");
    assert_ne!(r1, r2, "rotated");
    assert_ne!(first.access_token, second.access_token);
    // Someone else holds r1 too: presenting it again revokes the whole grant.
    assert!(client.refresh(&r1).await.is_err());
    assert!(client.refresh(&r2).await.is_err(), "the family is revoked");
    for token in [&first.access_token, &second.access_token] {
        let (status, _, _) = call(&platform, Method::GET, "/v1/accounts", Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_clients_get_tokens_by_secret_and_workloads_by_certificate() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let (status, body) = post_form(
        &platform,
        "/oauth2/token",
        Some((DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_CLIENT_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "orders:read");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().expect("a token");
    // The gateway exchanges it (it is authenticated); what a user-less client may then do is the
    // route's and the service's decision (it holds no role).
    let (status, _, orders) = call(&platform, Method::GET, "/v1/orders", Some(token), None).await;
    assert_ne!(status, StatusCode::UNAUTHORIZED, "{orders}");
    assert_eq!(introspect(&platform, token).await["active"], true);

    let (status, body) = post_form(
        &platform,
        "/oauth2/token",
        Some((DEMO_MACHINE_CLIENT_ID, "a-wrong-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // tls_client_auth: orders calls the STS directly with its own certificate.
    let orders = platform
        .client_as(Workload::Orders, Workload::Sts)
        .expect("orders' identity");
    let answer = orders
        .post(format!("{}/oauth2/token", platform.sts_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "orders"),
        ])
        .send()
        .await
        .expect("the STS answers");
    assert_eq!(answer.status(), StatusCode::OK);
    // Claiming another workload's client id with orders' certificate fails.
    let answer = orders
        .post(format!("{}/oauth2/token", platform.sts_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "accounts"),
        ])
        .send()
        .await
        .expect("the STS answers");
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    // Through the gateway, the gateway's certificate proves nothing about the client.
    let (status, _) = post_form(
        &platform,
        "/oauth2/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "orders"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_needs_a_confidential_client_and_an_inactive_token_is_just_inactive() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let (status, body) = post_form(&platform, "/oauth2/introspect", None, &[("token", "x")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = post_form(
        &platform,
        "/oauth2/introspect",
        None,
        &[("token", "x"), ("client_id", CLI_CLIENT_ID)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "public clients may not introspect: {body}"
    );
    let (_, body) = post_form(
        &platform,
        "/oauth2/token",
        Some((DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_CLIENT_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let own = body["access_token"].as_str().expect("a token").to_owned();
    let active = introspect(&platform, &own).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], DEMO_MACHINE_CLIENT_ID);
    for unknown in ["bat_nothing", "", "x".repeat(5000).as_str()] {
        assert_eq!(
            introspect(&platform, unknown).await,
            serde_json::json!({ "active": false })
        );
    }

    // Each client learns only what it needs: not bob's tokens, access or refresh, whoever asks.
    let bob = platform.log_in_afresh(BOB).await.expect("bob logs in");
    let refresh = bob.refresh_token.expect("a refresh token");
    for token in [&bob.access_token, &refresh] {
        assert_eq!(
            introspect(&platform, token).await,
            serde_json::json!({ "active": false }),
            "another client's token, to the reports client"
        );
    }
    let orders = platform
        .client_as(Workload::Orders, Workload::Sts)
        .expect("orders' identity");
    for token in [&bob.access_token, &refresh] {
        let answer: Value = orders
            .post(format!("{}/oauth2/introspect", platform.sts_url))
            .form(&[("token", token.as_str()), ("client_id", "orders")])
            .send()
            .await
            .expect("the STS answers")
            .json()
            .await
            .expect("a JSON answer");
        assert_eq!(
            answer,
            serde_json::json!({ "active": false }),
            "a workload is shown no user's token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_refresh_token_ends_the_access_tokens_of_its_grant() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let tokens = platform.log_in_afresh(BOB).await.expect("bob logs in");
    let refresh = tokens.refresh_token.expect("a refresh token");
    let (status, _) = post_form(
        &platform,
        "/oauth2/revoke",
        None,
        &[("token", &refresh), ("client_id", CLI_CLIENT_ID)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Never used, so never cached at the gateway: refused at once.
    let (status, _, _) = call(
        &platform,
        Method::GET,
        "/v1/accounts",
        Some(&tokens.access_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(platform.oauth_client().refresh(&refresh).await.is_err());
    let (status, _) = post_form(
        &platform,
        "/oauth2/revoke",
        None,
        &[("token", "bar_unknown"), ("client_id", CLI_CLIENT_ID)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an unknown token is not an error (RFC 7009 §2.2)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_key_rotation_fails_no_request() {
    let period = Duration::from_secs(10);
    let platform = TestPlatform::builder()
        .rotate_signing_keys(period)
        .spawn()
        .await
        .expect("platform starts");
    let kid = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, _, before) = call(&platform, Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(
        kid(&before).len(),
        2,
        "the signing key and the next one: {before}"
    );
    let started = Instant::now();
    let mut calls = 0;
    // Two rotations: the first to a key every service saw published, the second to one they must
    // fetch on its first token.
    while started.elapsed() < period * 2 + Duration::from_secs(4) {
        let token = platform.log_in_afresh(BOB).await.expect("bob logs in");
        let (status, _, body) = call(
            &platform,
            Method::GET,
            "/v1/orders",
            Some(&token.access_token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "call {calls} failed: {body}");
        calls += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, _, after) = call(&platform, Method::GET, "/.well-known/jwks.json", None, None).await;
    assert!(
        kid(&after).iter().any(|new| !kid(&before).contains(new)),
        "the keys rotated: {before} → {after}"
    );
    assert!(calls > 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_throttle_answers_an_unknown_user_exactly_as_a_real_one() {
    let platform = TestPlatform::spawn().await.expect("platform starts");
    let challenge = pkce::s256(&random_string());
    let mut answers = Vec::new();
    for username in ["bob", "mallory"] {
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for attempt in 0..6 {
            let mut client = platform.oauth_client();
            let form = client
                .authorize(&authorization_request(&challenge, &[]))
                .await
                .expect("the login page");
            let password = format!("wrong-{attempt}");
            let page = client
                .submit(
                    &form.handle.expect("a form"),
                    &[("username", username), ("password", &password)],
                )
                .await
                .expect("an answer");
            statuses.push(page.status);
            if page.status == StatusCode::TOO_MANY_REQUESTS {
                retry_after = Some(page.body.contains("Try again in"));
            }
        }
        answers.push((statuses, retry_after));
    }
    let expected: Vec<StatusCode> = std::iter::repeat_n(StatusCode::UNAUTHORIZED, 5)
        .chain([StatusCode::TOO_MANY_REQUESTS])
        .collect();
    assert_eq!(answers[0], (expected, Some(true)));
    assert_eq!(
        answers[0], answers[1],
        "a lockout must not tell users apart"
    );
}

/// A platform whose STS can be held at its fault points, and bob logged in on it.
async fn held_platform() -> (TestPlatform, Script, String) {
    let script = Script::new();
    let platform = TestPlatform::builder()
        .faults(&script)
        .spawn()
        .await
        .expect("platform starts");
    let tokens = platform.log_in_afresh(BOB).await.expect("bob logs in");
    let refresh = tokens.refresh_token.expect("a refresh token");
    (platform, script, refresh)
}

/// Starts a refresh with `refresh` on its own task, and waits until the STS holds it just before
/// it stores the new tokens.
async fn refresh_held_before_issue(
    platform: &TestPlatform,
    script: &Script,
    refresh: &str,
) -> (
    baton_platform::faults::Pause,
    tokio::task::JoinHandle<Result<TokenSet, FlowError>>,
) {
    let held = script.pause_once("sts.grant.before_issue");
    let client = platform.oauth_client();
    let refresh = refresh.to_owned();
    let refreshing = tokio::spawn(async move { client.refresh(&refresh).await });
    held.arrived().await;
    (held, refreshing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_beside_a_refresh_leaves_no_token_of_the_grant_alive() {
    let (platform, script, refresh) = held_platform().await;
    let (held, refreshing) = refresh_held_before_issue(&platform, &script, &refresh).await;
    // Bob logs out while the refresh is between its checks and its writes.
    let (status, _) = post_form(
        &platform,
        "/oauth2/revoke",
        None,
        &[("token", &refresh), ("client_id", CLI_CLIENT_ID)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    held.release();
    let answer = refreshing.await.expect("the refresh task ends");
    assert!(
        answer.is_err(),
        "a refresh that lost the race to a logout must issue nothing: {answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_refresh_token_beside_its_own_refresh_revokes_what_that_refresh_issues() {
    let (platform, script, refresh) = held_platform().await;
    let (held, refreshing) = refresh_held_before_issue(&platform, &script, &refresh).await;
    // The thief presents the same refresh token: already spent, so the family is revoked.
    assert!(platform.oauth_client().refresh(&refresh).await.is_err());
    held.release();
    let answer = refreshing.await.expect("the refresh task ends");
    assert!(
        answer.is_err(),
        "no new tokens in a family revoked for reuse: {answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_replayed_before_its_first_redemption_made_the_grant_still_revokes_it() {
    let script = Script::new();
    let platform = TestPlatform::builder()
        .faults(&script)
        .spawn()
        .await
        .expect("platform starts");
    let (client, code, verifier) = bobs_code(&platform).await;

    let held = script.pause_once("sts.code.before_grant");
    let first = {
        let (client, code, verifier) = (client.clone(), code.clone(), verifier.clone());
        tokio::spawn(async move { client.redeem(&code, &verifier).await })
    };
    held.arrived().await;
    // The code was stolen: its replay arrives while the first redemption has spent it but not
    // yet made its grant.
    assert!(client.redeem(&code, &verifier).await.is_err(), "the replay");
    held.release();
    let answer = first.await.expect("the first redemption ends");
    assert!(
        answer.is_err(),
        "the first redemption of a replayed code must issue nothing: {answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_own_client_cannot_be_used_through_the_public_relay() {
    // Even the right secret, sent by a client through the gateway's relay, is refused: the
    // gateway's client is its own calls, from its certificate, and nothing relayed.
    let secret = format!("{}-known-to-this-test", uuid::Uuid::new_v4().simple());
    let platform = TestPlatform::builder()
        .with_setting("BATON_GATEWAY_CLIENT_SECRET", secret.clone())
        .spawn()
        .await
        .expect("platform starts");
    for path in ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"] {
        let (status, body) = post_form(
            &platform,
            path,
            Some(("gateway", &secret)),
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("token", "bat_nothing"),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{path}: {body}"
        );
    }
    // The gateway's own exchanges, with the same secret, still work: bob's token reaches an API.
    let bob = platform.login(BOB).await.expect("bob logs in");
    let (status, _, _) = call(&platform, Method::GET, "/v1/accounts", Some(&bob), None).await;
    assert_eq!(status, StatusCode::OK);
}
