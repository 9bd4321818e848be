//! The policy engine: a validated Cedar policy set, and the one function that answers requests.
//!
//! A [`PolicyEngine`] is built from a [`PolicyText`] (schema and policies as text, embedded in the
//! service binary or read from a directory). Building it parses both, gives every policy the id
//! in its `@id("…")` annotation (so the decision log names policies the way the file does) and
//! validates the policies against the schema in strict mode. Any error stops the service's start:
//! a policy that refers to an attribute the schema does not have would otherwise deny (or allow)
//! in ways nobody wrote down.
//!
//! The current policy set sits behind an [`ArcSwap`]: a decision takes a snapshot without a lock,
//! and [`PolicyEngine::replace`] swaps in a new, already validated set without dropping requests.

use std::sync::Arc;

use arc_swap::ArcSwap;
use cedar_policy::{
    Authorizer, Entities, Policy, PolicyId, PolicySet, Request, Schema, ValidationMode, Validator,
};

use crate::request::{Action, Actor, Resource};

/// Why a policy set could not be loaded. The message names the file's problem for the operator;
/// it never reaches an API caller.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the schema does not parse: {0}")]
    Schema(String),
    #[error("the policies do not parse: {0}")]
    Parse(String),
    #[error("policy #{0} has no `@id(\"…\")` annotation; every policy must be named for the log")]
    Unnamed(usize),
    #[error("two policies share the id `{0}`")]
    DuplicateId(String),
    #[error("the policies do not validate against the schema: {0}")]
    Invalid(String),
    #[error("the policy files could not be read: {0}")]
    Io(#[from] std::io::Error),
}

/// A schema and a policy set, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyText {
    pub schema: String,
    pub policies: String,
}

impl PolicyText {
    /// The file names a policy directory holds.
    pub const SCHEMA_FILE: &'static str = "schema.cedarschema";
    pub const POLICIES_FILE: &'static str = "policies.cedar";

    /// Reads `schema.cedarschema` and `policies.cedar` from `dir`.
    pub fn read_dir(dir: &std::path::Path) -> Result<Self, PolicyError> {
        Ok(Self {
            schema: std::fs::read_to_string(dir.join(Self::SCHEMA_FILE))?,
            policies: std::fs::read_to_string(dir.join(Self::POLICIES_FILE))?,
        })
    }
}

/// The outcome of one decision. Anything but an explicit permit is a deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub fn is_allow(self) -> bool {
        self == Decision::Allow
    }
}

/// A parsed, validated policy set with the schema it was validated against.
#[derive(Debug)]
struct Loaded {
    schema: Schema,
    policies: PolicySet,
}

impl Loaded {
    fn parse(text: &PolicyText) -> Result<Self, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(&text.schema)
            .map_err(|err| PolicyError::Schema(err.to_string()))?;
        let parsed: PolicySet = text
            .policies
            .parse()
            .map_err(|err: cedar_policy::ParseErrors| PolicyError::Parse(err.to_string()))?;
        let policies = named(&parsed)?;
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errors.join("; ")));
        }
        Ok(Self { schema, policies })
    }
}

/// Re-identifies every policy by its `@id` annotation. Cedar would call them `policy0`,
/// `policy1`, …, which says nothing in a log and changes when someone inserts a policy.
fn named(parsed: &PolicySet) -> Result<PolicySet, PolicyError> {
    let mut policies = PolicySet::new();
    for (index, policy) in parsed.policies().enumerate() {
        let id = policy.annotation("id").ok_or(PolicyError::Unnamed(index))?;
        let renamed: Policy = policy.new_id(PolicyId::new(id));
        policies
            .add(renamed)
            .map_err(|_| PolicyError::DuplicateId(id.to_owned()))?;
    }
    Ok(policies)
}

/// The policy decision point of one service.
#[derive(Debug)]
pub struct PolicyEngine {
    /// Which service's policies these are, for the decision log.
    service: &'static str,
    current: ArcSwap<Loaded>,
    authorizer: Authorizer,
}

