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

    use baton_policy::reload;

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
}
