//! Attacks on the authorization server: the login, the code flow and the tokens it hands out.
//!
//! Each drives the STS through the gateway as a client (or a browser) would, with the same
//! scripted browser `baton-login` uses ([`baton_sts::login_client`]). An attack succeeds only
//! when it ends holding something that works: an authorization code for someone else's login, or
//! an access token the gateway accepts.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use baton_gateway::auth::MAX_CACHE_TTL;
use baton_platform::Control;
use baton_platform::demo::{ALICE, BOB, DemoUser};
use baton_sts::domain::client::{CLI_CLIENT_ID, CLI_REDIRECT_URI};
use baton_sts::domain::password::{MAX_CONCURRENT_HASHES, MAX_WAITING_LOGINS};
use baton_sts::domain::sealing::{Sealed, is_sealed};
use baton_sts::domain::{pkce, totp};
use baton_sts::login_client::{LoginClient, Page, code_from, random_string};
use baton_sts::seed::{DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_CLIENT_SECRET};
use baton_testkit::TestPlatform;
use reqwest::StatusCode;
use serde_json::json;

use crate::attacks::{Attack, AttackFuture, Modes, Outcome, answer, outcome};
use crate::risk::OwaspRisk;

/// The authorization server's attacks.
pub fn catalogue() -> Vec<Attack> {
    use Control::*;
    use OwaspRisk::*;
    vec![
        Attack {
            name: "refresh token used twice",
            risk: Api2Authentication,
            controls: &[StsRefreshRotation],
            modes: Modes::BOTH,
            settings: &[],
            run: refresh_token_reuse,
        },
        Attack {
            name: "revoked token used after the documented bound",
            risk: Api2Authentication,
            controls: &[StsRevocation],
            modes: Modes::BOTH,
            settings: &[],
            run: revoked_token_reuse,
        },
        Attack {
            name: "PKCE downgraded to plain",
            risk: Api2Authentication,
            controls: &[StsPkce],
            modes: Modes::BOTH,
            settings: &[],
            run: pkce_downgrade,
        },
        Attack {
            name: "redirect URI differing by one character",
            risk: Api2Authentication,
            // Exact matching has no switch: there is no lenient matcher to fall back to.
            controls: &[],
            modes: Modes::BOTH,
            settings: &[],
            run: redirect_uri_near_miss,
        },
        Attack {
            name: "stolen password with a wrong TOTP code",
            risk: Api2Authentication,
            controls: &[StsTotp],
            modes: Modes::BOTH,
            settings: &[],
            run: wrong_totp_code,
        },
        Attack {
            name: "TOTP code replayed",
            risk: Api2Authentication,
            controls: &[StsTotpReplay],
            modes: Modes::BOTH,
            settings: &[],
            run: totp_replay,
        },
        Attack {
            name: "login brute force",
            risk: Api2Authentication,
            controls: &[StsLoginThrottle],
            modes: Modes::BOTH,
            settings: &[],
            run: brute_force,
        },
        Attack {
            name: "login brute force from every address of one IPv6 /64",
            risk: Api2Authentication,
            controls: &[StsLoginThrottle],
            modes: Modes::BOTH,
            settings: BEHIND_A_LOAD_BALANCER,
            run: brute_force_across_one_64,
        },
        Attack {
            name: "second-factor codes guessed from many addresses",
            risk: Api2Authentication,
            controls: &[StsAccountBudget],
            modes: Modes::BOTH,
            settings: BEHIND_A_LOAD_BALANCER,
            run: codes_from_many_sources,
        },
        Attack {
            name: "second-factor codes guessed on one login",
            risk: Api2Authentication,
            controls: &[StsCodeAttempts],
            modes: Modes::BOTH,
            settings: BEHIND_A_LOAD_BALANCER,
            run: codes_on_one_login,
        },
        Attack {
            name: "the gateway's client secret used through the public relay",
            risk: Api2Authentication,
            controls: &[StsGatewayClientBinding],
            modes: Modes::BOTH,
            settings: &[("BATON_GATEWAY_CLIENT_SECRET", LEAKED_GATEWAY_SECRET)],
            run: gateway_secret_from_outside,
        },
        Attack {
            name: "another client's refresh token introspected",
            risk: Api2Authentication,
            controls: &[StsIntrospectionLimits],
            modes: Modes::BOTH,
            settings: &[],
            run: introspect_another_clients_refresh_token,
        },
        Attack {
            name: "password checks flooded past the hashing queue",
            risk: Api4ResourceConsumption,
            controls: &[StsLoginQueueLimit],
            modes: Modes::BOTH,
            settings: BEHIND_A_LOAD_BALANCER,
            run: password_check_flood,
        },
        Attack {
            name: "second factor read from a stolen copy of the STS database",
            risk: Api2Authentication,
            controls: &[StsSealingAtRest],
            modes: Modes::BOTH,
            settings: &[],
            run: seed_from_a_database_copy,
        },
    ]
}

