//! The machine-readable risk map, `docs/owasp/risk-map.json`: for every OWASP API risk (2023,
//! with its 2019 name), the endpoints attacked, the attacks on each, the controls that stand in
//! their way in each trust mode, and where in the code each control is enforced (file and
//! function).
//!
//! It is generated, never written by hand: the attacks and their controls come from the
//! catalogue, the endpoints from [`endpoint_of`], and the code locations from the source itself
//! (every `Control::…` a non-test function asks about). `baton-attack --risk-map` prints it, and
//! a test fails when the committed file differs from what the code says today, so a moved or
//! renamed function cannot leave the map pointing at nothing.
//!
//! ```sh
//! scripts/build.sh && target/debug/baton-attack --risk-map > docs/owasp/risk-map.json
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use baton_platform::Control;
use serde_json::{Value, json};

use crate::attacks::{Attack, catalogue};

/// Where the map lives, from the workspace root.
pub const PATH: &str = "docs/owasp/risk-map.json";

/// The folders whose code enforces controls (tests and the attack suite itself excluded).
const ENFORCING: &[&str] = &["gateway", "sts", "services", "libs"];
/// The registry of controls names every control; it enforces none of them.
const REGISTRY: &str = "libs/platform/src/controls.rs";

/// Where a control is asked about: a file, from the workspace root, and the function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: String,
    pub function: String,
}

/// The endpoint (method and route, or what else is attacked) each attack aims at.
pub fn endpoint_of(attack: &str) -> Option<&'static str> {
    ENDPOINTS
        .iter()
        .find(|(name, _)| *name == attack)
        .map(|(_, endpoint)| *endpoint)
}

