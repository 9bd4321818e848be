//! `baton-login <user> [--gateway URL]`: logs a demo user in through the gateway and prints the
//! opaque access token, so `curl -H "Authorization: Bearer $(just token alice)" …` works.
//!
//! It runs the real authorization-code flow with PKCE as the public client `baton-cli`: it fills
//! in the STS's login form, computes the TOTP code from the demo seed the way an authenticator app
//! would, reads the code from the redirect and redeems it (see `baton_sts::login_client`). A code
//! is accepted only once; logging the same user in twice within 30 s uses the next step's code,
//! and if that was spent too it waits for a fresh one. Demo users exist in development mode only;
//! this tool has no way to log anyone else in. The gateway's certificate comes from the
//! development CA, so the CA's bundle is the one root trusted: `BATON_CA_BUNDLE`, by default
//! `.baton/certs/bundle.pem` (where `just up` keeps it).

use std::process::ExitCode;

use baton_platform::demo;
use baton_sts::domain::totp;
use baton_sts::login_client::LoginClient;

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
            eprintln!("usage: baton-login <user> [--gateway URL]");
            return ExitCode::from(64);
        }
    };
    let Some(demo_user) = demo::by_username(&user) else {
        eprintln!("baton-login: `{user}` is not a demo user");
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
    let http = client()?;
    let codes = |seed: Option<&str>| -> Vec<String> {
        seed.into_iter()
            .flat_map(|seed| [totp::current_code(seed), totp::next_code(seed)])
            .flatten()
            .collect()
    };
    let first = LoginClient::new(http.clone(), gateway)
        .log_in(user.username, user.password, &codes(user.totp_seed))
        .await;
    let tokens = match first {
        Ok(tokens) => tokens,
        // Both codes of this window already spent: wait for the next one, once.
        Err(_) if user.totp_seed.is_some() => {
            eprintln!("baton-login: waiting for a fresh one-time code…");
            tokio::time::sleep(totp::until_next_step()).await;
            LoginClient::new(http, gateway)
                .log_in(user.username, user.password, &codes(user.totp_seed))
                .await
                .map_err(|err| err.to_string())?
        }
        Err(err) => return Err(err.to_string()),
    };
    Ok(tokens.access_token)
}

/// A client trusting only the development CA (TLS 1.3 or 1.2, rustls with ring), that never
/// follows redirects: the flow reads them.
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
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| err.to_string())
}
