//! The accounts service's policy decision point: its actions, and how an account becomes a
//! Cedar resource.
//!
//! In the request's journey this is the last check before an account is shown or debited: the
//! token has been verified, the scope checked, the account loaded from storage; now the policy in
//! `policy/policies.cedar` decides. The policy files are compiled into the binary (so a service
//! always has a policy), and can be overridden from a directory that is then watched for changes.

use baton_platform::Control;
use baton_policy::{Action, Actor, Policy, PolicyText, Resource};
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
    /// `frozen-account-is-not-spent-from` or `money-moves-only-for-orders`).
    pub fn may_spend(&self, principal: &Principal, account: &Account) -> bool {
        self.policy.allows_actor(
            Control::ServiceBola,
            &self.moving_money(principal),
            SPEND,
            &resource(account),
        )
    }

    /// Whether `principal` may freeze or unfreeze `account` (`admin-runs-the-back-office`).
    pub fn may_freeze(&self, principal: &Principal, account: &Account) -> bool {
        self.function_level(principal, FREEZE, account)
    }

    /// Whether `principal` may deposit into `account` (`admin-runs-the-back-office`).
    pub fn may_deposit(&self, principal: &Principal, account: &Account) -> bool {
        self.function_level(principal, DEPOSIT, account)
    }

    /// Whether `principal` may refund an order into `account` (`admin-runs-the-back-office`,
    /// unless `money-moves-only-for-orders`).
    pub fn may_refund(&self, principal: &Principal, account: &Account) -> bool {
        self.policy.allows_actor(
            Control::ServiceRole,
            &self.moving_money(principal),
            REFUND,
            &resource(account),
        )
    }

    /// The caller as the policies that move money see it: with the delegation chain its token
    /// carries, which `money-moves-only-for-orders` reads; without it only when lab mode has
    /// switched `accounts.delegation` off.
    fn moving_money(&self, principal: &Principal) -> Actor {
        let actor = Actor::from_principal(principal);
        if self.policy.is_on(Control::AccountsDelegation) {
            actor
        } else {
            actor.without_delegation()
        }
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
    use std::sync::LazyLock;

    use baton_policy::{PolicyError, reload};
    use baton_policy_testing::{Outcome, Table, caller, object};
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::domain::{AccountId, AccountStatus, Currency};

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

    /// The functions of docs/authorization.md's table that accounts' policy decides, each with
    /// the Guard question its domain asks.
    const DECIDED: [&str; 5] = [
        "GET /v1/accounts/{id}",
        "POST /v1/accounts/{id}/freeze",
        "POST /v1/accounts/{id}/deposits",
        "Debit",
        "Refund",
    ];
    /// Functions of accounts that no policy decides: the list is a query by owner, and opening an
    /// account makes the caller its owner.
    const UNDECIDED: [&str; 2] = ["GET /v1/accounts", "POST /v1/accounts"];

    static TABLE: LazyLock<Table> = LazyLock::new(|| Table::from_doc().unwrap());
    static GUARD: LazyLock<Guard> = LazyLock::new(|| {
        let engine = baton_policy::reload::load("accounts", &embedded(), None).unwrap();
        Guard::new(Policy::new(engine, baton_platform::Controls::enforcing()))
    });

    fn ask(guard: &Guard, function: &str, principal: &Principal, account: &Account) -> bool {
        match function {
            "GET /v1/accounts/{id}" => guard.may_see(principal, account),
            "POST /v1/accounts/{id}/freeze" => guard.may_freeze(principal, account),
            "POST /v1/accounts/{id}/deposits" => guard.may_deposit(principal, account),
            "Debit" => guard.may_spend(principal, account),
            "Refund" => guard.may_refund(principal, account),
            other => unreachable!("`{other}` is not in DECIDED"),
        }
    }

    #[test]
    fn every_function_of_accounts_in_the_table_is_looked_at() {
        TABLE
            .check_coverage("/v1/accounts", &DECIDED, &UNDECIDED)
            .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// For any caller (roles, scopes, delegation chain) and any account (theirs or not,
        /// frozen or not), accounts answers what the table says: no more, no less.
        #[test]
        fn accounts_answers_every_caller_what_the_table_says(
            function in select(&DECIDED[..]),
            caller in caller(),
            object in object(),
        ) {
            let row = TABLE.row(function).unwrap();
            let account = Account {
                id: AccountId::random(),
                owner_id: caller.owner_of(object),
                currency: Currency::Eur,
                balance_minor: 10_000,
                status: if object.frozen { AccountStatus::Frozen } else { AccountStatus::Active },
                created_at: 0,
            };
            let principal = caller.principal().unwrap();
            let answer = row.answer(&principal, || {
                Outcome::from(ask(&GUARD, function, &principal, &account))
            });
            prop_assert_eq!(answer, row.expected(&caller, object), "{:?} on {:?}", caller, account);
        }
    }
}
