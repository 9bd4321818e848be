//! The claims of an internal token, as the STS writes them and every service reads them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The `typ` header of a user's internal token. Every JWT the STS signs is explicitly typed
/// (RFC 8725 §3.11), and a verifier accepts one type only: a user's token can never pass for a
/// workload's ([`WORKLOAD_TOKEN_TYPE`]), nor the other way round.
pub const USER_TOKEN_TYPE: &str = "JWT";

/// The `typ` header of a workload's own token ([`crate::workload`]): one that speaks for a
/// service, with no user behind it.
pub const WORKLOAD_TOKEN_TYPE: &str = "baton-workload+jwt";

/// The claims of an internal JWT (RFC 7519 registered claims plus Baton's own).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The STS that minted the token.
    pub iss: String,
    /// The user's id (a UUID).
    pub sub: String,
    /// The workloads this token is for. A service accepts it only if its own id is here.
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    /// A unique id for this token, for audit logs and (later) replay detection.
    pub jti: String,
    /// Space-separated OAuth scopes (RFC 8693 §4.2).
    pub scope: String,
    /// The user's roles, by name.
    #[serde(default)]
    pub roles: Vec<String>,
    pub preferred_username: String,
    /// Exchange mode: the workload that asked for this token, and the chain of workloads before
    /// it (RFC 8693 §4.1). The outermost `act` is the current actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Act>,
    /// Exchange mode: who may exchange this token onward (RFC 8693 §4.4); only its audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_act: Option<Act>,
    /// Exchange mode: the certificate the token is bound to (RFC 8705 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// One link of a delegation chain: a workload (by SPIFFE ID) acting for the subject, and the
/// actor before it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Act {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Act>>,
}

impl Act {
    /// A chain with `actor` in front of `earlier`.
    pub fn new(actor: String, earlier: Option<Act>) -> Self {
        Self {
            sub: actor,
            act: earlier.map(Box::new),
        }
    }

    /// The chain from the current actor back to the first, as SPIFFE IDs.
    pub fn chain(&self) -> Vec<String> {
        let mut chain = vec![self.sub.clone()];
        let mut next = self.act.as_deref();
        while let Some(link) = next {
            chain.push(link.sub.clone());
            next = link.act.as_deref();
        }
        chain
    }
}

/// The `cnf` claim: the certificate a token is bound to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    /// base64url SHA-256 of the certificate's DER.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
}

impl Claims {
    /// The scopes, as a set.
    pub fn scopes(&self) -> BTreeSet<String> {
        self.scope.split_whitespace().map(str::to_owned).collect()
    }
}

/// A role a user can hold. Unknown role names in a token are ignored, never guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Customer,
    /// Reads customers' orders and masked profile data to answer their questions; changes nothing.
    Support,
    Admin,
}

impl Role {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "customer" => Some(Role::Customer),
            "support" => Some(Role::Support),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    /// The scopes the STS grants a user holding this role: what the role's functions need, and
    /// nothing more. A scope says which API a token may call; the services' policies still decide
    /// which objects, so `orders:read` lets support look up any order but a customer only their own.
    pub fn scopes(self) -> &'static [&'static str] {
        use scope::*;
        const CUSTOMER: &[&str] = &[
            USERS_READ,
            USERS_WRITE,
            ACCOUNTS_READ,
            ACCOUNTS_WRITE,
            ORDERS_READ,
            ORDERS_WRITE,
        ];
        match self {
            Role::Customer => CUSTOMER,
            // Support answers questions: it reads, and changes nothing.
            Role::Support => &[USERS_READ, ORDERS_READ],
            Role::Admin => &[
                USERS_READ,
                USERS_ADMIN,
                ACCOUNTS_READ,
                ACCOUNTS_ADMIN,
                ORDERS_READ,
                ORDERS_ADMIN,
            ],
        }
    }
}

/// The scopes Baton's APIs are guarded by.
pub mod scope {
    /// Read profiles: one's own, or (support, admin) other people's as the policy allows.
    pub const USERS_READ: &str = "users:read";
    /// Change one's own profile.
    pub const USERS_WRITE: &str = "users:write";
    /// Back office: list every user.
    pub const USERS_ADMIN: &str = "users:admin";
    pub const ACCOUNTS_READ: &str = "accounts:read";
    /// Open an account of one's own.
    pub const ACCOUNTS_WRITE: &str = "accounts:write";
    /// Back office: freeze and unfreeze accounts, deposit money.
    pub const ACCOUNTS_ADMIN: &str = "accounts:admin";
    /// Settle what became of an order's debit, or learn whether its refund was made. A workload
    /// scope: only orders' own token carries it (never a user's), and it is good for
    /// `Accounts/Settle` and `Accounts/RefundState` alone.
    pub const ACCOUNTS_SETTLE: &str = "accounts:settle";
    pub const ORDERS_READ: &str = "orders:read";
    /// Place orders.
    pub const ORDERS_WRITE: &str = "orders:write";
    /// Back office: refund orders.
    pub const ORDERS_ADMIN: &str = "orders:admin";
}
