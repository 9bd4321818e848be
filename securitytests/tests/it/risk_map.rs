//! `docs/owasp/risk-map.json` is what the catalogue and the code say today.

use std::path::Path;

use baton_securitytests::{catalogue, risk_map};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn every_attack_names_its_endpoint_and_every_endpoint_its_attack() {
    let names: Vec<_> = catalogue().iter().map(|attack| attack.name).collect();
    for name in &names {
        assert!(
            risk_map::endpoint_of(name).is_some(),
            "no endpoint for {name:?}"
        );
    }
    let map = risk_map::generate(root()).expect("the map is made");
    let mapped: usize = map["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .flat_map(|risk| risk["endpoints"].as_array().cloned().unwrap_or_default())
        .map(|endpoint| endpoint["attacks"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(mapped, names.len(), "every attack appears once in the map");
}

#[test]
fn every_control_an_attack_names_is_enforced_somewhere_that_exists() {
    let locations = risk_map::locations(root()).expect("the code is read");
    for attack in catalogue() {
        for control in attack.controls.iter().chain(attack.modes.exchange_adds) {
            let places = locations
                .get(control)
                .unwrap_or_else(|| panic!("no code asks about {}", control.name()));
            for place in places {
                let text = std::fs::read_to_string(root().join(&place.file))
                    .unwrap_or_else(|err| panic!("{}: {err}", place.file));
                assert!(
                    text.contains(&format!("fn {}", place.function)),
                    "{} has no function {}",
                    place.file,
                    place.function
                );
            }
        }
    }
}

#[test]
fn the_committed_risk_map_is_what_the_code_says_today() {
    let fresh =
        risk_map::render(&risk_map::generate(root()).expect("the map is made")).expect("rendered");
    let committed = std::fs::read_to_string(root().join(risk_map::PATH)).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: regenerate it with `just attack --risk-map > {}`",
        risk_map::PATH,
        risk_map::PATH
    );
}
