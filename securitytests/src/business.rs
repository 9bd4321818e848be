//! Attacks on the ordering flow and on what orders reaches outside (issue 6): a retried order
//! charged twice, an order bot, webhooks aimed at internal addresses (SSRF), and a malicious
//! supplier.
//!
//! What counts as success:
//! - a retry with one `Idempotency-Key`: the buyer is charged twice;
//! - the bot: every order of a burst past the per-buyer limit is placed;
//! - a webhook: the order is accepted with it and orders' request arrives at the internal target:
//!   a canary on loopback, or the test kit's canary standing in for the metadata address (the
//!   guard judges 169.254.169.254; only the socket underneath lands on loopback);
//! - a malicious supplier: its answer decides something it must not (an order paid at its price),
//!   is read whole (the huge body), holds orders for as long as it likes (the drip), or sends
//!   orders to an internal address (the redirect).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use baton_platform::Control;
use baton_platform::demo::BOB;
use baton_supplier::{Answer, CanaryHandle, HUGE_BODY_BYTES, Mode};
use baton_testkit::hermetic::{METADATA_ADDRESS, PUBLIC_WEBHOOK_HOST};
use baton_testkit::{TEST_ORDER_LIMIT, TestPlatform};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::attacks::{Attack, AttackFuture, Modes, Outcome, answer, judge, outcome};
use crate::risk::OwaspRisk;

/// How many orders the bot places: past the test kit's per-buyer limit, as a real bot would go
/// past orders' own (10 a minute).
const BOT_ORDERS: usize = TEST_ORDER_LIMIT as usize + 4;
/// How long an attack waits for orders' request at its canary after orders accepted the order.
const CANARY_WAIT: Duration = Duration::from_secs(5);
/// A drip that held the order this long held orders hostage.
const HELD_HOSTAGE: Duration = Duration::from_secs(4);
/// The catalogue's price of a mug.
const MUG_PRICE: i64 = 1250;

/// The ordering flow's and orders' outbound attacks.
pub fn catalogue() -> Vec<Attack> {
    use Control::*;
    use OwaspRisk::*;
    vec![
        Attack {
            name: "the same order submitted twice with one idempotency key",
            risk: Api6SensitiveBusinessFlows,
            controls: &[OrdersIdempotency],
            modes: Modes::BOTH,
            settings: &[],
            run: same_key_twice,
        },
        Attack {
            name: "an order bot over the per-user limit",
            risk: Api6SensitiveBusinessFlows,
            controls: &[OrdersOrderLimits],
            modes: Modes::BOTH,
            settings: &[],
            run: order_bot,
        },
        Attack {
            name: "an order bot sending all its orders at once past the per-user limit",
            risk: Api6SensitiveBusinessFlows,
            controls: &[OrdersOrderLimits],
            modes: Modes::BOTH,
            settings: &[],
            run: order_bot_all_at_once,
        },
        Attack {
            name: "webhook URL at 127.0.0.1",
            risk: Api7Ssrf,
            controls: &[OrdersSsrfGuard],
            modes: Modes::BOTH,
            settings: &[],
            run: webhook_at_ipv4_loopback,
        },
        Attack {
            name: "webhook URL at 169.254.169.254",
            risk: Api7Ssrf,
            controls: &[OrdersSsrfGuard],
            modes: Modes::BOTH,
            settings: &[],
            run: webhook_at_metadata,
        },
        Attack {
            name: "webhook URL at [::1]",
            risk: Api7Ssrf,
            controls: &[OrdersSsrfGuard],
            modes: Modes::BOTH,
            settings: &[],
            run: webhook_at_ipv6_loopback,
        },
        Attack {
            name: "webhook URL whose DNS name resolves to a private address",
            risk: Api7Ssrf,
            controls: &[OrdersSsrfGuard],
            modes: Modes::BOTH,
            settings: &[],
            run: webhook_name_resolving_inside,
        },
        Attack {
            name: "webhook URL that redirects to an internal address",
            risk: Api7Ssrf,
            controls: &[OrdersSsrfGuard],
            modes: Modes::BOTH,
            settings: &[],
            run: webhook_redirecting_inside,
        },
        Attack {
            name: "webhook URL at a permitted public host that redirects to the metadata address",
            risk: Api7Ssrf,
            controls: &[OrdersSsrfGuard],
            modes: Modes::BOTH,
            settings: &[],
            run: webhook_public_host_redirecting_to_metadata,
        },
        Attack {
            name: "malicious supplier: absurd price",
            risk: Api10UnsafeConsumption,
            controls: &[OrdersSupplierValidation],
            modes: Modes::BOTH,
            settings: &[],
            run: supplier_absurd_price,
        },
        Attack {
            name: "malicious supplier: wrong types",
            risk: Api10UnsafeConsumption,
            controls: &[OrdersSupplierValidation],
            modes: Modes::BOTH,
            settings: &[],
            run: supplier_wrong_types,
        },
        Attack {
            name: "malicious supplier: huge body",
            risk: Api10UnsafeConsumption,
            controls: &[OrdersSupplierValidation],
            modes: Modes::BOTH,
            settings: &[],
            run: supplier_huge_body,
        },
        Attack {
            name: "malicious supplier: slow drip",
            risk: Api10UnsafeConsumption,
            controls: &[OrdersSupplierValidation],
            modes: Modes::BOTH,
            settings: &[],
            run: supplier_slow_drip,
        },
        Attack {
            name: "malicious supplier: redirect to an internal address",
            risk: Api10UnsafeConsumption,
            controls: &[OrdersSupplierValidation],
            modes: Modes::BOTH,
            settings: &[],
            run: supplier_redirect,
        },
    ]
}

