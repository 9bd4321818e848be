//! `just attack`: proves every attack in the catalogue in each trust mode it applies to, against
//! in-process platforms, prints what happened per OWASP API risk, and writes the report as JSON,
//! JUnit XML and Markdown (see [`baton_securitytests::report`]). Exits non-zero if any proof
//! fails or cannot run.
//!
//! ```sh
//! just attack                                # or: cargo run -p baton-securitytests --bin baton-attack
//! just attack --report-dir /tmp/attacks      # where the report goes (default target/attack-report)
//! just attack --only "refresh token"         # only attacks whose name contains the text
//! just attack --risk-map > docs/owasp/risk-map.json   # print the risk map instead (from the repo root)
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use baton_securitytests::report::{Entry, Report, Shown, Verdict};
use baton_securitytests::{Attack, catalogue, prove, risk_map};
use tokio::sync::Semaphore;

/// Proofs run side by side: each starts its own platforms on random ports.
const AT_ONCE: usize = 4;

struct Args {
    report_dir: PathBuf,
    only: Option<String>,
    risk_map: bool,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        report_dir: PathBuf::from("target/attack-report"),
        only: None,
        risk_map: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--report-dir" => {
                parsed.report_dir = args.next().ok_or("--report-dir needs a folder")?.into();
            }
            "--only" => parsed.only = Some(args.next().ok_or("--only needs a text")?),
            "--risk-map" => parsed.risk_map = true,
            "-h" | "--help" => {
                return Err(
                    "usage: baton-attack [--report-dir DIR] [--only TEXT] | --risk-map".to_owned(),
                );
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if args.risk_map {
        return match risk_map::generate(Path::new(".")).and_then(|map| risk_map::render(&map)) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("could not make the risk map (run from the repository's root): {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut attacks: Vec<Attack> = catalogue()
        .into_iter()
        .filter(|attack| {
            args.only
                .as_deref()
                .is_none_or(|text| attack.name.contains(text))
        })
        .collect();
    attacks.sort_by_key(|attack| attack.risk);

    let at_once = Arc::new(Semaphore::new(AT_ONCE));
    let mut runs = Vec::new();
    for attack in &attacks {
        for mode in attack.trust_modes() {
            let (attack, at_once) = (*attack, at_once.clone());
            runs.push(tokio::spawn(async move {
                let _turn = at_once.acquire_owned().await;
                Entry::new(&attack, mode, prove(&attack, mode).await)
            }));
        }
    }
    let mut report = Report::default();
    let mut risk = "";
    for run in runs {
        let entry = match run.await {
            Ok(entry) => entry,
            Err(err) => {
                eprintln!("a proof panicked: {err}");
                return ExitCode::FAILURE;
            }
        };
        if entry.risk != risk {
            risk = entry.risk;
            println!("\n{risk}  [2019: {}]", entry.risk_2019);
        }
        print_entry(&entry);
        report.push(entry);
    }
    let t = &report.totals;
    println!(
        "\nproven: {} in e2e mode, {} in exchange mode; refused by construction: {}; \
         failed: {}; could not run: {}",
        t.proven_e2e, t.proven_exchange, t.refused_by_construction, t.failed, t.errors
    );
    match report.write_to(&args.report_dir) {
        Ok(()) => println!("report: {}", args.report_dir.display()),
        Err(err) => {
            eprintln!(
                "could not write the report to {}: {err:#}",
                args.report_dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_entry(entry: &Entry) {
    let label = match entry.verdict {
        Verdict::Proven => "PROVEN ",
        Verdict::RefusedByConstruction => "REFUSED",
        Verdict::Failed => "FAILED ",
        Verdict::Error => "ERROR  ",
    };
    println!(
        "  {label} {} [{}]  ({})",
        entry.attack,
        entry.trust_mode,
        entry.controls.join(" + ")
    );
    let show = |what: &str, shown: &Option<Shown>| {
        if let Some(shown) = shown {
            println!("          {what}: {} ({})", shown.result, shown.evidence);
        }
    };
    show("on", &entry.all_on);
    for (control, shown) in &entry.one_off {
        show(&format!("{control} off alone"), &Some(shown.clone()));
    }
    match (&entry.all_off, entry.verdict) {
        (_, Verdict::RefusedByConstruction) => {
            println!("          off: (no lab switch: refused by construction)");
        }
        (all_off, _) => show("off", all_off),
    }
    if let Some(error) = &entry.error {
        println!("          error: {error}");
    }
}
