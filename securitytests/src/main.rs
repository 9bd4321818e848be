//! `just attack`: runs every attack in the catalogue against in-process platforms, proves each
//! both ways, and prints a report per OWASP API risk. Exits non-zero if any proof fails.
//!
//! ```sh
//! just attack            # or: cargo run -p baton-securitytests --bin baton-attack
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use baton_securitytests::{Attack, Outcome, catalogue, prove};

#[tokio::main]
async fn main() -> ExitCode {
    let mut by_risk: BTreeMap<_, Vec<Attack>> = BTreeMap::new();
    for attack in catalogue() {
        by_risk.entry(attack.risk).or_default().push(attack);
    }
    let (mut proven, mut failed) = (0, 0);
    for (risk, attacks) in by_risk {
        println!("\n{risk}  ({})", risk.name_2019());
        for attack in attacks {
            let controls: Vec<_> = attack.controls.iter().map(|c| c.name()).collect();
            match prove(&attack).await {
                Ok(proof) if proof.holds() => {
                    proven += 1;
                    println!("  PROVEN  {}  [{}]", attack.name, controls.join(" + "));
                    println!("          on: {}", describe(&proof.all_on));
                    match &proof.all_off {
                        Some(outcome) => println!("          off: {}", describe(outcome)),
                        None => println!("          off: (no lab switch: refused by construction)"),
                    }
                }
                Ok(proof) => {
                    failed += 1;
                    println!(
                        "  FAILED  {}  [{}]\n{proof:#?}",
                        attack.name,
                        controls.join(" + ")
                    );
                }
                Err(err) => {
                    failed += 1;
                    println!("  ERROR   {}: {err:#}", attack.name);
                }
            }
        }
    }
    println!("\n{proven} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Blocked(evidence) => format!("blocked ({evidence})"),
        Outcome::Succeeded(evidence) => format!("succeeded ({evidence})"),
    }
}