/// Bob, logged in, with his first account and its balance.
struct Buyer {
    token: String,
    account: String,
}

impl Buyer {
    async fn bob(platform: &TestPlatform) -> anyhow::Result<Self> {
        let token = platform.login(BOB).await?;
        let account = crate::attacks::first_account_of(platform, &token).await?;
        Ok(Self { token, account })
    }

    async fn balance(&self, platform: &TestPlatform) -> anyhow::Result<i64> {
        let path = format!("/v1/accounts/{}", self.account);
        let (_, body) = send(platform, Method::GET, &path, &self.token, None, None).await?;
        body["balance_minor"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no balance: {body}"))
    }

    /// Places an order for `quantity` of `sku`, with an optional webhook and idempotency key.
    async fn order(
        &self,
        platform: &TestPlatform,
        sku: &str,
        notify_url: Option<&str>,
        key: Option<&str>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut body = json!({
            "account_id": self.account,
            "items": [{ "sku": sku, "quantity": 1 }],
        });
        if let Some(url) = notify_url {
            body["notify_url"] = json!(url);
        }
        send(
            platform,
            Method::POST,
            "/v1/orders",
            &self.token,
            Some(body),
            key,
        )
        .await
    }
}

async fn send(
    platform: &TestPlatform,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = platform
        .http
        .request(method, format!("{}{path}", platform.gateway_url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    answer(request.send().await?).await
}

fn same_key_twice(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = Buyer::bob(platform).await?;
        let before = bob.balance(platform).await?;
        let key = uuid::Uuid::new_v4().to_string();
        let first = bob.order(platform, "BATON-MUG", None, Some(&key)).await?;
        let second = bob.order(platform, "BATON-MUG", None, Some(&key)).await?;
        anyhow::ensure!(
            first.0 == StatusCode::CREATED,
            "the first order failed: {first:?}"
        );
        let charged = before - bob.balance(platform).await?;
        let evidence = json!({
            "charged_minor": charged,
            "first": first.1["id"],
            "second": second.1["id"],
        });
        Ok(outcome(charged > MUG_PRICE, second.0, &evidence))
    })
}

fn order_bot(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = Buyer::bob(platform).await?;
        let (mut placed, mut limited) = (0, 0);
        let mut last = StatusCode::OK;
        for _ in 0..BOT_ORDERS {
            let (status, _) = bob.order(platform, "BATON-STICKERS", None, None).await?;
            last = status;
            match status {
                StatusCode::CREATED => placed += 1,
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                other => anyhow::bail!("the bot's order answered {other}"),
            }
        }
        let evidence = json!({ "placed": placed, "refused_429": limited });
        Ok(outcome(placed == BOT_ORDERS, last, &evidence))
    })
}