/// The attacker has alice's password (phished, or reused from another site) and a copy of the
/// STS's database (a backup, a replica, rows read out through an injection), but not the sealing
/// key, which lives elsewhere. It reads alice's TOTP seed from the copy and signs in with the
/// code it computes. It succeeds if that ends in an authorization code; with sealing on, the
/// stored seed is ciphertext that computes no code.
fn seed_from_a_database_copy(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT totp_secret FROM credentials WHERE username = $1")
                .bind(ALICE.username)
                .fetch_one(platform.sts_database())
                .await?;
        let stored = stored.ok_or_else(|| anyhow::anyhow!("alice has no second factor"))?;
        if is_sealed(&stored) {
            let sealed = Sealed::stored(stored);
            return Ok(refused(&format!("the stored seed is sealed: {sealed:?}")));
        }
        let Some(code) = totp::current_code(&stored) else {
            return Ok(refused("the stored seed computes no code"));
        };
        log_in_with(platform, ALICE, ALICE.password, &code).await
    })
}

/// The `reports` machine client (its development secret is published) asks about a refresh
/// token the CLI client holds for alice, as a resource server shown a stolen one might. It
/// succeeds if the STS describes the token (`active`, alice's subject): a refresh token is its
/// own client's to redeem, and nobody else's to learn about.
fn introspect_another_clients_refresh_token(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let refresh = platform
            .log_in_afresh(ALICE)
            .await?
            .refresh_token
            .ok_or_else(|| anyhow::anyhow!("no refresh token"))?;
        let client = (DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_CLIENT_SECRET);
        introspected_as_alice(platform, client, &refresh).await
    })
}

/// Three times as many password submissions at once as the STS lets run or wait for a hash, each
/// from its own address and for a username of its own, so that no throttle stands in the way.
/// It succeeds if every one of them is checked: the STS let them all queue, and a real user's
/// login waits behind the whole flood. With the bound on, the logins past it are refused at once
/// (`503`, "try again in a moment").
fn password_check_flood(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let flood = 3 * (MAX_CONCURRENT_HASHES + MAX_WAITING_LOGINS);
        let mut forms = Vec::with_capacity(flood);
        for n in 0..flood {
            forms.push(start_from(platform, address_in_own_64(2000 + u16::try_from(n)?)).await?);
        }
        let mut submissions = tokio::task::JoinSet::new();
        for (n, (mut client, handle)) in forms.into_iter().enumerate() {
            submissions.spawn(async move {
                let username = format!("nobody-{n}");
                client
                    .submit(&handle, &[("username", &username), ("password", "a-guess")])
                    .await
            });
        }
        let (mut checked, mut refused, mut other) = (0, 0, Vec::new());
        while let Some(page) = submissions.join_next().await {
            let page = page??;
            if page.body.contains(baton_sts::http::TRY_AGAIN_SHORTLY) {
                refused += 1;
            } else if page.status == StatusCode::UNAUTHORIZED {
                checked += 1;
            } else {
                other.push(page.status.as_u16());
            }
        }
        let tally = format!(
            "{checked} of {flood} checked, {refused} refused at once, other answers {other:?}"
        );
        Ok(if refused > 0 {
            Outcome::Blocked(format!("the hashing queue was full: {tally}"))
        } else if checked == flood {
            Outcome::Succeeded(tally)
        } else {
            Outcome::Inconclusive(tally)
        })
    })
}

/// The gateway's client secret, as an attacker would hold it after guessing it or finding it in
/// a leaked file. The platform under attack is started with it.
const LEAKED_GATEWAY_SECRET: &str = "this-secret-leaked-from-a-backup-of-the-gateway";

