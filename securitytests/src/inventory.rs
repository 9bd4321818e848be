//! Improper inventory (OWASP API9): an old API version left running is an API nobody patches.
//! Baton's `/v0` is retired at the gateway: every path under it answers 410 Gone and reaches no
//! service. There is no lab switch: no `/v0` code exists to switch back on.

use baton_platform::demo::ALICE;
use baton_testkit::TestPlatform;
use reqwest::StatusCode;

use crate::attacks::{Attack, AttackFuture, Modes, Outcome, answer};
use crate::risk::OwaspRisk;

/// The inventory attacks, for the catalogue.
pub fn catalogue() -> Vec<Attack> {
    vec![Attack {
        name: "a call to the retired /v0 API",
        risk: OwaspRisk::Api9Inventory,
        controls: &[],
        modes: Modes::BOTH,
        settings: &[],
        run: retired_version,
    }]
}

fn retired_version(platform: &TestPlatform) -> AttackFuture<'_> {
    Box::pin(async move {
        let alice = platform.login(ALICE).await?;
        let mut evidence = Vec::new();
        let mut reached = false;
        for path in ["/v0/accounts", "/v0/users/me", "/v0/orders"] {
            let response = platform
                .http
                .get(format!("{}{path}", platform.gateway_url))
                .bearer_auth(&alice)
                .send()
                .await?;
            let (status, body) = answer(response).await?;
            reached |= status != StatusCode::GONE;
            evidence.push(format!("{path}: {status} {}", body["title"]));
        }
        let evidence = evidence.join("; ");
        Ok(if reached {
            Outcome::Succeeded(evidence)
        } else {
            Outcome::Blocked(evidence)
        })
    })
}
