//! What a listener reads from a certificate besides its SPIFFE ID: when it stops being valid, and
//! its RFC 8705 thumbprint.
//!
//! rustls checks a certificate's validity once, at the handshake. A connection that outlives the
//! certificate it was opened with would go on speaking for an identity nobody vouches for any
//! more, so [`crate::server`] gives each connection a deadline no later than the `notAfter` of
//! both certificates on it; this module reads that `notAfter`.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_platform::CertThumbprint;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The end of a DER certificate's validity (`notAfter`), or `None` if it does not parse.
///
/// The listener only asks this of certificates rustls has already verified, so `None` does not
/// happen in practice; the caller then closes at the connection's maximum age alone.
pub fn not_after(der: &[u8]) -> Option<SystemTime> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let seconds = certificate.validity().not_after.timestamp();
    // A `notAfter` before 1970 is already over: the epoch is as good as any past instant.
    let seconds = u64::try_from(seconds).unwrap_or(0);
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// The RFC 8705 thumbprint (`x5t#S256`) of a DER certificate: what a bound token's `cnf` names.
pub fn thumbprint_of(der: &[u8]) -> CertThumbprint {
    CertThumbprint(URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::*;

    #[test]
    fn not_after_is_read_to_the_second_and_garbage_has_none() {
        let ca = baton_devca::DevCa::generate("baton.local").expect("a CA");
        let svid = ca
            .issue("users", Duration::from_secs(600))
            .expect("an SVID");
        let leaf = CertificateDer::pem_slice_iter(svid.chain_pem.as_bytes())
            .next()
            .expect("a leaf")
            .expect("parses");
        let left = not_after(&leaf)
            .expect("a notAfter")
            .duration_since(SystemTime::now())
            .expect("in the future");
        assert!(left > Duration::from_secs(598) && left <= Duration::from_secs(600));
        assert_eq!(not_after(b"not a certificate"), None);
    }
}
