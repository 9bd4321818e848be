//! The accounts service's policy decision point: its actions, and how an account becomes a
//! Cedar resource.
//!
//! In the request's journey this is the last check before an account is shown or debited: the
//! token has been verified, the scope checked, the account loaded from storage; now the policy in
//! `policy/policies.cedar` decides. The policy files are compiled into the binary (so a service
//! always has a policy), and can be overridden from a directory that is then watched for changes.

use baton_platform::Control;
use baton_policy::{Action, Policy, PolicyText, Resource};
use baton_token::Principal;

use crate::domain::Account;

/// See an account.
pub const READ: Action = Action::new("read");
/// Take money from an account.
pub const SPEND: Action = Action::new("spend");
/// Freeze or unfreeze an account (back office).
pub const FREEZE: Action = Action::new("freeze");
/// Put money into an account (back office).
pub const DEPOSIT: Action = Action::new("deposit");
/// Give an order's money back (back office, through orders).
pub const REFUND: Action = Action::new("refund");

/// The policies this binary was built with.
pub fn embedded() -> PolicyText {
    PolicyText {
        schema: include_str!("../policy/schema.cedarschema").to_owned(),
        policies: include_str!("../policy/policies.cedar").to_owned(),
    }
}

/// An account as the policy sees it: its id, its stored owner and whether it is frozen.
pub fn resource(account: &Account) -> Resource {
    Resource::new("Account", account.id.to_string())
        .owner(account.owner_id)
        .flag("frozen", account.is_frozen())
}

/// The questions the domain asks, each behind the lab switch that may skip it.
#[derive(Debug, Clone)]
pub struct Guard {
    policy: Policy,
}

impl Guard {
    pub fn new(policy: Policy) -> Self {
        Self { policy }
    }

    /// Whether `principal` may see `account` (`owner-reads-own-account`,
    /// `admin-reads-any-account`). Skipped only when lab mode has switched `service.bola` off.
    pub fn may_see(&self, principal: &Principal, account: &Account) -> bool {
        self.object_level(principal, READ, account)
    }

    /// Whether `principal` may take money from `account` (`owner-spends-own-account`, unless
    /// `frozen-account-is-not-spent-from`).
    pub fn may_spend(&self, principal: &Principal, account: &Account) -> bool {
        self.object_level(principal, SPEND, account)
    }

    /// Whether `principal` may freeze or unfreeze `account` (`admin-runs-the-back-office`).
    pub fn may_freeze(&self, principal: &Principal, account: &Account) -> bool {
        self.function_level(principal, FREEZE, account)
    }

    /// Whether `principal` may deposit into `account` (`admin-runs-the-back-office`).
    pub fn may_deposit(&self, principal: &Principal, account: &Account) -> bool {
        self.function_level(principal, DEPOSIT, account)
    }

    /// Whether `principal` may refund an order into `account` (`admin-runs-the-back-office`).
    pub fn may_refund(&self, principal: &Principal, account: &Account) -> bool {
        self.function_level(principal, REFUND, account)
    }

    /// Questions about whose object it is; skipped only with `service.bola` off.
    fn object_level(&self, principal: &Principal, action: Action, account: &Account) -> bool {
        self.policy
            .allows(Control::ServiceBola, principal, action, &resource(account))
    }

    /// Questions about which functions a role may use; skipped only with `service.role` off.
    fn function_level(&self, principal: &Principal, action: Action, account: &Account) -> bool {
        self.policy
            .allows(Control::ServiceRole, principal, action, &resource(account))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use baton_policy::{PolicyError, reload};

    use super::*;

    #[test]
    fn the_embedded_policies_validate_against_the_schema() {
        assert!(reload::load("accounts", &embedded(), None).is_ok());
    }

    #[test]
    fn a_policy_directory_that_does_not_validate_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let text = embedded();
        std::fs::write(dir.path().join(PolicyText::SCHEMA_FILE), &text.schema).unwrap();
        let typo = text.policies.replace("resource.owner", "resource.ownr");
        std::fs::write(dir.path().join(PolicyText::POLICIES_FILE), typo).unwrap();
        assert!(matches!(
            reload::load("accounts", &embedded(), Some(dir.path())),
            Err(PolicyError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn a_valid_policy_directory_replaces_the_embedded_policies() {
        let dir = tempfile::tempdir().unwrap();
        let text = embedded();
        std::fs::write(dir.path().join(PolicyText::SCHEMA_FILE), &text.schema).unwrap();
        std::fs::write(dir.path().join(PolicyText::POLICIES_FILE), &text.policies).unwrap();
        assert!(reload::load("accounts", &embedded(), Some(dir.path())).is_ok());
    }

    #[test]
    fn the_policy_directory_in_the_repository_is_the_embedded_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
        assert_eq!(PolicyText::read_dir(&dir).ok(), Some(embedded()));
    }
}
