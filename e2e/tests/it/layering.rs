//! The house keeps its floors: read from `cargo metadata`, every dependency between workspace
//! crates runs downwards (ARCHITECTURE.md draws the floors).
//!
//! - **ground**: `proto/` and `libs/`, what every component shares. They depend only on each
//!   other.
//! - **components**: `sts/`, `gateway/`, `services/*`. Each depends on the ground floor only: a
//!   component never imports another component (they meet through `proto/` and HTTP), and never a
//!   harness. Their tests may also use a fake third party.
//! - **fakes**: `fakes/*`, stand-ins for the world outside Baton. They depend on no Baton crate.
//! - **harnesses**: `testkit/`, `e2e/`, `securitytests/`, `loadtests/`, which start the whole
//!   platform. They may depend on anything below, and on each other.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Floor {
    Ground,
    Component,
    Fake,
    Harness,
}

impl Floor {
    /// The floor of a crate, from the first folder of its path in the workspace.
    fn of(relative_dir: &str) -> Option<Self> {
        match relative_dir.split('/').next()? {
            "proto" | "libs" => Some(Floor::Ground),
            "sts" | "gateway" | "services" => Some(Floor::Component),
            "fakes" => Some(Floor::Fake),
            "testkit" | "e2e" | "securitytests" | "loadtests" => Some(Floor::Harness),
            _ => None,
        }
    }

    /// Whether a crate on this floor may depend on one on `below` (`dev`: only for its tests).
    fn may_use(self, below: Floor, dev: bool) -> bool {
        match self {
            Floor::Ground => below == Floor::Ground,
            Floor::Component => below == Floor::Ground || (dev && below == Floor::Fake),
            Floor::Fake => false,
            Floor::Harness => true,
        }
    }
}

/// One workspace crate: its folder (relative to the workspace) and the workspace crates it uses,
/// each with whether only its tests do.
#[derive(Debug)]
struct Crate {
    dir: String,
    uses: Vec<(String, bool)>,
}

/// Every way `crates` break the floors, in words.
fn violations(crates: &BTreeMap<String, Crate>) -> Vec<String> {
    let mut found = Vec::new();
    for (name, krate) in crates {
        let Some(floor) = Floor::of(&krate.dir) else {
            found.push(format!("{name} ({}) is on no floor", krate.dir));
            continue;
        };
        for (used, dev) in &krate.uses {
            let Some(other) = crates.get(used) else {
                continue;
            };
            let Some(below) = Floor::of(&other.dir) else {
                continue;
            };
            let is_another_component = floor == Floor::Component && below == Floor::Component;
            if !floor.may_use(below, *dev) {
                let how = if *dev { "dev-depends" } else { "depends" };
                let why = if is_another_component {
                    "a component never imports another component"
                } else {
                    "dependencies run downwards only"
                };
                found.push(format!(
                    "{name} ({}) {how} on {used} ({}): {why}",
                    krate.dir, other.dir
                ));
            }
        }
    }
    found
}

/// The workspace's crates as `cargo metadata` describes them.
fn workspace() -> BTreeMap<String, Crate> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ is inside the workspace");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let relative = |manifest: &str| -> String {
        Path::new(manifest)
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .map(|dir| dir.display().to_string())
            .unwrap_or_else(|| manifest.to_owned())
    };
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let uses = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|dependency| dependency["path"].is_string())
                .map(|dependency| {
                    let name = dependency["name"].as_str().expect("a name").to_owned();
                    (name, dependency["kind"] == "dev")
                })
                .collect();
            let name = package["name"].as_str().expect("a name").to_owned();
            let dir = relative(package["manifest_path"].as_str().expect("a manifest"));
            (name, Crate { dir, uses })
        })
        .collect()
}

#[test]
fn every_dependency_between_workspace_crates_runs_downwards() {
    let crates = workspace();
    assert!(
        crates.len() >= 16,
        "cargo metadata listed only {} crates",
        crates.len()
    );
    let found = violations(&crates);
    assert!(
        found.is_empty(),
        "the floors do not hold:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_check_names_a_library_that_uses_a_service_and_a_service_that_uses_another() {
    let krate = |dir: &str, uses: &[(&str, bool)]| Crate {
        dir: dir.to_owned(),
        uses: uses
            .iter()
            .map(|(n, dev)| ((*n).to_owned(), *dev))
            .collect(),
    };
    let crates = BTreeMap::from([
        ("lib".to_owned(), krate("libs/lib", &[("orders", false)])),
        (
            "orders".to_owned(),
            krate("services/orders", &[("users", false), ("fake", true)]),
        ),
        (
            "users".to_owned(),
            krate("services/users", &[("lib", false)]),
        ),
        ("fake".to_owned(), krate("fakes/fake", &[])),
        ("kit".to_owned(), krate("testkit", &[("orders", false)])),
        ("stray".to_owned(), krate("tools/stray", &[])),
    ]);
    assert_eq!(
        violations(&crates),
        vec![
            "lib (libs/lib) depends on orders (services/orders): dependencies run downwards only",
            "orders (services/orders) depends on users (services/users): a component never imports another component",
            "stray (tools/stray) is on no floor",
        ]
    );
}
