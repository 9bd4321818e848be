//! The settings every component reads the same way, so each component's own config struct holds
//! only what is its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{ConfigError, Source, SourceExt};
use crate::controls::Controls;
use crate::faults::Faults;
use crate::mode::{RunMode, TrustMode};
use crate::workload::{TrustDomain, Workload};

/// The issuer identifier the STS writes into `iss` and every verifier expects there.
pub const DEFAULT_ISSUER: &str = "https://sts.baton.local";

/// Settings shared by every component.
#[derive(Debug, Clone)]
pub struct Settings {
    pub workload: Workload,
    /// Where this component listens (`<NAME>_LISTEN`); port 0 picks a free port.
    pub listen: SocketAddr,
    pub run_mode: RunMode,
    pub trust_mode: TrustMode,
    pub controls: Controls,
    pub trust_domain: TrustDomain,
    /// The STS's issuer identifier (`BATON_ISSUER`).
    pub issuer: String,
    /// `host:port` of the STS (`STS_ADDR`), for JWKS and token calls.
    pub sts_addr: String,
    /// This component's database URL (see [`crate::db::database_url`]).
    pub database_url: String,
    /// Where development files live (`BATON_DATA_DIR`, `.baton/data`): the SQLite files, and
    /// whatever a component generates for itself in development mode.
    pub data_dir: PathBuf,
    /// A directory holding `schema.cedarschema` and `policies.cedar` that replaces the policies
    /// built into a service, and is watched for changes (`BATON_POLICY_DIR`; unset: built-in).
    pub policy_dir: Option<PathBuf>,
    /// Where the flows that move money may be paused or failed by a test ([`crate::faults`]).
    /// Never read from the environment: none in production; the test kit installs a script.
    pub faults: Faults,
}

impl Settings {
    /// Reads the shared settings for `workload`, whose listener defaults to `default_listen`.
    pub fn from_source(
        source: &dyn Source,
        workload: Workload,
        default_listen: &str,
    ) -> Result<Self, ConfigError> {
        let run_mode = RunMode::from_source(source)?;
        let data_dir = source
            .get("BATON_DATA_DIR")
            .unwrap_or_else(|| ".baton/data".to_owned());
        let listen_key = format!("{}_LISTEN", workload.name().to_ascii_uppercase());
        Ok(Self {
            workload,
            listen: source.listen_addr(&listen_key, default_listen)?,
            run_mode,
            trust_mode: TrustMode::from_source(source)?,
            controls: Controls::from_source(source, run_mode)?,
            trust_domain: TrustDomain::from_source(source)?,
            issuer: source.parse_or("BATON_ISSUER", DEFAULT_ISSUER.to_owned())?,
            sts_addr: source.parse_or("STS_ADDR", "127.0.0.1:8090".to_owned())?,
            database_url: crate::db::database_url(source, workload.name(), &data_dir),
            data_dir: PathBuf::from(data_dir),
            policy_dir: source.get("BATON_POLICY_DIR").map(PathBuf::from),
            faults: Faults::none(),
        })
    }

    /// This component's own id: its SPIFFE ID, and the audience tokens for it must name.
    pub fn own_id(&self) -> String {
        self.trust_domain.id_of(self.workload)
    }

    /// Demo data is seeded in development mode only.
    pub fn seeds_demo_data(&self) -> bool {
        !self.run_mode.is_production()
    }

    /// The start-up banner: one line that says how this process is configured.
    pub fn announce(&self, port: u16) {
        tracing::info!(
            component = self.workload.name(),
            port,
            trust_mode = %self.trust_mode,
            run_mode = ?self.run_mode,
            lab_mode = self.controls.is_lab_mode(),
            "listening"
        );
        self.controls.announce(self.workload.name());
    }
}