impl PolicyEngine {
    /// Parses and validates `text`; any error here must stop the service's start.
    pub fn new(service: &'static str, text: &PolicyText) -> Result<Self, PolicyError> {
        let loaded = Loaded::parse(text)?;
        tracing::info!(
            service,
            policies = loaded.policies.policies().count(),
            "policy set loaded and validated"
        );
        Ok(Self {
            service,
            current: ArcSwap::from_pointee(loaded),
            authorizer: Authorizer::new(),
        })
    }

    /// Validates `text` and, only if it passes, makes it the policy set every later decision
    /// uses. On error the old set stays in force.
    pub fn replace(&self, text: &PolicyText) -> Result<(), PolicyError> {
        let loaded = Loaded::parse(text)?;
        self.current.store(Arc::new(loaded));
        tracing::warn!(service = self.service, "policy set replaced");
        Ok(())
    }

    /// May `actor` do `action` to `resource`? Every decision is logged as a security event.
    pub fn decide(&self, actor: &Actor, action: Action, resource: &Resource) -> Decision {
        let loaded = self.current.load();
        let (decision, policies) =
            match evaluate(&self.authorizer, &loaded, actor, action, resource) {
                Ok(answer) => answer,
                Err(reason) => {
                    tracing::error!(
                        service = self.service,
                        reason,
                        "policy request malformed: deny"
                    );
                    (Decision::Deny, Vec::new())
                }
            };
        tracing::info!(
            target: "baton::security",
            security_event = "policy_decision",
            service = self.service,
            principal = %actor.id(),
            action = action.name(),
            resource = %resource.label(),
            decision = ?decision,
            policies = %policies.join(","),
            "authorization decision"
        );
        decision
    }
}

