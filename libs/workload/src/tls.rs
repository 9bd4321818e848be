//! rustls configurations for both ends of an internal hop, and for the gateway's public side.
//!
//! - Servers present our current SVID and require a client certificate that chains to the trust
//!   bundle (TLS 1.3 only; nothing here needs anything older). Which workload the client is comes
//!   afterwards, from its SPIFFE ID, in [`crate::peer`].
//! - Clients present our current SVID and accept a server only if its chain verifies *and* its
//!   SPIFFE ID is the workload they meant to reach. SVIDs need carry no DNS name, so the usual
//!   host-name check is replaced by that ID check, as every SPIFFE-aware TLS library does.
//!
//! The certificate and the trust bundle are read from the [`SvidSource`] on each handshake, so a
//! rotation needs no new configuration; except that a client may be pinned to one certificate
//! (see [`crate::generation`]), which it then presents on every handshake.
//!
//! Internal connections never resume a TLS session: a resumed handshake skips the certificates,
//! so a client whose SVID expired (or whose trust was withdrawn) could come back on a ticket
//! issued while it was still valid. Every internal connection is verified afresh instead; the
//! cost is one full handshake per connection, and connections are long-lived (see
//! `server::deadline` for how long).

use std::sync::Arc;

use baton_platform::Workload;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, verify_server_cert_signed_by_trust_anchor};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ParsedCertificate, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, Error, ServerConfig, SignatureScheme,
};

use crate::spiffe::SpiffeId;
use crate::svid::{Pin, SvidSource};

/// ALPN: gRPC needs HTTP/2; REST clients may speak either.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Always the current SVID, for both ends.
#[derive(Debug)]
struct CurrentSvid(Arc<SvidSource>);

impl ResolvesServerCert for CurrentSvid {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.certified_key())
    }
}

impl ResolvesClientCert for CurrentSvid {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.certified_key())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Always the one certificate a generation of clients was built for.
#[derive(Debug)]
struct PinnedSvid(Pin);

impl ResolvesClientCert for PinnedSvid {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.key().clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Client certificates verified against the current bundle.
#[derive(Debug)]
struct CurrentBundle(Arc<SvidSource>);

impl ClientCertVerifier for CurrentBundle {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.0
            .client_verifier()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0
            .client_verifier()
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0
            .client_verifier()
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.client_verifier().supported_verify_schemes()
    }
}

/// Accepts a server whose chain verifies against the current bundle and whose SPIFFE ID is
/// `expected`.
#[derive(Debug)]
struct ExpectedServer {
    source: Arc<SvidSource>,
    expected: SpiffeId,
}

impl ServerCertVerifier for ExpectedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let parsed = ParsedCertificate::try_from(end_entity)?;
        let algorithms = self.source.provider().signature_verification_algorithms.all;
        verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.source.roots(),
            intermediates,
            now,
            algorithms,
        )?;
        let id = SpiffeId::from_svid(end_entity, self.source.trust_domain())
            .map_err(|err| Error::General(format!("server is not a valid SVID: {err}")))?;
        if id != self.expected {
            tracing::warn!(expected = %self.expected, presented = %id, "refused a server: wrong workload");
            return Err(Error::General(format!(
                "expected {}, the server is {id}",
                self.expected
            )));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.source.provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        let algorithms = &self.source.provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.source
            .provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn alpn() -> Vec<Vec<u8>> {
    ALPN.iter().map(|proto| proto.to_vec()).collect()
}

/// An internal listener: our SVID, client certificates required.
pub fn internal_server(source: &Arc<SvidSource>) -> Result<ServerConfig, Error> {
    let mut config = ServerConfig::builder_with_provider(source.provider().clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(CurrentBundle(source.clone())))
        .with_cert_resolver(Arc::new(CurrentSvid(source.clone())));
    config.alpn_protocols = alpn();
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// The gateway's public listener: our certificate, no client certificate asked for.
pub fn public_server(source: &Arc<SvidSource>) -> Result<ServerConfig, Error> {
    let mut config = ServerConfig::builder_with_provider(source.provider().clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(CurrentSvid(source.clone())));
    config.alpn_protocols = alpn();
    Ok(config)
}

/// A client that presents our SVID (the current one at each handshake, or always `pinned`) and
/// talks only to `peer`.
pub fn client_for(
    source: &Arc<SvidSource>,
    peer: Workload,
    pinned: Option<&Pin>,
) -> Result<ClientConfig, Error> {
    let own: Arc<dyn ResolvesClientCert> = match pinned {
        Some(pin) => Arc::new(PinnedSvid(pin.clone())),
        None => Arc::new(CurrentSvid(source.clone())),
    };
    let verifier = ExpectedServer {
        source: source.clone(),
        expected: SpiffeId::of(source.trust_domain(), peer),
    };
    let mut config = ClientConfig::builder_with_provider(source.provider().clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(own);
    config.alpn_protocols = alpn();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}