const ENDPOINTS: &[(&str, &str)] = &[
    ("read another user's account by id", "GET /v1/accounts/{id}"),
    ("read another user's order by id", "GET /v1/orders/{id}"),
    (
        "pay for an order from another user's account",
        "POST /v1/orders",
    ),
    (
        "self-signed JWT sent through the gateway",
        "GET /v1/users/me",
    ),
    (
        "self-signed JWT sent straight to a service",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "token for another audience replayed at a service",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "expired internal token replayed at a service",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "token from another issuer",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "expired access token replayed at the gateway",
        "GET /v1/users/me",
    ),
    ("read-only token places an order", "POST /v1/orders"),
    (
        "valid token presented to a service by a workload not allowed to call it",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "a workload's certificate used past its expiry on a connection opened before",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "tell another user's order from a missing one by its answer",
        "GET /v1/orders/{id}",
    ),
    (
        "the gateway's client secret used through the public relay",
        "POST /oauth2/introspect",
    ),
    (
        "another client's refresh token introspected",
        "POST /oauth2/introspect",
    ),
    (
        "second factor read from a stolen copy of the STS database",
        "POST /oauth2/authorize",
    ),
    (
        "customer freezes another user's account",
        "POST /v1/accounts/{id}/freeze",
    ),
    (
        "customer deposits money into their own account",
        "POST /v1/accounts/{id}/deposits",
    ),
    (
        "customer refunds their own paid order",
        "POST /v1/orders/{id}/refund",
    ),
    ("customer lists every user", "GET /v1/users"),
    (
        "support refunds a customer's order",
        "POST /v1/orders/{id}/refund",
    ),
    (
        "mass-assign balance, owner and status when opening an account",
        "POST /v1/accounts",
    ),
    (
        "mass-assign email and role when updating a profile",
        "PATCH /v1/users/me",
    ),
    (
        "mass-assign status, buyer and total when placing an order",
        "POST /v1/orders",
    ),
    (
        "support reads a customer's unmasked email and phone",
        "GET /v1/users/{id}",
    ),
    (
        "responses scanned for secrets and internal fields",
        "every route",
    ),
    ("page size of a million", "GET /v1/accounts"),
    ("refresh token used twice", "POST /oauth2/token"),
    (
        "revoked token used after the documented bound",
        "POST /oauth2/revoke",
    ),
    ("PKCE downgraded to plain", "GET /oauth2/authorize"),
    (
        "redirect URI differing by one character",
        "GET /oauth2/authorize",
    ),
    (
        "stolen password with a wrong TOTP code",
        "POST /oauth2/authorize",
    ),
    ("TOTP code replayed", "POST /oauth2/authorize"),
    ("login brute force", "POST /oauth2/authorize"),
    (
        "login brute force from every address of one IPv6 /64",
        "POST /oauth2/authorize",
    ),
    (
        "second-factor codes guessed from many addresses",
        "POST /oauth2/authorize",
    ),
    (
        "second-factor codes guessed on one login",
        "POST /oauth2/authorize",
    ),
    ("request burst past the API rate limit", "GET /v1/users/me"),
    ("token endpoint flood", "POST /oauth2/token"),
    (
        "token endpoint flood under a new client id each time",
        "POST /oauth2/token",
    ),
    ("login page flood", "GET /oauth2/authorize"),
    (
        "password checks flooded past the hashing queue",
        "POST /oauth2/authorize",
    ),
    (
        "login page flood from addresses rotating within one IPv6 /64",
        "GET /oauth2/authorize",
    ),
    ("request body of 10 MB", "POST /v1/orders"),
    (
        "slowloris: a request head dripped a byte at a time",
        "every listener (the gateway's)",
    ),
    ("JSON nested 10,000 deep", "POST /v1/orders"),
    ("TRACE and other undeclared verbs", "/v1/users/me"),
    ("path traversal and encoded-slash variants", "GET /v1/users"),
    (
        "CORS preflight from a foreign origin",
        "OPTIONS /v1/accounts",
    ),
    ("answers without security headers", "GET /v1/users/me"),
    (
        "the same order submitted twice with one idempotency key",
        "POST /v1/orders",
    ),
    ("an order bot over the per-user limit", "POST /v1/orders"),
    (
        "an order bot sending all its orders at once past the per-user limit",
        "POST /v1/orders",
    ),
    ("webhook URL at 127.0.0.1", "POST /v1/orders (notify_url)"),
    (
        "webhook URL at 169.254.169.254",
        "POST /v1/orders (notify_url)",
    ),
    ("webhook URL at [::1]", "POST /v1/orders (notify_url)"),
    (
        "webhook URL whose DNS name resolves to a private address",
        "POST /v1/orders (notify_url)",
    ),
    (
        "webhook URL that redirects to an internal address",
        "POST /v1/orders (notify_url)",
    ),
    (
        "webhook URL at a permitted public host that redirects to the metadata address",
        "POST /v1/orders (notify_url)",
    ),
    (
        "malicious supplier: absurd price",
        "POST /v1/orders (the supplier's quote)",
    ),
    (
        "malicious supplier: wrong types",
        "POST /v1/orders (the supplier's quote)",
    ),
    (
        "malicious supplier: huge body",
        "POST /v1/orders (the supplier's quote)",
    ),
    (
        "malicious supplier: slow drip",
        "POST /v1/orders (the supplier's quote)",
    ),
    (
        "malicious supplier: redirect to an internal address",
        "POST /v1/orders (the supplier's quote)",
    ),
    ("JWT with alg none", "GET /v1/users/me (users, from inside)"),
    (
        "JWT signed HS256 with the STS's public key",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "JWT with a key id the STS never published",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "JWT bringing its own key in jwk, jku and x5u",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "a token of the workload type, with a user's claims, presented as the user's",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "a thousand JWTs with key ids the STS never published",
        "GET /v1/users/me (users, from inside)",
    ),
    ("a call to the retired /v0 API", "GET /v0/*"),
    (
        "refund from inside of more than the order paid",
        "gRPC accounts.v1.Accounts/Refund",
    ),
    (
        "refund from inside for an order that was never paid",
        "gRPC accounts.v1.Accounts/Refund",
    ),
    (
        "exchange mode: a token for accounts replayed at orders",
        "GET /v1/orders (orders, from inside)",
    ),
    (
        "exchange mode: a token stolen from one workload's traffic presented by another",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "exchange mode: the act chain stripped from a token",
        "GET /v1/users/me (users, from inside)",
    ),
    (
        "exchange mode: an exchange asking for wider scopes than the subject",
        "POST /oauth2/token",
    ),
    (
        "exchange mode: an exchange by an actor not allowed to reach the audience",
        "POST /oauth2/token",
    ),
    (
        "exchange mode: a debit whose delegation chain never passed through orders",
        "gRPC accounts.v1.Accounts/Debit",
    ),
];

/// Every place each control is asked about in the code under `root`, the workspace root.
pub fn locations(root: &Path) -> anyhow::Result<BTreeMap<Control, BTreeSet<Location>>> {
    let mut found: BTreeMap<Control, BTreeSet<Location>> = BTreeMap::new();
    for folder in ENFORCING {
        for file in rust_files(&root.join(folder))? {
            let relative = file
                .strip_prefix(root)?
                .to_string_lossy()
                .replace('\\', "/");
            if relative == REGISTRY || relative.contains("/tests/") {
                continue;
            }
            let text = std::fs::read_to_string(&file)?;
            for (control, function) in asked_about(&text) {
                found.entry(control).or_default().insert(Location {
                    file: relative.clone(),
                    function,
                });
            }
        }
    }
    Ok(found)
}

