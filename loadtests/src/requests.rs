//! The scenarios' API calls: one request described as a [`Call`], sent through Goose so that it
//! is timed and counted under the route's name, with the simulated user's bearer token.

use goose::goose::GooseResponse;
use goose::prelude::*;
use serde_json::Value;

use crate::session::custom;

/// One API request, as the scenarios describe it.
#[derive(Debug, Clone)]
pub struct Call {
    method: GooseMethod,
    path: String,
    /// The name in the reports (Goose puts the method before it): the route's template, so
    /// `/v1/orders/{id}` is one line.
    name: Option<String>,
    body: Option<Value>,
    idempotency_key: Option<String>,
}

impl Call {
    pub fn get(path: &str) -> Self {
        Self {
            method: GooseMethod::Get,
            path: path.to_owned(),
            name: None,
            body: None,
            idempotency_key: None,
        }
    }

    pub fn post(path: &str, body: Value) -> Self {
        Self {
            method: GooseMethod::Post,
            body: Some(body),
            ..Self::get(path)
        }
    }

    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn idempotency_key(mut self, key: &str) -> Self {
        self.idempotency_key = Some(key.to_owned());
        self
    }
}

pub async fn send(
    user: &mut GooseUser,
    token: &str,
    call: &Call,
) -> Result<GooseResponse, Box<TransactionError>> {
    let mut builder = user
        .get_request_builder(&call.method, &call.path)?
        .bearer_auth(token);
    if let Some(body) = &call.body {
        builder = builder.json(body);
    }
    if let Some(key) = &call.idempotency_key {
        builder = builder.header("Idempotency-Key", key);
    }
    let request = GooseRequest::builder()
        .method(call.method)
        .path(call.path.as_str())
        .name(call.name.as_deref().unwrap_or(&call.path))
        .set_request_builder(builder)
        .build();
    user.request(request).await
}

/// Sends `call` and returns its JSON body; anything but a 2xx fails the transaction (Goose has
/// already counted the request as failed).
pub async fn call(
    user: &mut GooseUser,
    token: &str,
    call: Call,
) -> Result<Value, Box<TransactionError>> {
    let GooseResponse { response, .. } = send(user, token, &call).await?;
    let (status, body) = read_json(response).await;
    match status {
        Some(status) if status.is_success() => Ok(body),
        _ => Err(custom(&format!(
            "{} {} answered {status:?}",
            call.method, call.path
        ))),
    }
}

/// The status and JSON body of an answer (`Null` for no answer or a body that is not JSON).
pub async fn read_json(
    response: Result<reqwest::Response, reqwest::Error>,
) -> (Option<reqwest::StatusCode>, Value) {
    match response {
        Ok(response) => {
            let status = response.status();
            (Some(status), response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (None, Value::Null),
    }
}
