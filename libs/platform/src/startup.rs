//! What can stop a component from starting.

use crate::config::ConfigError;
use crate::db::DbError;

/// Why `Application::build` failed. Binaries print it and exit non-zero.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("could not bind the listener: {0}")]
    Bind(#[from] std::io::Error),
    /// Production mode, on a database that still holds demo users or clients: their passwords,
    /// TOTP seeds and secrets are published, so serving with them would let anyone in.
    #[error(
        "{component} refuses to start in production: its database still holds demo data ({}), \
         whose credentials are published. Remove it with `baton-{component} {}` under the same \
         configuration, then start again",
        found.join(", "),
        crate::demo::REMOVE_COMMAND
    )]
    DemoDataInProduction {
        component: &'static str,
        /// What was found, in words (`demo user alice`).
        found: Vec<String>,
    },
    #[error("{what}: {source}")]
    Other {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StartupError {
    /// Wraps any other error with a short description of what was being set up.
    pub fn other(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Other {
            what,
            source: Box::new(source),
        }
    }
}
