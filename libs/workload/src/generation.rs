//! One certificate generation at a time: the clients a workload dials with, and whatever it holds
//! bound to its certificate, all present the same certificate.
//!
//! A token the STS binds to our certificate (exchange mode's hop tokens, orders' own workload
//! token) is accepted by the next hop only over a connection that presents that certificate. If
//! every handshake simply took the certificate current at that moment, a rotation would leave
//! each client's pool holding connections of two generations side by side (pooled connections
//! keep the certificate they opened with), and a request could fetch its token over one
//! generation and send it over the other: refused, though nobody did anything wrong.
//!
//! So a component builds its clients, and the caches of tokens bound to its certificate, as one
//! [`Generation`], pinned to the certificate current when it was built: every connection any of
//! its clients opens presents that certificate, for as long as the generation lives. A request
//! takes the current generation when it starts ([`Generations::current`]) and uses it to the
//! end. The first request after a rotation builds the next generation; the old one, its pooled
//! connections and its cached tokens go when the last request holding it finishes. Rotation is
//! long before expiry, so a request still on the old generation presents a valid certificate.
//!
//! Over plaintext (lab mode) nothing is bound and nothing rotates: there is one generation.

use std::ops::Deref;
use std::sync::{Arc, Mutex, RwLock};

use baton_platform::CertThumbprint;

use crate::svid::Pin;
use crate::{Security, Transport, TransportError};

/// How a component builds its clients from a transport pinned to one certificate.
type Build<C> = dyn Fn(&Transport) -> Result<C, TransportError> + Send + Sync;

/// A component's clients (`C`) for the certificate it presents now, rebuilt when it rotates.
pub struct Generations<C> {
    transport: Transport,
    build: Box<Build<C>>,
    current: RwLock<Arc<Generation<C>>>,
    /// Held while a new generation is built, so a rotation builds one, not one per request.
    renewing: Mutex<()>,
}

impl<C> std::fmt::Debug for Generations<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generations").finish_non_exhaustive()
    }
}

/// Clients that all present one certificate; dereferences to them.
#[derive(Debug)]
pub struct Generation<C> {
    /// The certificate they present (`None`: plaintext).
    pin: Option<Pin>,
    clients: C,
}

impl<C> Generation<C> {
    /// The thumbprint of the certificate every connection of this generation presents (`None`
    /// over plaintext): what a token fetched through it is bound to.
    pub fn certificate(&self) -> Option<&CertThumbprint> {
        self.pin.as_ref().map(Pin::thumbprint)
    }
}

impl<C> Deref for Generation<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.clients
    }
}

impl<C> Generations<C> {
    /// Builds the first generation with `build`, which must build every client from the
    /// transport it is given (pinned to one certificate), never from another.
    pub fn new(
        transport: &Transport,
        build: impl Fn(&Transport) -> Result<C, TransportError> + Send + Sync + 'static,
    ) -> Result<Self, TransportError> {
        let first = Self::built(transport, &build)?;
        Ok(Self {
            transport: transport.clone(),
            build: Box::new(build),
            current: RwLock::new(Arc::new(first)),
            renewing: Mutex::new(()),
        })
    }

    fn built(
        transport: &Transport,
        build: &(impl Fn(&Transport) -> Result<C, TransportError> + ?Sized),
    ) -> Result<Generation<C>, TransportError> {
        let pinned = transport.pinned();
        Ok(Generation {
            clients: build(&pinned)?,
            pin: pinned.pin,
        })
    }

    /// The generation for the certificate presented now: the one a request should use from start
    /// to end. Builds it if the certificate rotated since the last one; if that fails (it needs
    /// nothing that can fail once the first generation was built), the old one is kept.
    pub fn current(&self) -> Arc<Generation<C>> {
        let current = self.read();
        if self.is_current(&current) {
            return current;
        }
        let _renewing = self
            .renewing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = self.read();
        if self.is_current(&current) {
            return current;
        }
        match Self::built(&self.transport, &*self.build) {
            Ok(next) => {
                tracing::info!(
                    certificate = next.certificate().map(|c| c.0.as_str()),
                    "our certificate rotated: new connections and caches for it"
                );
                let next = Arc::new(next);
                *self
                    .current
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = next.clone();
                next
            }
            Err(err) => {
                tracing::error!(error = %err, "could not build clients for our new certificate; keeping the old ones");
                current
            }
        }
    }

    fn read(&self) -> Arc<Generation<C>> {
        // A poisoned lock only means a reader panicked; the value itself is always whole.
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn is_current(&self, generation: &Generation<C>) -> bool {
        match (&self.transport.security, &generation.pin) {
            (Security::Mtls(svid), Some(pin)) => svid.presents(pin),
            _ => true,
        }
    }
}
