//! Name resolution for third-party connections, behind a small trait so tests can answer without
//! real DNS.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

/// What a resolution returns.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Turns a host name into addresses.
pub trait Resolve: Debug + Send + Sync {
    fn resolve<'a>(&'a self, host: &'a str) -> Resolving<'a>;
}

/// The operating system's resolver, through tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> Resolving<'a> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// Fixed answers for some names (`ORDERS_WEBHOOK_RESOLVE`), then `fallback` for the rest.
#[derive(Debug, Clone)]
pub struct StaticHosts {
    hosts: HashMap<String, Vec<IpAddr>>,
    fallback: Arc<dyn Resolve>,
}

impl StaticHosts {
    pub fn new(pairs: &[(String, IpAddr)], fallback: Arc<dyn Resolve>) -> Self {
        let mut hosts: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, ip) in pairs {
            hosts
                .entry(name.to_ascii_lowercase())
                .or_default()
                .push(*ip);
        }
        Self { hosts, fallback }
    }
}

impl Resolve for StaticHosts {
    fn resolve<'a>(&'a self, host: &'a str) -> Resolving<'a> {
        match self.hosts.get(&host.to_ascii_lowercase()) {
            Some(addrs) => {
                let addrs = addrs.clone();
                Box::pin(async move { Ok(addrs) })
            }
            None => self.fallback.resolve(host),
        }
    }
}

/// A resolver that knows no name at all: the fallback when only fixed answers may be used.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl Resolve for NoResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> Resolving<'a> {
        let err = io::Error::new(io::ErrorKind::NotFound, format!("no address for `{host}`"));
        Box::pin(async move { Err(err) })
    }
}
