//! The fake supplier, as its own process: `just up` starts it.
//!
//! ```sh
//! SUPPLIER_MODE=absurd-price cargo run -p baton-supplier
//! ```
//!
//! It listens on `SUPPLIER_LISTEN` (default `127.0.0.1:8095`), answers as `SUPPLIER_MODE` says
//! (`honest`, the default, or one of the malicious modes), and writes the certificate of its own
//! CA to `SUPPLIER_CA_FILE` (default `.baton/supplier/ca.pem`), where orders reads it.

use std::net::SocketAddr;
use std::path::PathBuf;

use baton_supplier::{Mode, Supplier};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("supplier: {err:#}");
            std::process::ExitCode::from(64)
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let setting = |key: &str, default: &str| {
        std::env::var(key)
            .ok()
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let listen: SocketAddr = setting("SUPPLIER_LISTEN", "127.0.0.1:8095").parse()?;
    let mode: Mode = setting("SUPPLIER_MODE", "honest")
        .parse()
        .map_err(|reason: String| anyhow::anyhow!("`SUPPLIER_MODE`: {reason}"))?;
    let ca_file = PathBuf::from(setting("SUPPLIER_CA_FILE", ".baton/supplier/ca.pem"));
    let supplier = Supplier::bind(listen, mode).await?;
    if let Some(folder) = ca_file.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(&ca_file, supplier.ca_pem())?;
    tracing::info!(port = supplier.port(), mode = mode.name(), ca = %ca_file.display(), "supplier listening");
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    supplier.run_until(stop).await
}
