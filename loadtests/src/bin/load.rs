//! `baton-load [GOOSE OPTIONS]`: the load test against a running gateway (`just load`).
//!
//! ```sh
//! just up --detach && just load && just down      # what `just load` does for you
//! cargo run -p baton-loadtests --bin baton-load -- --users 40 --run-time 2m
//! BATON_LOAD_WEIGHTS=browse=1,order=0,admin=0,storm=0 cargo run -p baton-loadtests --bin baton-load
//! ```
//!
//! Environment: `BATON_GATEWAY_URL` (default `https://127.0.0.1:8443`, or give `--host`),
//! `BATON_CA_BUNDLE` (default `.baton/certs/bundle.pem`), `BATON_LOAD_WEIGHTS` (default
//! `browse=6,order=3,admin=1,storm=1`). The defaults for Goose's own options are in
//! `baton_loadtests::attack`. Exit codes: 0 every threshold held, 1 a threshold failed or the run
//! could not run, 64 a bad option.

use std::process::ExitCode;

use baton_loadtests::attack;
use baton_loadtests::scenarios::Weights;
use baton_loadtests::target::{DEFAULT_CA_BUNDLE, DEFAULT_GATEWAY};
use goose::GooseError;
use goose::config::GooseConfiguration;

fn main() -> ExitCode {
    let env = |key: &str, default: &str| {
        std::env::var(key)
            .ok()
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let weights: Weights = match env("BATON_LOAD_WEIGHTS", "").parse() {
        Ok(weights) => weights,
        Err(why) => {
            eprintln!("baton-load: BATON_LOAD_WEIGHTS: {why}");
            return ExitCode::from(64);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        // Goose prints its own help and exits.
        let _ = GooseConfiguration::parse_args_default_or_exit();
        return ExitCode::SUCCESS;
    }
    let args = attack::with_defaults(&args, &env("BATON_GATEWAY_URL", DEFAULT_GATEWAY));
    let configuration = match GooseConfiguration::parse_args_default(&args) {
        Ok(configuration) => configuration,
        Err(GooseError::InvalidOption {
            option,
            value,
            detail,
        }) => {
            eprintln!("baton-load: {option} {value}: {detail}");
            return ExitCode::from(64);
        }
        Err(err) => {
            eprintln!("baton-load: {err}");
            return ExitCode::from(64);
        }
    };
    // A plaintext gateway (lab mode) needs no bundle.
    let plaintext = configuration
        .host
        .as_deref()
        .is_some_and(|host| host.starts_with("http://"));
    let bundle_path = env("BATON_CA_BUNDLE", DEFAULT_CA_BUNDLE);
    let bundle = match std::fs::read_to_string(&bundle_path) {
        Ok(bundle) => bundle,
        Err(_) if plaintext => String::new(),
        Err(err) => {
            eprintln!(
                "baton-load: could not read the CA bundle `{bundle_path}`: {err} (is `just up` running? set BATON_CA_BUNDLE)"
            );
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("baton-load: could not start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(attack::run(configuration, &bundle, weights)) {
        Ok(Ok(_)) => {
            println!(
                "baton-load: every threshold held; reports in {}",
                attack::REPORT_DIR
            );
            ExitCode::SUCCESS
        }
        Ok(Err(err @ GooseError::ThresholdsFailed { .. })) => {
            eprintln!("baton-load: FAILED: {err}");
            ExitCode::FAILURE
        }
        Ok(Err(err)) => {
            eprintln!("baton-load: the load test did not run: {err}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("baton-load: {err:#}");
            ExitCode::FAILURE
        }
    }
}