/// From outside, through the gateway's relay to the STS, an attacker holding the gateway's client
/// secret introspects alice's token: the gateway's client may introspect any access token, so
/// the answer would tell who alice is and what her token may do. It succeeds if the STS answers
/// as to the gateway (`active`, alice's subject); with the binding on it is `invalid_client`, the
/// secret not even compared.
fn gateway_secret_from_outside(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        introspected_as_alice(platform, ("gateway", LEAKED_GATEWAY_SECRET), &alice).await
    })
}

/// Introspects `token` through the gateway's relay as `client` (id, secret); it succeeds if the
/// STS describes it as an active token of alice's.
async fn introspected_as_alice(
    platform: &TestPlatform,
    (client_id, secret): (&str, &str),
    token: &str,
) -> anyhow::Result<Outcome> {
    let response = platform
        .http
        .post(format!("{}/oauth2/introspect", platform.gateway_url))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await?;
    let (status, body) = answer(response).await?;
    let disclosed = status == StatusCode::OK
        && body["active"] == json!(true)
        && body["sub"] == json!(ALICE.id.to_string());
    Ok(outcome(disclosed, status, &body))
}

/// The gateway believes `X-Forwarded-For` from loopback, as it would from its load balancer: the
/// attacker's many addresses reach the STS as many sources (they are only ever written in a
/// header, never dialled).
const BEHIND_A_LOAD_BALANCER: &[(&str, &str)] = &[("GATEWAY_TRUSTED_PROXIES", "127.0.0.0/8")];

/// The `n`th address of the documentation prefix 2001:db8::/32, each in a /64 of its own.
fn address_in_own_64(n: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, n, 0, 0, 0, 0, 1))
}

/// The `n`th address inside one /64 of the documentation prefix.
fn address_in_one_64(n: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xbad, 0, 0, 0, n, 1))
}

/// Does `token` get bob's accounts through the gateway?
async fn works(platform: &TestPlatform, token: &str) -> anyhow::Result<Outcome> {
    let response = platform
        .http
        .get(format!("{}/v1/accounts", platform.gateway_url))
        .bearer_auth(token)
        .send()
        .await?;
    let (status, body) = answer(response).await?;
    Ok(outcome(status == StatusCode::OK, status, &body))
}

fn refused(what: &str) -> Outcome {
    Outcome::Blocked(what.to_owned())
}

fn refresh_token_reuse(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let stolen = platform
            .log_in_afresh(BOB)
            .await?
            .refresh_token
            .ok_or_else(|| anyhow::anyhow!("no refresh token"))?;
        let client = platform.oauth_client();
        // The rightful client refreshes first; then the thief presents the same refresh token.
        client.refresh(&stolen).await?;
        match client.refresh(&stolen).await {
            Ok(tokens) => works(platform, &tokens.access_token).await,
            Err(err) => Ok(refused(&err.to_string())),
        }
    })
}

fn revoked_token_reuse(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let tokens = platform.log_in_afresh(BOB).await?;
        // In use, so the gateway has cached its exchange.
        works(platform, &tokens.access_token).await?;
        let refresh = tokens.refresh_token.unwrap_or_default();
        platform
            .http
            .post(format!("{}/oauth2/revoke", platform.gateway_url))
            .form(&[("token", refresh.as_str()), ("client_id", CLI_CLIENT_ID)])
            .send()
            .await?
            .error_for_status()?;
        tokio::time::sleep(MAX_CACHE_TTL + Duration::from_secs(1)).await;
        works(platform, &tokens.access_token).await
    })
}

/// Starts a login with `params`, then signs bob in; the page that follows the password.
async fn sign_in_bob(client: &mut LoginClient, params: &[(&str, &str)]) -> anyhow::Result<Page> {
    let form = client.authorize(params).await?;
    let Some(handle) = form.handle else {
        return Ok(form);
    };
    Ok(client
        .submit(
            &handle,
            &[("username", BOB.username), ("password", BOB.password)],
        )
        .await?)
}

