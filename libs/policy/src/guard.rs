//! A service's policies as its domain asks them: each question behind its lab switch.
//!
//! Every policy question a service asks names the control it enforces (`service.bola` for whose
//! object it is, `service.role` for what a role may do, `service.field_masking` for what a role
//! may see). [`Policy::allows`] is the one place such a question is skipped, and only when lab
//! mode has switched its control off; otherwise the engine decides, deny by default.

use std::sync::Arc;

use baton_platform::{Control, Controls};
use baton_token::Principal;

use crate::engine::PolicyEngine;
use crate::request::{Action, Actor, Resource};

/// A service's policy engine, behind the lab switches.
#[derive(Debug, Clone)]
pub struct Policy {
    engine: Arc<PolicyEngine>,
    controls: Controls,
}

impl Policy {
    pub fn new(engine: Arc<PolicyEngine>, controls: Controls) -> Self {
        Self { engine, controls }
    }

    /// Whether `principal` may do `action` to `resource`. Yes without asking when lab mode has
    /// switched `control` off.
    pub fn allows(
        &self,
        control: Control,
        principal: &Principal,
        action: Action,
        resource: &Resource,
    ) -> bool {
        self.allows_actor(control, &Actor::from_principal(principal), action, resource)
    }

    /// Like [`Policy::allows`], for an actor the service made from its principal itself (accounts
    /// drops the delegation chain when lab mode switches `accounts.delegation` off).
    pub fn allows_actor(
        &self,
        control: Control,
        actor: &Actor,
        action: Action,
        resource: &Resource,
    ) -> bool {
        if !self.controls.is_on(control) {
            return true;
        }
        self.engine.decide(actor, action, resource).is_allow()
    }

    /// Whether `control` is on: for a service that shapes what its policies see.
    pub fn is_on(&self, control: Control) -> bool {
        self.controls.is_on(control)
    }
}
