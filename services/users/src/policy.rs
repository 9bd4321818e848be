//! The users service's policy decision point: its actions, and how a profile becomes a Cedar
//! resource.
//!
//! In the request's journey this is the last check before a profile is read: the token has been
//! verified and the scope checked; now the policy in `policy/policies.cedar` decides. The policy
//! files are compiled into the binary, and can be overridden from a directory (`BATON_POLICY_DIR`)
//! that is then watched for changes.

use baton_platform::Control;
use baton_policy::{Action, Policy, PolicyText, Resource};
use baton_token::Principal;
use uuid::Uuid;

/// Read a profile.
pub const READ: Action = Action::new("read");
/// See a profile's email and phone unmasked.
pub const READ_CONTACT: Action = Action::new("read_contact");
/// Change a profile.
pub const UPDATE: Action = Action::new("update");
/// List every user (back office).
pub const LIST: Action = Action::new("list");

/// The policies this binary was built with.
pub fn embedded() -> PolicyText {
    PolicyText {
        schema: include_str!("../policy/schema.cedarschema").to_owned(),
        policies: include_str!("../policy/policies.cedar").to_owned(),
    }
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

    /// Whether `principal` may read the profile of user `user` (`user-reads-own-profile`,
    /// `support-reads-any-profile`, `admin-reads-any-profile`). A profile's owner is the user it
    /// describes, so this is decided before any read. Skipped only when lab mode has switched
    /// `service.bola` off.
    pub fn may_read_profile(&self, principal: &Principal, user: Uuid) -> bool {
        self.policy
            .allows(Control::ServiceBola, principal, READ, &profile(user))
    }

    /// Whether `principal` sees `user`'s contact details unmasked (the owner and admins; support
    /// sees them masked). Skipped only when lab mode has switched `service.field_masking` off.
    pub fn may_see_contact(&self, principal: &Principal, user: Uuid) -> bool {
        self.policy.allows(
            Control::ServiceFieldMasking,
            principal,
            READ_CONTACT,
            &profile(user),
        )
    }

    /// Whether `principal` may change `user`'s profile (only their own).
    pub fn may_update_profile(&self, principal: &Principal, user: Uuid) -> bool {
        self.policy
            .allows(Control::ServiceBola, principal, UPDATE, &profile(user))
    }

    /// Whether `principal` may list every user (`admin-lists-users`): a function-level check,
    /// skipped only when lab mode has switched `service.role` off.
    pub fn may_list_users(&self, principal: &Principal) -> bool {
        let directory = Resource::new("Directory", "users");
        self.policy
            .allows(Control::ServiceRole, principal, LIST, &directory)
    }
}

/// A profile as the policy sees it: its owner is the user it describes.
fn profile(user: Uuid) -> Resource {
    Resource::new("Profile", user.hyphenated().to_string()).owner(user)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::LazyLock;

    use baton_policy::reload;
    use baton_policy_testing::{Object, Outcome, Table, caller, object};
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    #[test]
    fn the_embedded_policies_validate_against_the_schema() {
        assert!(reload::load("users", &embedded(), None).is_ok());
    }

    #[test]
    fn the_policy_directory_in_the_repository_is_the_embedded_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
        assert_eq!(PolicyText::read_dir(&dir).ok(), Some(embedded()));
    }

    /// The functions of docs/authorization.md's table that users' policy decides: all of them.
    const DECIDED: [&str; 4] = [
        "GET /v1/users/me",
        "PATCH /v1/users/me",
        "GET /v1/users/{id}",
        "GET /v1/users",
    ];

    static TABLE: LazyLock<Table> = LazyLock::new(|| Table::from_doc().unwrap());
    static GUARD: LazyLock<Guard> = LazyLock::new(|| {
        let engine = baton_policy::reload::load("users", &embedded(), None).unwrap();
        Guard::new(Policy::new(engine, baton_platform::Controls::enforcing()))
    });

    /// The Guard questions the domain asks for `function` about `user`'s profile.
    fn ask(guard: &Guard, function: &str, principal: &Principal, user: Uuid) -> Outcome {
        match function {
            "GET /v1/users/me" | "GET /v1/users/{id}" => {
                // As `domain::user::profile` does: may they read it, and then the contact
                // details too?
                if !guard.may_read_profile(principal, user) {
                    Outcome::Refused
                } else if guard.may_see_contact(principal, user) {
                    Outcome::Full
                } else {
                    Outcome::Masked
                }
            }
            "PATCH /v1/users/me" => Outcome::from(guard.may_update_profile(principal, user)),
            "GET /v1/users" => Outcome::from(guard.may_list_users(principal)),
            other => unreachable!("`{other}` is not in DECIDED"),
        }
    }

    #[test]
    fn every_function_of_users_in_the_table_is_looked_at() {
        TABLE.check_coverage("/v1/users", &DECIDED, &[]).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// For any caller (roles, scopes, delegation chain) and any profile (theirs or someone
        /// else's), users answers what the table says: refused, masked or in full.
        #[test]
        fn users_answers_every_caller_what_the_table_says(
            function in select(&DECIDED[..]),
            caller in caller(),
            object in object(),
        ) {
            let row = TABLE.row(function).unwrap();
            // `/me` is always the caller's own profile.
            let object = Object { own: object.own || function.ends_with("/me"), ..object };
            let principal = caller.principal().unwrap();
            let user = caller.owner_of(object);
            let answer = row.answer(&principal, || ask(&GUARD, function, &principal, user));
            prop_assert_eq!(answer, row.expected(&caller, object), "{:?} on {}", caller, user);
        }
    }
}
