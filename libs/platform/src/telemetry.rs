//! Structured logs with `tracing`, one line per event, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for a binary. Tests leave it alone: the test kit's components
/// log through whatever subscriber the test installed, if any.
pub fn init(component: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{component}=info,sqlx=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
