//! `baton-ca`: the development CA as a process, the way `just up` runs it.
//!
//! ```sh
//! baton-ca --dir .baton/certs --trust-domain baton.local --lifetime 3600 sts users accounts orders gateway
//! baton-ca --once ...   # issue once and exit
//! ```
//!
//! The CA's own keys live in `<dir>/ca/`; each workload's SVID in `<dir>/<name>/`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use baton_devca::DevCa;
use baton_devca::renew::{issue_all, renew_forever};

struct Args {
    dir: PathBuf,
    trust_domain: String,
    lifetime: Duration,
    once: bool,
    names: Vec<String>,
}

fn parse(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        dir: PathBuf::from(".baton/certs"),
        trust_domain: "baton.local".to_owned(),
        lifetime: Duration::from_secs(3600),
        once: false,
        names: Vec::new(),
    };
    while let Some(arg) = raw.next() {
        let mut value = |flag: &str| raw.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--dir" => args.dir = PathBuf::from(value("--dir")?),
            "--trust-domain" => args.trust_domain = value("--trust-domain")?,
            "--lifetime" => {
                let secs: u64 = value("--lifetime")?
                    .parse()
                    .map_err(|_| "--lifetime takes seconds")?;
                if secs < 10 {
                    return Err("--lifetime must be at least 10 seconds".to_owned());
                }
                args.lifetime = Duration::from_secs(secs);
            }
            "--once" => args.once = true,
            name if !name.starts_with('-') => args.names.push(name.to_owned()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if args.names.is_empty() {
        return Err("name at least one workload".to_owned());
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    baton_platform::telemetry::init("baton_ca");
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!(
                "baton-ca: {message}\nusage: baton-ca [--dir D] [--trust-domain T] [--lifetime SECS] [--once] NAME..."
            );
            return ExitCode::from(64);
        }
    };
    let ca = match DevCa::load_or_create(&args.dir.join("ca"), &args.trust_domain) {
        Ok(ca) => ca,
        Err(err) => {
            eprintln!("baton-ca: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = if args.once {
        issue_all(&ca, &args.dir, &args.names, args.lifetime)
    } else {
        tokio::select! {
            result = renew_forever(ca, args.dir, args.names, args.lifetime) => result,
            () = baton_platform::shutdown::signal() => Ok(()),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("baton-ca: {err}");
            ExitCode::FAILURE
        }
    }
}
