//! Running an attack in one trust mode with its controls on, off one at a time, and all off.

use baton_platform::{Control, TrustMode};
use baton_testkit::TestPlatform;

use crate::attacks::{Attack, Outcome};

/// What an attack did under each configuration, in one trust mode.
#[derive(Debug)]
pub struct Proof {
    pub attack: &'static str,
    pub mode: TrustMode,
    /// What stood in its way in this mode.
    pub controls: Vec<Control>,
    /// Every control on.
    pub all_on: Outcome,
    /// Each control off alone (only for attacks that need several mistakes).
    pub one_off: Vec<(Control, Outcome)>,
    /// Every control of the attack off; `None` for an attack no lab switch can let through (see
    /// [`Proof::holds`]).
    pub all_off: Option<Outcome>,
}

impl Proof {
    /// The attack is blocked whenever any of its controls is on, and succeeds only when all
    /// are off. A platform that fails instead of refusing (a 5xx) proves nothing, so it fails
    /// the proof either way.
    ///
    /// An attack with no controls is one Baton refuses by construction, with no vulnerable code
    /// path to switch to (a request type that has no `role` field cannot be talked into setting
    /// one). Such an attack is proven by being blocked, and the report counts it apart.
    pub fn holds(&self) -> bool {
        self.all_on.is_blocked()
            && self.one_off.iter().all(|(_, outcome)| outcome.is_blocked())
            && self.all_off.as_ref().is_none_or(Outcome::is_success)
    }

    /// Refused by construction: no lab switch opens a path for it.
    pub fn by_construction(&self) -> bool {
        self.all_off.is_none()
    }
}

/// Runs `attack` in `mode` against a fresh platform per configuration.
pub async fn prove(attack: &Attack, mode: TrustMode) -> anyhow::Result<Proof> {
    anyhow::ensure!(
        attack.runs_in(mode),
        "{:?} is not an attack on {mode} mode",
        attack.name
    );
    let controls = attack.controls_in(mode);
    let all_on = run(attack, mode, &[]).await?;
    let mut one_off = Vec::new();
    if controls.len() > 1 {
        for control in &controls {
            one_off.push((*control, run(attack, mode, &[*control]).await?));
        }
    }
    let all_off = if controls.is_empty() {
        None
    } else {
        Some(run(attack, mode, &controls).await?)
    };
    Ok(Proof {
        attack: attack.name,
        mode,
        controls,
        all_on,
        one_off,
        all_off,
    })
}

async fn run(attack: &Attack, mode: TrustMode, disabled: &[Control]) -> anyhow::Result<Outcome> {
    let mut builder = TestPlatform::builder()
        .trust_mode(mode)
        .lab_disable(disabled.iter().copied());
    for (key, value) in attack.settings {
        builder = builder.with_setting(key, *value);
    }
    let platform = builder.spawn().await?;
    (attack.run)(&platform).await
}