/// The same bot, sending every order at once: each finds the limit not yet reached when it
/// counts, so only the insert that holds the limit (one transaction per buyer) can refuse the
/// ones past it. It succeeds if every order is placed.
fn order_bot_all_at_once(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let bob = Buyer::bob(platform).await?;
        let mut orders = tokio::task::JoinSet::new();
        for _ in 0..BOT_ORDERS {
            let request = platform
                .http
                .post(format!("{}/v1/orders", platform.gateway_url))
                .bearer_auth(&bob.token)
                .json(&json!({
                    "account_id": bob.account,
                    "items": [{ "sku": "BATON-STICKERS", "quantity": 1 }],
                }));
            orders.spawn(async move { request.send().await.map(|answer| answer.status()) });
        }
        let (mut placed, mut limited) = (0, 0);
        while let Some(done) = orders.join_next().await {
            match done?? {
                StatusCode::CREATED => placed += 1,
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                other => anyhow::bail!("the bot's order answered {other}"),
            }
        }
        let evidence =
            json!({ "sent_at_once": BOT_ORDERS, "placed": placed, "refused_429": limited });
        let last = if limited > 0 {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::CREATED
        };
        Ok(outcome(placed == BOT_ORDERS, last, &evidence))
    })
}

/// Whether orders' request arrives at `canary` within [`CANARY_WAIT`].
async fn reached(canary: &CanaryHandle) -> bool {
    canary.wait_for(1, CANARY_WAIT).await
}

/// A canary on `ip` with a certificate for that address: the internal service an SSRF would
/// reach. Its port, and what it receives.
async fn canary_on(platform: &TestPlatform, ip: IpAddr) -> anyhow::Result<(u16, CanaryHandle)> {
    let (addr, handle) = platform.canary(ip, &[&ip.to_string()]).await?;
    Ok((addr.port(), handle))
}

/// Places an order notifying `url`; succeeded if it was accepted and orders' request reached
/// `canary`.
async fn webhook_attack(
    platform: &TestPlatform,
    url: &str,
    canary: &CanaryHandle,
) -> anyhow::Result<Outcome> {
    let bob = Buyer::bob(platform).await?;
    let (status, body) = bob
        .order(platform, "BATON-STICKERS", Some(url), None)
        .await?;
    let accepted = status == StatusCode::CREATED;
    let reached = accepted && reached(canary).await;
    let evidence = json!({ "notify_url": url, "accepted": accepted, "internal_target_reached": reached, "answer": body });
    Ok(outcome(accepted && reached, status, &evidence))
}

fn webhook_at_ipv4_loopback(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (port, canary) = canary_on(platform, Ipv4Addr::LOCALHOST.into()).await?;
        let url = format!("https://127.0.0.1:{port}/hook");
        webhook_attack(platform, &url, &canary).await
    })
}

fn webhook_at_ipv6_loopback(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (port, canary) = canary_on(platform, Ipv6Addr::LOCALHOST.into()).await?;
        let url = format!("https://[::1]:{port}/hook");
        webhook_attack(platform, &url, &canary).await
    })
}

fn webhook_at_metadata(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let url = format!("https://{METADATA_ADDRESS}/latest/meta-data/iam/security-credentials/");
        webhook_attack(platform, &url, &platform.metadata).await
    })
}

fn webhook_name_resolving_inside(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // The test kit's orders resolves `internal.baton.test` to 127.0.0.1, as an attacker's
        // DNS would answer for a name they own.
        let (addr, canary) = platform
            .canary(Ipv4Addr::LOCALHOST.into(), &["internal.baton.test"])
            .await?;
        let url = format!("https://internal.baton.test:{}/hook", addr.port());
        webhook_attack(platform, &url, &canary).await
    })
}

fn webhook_redirecting_inside(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // The supplier's open redirect stands in for the attacker's server. In a one-machine
        // test its address is loopback too, so the guard refuses the first hop already; with
        // the guard off, the redirect is what carries orders to the canary.
        let (port, canary) = canary_on(platform, Ipv6Addr::LOCALHOST.into()).await?;
        let target = format!("https://[::1]:{port}/hook");
        let url = format!("{}/v1/redirect?to={target}", platform.supplier_url);
        webhook_attack(platform, &url, &canary).await
    })
}

