//! SPIFFE IDs, and reading one out of a certificate by the X.509-SVID rules.
//!
//! A SPIFFE ID is `spiffe://<trust domain>/<path>`. An X.509 SVID carries it as its one and only
//! URI SAN. [`SpiffeId::from_svid`] applies the verifier rules of the SPIFFE X.509-SVID spec: the
//! leaf is not a CA, it has exactly one URI SAN, that URI is a SPIFFE ID, and its trust domain is
//! ours. The certificate chain itself is checked by rustls before this runs.

use std::fmt;

use baton_platform::{TrustDomain, Workload};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a certificate does not name a workload we can accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the certificate does not parse")]
    Unparseable,
    #[error("the leaf certificate is a CA")]
    LeafIsCa,
    #[error("expected exactly one URI SAN, found {0}")]
    UriSanCount(usize),
    #[error("`{0}` is not a SPIFFE ID")]
    NotSpiffe(String),
    #[error("`{0}` is not in our trust domain")]
    ForeignTrustDomain(String),
}

/// A parsed SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    trust_domain: String,
    path: String,
}

impl SpiffeId {
    /// Parses `spiffe://td/path` (lowercase scheme and trust domain, non-empty path segments of
    /// letters, digits, `.`, `-` and `_`).
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let not_spiffe = || IdentityError::NotSpiffe(raw.to_owned());
        let rest = raw.strip_prefix("spiffe://").ok_or_else(not_spiffe)?;
        let (trust_domain, path) = rest.split_once('/').ok_or_else(not_spiffe)?;
        let td_ok = !trust_domain.is_empty()
            && trust_domain
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        let path_ok = path.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
        if !(td_ok && path_ok) {
            return Err(not_spiffe());
        }
        Ok(Self {
            trust_domain: trust_domain.to_owned(),
            path: path.to_owned(),
        })
    }

    /// The ID of `workload` in `trust_domain`.
    pub fn of(trust_domain: &TrustDomain, workload: Workload) -> Self {
        Self {
            trust_domain: trust_domain.as_str().to_owned(),
            path: workload.name().to_owned(),
        }
    }

    /// Reads the SPIFFE ID of a leaf certificate (DER), by the X.509-SVID verifier rules.
    pub fn from_svid(leaf_der: &[u8], trust_domain: &TrustDomain) -> Result<Self, IdentityError> {
        let (_, cert) =
            X509Certificate::from_der(leaf_der).map_err(|_| IdentityError::Unparseable)?;
        if cert.is_ca() {
            return Err(IdentityError::LeafIsCa);
        }
        let uris: Vec<&str> = cert
            .subject_alternative_name()
            .map_err(|_| IdentityError::Unparseable)?
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::URI(uri) => Some(*uri),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let [uri] = uris.as_slice() else {
            return Err(IdentityError::UriSanCount(uris.len()));
        };
        let id = Self::parse(uri)?;
        if id.trust_domain != trust_domain.as_str() {
            return Err(IdentityError::ForeignTrustDomain((*uri).to_owned()));
        }
        Ok(id)
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}/{}", self.trust_domain, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_parse_and_print_back() {
        let id = SpiffeId::parse("spiffe://baton.local/orders").expect("parses");
        assert_eq!(id.to_string(), "spiffe://baton.local/orders");
    }

    fn leaf_der(spec: &baton_devca::LeafSpec) -> Vec<u8> {
        let ca = baton_devca::DevCa::generate("baton.local").expect("a CA");
        let svid = ca.issue_leaf(spec).expect("a leaf");
        let (_, pem) = x509_parser::pem::parse_x509_pem(svid.chain_pem.as_bytes()).expect("PEM");
        pem.contents
    }

    fn spec(uris: &[&str], is_ca: bool) -> baton_devca::LeafSpec {
        baton_devca::LeafSpec {
            uri_sans: uris.iter().map(|uri| (*uri).to_owned()).collect(),
            is_ca,
            ..baton_devca::LeafSpec::workload(
                "baton.local",
                "x",
                std::time::Duration::from_secs(60),
            )
        }
    }

    #[test]
    fn an_svid_yields_its_id_and_anything_else_is_refused_by_the_svid_rules() {
        let td = TrustDomain::default();
        let id = SpiffeId::from_svid(
            &leaf_der(&spec(&["spiffe://baton.local/orders"], false)),
            &td,
        );
        assert_eq!(
            id.map(|id| id.to_string()).ok().as_deref(),
            Some("spiffe://baton.local/orders")
        );
        let cases = [
            (spec(&[], false), IdentityError::UriSanCount(0)),
            (
                spec(&["spiffe://baton.local/a", "spiffe://baton.local/b"], false),
                IdentityError::UriSanCount(2),
            ),
            (
                spec(&["spiffe://baton.local/orders"], true),
                IdentityError::LeafIsCa,
            ),
            (
                spec(&["spiffe://evil.example/orders"], false),
                IdentityError::ForeignTrustDomain("spiffe://evil.example/orders".to_owned()),
            ),
            (
                spec(&["https://baton.local/orders"], false),
                IdentityError::NotSpiffe("https://baton.local/orders".to_owned()),
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(SpiffeId::from_svid(&leaf_der(&spec), &td), Err(expected));
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        for raw in [
            "https://baton.local/orders",
            "spiffe://baton.local",
            "spiffe://baton.local/",
            "spiffe://Baton.local/orders",
            "spiffe://baton.local/../root",
            "spiffe://baton.local/a//b",
            "spiffe:///orders",
            "spiffe://baton.local/orders?x=1",
        ] {
            assert!(SpiffeId::parse(raw).is_err(), "{raw}");
        }
    }
}