fn pkce_downgrade(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // The attacker rewrote the request to `plain`: the challenge in the URL is the verifier,
        // and the code it intercepts is redeemable by anyone who saw that URL.
        let seen_in_the_url = random_string();
        let mut client = platform.oauth_client();
        let page = sign_in_bob(
            &mut client,
            &[
                ("response_type", "code"),
                ("client_id", CLI_CLIENT_ID),
                ("redirect_uri", CLI_REDIRECT_URI),
                ("code_challenge", &seen_in_the_url),
                ("code_challenge_method", "plain"),
                ("state", "s"),
            ],
        )
        .await?;
        let Some(location) = page.location else {
            return Ok(refused(&format!("{}: no code", page.status)));
        };
        let Ok(code) = code_from(&location, "s") else {
            return Ok(refused(&location));
        };
        match client.redeem(&code, &seen_in_the_url).await {
            Ok(tokens) => works(platform, &tokens.access_token).await,
            Err(err) => Ok(refused(&err.to_string())),
        }
    })
}

fn redirect_uri_near_miss(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let attacker_uri = CLI_REDIRECT_URI.replace("callback", "callbacK");
        let challenge = pkce::s256(&random_string());
        let mut client = platform.oauth_client();
        let page = sign_in_bob(
            &mut client,
            &[
                ("response_type", "code"),
                ("client_id", CLI_CLIENT_ID),
                ("redirect_uri", &attacker_uri),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", "s"),
            ],
        )
        .await?;
        let to_attacker = page
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with(&attacker_uri) && l.contains("code="));
        Ok(outcome(
            to_attacker,
            page.status,
            &json!({ "location": page.location }),
        ))
    })
}

/// Starts a login with a correct PKCE request; the client and the form's handle.
async fn start(platform: &TestPlatform) -> anyhow::Result<(LoginClient, String)> {
    start_with(platform.oauth_client()).await
}

/// Like [`start`], for a browser at `source` behind the trusted load balancer.
async fn start_from(
    platform: &TestPlatform,
    source: IpAddr,
) -> anyhow::Result<(LoginClient, String)> {
    start_with(platform.oauth_client_from(source)?).await
}

async fn start_with(mut client: LoginClient) -> anyhow::Result<(LoginClient, String)> {
    let challenge = pkce::s256(&random_string());
    let form = client
        .authorize(&[
            ("response_type", "code"),
            ("client_id", CLI_CLIENT_ID),
            ("redirect_uri", CLI_REDIRECT_URI),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s"),
        ])
        .await?;
    let handle = form
        .handle
        .ok_or_else(|| anyhow::anyhow!("no login form ({})", form.status))?;
    Ok((client, handle))
}

/// Password, then (if asked) `code`: did the login end in a code for the client?
async fn log_in_with(
    platform: &TestPlatform,
    user: DemoUser,
    password: &str,
    code: &str,
) -> anyhow::Result<Outcome> {
    finish_login(start(platform).await?, user, password, code).await
}

async fn finish_login(
    (mut client, handle): (LoginClient, String),
    user: DemoUser,
    password: &str,
    code: &str,
) -> anyhow::Result<Outcome> {
    let mut page = client
        .submit(
            &handle,
            &[("username", user.username), ("password", password)],
        )
        .await?;
    if page.location.is_none()
        && let Some(handle) = page.handle.clone()
    {
        page = client.submit(&handle, &[("totp_code", code)]).await?;
    }
    let got_code = ended_in_code(&page);
    Ok(outcome(
        got_code,
        page.status,
        &json!({ "location": page.location }),
    ))
}

/// Did the login end in a redirect carrying a code for the client?
fn ended_in_code(page: &Page) -> bool {
    page.location
        .as_deref()
        .is_some_and(|l| code_from(l, "s").is_ok())
}

/// A six-digit code that is none of the ones the STS would accept now.
fn wrong_code(seed: &str) -> String {
    let near = [totp::current_code(seed), totp::next_code(seed)];
    (0..1_000_000u32)
        .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .find(|candidate| !near.iter().flatten().any(|code| code == candidate))
        .unwrap_or_default()
}

fn wrong_totp_code(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let seed = ALICE.totp_seed.unwrap_or_default();
        log_in_with(platform, ALICE, ALICE.password, &wrong_code(seed)).await
    })
}

