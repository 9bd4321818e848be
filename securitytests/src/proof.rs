//! Running an attack with its controls on, off one at a time, and all off.

use baton_platform::{Control, TrustMode};
use baton_testkit::TestPlatform;

use crate::attacks::{Attack, Outcome};

/// What an attack did under each configuration.
#[derive(Debug)]
pub struct Proof {
    pub attack: &'static str,
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
    /// are off.
    ///
    /// An attack with no controls is one Baton refuses by construction, with no vulnerable code
    /// path to switch to (a request type that has no `role` field cannot be talked into setting
    /// one). Such an attack is proven by being blocked, and the report says it has no switch.
    pub fn holds(&self) -> bool {
        self.all_on.is_blocked()
            && self.one_off.iter().all(|(_, outcome)| outcome.is_blocked())
            && self
                .all_off
                .as_ref()
                .is_none_or(|outcome| !outcome.is_blocked())
    }
}

/// Runs `attack` against a fresh platform per configuration.
pub async fn prove(attack: &Attack) -> anyhow::Result<Proof> {
    let all_on = run(attack, &[]).await?;
    let mut one_off = Vec::new();
    if attack.controls.len() > 1 {
        for control in attack.controls {
            one_off.push((*control, run(attack, &[*control]).await?));
        }
    }
    let all_off = if attack.controls.is_empty() {
        None
    } else {
        Some(run(attack, attack.controls).await?)
    };
    Ok(Proof {
        attack: attack.name,
        all_on,
        one_off,
        all_off,
    })
}

async fn run(attack: &Attack, disabled: &[Control]) -> anyhow::Result<Outcome> {
    let mut builder = TestPlatform::builder().lab_disable(disabled.iter().copied());
    if crate::exchange::NEEDS_EXCHANGE_MODE.contains(&attack.name) {
        builder = builder.trust_mode(TrustMode::Exchange);
    }
    let platform = builder.spawn().await?;
    (attack.run)(&platform).await
}
