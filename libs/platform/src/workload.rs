//! The workloads of the platform and their identities.
//!
//! A workload's id is its SPIFFE ID, `spiffe://<trust domain>/<name>`. Internal tokens name the
//! workloads they are for in `aud` with the same ids, so the audience a service checks and the
//! identity its certificate will prove (once workload identity lands) are one and the same.

use std::fmt;

use crate::config::{ConfigError, Source, SourceExt};

/// Every component of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    Gateway,
    Sts,
    Users,
    Accounts,
    Orders,
}

impl Workload {
    pub const SERVICES: [Workload; 3] = [Workload::Users, Workload::Accounts, Workload::Orders];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Gateway => "gateway",
            Workload::Sts => "sts",
            Workload::Users => "users",
            Workload::Accounts => "accounts",
            Workload::Orders => "orders",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The trust domain every workload id lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustDomain(String);

impl TrustDomain {
    pub const KEY: &'static str = "BATON_TRUST_DOMAIN";

    /// Reads `BATON_TRUST_DOMAIN` (default `baton.local`): lowercase letters, digits, dots,
    /// dashes and underscores, as the SPIFFE spec allows.
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let raw: String = source.parse_or(Self::KEY, "baton.local".to_owned())?;
        let valid = !raw.is_empty()
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if valid {
            Ok(Self(raw))
        } else {
            Err(ConfigError::invalid(
                Self::KEY,
                &raw,
                "not a valid SPIFFE trust domain",
            ))
        }
    }

    /// The trust domain's name, for example `baton.local`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SPIFFE ID of `workload` in this trust domain.
    pub fn id_of(&self, workload: Workload) -> String {
        format!("spiffe://{}/{}", self.0, workload.name())
    }
}

impl Default for TrustDomain {
    fn default() -> Self {
        Self("baton.local".to_owned())
    }
}

/// The certificate a workload presented on the connection a request came over, as its RFC 8705
/// thumbprint: the base64url SHA-256 of the certificate's DER (`x5t#S256`).
///
/// The TLS server attaches it to every request next to the peer's SPIFFE ID. The STS writes it
/// into the `cnf` claim of a token it issues in exchange mode; a service compares the token's
/// `cnf` with the one presented to it, so a token stolen from one workload's traffic is useless to
/// any other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertThumbprint(pub String);