/// The controls `source` asks about, each with the function it is asked in. The file's tests
/// (from its first `#[cfg(test)]` on) are left out.
fn asked_about(source: &str) -> Vec<(Control, String)> {
    let mut found = Vec::new();
    let mut function = String::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        if let Some(name) = function_named(code) {
            function = name;
        }
        for control in Control::ALL {
            if mentions(code, &format!("{control:?}")) && !function.is_empty() {
                found.push((*control, function.clone()));
            }
        }
    }
    found
}

/// Whether `code` names `Control::variant` as a whole word.
fn mentions(code: &str, variant: &str) -> bool {
    let needle = format!("Control::{variant}");
    code.match_indices(&needle).any(|(at, _)| {
        !code[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The name of the function a line declares, if it declares one.
fn function_named(code: &str) -> Option<String> {
    let at = code.find("fn ")?;
    let before = &code[..at];
    let is_declaration = before.is_empty()
        || before.split_whitespace().all(|word| {
            matches!(
                word,
                "pub" | "pub(crate)" | "pub(super)" | "async" | "const" | "unsafe"
            )
        });
    if !is_declaration {
        return None;
    }
    let name: String = code[at + 3..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name != "target") {
                    folders.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The risk map of the catalogue against the code under `root`.
pub fn generate(root: &Path) -> anyhow::Result<Value> {
    let locations = locations(root)?;
    let mut attacks: Vec<Attack> = catalogue();
    attacks.sort_by_key(|attack| attack.risk);
    let mut risks: Vec<Value> = Vec::new();
    let mut by_risk: BTreeMap<_, BTreeMap<&str, Vec<Value>>> = BTreeMap::new();
    for attack in &attacks {
        let endpoint = endpoint_of(attack.name)
            .ok_or_else(|| anyhow::anyhow!("no endpoint for the attack {:?}", attack.name))?;
        let control = |control: &Control| -> anyhow::Result<Value> {
            let enforced_in = locations
                .get(control)
                .ok_or_else(|| anyhow::anyhow!("no code asks about {}", control.name()))?;
            Ok(json!({
                "control": control.name(),
                "enforced_in": enforced_in
                    .iter()
                    .map(|at| json!({ "file": at.file, "function": at.function }))
                    .collect::<Vec<_>>(),
            }))
        };
        let modes: Vec<String> = attack
            .trust_modes()
            .iter()
            .map(ToString::to_string)
            .collect();
        by_risk
            .entry(attack.risk)
            .or_default()
            .entry(endpoint)
            .or_default()
            .push(json!({
                "attack": attack.name,
                "trust_modes": modes,
                "refused_by_construction": attack.controls.is_empty()
                    && attack.modes.exchange_adds.is_empty(),
                "controls": attack.controls.iter().map(control).collect::<anyhow::Result<Vec<_>>>()?,
                "controls_added_in_exchange_mode": attack
                    .modes
                    .exchange_adds
                    .iter()
                    .map(control)
                    .collect::<anyhow::Result<Vec<_>>>()?,
            }));
    }
    for (risk, endpoints) in by_risk {
        risks.push(json!({
            "risk": risk.name(),
            "risk_2019": risk.name_2019(),
            "endpoints": endpoints
                .into_iter()
                .map(|(endpoint, attacks)| json!({ "endpoint": endpoint, "attacks": attacks }))
                .collect::<Vec<_>>(),
        }));
    }
    Ok(json!({
        "about": "Generated from the attack catalogue and the code: \
                  target/debug/baton-attack --risk-map > docs/owasp/risk-map.json",
        "risks": risks,
    }))
}

/// The map as the committed file holds it: pretty JSON with a final newline.
pub fn render(map: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(map)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_is_found_by_its_declaration_only() {
        assert_eq!(
            function_named("pub async fn refund(").as_deref(),
            Some("refund")
        );
        assert_eq!(
            function_named("fn key(&self) -> u8 {").as_deref(),
            Some("key")
        );
        assert_eq!(function_named("let f = move |x| fn_like(x);"), None);
        assert_eq!(function_named("// a fn here"), None);
    }

    #[test]
    fn a_control_is_named_as_a_whole_word() {
        assert!(mentions(
            "if controls.is_on(Control::TokenExpiry) {",
            "TokenExpiry"
        ));
        assert!(!mentions("Control::TokenExpiryLater", "TokenExpiry"));
    }

    #[test]
    fn tests_and_comments_are_not_enforcement() {
        let source = "fn enforce() {\n    // Control::TokenIssuer is described here\n    \
                      on(Control::TokenAudience);\n}\n#[cfg(test)]\nmod tests {\n    \
                      fn t() { on(Control::TokenExpiry); }\n}\n";
        let found = asked_about(source);
        assert_eq!(found, vec![(Control::TokenAudience, "enforce".to_owned())]);
    }
}
