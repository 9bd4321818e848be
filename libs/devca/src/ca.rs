//! A root CA, an intermediate CA, and the leaves they issue.
//!
//! Keys are ECDSA P-256. The root signs only the intermediate and lives a year; the intermediate
//! signs the leaves and lives a week (it is re-issued when it gets close to its end); leaves live
//! an hour by default. Nothing here lives forever.

use std::path::Path;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use time::OffsetDateTime;

const ROOT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
const INTERMEDIATE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// An intermediate with less than this left is replaced when the CA is loaded.
const INTERMEDIATE_MIN_REMAINING: Duration = Duration::from_secs(24 * 3600);
/// Certificates are valid from a little in the past, so a peer whose clock is slightly behind
/// does not refuse a certificate issued a moment ago.
const BACKDATE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("CA files: {0}")]
    Io(#[from] std::io::Error),
    #[error("`{0}` is not a valid SPIFFE path segment")]
    Name(String),
}

/// An issued SVID, as PEM: the leaf followed by the intermediate, its key, and the trust bundle.
#[derive(Clone)]
pub struct Svid {
    pub chain_pem: String,
    pub key_pem: String,
    pub bundle_pem: String,
}

impl std::fmt::Debug for Svid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Svid").finish_non_exhaustive()
    }
}

/// What to put in a leaf. [`LeafSpec::workload`] is what the platform uses; the other fields
/// exist so tests can make the certificates an attacker would bring (expired, two URI SANs,
/// another trust domain, a CA as a leaf).
#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub uri_sans: Vec<String>,
    /// How long before now the validity starts.
    pub backdate: Duration,
    /// How long the validity lasts, from its start (shorter than `backdate`: already expired).
    pub lifetime: Duration,
    pub is_ca: bool,
}

impl LeafSpec {
    /// An SVID for `name` in `trust_domain`: one URI SAN, not a CA, valid for `lifetime` from now.
    pub fn workload(trust_domain: &str, name: &str, lifetime: Duration) -> Self {
        Self {
            uri_sans: vec![format!("spiffe://{trust_domain}/{name}")],
            lifetime: lifetime + BACKDATE,
            backdate: BACKDATE,
            is_ca: false,
        }
    }
}

/// The development CA.
pub struct DevCa {
    trust_domain: String,
    root_pem: String,
    intermediate_pem: String,
    intermediate: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa")
            .field("trust_domain", &self.trust_domain)
            .finish_non_exhaustive()
    }
}

fn validity(params: &mut CertificateParams, backdate: Duration, lifetime: Duration) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - backdate;
    params.not_after = now + lifetime;
}

fn ca_params(
    common_name: &str,
    lifetime: Duration,
    path_len: u8,
) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "Baton development CA");
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, BACKDATE, lifetime);
    Ok(params)
}

impl DevCa {
    /// A new root and intermediate, held in memory (the test kit's CA).
    pub fn generate(trust_domain: &str) -> Result<Self, CaError> {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let root_params = ca_params("Baton root", ROOT_LIFETIME, 1)?;
        let root_pem = root_params.self_signed(&root_key)?.pem();
        let root = Issuer::new(root_params, root_key);
        Self::with_new_intermediate(trust_domain, root_pem, &root).map(|(ca, _)| ca)
    }

