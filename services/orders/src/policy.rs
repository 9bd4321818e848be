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
    use std::sync::LazyLock;

    use baton_policy::reload;
    use baton_policy_testing::{Outcome, Table, caller, object};
    use proptest::prelude::*;
    use proptest::sample::select;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{OrderId, OrderStatus};

    #[test]
    fn the_embedded_policies_validate_against_the_schema() {
        assert!(reload::load("orders", &embedded(), None).is_ok());
    }

    #[test]
    fn the_policy_directory_in_the_repository_is_the_embedded_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
        assert_eq!(PolicyText::read_dir(&dir).ok(), Some(embedded()));
    }

    /// The functions of docs/authorization.md's table that orders' policy decides.
    const DECIDED: [&str; 2] = ["GET /v1/orders/{id}", "POST /v1/orders/{id}/refund"];
    /// Functions of orders that no policy of its own decides: the list is a query by buyer, and
    /// placing an order makes the caller its buyer (the money is accounts' `spend`).
    const UNDECIDED: [&str; 2] = ["GET /v1/orders", "POST /v1/orders"];
    const STATUSES: [OrderStatus; 3] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Refunded,
    ];

    static TABLE: LazyLock<Table> = LazyLock::new(|| Table::from_doc().unwrap());
    static GUARD: LazyLock<Guard> = LazyLock::new(|| {
        let engine = baton_policy::reload::load("orders", &embedded(), None).unwrap();
        Guard::new(Policy::new(engine, baton_platform::Controls::enforcing()))
    });

    fn ask(guard: &Guard, function: &str, principal: &Principal, order: &Order) -> bool {
        match function {
            "GET /v1/orders/{id}" => guard.may_see(principal, order),
            "POST /v1/orders/{id}/refund" => guard.may_refund(principal, order),
            other => unreachable!("`{other}` is not in DECIDED"),
        }
    }

    #[test]
    fn every_function_of_orders_in_the_table_is_looked_at() {
        TABLE
            .check_coverage("/v1/orders", &DECIDED, &UNDECIDED)
            .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// For any caller (roles, scopes, delegation chain) and any order (theirs or not, in any
        /// status), orders answers what the table says: no more, no less.
        #[test]
        fn orders_answers_every_caller_what_the_table_says(
            function in select(&DECIDED[..]),
            caller in caller(),
            object in object(),
            status in select(&STATUSES[..]),
        ) {
            let row = TABLE.row(function).unwrap();
            let order = Order {
                id: OrderId::random(),
                buyer_id: caller.owner_of(object),
                account_id: Uuid::new_v4(),
                status,
                total_minor: 1_000,
                currency: "EUR".to_owned(),
                created_at: 0,
                lines: Vec::new(),
            };
            let principal = caller.principal().unwrap();
            let answer = row.answer(&principal, || {
                Outcome::from(ask(&GUARD, function, &principal, &order))
            });
            prop_assert_eq!(answer, row.expected(&caller, object), "{:?} on {:?}", caller, order);
        }
    }
}
