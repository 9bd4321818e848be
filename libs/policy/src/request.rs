//! The three things every decision is about: who (the [`Actor`]), doing what (the [`Action`]),
//! to which object (the [`Resource`]).
//!
//! The actor is built from the verified token only, the resource from the service's own storage
//! only. That split is the whole defence against broken object-level authorization: the owner a
//! policy compares with is the one the database holds, never an id the client put in a body.
//!
//! In Cedar terms: the actor becomes a `User` entity whose parents are its `Role` entities (so a
//! policy says `principal in Role::"admin"`), the resource becomes an entity of the service's own
//! type (`Account`, `Order`, `User`) with the attributes its schema declares.

use std::collections::{HashMap, HashSet};

use baton_token::Principal;
use cedar_policy::{Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use uuid::Uuid;

/// The entity type of every user, in every service's schema.
pub const USER_TYPE: &str = "User";
/// The entity type of a role; users are members of their roles.
pub const ROLE_TYPE: &str = "Role";

/// An action a service's schema declares, such as `read` or `freeze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action(&'static str);

impl Action {
    /// An action by its name in the schema. Services keep one `const` per action, so a typo is a
    /// compile error in the service and a validation error at start-up, never a silent deny.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    pub fn name(self) -> &'static str {
        self.0
    }

    pub(crate) fn uid(self) -> Option<EntityUid> {
        uid("Action", self.0)
    }
}

/// The caller, as the verified token describes them: the user, their roles, and (exchange mode)
/// the workloads acting for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    id: Uuid,
    roles: Vec<&'static str>,
    /// The delegation chain by workload name (`orders`, `gateway`), the current actor first;
    /// empty in E2E mode. Policies see it as `context.actors`.
    delegation: Vec<String>,
}

impl Actor {
    /// The actor for a verified principal: their id, their roles and the chain of workloads
    /// acting for them, nothing the client sent.
    pub fn from_principal(principal: &Principal) -> Self {
        Self {
            id: principal.user_id(),
            roles: principal.roles().map(|role| role.name()).collect(),
            delegation: principal
                .actors()
                .iter()
                .map(|spiffe_id| workload_name(spiffe_id))
                .collect(),
        }
    }

    /// The same actor with no delegation chain, as an E2E-mode token has none. LAB MODE ONLY:
    /// accounts shows its policies this when `accounts.delegation` is off, so that a chain that
    /// never passed through orders moves money.
    pub fn without_delegation(mut self) -> Self {
        self.delegation.clear();
        self
    }

    /// The request context every policy may read: `{ actors: Set<String> }`.
    pub(crate) fn context(&self) -> Option<Context> {
        let actors = self
            .delegation
            .iter()
            .map(|name| RestrictedExpression::new_string(name.clone()));
        Context::from_pairs([("actors".to_owned(), RestrictedExpression::new_set(actors))]).ok()
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    pub(crate) fn uid(&self) -> Option<EntityUid> {
        user_uid(self.id)
    }

    /// The `User` entity and one `Role` entity per role (roles have no attributes).
    pub(crate) fn entities(&self) -> Option<Vec<Entity>> {
        let roles = self
            .roles
            .iter()
            .map(|role| uid(ROLE_TYPE, role))
            .collect::<Option<HashSet<EntityUid>>>()?;
        let mut entities: Vec<Entity> = roles
            .iter()
            .map(|role| Entity::new_no_attrs(role.clone(), HashSet::new()))
            .collect();
        entities.push(Entity::new_no_attrs(self.uid()?, roles));
        Some(entities)
    }
}

/// The object of a decision, built from what the service loaded from its own storage.
#[derive(Debug, Clone)]
pub struct Resource {
    type_name: &'static str,
    id: String,
    attrs: HashMap<String, RestrictedExpression>,
}

impl Resource {
    /// A resource of the schema's entity type `type_name` (for example `Account`).
    pub fn new(type_name: &'static str, id: impl Into<String>) -> Self {
        Self {
            type_name,
            id: id.into(),
            attrs: HashMap::new(),
        }
    }

    /// The stored owner, as a `User` entity reference: what `resource.owner == principal` tests.
    pub fn owner(self, owner: Uuid) -> Self {
        match user_uid(owner) {
            Some(owner) => self.attr("owner", RestrictedExpression::new_entity_uid(owner)),
            // Leaving `owner` out makes the entity fail schema validation: a deny.
            None => self,
        }
    }

    /// A true/false fact about the stored object, such as `frozen`.
    pub fn flag(self, name: &str, value: bool) -> Self {
        self.attr(name, RestrictedExpression::new_bool(value))
    }

    /// A text fact about the stored object, such as `status`.
    pub fn text(self, name: &str, value: impl Into<String>) -> Self {
        self.attr(name, RestrictedExpression::new_string(value.into()))
    }

    fn attr(mut self, name: &str, value: RestrictedExpression) -> Self {
        self.attrs.insert(name.to_owned(), value);
        self
    }

    /// For the decision log: `Account::"…"`.
    pub fn label(&self) -> String {
        format!("{}::\"{}\"", self.type_name, self.id)
    }

    pub(crate) fn uid(&self) -> Option<EntityUid> {
        uid(self.type_name, &self.id)
    }

    pub(crate) fn entity(&self) -> Option<Entity> {
        Entity::new(self.uid()?, self.attrs.clone(), HashSet::new()).ok()
    }
}

/// `spiffe://baton.local/orders` → `orders`. The STS writes only its own trust domain's workloads
/// into `act`, so the name is enough for a policy, and keeps policies free of the trust domain.
fn workload_name(spiffe_id: &str) -> String {
    spiffe_id
        .strip_prefix("spiffe://")
        .and_then(|rest| rest.split_once('/'))
        .map_or_else(|| spiffe_id.to_owned(), |(_, path)| path.to_owned())
}

fn user_uid(id: Uuid) -> Option<EntityUid> {
    uid(USER_TYPE, &id.hyphenated().to_string())
}

/// An entity uid from a type name we wrote and an id. Type names are constants in our code, so
/// `None` is a programming error; the engine answers it with a deny, never with an allow.
fn uid(type_name: &str, id: &str) -> Option<EntityUid> {
    let type_name = type_name.parse::<EntityTypeName>().ok()?;
    Some(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}

#[cfg(test)]
impl Actor {
    /// An actor without a token, for the engine's own tests.
    pub(crate) fn for_test(id: Uuid, roles: &[&'static str]) -> Self {
        Self {
            id,
            roles: roles.to_vec(),
            delegation: Vec::new(),
        }
    }

    /// The same actor, with workloads acting for them.
    pub(crate) fn acted_on_by(mut self, workloads: &[&str]) -> Self {
        self.delegation = workloads.iter().map(|w| (*w).to_owned()).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_spiffe_id_becomes_its_workload_name() {
        assert_eq!(
            super::workload_name("spiffe://baton.local/orders"),
            "orders"
        );
        assert_eq!(super::workload_name("not-a-spiffe-id"), "not-a-spiffe-id");
    }
}