fn totp_replay(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let seed = ALICE.totp_seed.unwrap_or_default();
        let code = totp::current_code(seed).unwrap_or_default();
        // Alice signs in; the attacker watched her type the password and the code.
        let alice = log_in_with(platform, ALICE, ALICE.password, &code).await?;
        if alice.is_blocked() {
            anyhow::bail!("alice's own login failed: {alice:?}");
        }
        log_in_with(platform, ALICE, ALICE.password, &code).await
    })
}

fn brute_force(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // Ten wrong guesses from one address, then the right one (the tenth-and-first entry of the
        // attacker's list).
        for guess in 0..10 {
            let (mut client, handle) = start(platform).await?;
            let wrong = format!("guess-number-{guess}");
            client
                .submit(&handle, &[("username", BOB.username), ("password", &wrong)])
                .await?;
        }
        log_in_with(platform, BOB, BOB.password, "").await
    })
}

fn brute_force_across_one_64(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // Ten wrong passwords, each from another address of the attacker's one /64 (a host is
        // given 2^64 of them), then the right one from yet another.
        for guess in 0..10 {
            let (mut client, handle) = start_from(platform, address_in_one_64(guess)).await?;
            let wrong = format!("guess-number-{guess}");
            client
                .submit(&handle, &[("username", BOB.username), ("password", &wrong)])
                .await?;
        }
        let last = start_from(platform, address_in_one_64(99)).await?;
        let answer = finish_login(last, BOB, BOB.password, "").await?;
        Ok(throttled_or(answer))
    })
}

/// A login the throttle refused is blocked by the throttle; anything else stands as it is.
fn throttled_or(answer: Outcome) -> Outcome {
    match answer {
        Outcome::Blocked(evidence) if evidence.contains("429") => {
            Outcome::Blocked(format!("the throttle refused the login: {evidence}"))
        }
        Outcome::Blocked(evidence) => {
            Outcome::Inconclusive(format!("refused, but not by the throttle: {evidence}"))
        }
        other => other,
    }
}

fn codes_from_many_sources(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // The attacker holds alice's password and spreads the code guesses over addresses in
        // /64s of their own, one wrong code from each: no source ever reaches its own budget.
        // Then the right code, as the millionth guess would be, from a fresh address.
        let seed = ALICE.totp_seed.unwrap_or_default();
        let wrong = wrong_code(seed);
        for n in 0..24 {
            let login = start_from(platform, address_in_own_64(n)).await?;
            finish_login(login, ALICE, ALICE.password, &wrong).await?;
        }
        let code = totp::current_code(seed).unwrap_or_default();
        let last = start_from(platform, address_in_own_64(999)).await?;
        let answer = finish_login(last, ALICE, ALICE.password, &code).await?;
        Ok(throttled_or(answer))
    })
}

fn codes_on_one_login(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // One login, the password right, then code after code on the same form, each from
        // another address so that no per-source lock stands in the way: only the count of
        // codes this login has been sent can.
        let seed = ALICE.totp_seed.unwrap_or_default();
        let wrong = wrong_code(seed);
        let (mut client, handle) = start_from(platform, address_in_own_64(0)).await?;
        let mut page = client
            .submit(
                &handle,
                &[("username", ALICE.username), ("password", ALICE.password)],
            )
            .await?;
        let handle = page
            .handle
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no second-factor form ({})", page.status))?;
        let guesses = u16::try_from(baton_sts::http::MAX_CODE_ATTEMPTS)? + 3;
        for n in 1..=guesses {
            client.move_to(platform.ca.public_client_from(address_in_own_64(n))?);
            page = client.submit(&handle, &[("totp_code", &wrong)]).await?;
            if page.body.contains(baton_sts::http::CODE_ATTEMPTS_SPENT) {
                return Ok(refused(&format!(
                    "the login ended after {} wrong codes ({})",
                    n - 1,
                    page.status
                )));
            }
        }
        let code = totp::current_code(seed).unwrap_or_default();
        client.move_to(platform.ca.public_client_from(address_in_own_64(999))?);
        page = client.submit(&handle, &[("totp_code", &code)]).await?;
        let got_code = ended_in_code(&page);
        Ok(outcome(
            got_code,
            page.status,
            &json!({ "wrong_codes_checked": guesses, "location": page.location }),
        ))
    })
}
