//! `baton-login <user> [--gateway URL]`: logs a demo user in through the gateway and prints the
//! opaque access token, so `curl -H "Authorization: Bearer $(just token alice)" …` works.
//!
//! It computes the TOTP code from the demo seed, the way an authenticator app would. Demo users
//! exist in development mode only; this tool has no way to log anyone else in.

use std::process::ExitCode;

use baton_platform::demo;
use baton_sts::domain::totp;
use serde_json::{Value, json};

const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8443";

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
    let response = reqwest::Client::new()
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
