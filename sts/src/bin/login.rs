//! `baton-login <user> [--gateway URL]`: logs a demo user in through the gateway and prints the
//! opaque access token, so `curl -H "Authorization: Bearer $(just token alice)" …` works.
//!
//! It computes the TOTP code from the demo seed, the way an authenticator app would. Demo users
//! exist in development mode only; this tool has no way to log anyone else in. The gateway's
//! certificate comes from the development CA, so the CA's bundle is the one root trusted:
//! `BATON_CA_BUNDLE`, by default `.baton/certs/bundle.pem` (where `just up` keeps it).

use std::process::ExitCode;

use baton_platform::demo;
use baton_sts::domain::totp;
use serde_json::{Value, json};

const DEFAULT_GATEWAY: &str = "https://127.0.0.1:8443";
const DEFAULT_CA_BUNDLE: &str = ".baton/certs/bundle.pem";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (user, gateway) = match args.as_slice() {
        [user] => (
            user.clone(),
            std::env::var("BATON_GATEWAY_URL").unwrap_or_else(|_| DEFAULT_GATEWAY.to_owned()),
        ),
        [user, flag, url] if flag == "--gateway" => (user.clone(), url.clone()),
        _ => {
            eprintln!("usage: baton-login <alice|bob|carol> [--gateway URL]");
            return ExitCode::from(64);
        }
    };
    let Some(demo_user) = demo::by_username(&user) else {
        eprintln!("baton-login: `{user}` is not a demo user (alice, bob or carol)");
        return ExitCode::from(64);
    };
    match login(&gateway, demo_user).await {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("baton-login: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn login(gateway: &str, user: demo::DemoUser) -> Result<String, String> {
    let totp_code = user.totp_seed.and_then(totp::current_code);
    let body =
        json!({ "username": user.username, "password": user.password, "totp_code": totp_code });
    let response = client()?
        .post(format!("{gateway}/v1/login"))
        .json(&body)
        .send()
        .await
        .map_err(|err| {
            format!("could not reach the gateway at {gateway}: {err} (is `just up` running?)")
        })?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .map_err(|_| format!("the gateway answered {status} without JSON"))?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "login refused ({status}): {}",
                answer["title"].as_str().unwrap_or("no detail")
            )
        })
}

/// A client trusting only the development CA (TLS 1.3 or 1.2, rustls with ring).
fn client() -> Result<reqwest::Client, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let bundle = std::env::var("BATON_CA_BUNDLE").unwrap_or_else(|_| DEFAULT_CA_BUNDLE.to_owned());
    let unreadable = |err: &dyn std::fmt::Display| {
        format!("could not read the CA bundle `{bundle}`: {err} (is `just up` running?)")
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&bundle).map_err(|err| unreadable(&err))? {
        roots
            .add(cert.map_err(|err| unreadable(&err))?)
            .map_err(|err| unreadable(&err))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .map_err(|err| err.to_string())
}
