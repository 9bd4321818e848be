//! The supplier's own certificate authority: a stand-in for the public web PKI.
//!
//! A real supplier has a certificate from a public CA, and orders trusts the public roots. Here a
//! fresh CA is made at start-up and its certificate written where orders reads its trust bundle
//! (`ORDERS_SUPPLIER_CA_FILE`). It is deliberately not Baton's development CA: the supplier is
//! outside the trust domain, so nothing it holds could pass for a workload certificate.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};

/// How long the CA and the supplier's certificate live: a day, since both are made at start-up.
const LIFETIME: Duration = Duration::days(1);

/// A CA that issues server certificates for whatever names a fake third party answers to.
///
/// The supplier's own certificate is for `localhost`, `127.0.0.1` and `::1`; a [`crate::Canary`]
/// standing in for a public host gets one for that host's name or address, so orders verifies it
/// exactly as it would verify the real host.
#[derive(Clone)]
pub struct ThirdPartyCa {
    ca_pem: String,
    issuer: Arc<Issuer<'static, KeyPair>>,
}

impl std::fmt::Debug for ThirdPartyCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThirdPartyCa").finish_non_exhaustive()
    }
}

impl ThirdPartyCa {
    pub fn generate() -> anyhow::Result<Self> {
        let now = OffsetDateTime::now_utc();
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "Baton fake public CA (third parties)");
        ca_params.distinguished_name = name;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = now - Duration::minutes(1);
        ca_params.not_after = now + LIFETIME;
        let ca_pem = ca_params.self_signed(&ca_key)?.pem();
        Ok(Self {
            ca_pem,
            issuer: Arc::new(Issuer::new(ca_params, ca_key)),
        })
    }

    /// The CA certificate, PEM: what a client trusts.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A TLS server configuration presenting the supplier's certificate (for `localhost`,
    /// `127.0.0.1` and `::1`); no client certificates.
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        self.server_config_for(&["localhost", "127.0.0.1", "::1"])
    }

    /// A TLS server configuration presenting a fresh certificate for `names`: DNS names, or IP
    /// addresses written as `std` parses them.
    pub fn server_config_for(&self, names: &[&str]) -> anyhow::Result<Arc<ServerConfig>> {
        let now = OffsetDateTime::now_utc();
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut leaf = CertificateParams::new(Vec::<String>::new())?;
        for name in names {
            leaf.subject_alt_names.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into()?),
            });
        }
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.not_before = now - Duration::minutes(1);
        leaf.not_after = now + LIFETIME;
        let chain = vec![leaf.signed_by(&leaf_key, &self.issuer)?.der().clone()];
        let key = PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