    fn with_new_intermediate(
        trust_domain: &str,
        root_pem: String,
        root: &Issuer<'_, KeyPair>,
    ) -> Result<(Self, String), CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let params = ca_params("Baton intermediate", INTERMEDIATE_LIFETIME, 0)?;
        let intermediate_pem = params.signed_by(&key, root)?.pem();
        let key_pem = key.serialize_pem();
        let ca = Self {
            trust_domain: trust_domain.to_owned(),
            root_pem,
            intermediate_pem,
            intermediate: Issuer::new(params, key),
        };
        Ok((ca, key_pem))
    }

    /// Loads the CA kept in `dir`, creating it on first use and replacing an intermediate that
    /// is close to its end. Keys are written readable by the owner only.
    pub fn load_or_create(dir: &Path, trust_domain: &str) -> Result<Self, CaError> {
        std::fs::create_dir_all(dir)?;
        let (root_cert, root_key) = (dir.join("root.pem"), dir.join("root_key.pem"));
        if !root_cert.exists() || !root_key.exists() {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            let params = ca_params("Baton root", ROOT_LIFETIME, 1)?;
            crate::files::write_private(&root_key, &key.serialize_pem())?;
            crate::files::write_atomic(&root_cert, &params.self_signed(&key)?.pem())?;
        }
        let root_pem = std::fs::read_to_string(&root_cert)?;
        let root = Issuer::from_ca_cert_pem(
            &root_pem,
            KeyPair::from_pem(&std::fs::read_to_string(&root_key)?)?,
        )?;
        let (inter_cert, inter_key) = (
            dir.join("intermediate.pem"),
            dir.join("intermediate_key.pem"),
        );
        if let Some(ca) = Self::load_intermediate(trust_domain, &root_pem, &inter_cert, &inter_key)?
        {
            return Ok(ca);
        }
        let (ca, key_pem) = Self::with_new_intermediate(trust_domain, root_pem, &root)?;
        crate::files::write_private(&inter_key, &key_pem)?;
        crate::files::write_atomic(&inter_cert, &ca.intermediate_pem)?;
        Ok(ca)
    }

    fn load_intermediate(
        trust_domain: &str,
        root_pem: &str,
        cert: &Path,
        key: &Path,
    ) -> Result<Option<Self>, CaError> {
        if !cert.exists() || !key.exists() {
            return Ok(None);
        }
        let pem = std::fs::read_to_string(cert)?;
        let issuer =
            Issuer::from_ca_cert_pem(&pem, KeyPair::from_pem(&std::fs::read_to_string(key)?)?)?;
        let remaining = crate::files::remaining_validity(&pem);
        if remaining.is_none_or(|left| left < INTERMEDIATE_MIN_REMAINING) {
            return Ok(None);
        }
        Ok(Some(Self {
            trust_domain: trust_domain.to_owned(),
            root_pem: root_pem.to_owned(),
            intermediate_pem: pem,
            intermediate: issuer,
        }))
    }

    pub fn trust_domain(&self) -> &str {
        &self.trust_domain
    }

    /// The trust bundle: the root certificate, PEM.
    pub fn bundle_pem(&self) -> &str {
        &self.root_pem
    }

    /// An SVID for the workload `name`, living `lifetime`.
    pub fn issue(&self, name: &str, lifetime: Duration) -> Result<Svid, CaError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid {
            return Err(CaError::Name(name.to_owned()));
        }
        self.issue_leaf(&LeafSpec::workload(&self.trust_domain, name, lifetime))
    }

    /// A leaf exactly as `spec` says. Every SVID also names `localhost` and `127.0.0.1`, so
    /// curl can reach a component on a laptop; the SPIFFE ID is what the platform checks.
    pub fn issue_leaf(&self, spec: &LeafSpec) -> Result<Svid, CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for uri in &spec.uri_sans {
            params
                .subject_alt_names
                .push(SanType::URI(uri.as_str().try_into()?));
        }
        params
            .subject_alt_names
            .push(SanType::DnsName("localhost".try_into()?));
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params.is_ca = if spec.is_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = OffsetDateTime::now_utc() - spec.backdate;
        params.not_after = params.not_before + spec.lifetime;
        let leaf = params.signed_by(&key, &self.intermediate)?;
        Ok(Svid {
            chain_pem: format!("{}{}", leaf.pem(), self.intermediate_pem),
            key_pem: key.serialize_pem(),
            bundle_pem: self.root_pem.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::pem::parse_x509_pem;

    #[test]
    fn a_workload_svid_has_exactly_one_spiffe_uri_and_is_not_a_ca() {
        let ca = DevCa::generate("baton.local").expect("a CA");
        let svid = ca
            .issue("orders", Duration::from_secs(3600))
            .expect("an SVID");
        let (_, pem) = parse_x509_pem(svid.chain_pem.as_bytes()).expect("PEM");
        let cert = pem.parse_x509().expect("X.509");
        let uris: Vec<_> = cert
            .subject_alternative_name()
            .expect("SAN parses")
            .expect("SAN present")
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                x509_parser::extensions::GeneralName::URI(uri) => Some(uri.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(uris, ["spiffe://baton.local/orders"]);
        assert!(!cert.is_ca());
        let lifetime =
            cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert_eq!(lifetime, 3600 + 60);
    }

    #[test]
    fn names_that_are_not_path_segments_are_refused() {
        let ca = DevCa::generate("baton.local").expect("a CA");
        assert!(ca.issue("../root", Duration::from_secs(60)).is_err());
        assert!(ca.issue("", Duration::from_secs(60)).is_err());
    }

    #[test]
    fn a_ca_kept_on_disk_is_loaded_not_replaced() {
        let dir = tempfile_dir();
        let first = DevCa::load_or_create(&dir, "baton.local").expect("created");
        let second = DevCa::load_or_create(&dir, "baton.local").expect("loaded");
        assert_eq!(first.bundle_pem(), second.bundle_pem());
        assert_eq!(first.intermediate_pem, second.intermediate_pem);
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("baton-devca-{}", std::process::id()))
    }
}
