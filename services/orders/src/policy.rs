//! The orders service's policy decision point: its actions, and how an order becomes a Cedar
//! resource.
//!
//! In the request's journey this is the last check before an order is shown: the token has been
//! verified, the scope checked, the order loaded from storage; now the policy in
//! `policy/policies.cedar` decides. The policy files are compiled into the binary, and can be
//! overridden from a directory (`BATON_POLICY_DIR`) that is then watched for changes.

use baton_platform::Control;
use baton_policy::{Action, Policy, PolicyText, Resource};
use baton_token::Principal;

use crate::domain::Order;

/// See an order.
pub const READ: Action = Action::new("read");
/// Refund an order (back office).
pub const REFUND: Action = Action::new("refund");

/// The policies this binary was built with.
pub fn embedded() -> PolicyText {
    PolicyText {
        schema: include_str!("../policy/schema.cedarschema").to_owned(),
        policies: include_str!("../policy/policies.cedar").to_owned(),
    }
}

/// An order as the policy sees it: its id, its stored buyer and its status.
pub fn resource(order: &Order) -> Resource {
    Resource::new("Order", order.id.to_string())
        .owner(order.buyer_id)
        .text("status", order.status.as_str())
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

    /// Whether `principal` may see `order` (`buyer-reads-own-order`, `support-reads-any-order`,
    /// `admin-reads-any-order`). Skipped only when lab mode has switched `service.bola` off.
    pub fn may_see(&self, principal: &Principal, order: &Order) -> bool {
        self.policy
            .allows(Control::ServiceBola, principal, READ, &resource(order))
    }

    /// Whether `principal` may refund `order` (`admin-refunds-orders`): a function-level check,
    /// skipped only when lab mode has switched `service.role` off.
    pub fn may_refund(&self, principal: &Principal, order: &Order) -> bool {
        self.policy
            .allows(Control::ServiceRole, principal, REFUND, &resource(order))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use baton_policy::reload;

    use super::*;

    #[test]
    fn the_embedded_policies_validate_against_the_schema() {
        assert!(reload::load("orders", &embedded(), None).is_ok());
    }

    #[test]
    fn the_policy_directory_in_the_repository_is_the_embedded_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
        assert_eq!(PolicyText::read_dir(&dir).ok(), Some(embedded()));
    }
}