fn webhook_public_host_redirecting_to_metadata(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // The first hop is a host the operator allow-listed, at a public address: the address
        // check passes it. Only the refusal to follow its redirect stands between orders and
        // the metadata service.
        let metadata =
            format!("https://{METADATA_ADDRESS}/latest/meta-data/iam/security-credentials/");
        platform
            .public_webhook
            .answer_with(Answer::RedirectTo(metadata));
        let url = format!("https://{PUBLIC_WEBHOOK_HOST}/orders");
        let bob = Buyer::bob(platform).await?;
        let (status, body) = bob
            .order(platform, "BATON-STICKERS", Some(&url), None)
            .await?;
        anyhow::ensure!(
            status == StatusCode::CREATED,
            "the order failed: {status} {body}"
        );
        anyhow::ensure!(
            reached(&platform.public_webhook).await,
            "orders never delivered to the permitted host, so the redirect was never offered"
        );
        // Following a redirect happens right after the first answer; give it as long.
        let followed = reached(&platform.metadata).await;
        let evidence = json!({
            "notify_url": url,
            "first_hop_delivered": true,
            "metadata_reached": followed,
        });
        Ok(outcome(followed, status, &evidence))
    })
}

/// Switches the supplier to `mode` and orders one mug; the answer, the time it took and what
/// Bob was charged.
async fn order_from_malicious_supplier(
    platform: &TestPlatform,
    mode: Mode,
) -> anyhow::Result<(StatusCode, Value, Duration, i64)> {
    let bob = Buyer::bob(platform).await?;
    let before = bob.balance(platform).await?;
    platform.supplier.set_mode(mode);
    let started = Instant::now();
    let (status, body) = bob.order(platform, "BATON-MUG", None, None).await?;
    let took = started.elapsed();
    platform.supplier.set_mode(Mode::Honest);
    let charged = before - bob.balance(platform).await?;
    Ok((status, body, took, charged))
}

/// Succeeded if the order went through at a price other than the catalogue's.
async fn priced_by_supplier(platform: &TestPlatform, mode: Mode) -> anyhow::Result<Outcome> {
    let (status, body, _, charged) = order_from_malicious_supplier(platform, mode).await?;
    let evidence = json!({ "mode": mode.name(), "charged_minor": charged, "answer": body });
    Ok(outcome(
        status == StatusCode::CREATED && charged != MUG_PRICE,
        status,
        &evidence,
    ))
}

fn supplier_absurd_price(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(priced_by_supplier(platform, Mode::AbsurdPrice))
}

fn supplier_wrong_types(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(priced_by_supplier(platform, Mode::WrongTypes))
}

fn supplier_huge_body(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (status, body, _, charged) =
            order_from_malicious_supplier(platform, Mode::HugeBody).await?;
        // What the attacker wants is orders reading megabytes from a third party to price one
        // mug: measured by what the supplier got to send, not by the order alone.
        let sent = platform.supplier.huge_body_sent();
        let read_whole = sent >= HUGE_BODY_BYTES as u64;
        let refused = status == StatusCode::BAD_GATEWAY
            && body["type"] == "urn:baton:problem:bad-supplier-answer"
            && !read_whole;
        let evidence = json!({ "status": status.as_u16(), "bytes_sent": sent,
                               "body_bytes": HUGE_BODY_BYTES, "charged_minor": charged,
                               "answer": body });
        Ok(judge(
            read_whole && status == StatusCode::CREATED,
            refused,
            &evidence,
        ))
    })
}

fn supplier_slow_drip(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let (status, body, took, charged) =
            order_from_malicious_supplier(platform, Mode::SlowDrip).await?;
        let evidence =
            json!({ "took_ms": took.as_millis() as u64, "charged_minor": charged, "answer": body });
        Ok(outcome(took >= HELD_HOSTAGE, status, &evidence))
    })
}

fn supplier_redirect(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        // The supplier's redirect points at the cloud metadata address (its default); the test
        // kit's canary stands in for that address. A client that follows the redirect does so
        // before orders answers, so there is nothing to wait for.
        let (status, body, _, charged) =
            order_from_malicious_supplier(platform, Mode::RedirectToInternal).await?;
        let reached = platform.metadata.hits() > 0;
        let evidence =
            json!({ "internal_target_reached": reached, "charged_minor": charged, "answer": body });
        Ok(outcome(reached, status, &evidence))
    })
}
