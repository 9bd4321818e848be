//! Fault points: named places in a flow where a test can pause a component, or make it fail there
//! as if a storage call had failed or the process had died.
//!
//! "Nothing is lost" is a claim about interleavings: two retries racing, an answer lost after the
//! money moved, a crash between two writes. Hoping a test hits the right window by timing is not
//! a proof, so the flows that move money name the moments that matter
//! (`faults.reach("accounts.debit.after_lookup").await?`) and a test scripts what happens there:
//! wait until the test says go, or fail. In production nothing is scripted: [`Faults::none`] answers
//! at once, and a component's configuration never reads a script from its environment; only code
//! (the test kit) can install one.
//!
//! [`Script`] is that test-side script: per point, a queue of actions taken by the calls that
//! reach it, in order.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// What reaching a point returns.
pub type Reaching<'a> = Pin<Box<dyn Future<Output = Result<(), Injected>> + Send + 'a>>;

/// A scripted failure at a fault point: the caller behaves as if the step there had failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a fault was injected at `{0}`")]
pub struct Injected(pub &'static str);

/// What decides, at each point, whether to go on.
pub trait FaultPlan: fmt::Debug + Send + Sync {
    fn reach<'a>(&'a self, point: &'static str) -> Reaching<'a>;
}

/// The fault points of one component: none in production.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    plan: Option<Arc<dyn FaultPlan>>,
}

impl Faults {
    /// No point does anything: production.
    pub fn none() -> Self {
        Self::default()
    }

    /// Points do what `plan` says: tests.
    pub fn scripted(plan: Arc<dyn FaultPlan>) -> Self {
        Self { plan: Some(plan) }
    }

    /// Passes point `point`: at once in production; as scripted in a test.
    pub async fn reach(&self, point: &'static str) -> Result<(), Injected> {
        match &self.plan {
            None => Ok(()),
            Some(plan) => plan.reach(point).await,
        }
    }
}

/// What one call that reaches a point does.
#[derive(Debug)]
enum Action {
    /// Says it arrived, then waits until released.
    Pause(Arc<Gate>),
    /// Fails with [`Injected`].
    Fail,
}

#[derive(Debug, Default)]
struct Gate {
    /// Whether a call has arrived: a state, not an event, so a test may ask more than once.
    arrived: watch::Sender<bool>,
    open: watch::Sender<bool>,
}

/// A test's script: for each point, what the next calls that reach it do. A point with nothing
/// left in its queue lets calls pass.
#[derive(Debug, Clone, Default)]
pub struct Script {
    queues: Arc<Mutex<HashMap<&'static str, VecDeque<Action>>>>,
}

/// A pause a test controls: wait for a call to arrive, then let it go.
#[derive(Debug, Clone)]
pub struct Pause {
    gate: Arc<Gate>,
}

impl Pause {
    /// Waits until a call is paused here (at once if one already is, or was).
    pub async fn arrived(&self) {
        let mut arrived = self.gate.arrived.subscribe();
        let _ = arrived.wait_for(|arrived| *arrived).await;
    }

    /// Lets the paused call (and any later one held by this pause) go on.
    pub fn release(&self) {
        self.gate.open.send_replace(true);
    }
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next call that reaches `point` waits there until the returned pause is released.
    pub fn pause_once(&self, point: &'static str) -> Pause {
        let gate = Arc::new(Gate::default());
        self.push(point, Action::Pause(gate.clone()));
        Pause { gate }
    }

    /// The next call that reaches `point` fails there.
    pub fn fail_once(&self, point: &'static str) {
        self.push(point, Action::Fail);
    }

    /// The faults of a component that follows this script.
    pub fn faults(&self) -> Faults {
        Faults::scripted(Arc::new(self.clone()))
    }

    fn push(&self, point: &'static str, action: Action) {
        if let Ok(mut queues) = self.queues.lock() {
            queues.entry(point).or_default().push_back(action);
        }
    }

    fn next(&self, point: &'static str) -> Option<Action> {
        self.queues.lock().ok()?.get_mut(point)?.pop_front()
    }
}

impl FaultPlan for Script {
    fn reach<'a>(&'a self, point: &'static str) -> Reaching<'a> {
        let action = self.next(point);
        Box::pin(async move {
            match action {
                None => Ok(()),
                Some(Action::Fail) => {
                    tracing::warn!(point, "fault injected");
                    Err(Injected(point))
                }
                Some(Action::Pause(gate)) => {
                    let mut open = gate.open.subscribe();
                    // `notify_one` keeps the wake-up if the test is not waiting yet.
                    gate.arrived.send_replace(true);
                    let _ = open.wait_for(|open| *open).await;
                    Ok(())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn without_a_script_every_point_passes() {
        assert_eq!(Faults::none().reach("anywhere").await, Ok(()));
    }

    #[tokio::test]
    async fn a_scripted_failure_fails_the_next_call_only() {
        let script = Script::new();
        script.fail_once("step");
        let faults = script.faults();
        assert_eq!(faults.reach("step").await, Err(Injected("step")));
        assert_eq!(faults.reach("step").await, Ok(()));
        assert_eq!(faults.reach("another").await, Ok(()));
    }

    #[tokio::test]
    async fn a_pause_holds_the_first_call_until_released_and_lets_the_next_pass() {
        let script = Script::new();
        let pause = script.pause_once("step");
        let faults = script.faults();
        let held = tokio::spawn({
            let faults = faults.clone();
            async move { faults.reach("step").await }
        });
        pause.arrived().await;
        assert_eq!(faults.reach("step").await, Ok(()), "the second call passes");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!held.is_finished(), "the first is still held");
        pause.release();
        assert_eq!(held.await.ok(), Some(Ok(())));
    }
}