/// One Cedar evaluation. An `Err` is a request our own code built wrongly (an entity that does not
/// match the schema); the caller denies it.
fn evaluate(
    authorizer: &Authorizer,
    loaded: &Loaded,
    actor: &Actor,
    action: Action,
    resource: &Resource,
) -> Result<(Decision, Vec<String>), &'static str> {
    let (Some(principal), Some(action_uid), Some(resource_uid)) =
        (actor.uid(), action.uid(), resource.uid())
    else {
        return Err("an entity uid did not parse");
    };
    let context = actor.context().ok_or("the context did not build")?;
    let request = Request::new(
        principal,
        action_uid,
        resource_uid,
        context,
        Some(&loaded.schema),
    )
    .map_err(|_| "the request does not match the schema")?;
    let mut entities = actor.entities().ok_or("an actor entity did not build")?;
    entities.push(
        resource
            .entity()
            .ok_or("the resource entity did not build")?,
    );
    let entities = Entities::from_entities(entities, Some(&loaded.schema))
        .map_err(|_| "the entities do not match the schema")?;
    let response = authorizer.is_authorized(&request, &loaded.policies, &entities);
    let decision = match response.decision() {
        cedar_policy::Decision::Allow => Decision::Allow,
        cedar_policy::Decision::Deny => Decision::Deny,
    };
    let policies = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    Ok((decision, policies))
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    pub const READ: Action = Action::new("read");
    pub const ERASE: Action = Action::new("erase");

    const SCHEMA: &str = r#"
        entity Role;
        entity User in [Role];
        entity Document { owner: User, locked: Bool };
        type Delegation = { actors: Set<String> };
        action read, erase appliesTo { principal: User, resource: Document, context: Delegation };
    "#;

    pub fn text(policies: &str) -> PolicyText {
        PolicyText {
            schema: SCHEMA.to_owned(),
            policies: policies.to_owned(),
        }
    }

    pub fn customer() -> Actor {
        Actor::for_test(Uuid::from_u128(1), &["customer"])
    }

    pub fn document() -> Resource {
        Resource::new("Document", "d1")
            .owner(Uuid::from_u128(1))
            .flag("locked", false)
    }

    const OWNER_READS: &str = r#"
        @id("owner-reads")
        permit(principal, action == Action::"read", resource) when { resource.owner == principal };
        @id("admin-erases")
        permit(principal in Role::"admin", action == Action::"erase", resource)
        unless { resource.locked };
    "#;

    #[test]
    fn the_owner_may_read_and_the_deciding_policy_is_named() {
        let engine = PolicyEngine::new("test", &text(OWNER_READS)).unwrap();
        assert_eq!(
            engine.decide(&customer(), READ, &document()),
            Decision::Allow
        );
        let loaded = engine.current.load();
        let (_, policies) =
            evaluate(&engine.authorizer, &loaded, &customer(), READ, &document()).unwrap();
        assert_eq!(policies, ["owner-reads"]);
    }

    #[test]
    fn someone_else_may_not_read() {
        let engine = PolicyEngine::new("test", &text(OWNER_READS)).unwrap();
        let mallory = Actor::for_test(Uuid::from_u128(2), &["customer"]);
        assert_eq!(engine.decide(&mallory, READ, &document()), Decision::Deny);
    }

    #[test]
    fn roles_come_from_the_actor_and_stored_facts_from_the_resource() {
        let engine = PolicyEngine::new("test", &text(OWNER_READS)).unwrap();
        let admin = Actor::for_test(Uuid::from_u128(3), &["admin"]);
        assert!(engine.decide(&admin, ERASE, &document()).is_allow());
        assert!(!engine.decide(&customer(), ERASE, &document()).is_allow());
        let locked = document().flag("locked", true);
        assert!(!engine.decide(&admin, ERASE, &locked).is_allow());
    }

    #[test]
    fn a_resource_missing_a_schema_attribute_is_denied() {
        let engine = PolicyEngine::new("test", &text(OWNER_READS)).unwrap();
        let partial = Resource::new("Document", "d1").owner(Uuid::from_u128(1));
        assert_eq!(engine.decide(&customer(), READ, &partial), Decision::Deny);
    }

    #[test]
    fn a_policy_that_does_not_validate_stops_the_start() {
        let typo =
            r#"@id("x") permit(principal, action, resource) when { resource.ownr == principal };"#;
        assert!(matches!(
            PolicyEngine::new("test", &text(typo)),
            Err(PolicyError::Invalid(_))
        ));
    }

    #[test]
    fn an_unnamed_policy_stops_the_start() {
        let unnamed = r#"permit(principal, action, resource);"#;
        assert!(matches!(
            PolicyEngine::new("test", &text(unnamed)),
            Err(PolicyError::Unnamed(0))
        ));
    }

    #[test]
    fn an_unknown_action_is_denied_not_an_error() {
        let engine = PolicyEngine::new("test", &text(OWNER_READS)).unwrap();
        let unknown = Action::new("launch");
        assert_eq!(
            engine.decide(&customer(), unknown, &document()),
            Decision::Deny
        );
    }

    proptest! {
        /// Deny by default: with no policies, nobody may do anything to anything.
        #[test]
        fn an_empty_policy_set_denies_everything(
            id in any::<u128>(),
            owner in any::<u128>(),
            admin in any::<bool>(),
            locked in any::<bool>(),
            erase in any::<bool>(),
        ) {
            let engine = PolicyEngine::new("test", &text("")).unwrap();
            let roles: &[&'static str] = if admin { &["admin"] } else { &["customer"] };
            let actor = Actor::for_test(Uuid::from_u128(id), roles);
            let resource = Resource::new("Document", "d")
                .owner(Uuid::from_u128(owner))
                .flag("locked", locked);
            let action = if erase { ERASE } else { READ };
            prop_assert_eq!(engine.decide(&actor, action, &resource), Decision::Deny);
        }
    }

    #[test]
    fn a_policy_can_read_the_delegation_chain() {
        const ONLY_VIA_GATEWAY: &str = r#"
            @id("owner-reads")
            permit(principal, action == Action::"read", resource) when { resource.owner == principal };
            @id("only-via-the-gateway")
            forbid(principal, action, resource)
            unless { context.actors.isEmpty() || context.actors.contains("gateway") };
        "#;
        let engine = PolicyEngine::new("test", &text(ONLY_VIA_GATEWAY)).expect("valid");
        let direct = customer();
        let via_gateway = customer().acted_on_by(&["orders", "gateway"]);
        let smuggled = customer().acted_on_by(&["accounts"]);
        assert!(engine.decide(&direct, READ, &document()).is_allow());
        assert!(engine.decide(&via_gateway, READ, &document()).is_allow());
        assert!(!engine.decide(&smuggled, READ, &document()).is_allow());
    }
}
