//! The attack suite's report, for people and for CI: one entry per attack and trust mode, with
//! the controls that stood in its way, what happened with each switch, and the evidence.
//!
//! [`Report::write_to`] writes it three ways into one folder (`target/attack-report/` unless
//! `baton-attack --report-dir` says otherwise):
//! - `report.json`: the whole report, for tools;
//! - `junit.xml`: one test case per attack and mode, for CI test views;
//! - `report.md`: the same per OWASP risk, for reading.

use std::fmt::Write as _;
use std::path::Path;

use baton_platform::TrustMode;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::attacks::{Attack, Outcome};
use crate::proof::Proof;

/// How one attack fared in one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Blocked with its controls on, successful with them off.
    Proven,
    /// Blocked, with no lab switch that could let it through.
    RefusedByConstruction,
    /// The proof did not hold: see the outcomes.
    Failed,
    /// The platform could not be run, so nothing was learned.
    Error,
}

/// One outcome, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    pub result: &'static str,
    pub evidence: String,
}

impl From<&Outcome> for Shown {
    fn from(outcome: &Outcome) -> Self {
        let (result, evidence) = match outcome {
            Outcome::Blocked(evidence) => ("blocked", evidence),
            Outcome::Succeeded(evidence) => ("succeeded", evidence),
            Outcome::Inconclusive(evidence) => ("inconclusive", evidence),
        };
        Shown {
            result,
            evidence: evidence.clone(),
        }
    }
}

/// One attack in one mode.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub risk: &'static str,
    pub risk_2019: &'static str,
    pub attack: &'static str,
    pub trust_mode: String,
    pub controls: Vec<&'static str>,
    pub verdict: Verdict,
    /// Every control on.
    pub all_on: Option<Shown>,
    /// Each control off alone, by control name.
    pub one_off: Vec<(&'static str, Shown)>,
    /// Every control off (none for an attack refused by construction).
    pub all_off: Option<Shown>,
    /// Why the proof could not run, for [`Verdict::Error`].
    pub error: Option<String>,
}

impl Entry {
    pub fn new(attack: &Attack, mode: TrustMode, proof: anyhow::Result<Proof>) -> Entry {
        let mut entry = Entry {
            risk: attack.risk.name(),
            risk_2019: attack.risk.name_2019(),
            attack: attack.name,
            trust_mode: mode.to_string(),
            controls: attack.controls_in(mode).iter().map(|c| c.name()).collect(),
            verdict: Verdict::Error,
            all_on: None,
            one_off: Vec::new(),
            all_off: None,
            error: None,
        };
        match proof {
            Ok(proof) => {
                entry.verdict = match (proof.holds(), proof.by_construction()) {
                    (true, false) => Verdict::Proven,
                    (true, true) => Verdict::RefusedByConstruction,
                    (false, _) => Verdict::Failed,
                };
                entry.all_on = Some((&proof.all_on).into());
                entry.one_off = proof
                    .one_off
                    .iter()
                    .map(|(control, outcome)| (control.name(), outcome.into()))
                    .collect();
                entry.all_off = proof.all_off.as_ref().map(Shown::from);
            }
            Err(err) => entry.error = Some(format!("{err:#}")),
        }
        entry
    }

    pub fn passed(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Proven | Verdict::RefusedByConstruction
        )
    }
}

/// Counts over the whole report.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Totals {
    pub proven_e2e: usize,
    pub proven_exchange: usize,
    pub refused_by_construction: usize,
    pub failed: usize,
    pub errors: usize,
}

/// Every entry of one run, in catalogue order.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub totals: Totals,
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn push(&mut self, entry: Entry) {
        let totals = &mut self.totals;
        match (entry.verdict, entry.trust_mode.as_str()) {
            (Verdict::Proven, "exchange") => totals.proven_exchange += 1,
            (Verdict::Proven, _) => totals.proven_e2e += 1,
            (Verdict::RefusedByConstruction, _) => totals.refused_by_construction += 1,
            (Verdict::Failed, _) => totals.failed += 1,
            (Verdict::Error, _) => totals.errors += 1,
        }
        self.entries.push(entry);
    }

    pub fn passed(&self) -> bool {
        self.entries.iter().all(Entry::passed)
    }

    /// Writes `report.json`, `junit.xml` and `report.md` into `dir`, creating it.
    pub fn write_to(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("junit.xml"), self.junit()?)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }

    /// JUnit XML: a suite per OWASP risk, a case per attack and mode.
    pub fn junit(&self) -> anyhow::Result<String> {
        let mut report = quick_junit::Report::new("baton-attack");
        let mut suites: Vec<TestSuite> = Vec::new();
        for entry in &self.entries {
            let case = junit_case(entry);
            match suites
                .iter_mut()
                .find(|suite| suite.name.as_str() == entry.risk)
            {
                Some(suite) => {
                    suite.add_test_case(case);
                }
                None => {
                    let mut suite = TestSuite::new(entry.risk);
                    suite.add_test_case(case);
                    suites.push(suite);
                }
            }
        }
        report.add_test_suites(suites);
        Ok(report.to_string()?)
    }

    /// Markdown: per risk, a table of attack, mode, controls and outcomes.
    pub fn markdown(&self) -> String {
        let t = &self.totals;
        let mut out = String::from("# Attack report\n\n");
        let _ = writeln!(
            out,
            "Proven in E2E mode: {}. Proven in exchange mode: {}. Refused by construction: {}. \
             Failed: {}. Could not run: {}.\n",
            t.proven_e2e, t.proven_exchange, t.refused_by_construction, t.failed, t.errors
        );
        let mut risk = "";
        for entry in &self.entries {
            if entry.risk != risk {
                risk = entry.risk;
                let _ = writeln!(out, "\n## {risk}\n\n2019: {}\n", entry.risk_2019);
                out.push_str(
                    "| Attack | Mode | Controls | Verdict | Controls on | Controls off |\n",
                );
                out.push_str("|---|---|---|---|---|---|\n");
            }
            let shown = |s: &Option<Shown>| {
                s.as_ref()
                    .map(|s| format!("{}: {}", s.result, cell(&s.evidence)))
                    .unwrap_or_else(|| "-".to_owned())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:?} | {} | {} |",
                cell(entry.attack),
                entry.trust_mode,
                if entry.controls.is_empty() {
                    "(none: refused by construction)".to_owned()
                } else {
                    entry.controls.join(" + ")
                },
                entry.verdict,
                entry
                    .error
                    .as_deref()
                    .map(cell)
                    .unwrap_or_else(|| shown(&entry.all_on)),
                shown(&entry.all_off),
            );
        }
        out
    }
}

fn junit_case(entry: &Entry) -> TestCase {
    let name = format!("{} [{}]", entry.attack, entry.trust_mode);
    let status = if entry.passed() {
        TestCaseStatus::success()
    } else {
        let kind = match entry.verdict {
            Verdict::Error => NonSuccessKind::Error,
            _ => NonSuccessKind::Failure,
        };
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(match entry.verdict {
            Verdict::Error => "the platform could not be run",
            _ => "the proof does not hold",
        });
        status
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(entry.risk);
    case.add_property(quick_junit::Property::new(
        "controls",
        entry.controls.join(","),
    ));
    let details = serde_json::to_string_pretty(entry).unwrap_or_default();
    case.set_system_out(details);
    case
}

/// Text made safe for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
