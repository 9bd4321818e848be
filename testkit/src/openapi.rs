//! The platform's one API description, and the check that every answer matches it.
//!
//! Each service generates its own OpenAPI 3.1 document from its handlers and types (utoipa);
//! [`document`] merges them. The merged document is committed as `docs/openapi.json` (the gateway
//! serves that file), and a test keeps the file equal to what the code generates.
//!
//! [`Answers::check`] is what makes the document more than decoration: the integration tests run
//! every answer they get through it, so a field added to a response without being documented (or
//! a response that leaks a field its schema does not have) fails a test. Response schemas say
//! `additionalProperties: false` for exactly that reason.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

/// The merged description of every service behind the gateway.
pub fn document() -> OpenApi {
    let mut merged = baton_users::http::openapi::document();
    merged.merge(baton_accounts::http::openapi::document());
    merged.merge(baton_orders::http::openapi::document());
    baton_api::openapi::add_edge_answers(&mut merged);
    merged.info.title = "Baton".to_owned();
    merged.info.version = env!("CARGO_PKG_VERSION").to_owned();
    merged.info.description = Some(
        "Every route the gateway serves for the example services. Errors are RFC 9457 \
         problem+json. Generated from the code: see docs/inventory.md."
            .to_owned(),
    );
    merged
}

/// The merged document as pretty JSON with a final newline: the form `docs/openapi.json` holds.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&document())?;
    text.push('\n');
    Ok(text)
}

/// Every documented operation as `(METHOD, path template)`, for comparing with the route table.
pub fn operations(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for method in [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ] {
                if item.get(method).is_some() {
                    found.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    found.sort();
    found
}

/// What the document says about one status of one operation.
enum Listed {
    /// Not listed at all.
    No,
    /// Listed, with a JSON pointer to its body's schema.
    Schema(String),
    /// Listed, with no referenced body schema.
    WithoutSchema,
}

/// Checks answers against the merged document.
#[derive(Debug)]
pub struct Answers {
    document: Value,
    /// Compiled validators, by `(schema pointer)`.
    validators: std::sync::Mutex<BTreeMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

impl Answers {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            document: serde_json::to_value(document())?,
            validators: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Checks that `body`, answered with `status` to `method path` (a concrete path, query
    /// string allowed), is what the document says that operation answers. Paths the document
    /// does not describe (the STS's, the gateway's own) are not checked here. A documented
    /// operation answering a status it does not list fails, error or not: the description names
    /// every answer a caller can meet.
    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or_default();
        let Some((template, operation)) = self.operation(method, path) else {
            return Ok(());
        };
        let pointer = match self.response_schema(operation, status) {
            Listed::Schema(pointer) => pointer,
            // Listed without a body schema of its own (none of ours today): nothing to check.
            Listed::WithoutSchema => return Ok(()),
            Listed::No => {
                return Err(format!(
                    "{method} {template} answered {status}, which its description does not list"
                ));
            }
        };
        let validator = self.validator(&pointer)?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{method} {template} answered {status} with a body that does not match {pointer}: {}\nbody: {body}",
                errors.join("; ")
            ))
        }
    }

    /// The documented operation for a concrete path: `{param}` segments match any one segment,
    /// and a literal segment beats a parameter (`/v1/users/me` over `/v1/users/{id}`).
    fn operation(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        let method = method.to_ascii_lowercase();
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, String, &Value)> = None;
        for (template, item) in self.document["paths"].as_object()? {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literals = 0;
            let matches = parts.iter().zip(&segments).all(|(part, segment)| {
                if part.starts_with('{') {
                    true
                } else {
                    literals += 1;
                    part == segment
                }
            });
            let Some(operation) = item.get(&method) else {
                continue;
            };
            if matches && best.as_ref().is_none_or(|(n, _, _)| literals > *n) {
                best = Some((literals, template.clone(), operation));
            }
        }
        best.map(|(_, template, operation)| (template, operation))
    }

    /// Whether `status` is listed for `operation`, and where its body's schema is.
    fn response_schema(&self, operation: &Value, status: u16) -> Listed {
        let Some(response) = operation["responses"].get(status.to_string()) else {
            return Listed::No;
        };
        response["content"]
            .as_object()
            .and_then(|content| content.values().next())
            .and_then(|body| body["schema"]["$ref"].as_str())
            .and_then(|reference| reference.strip_prefix('#'))
            .map_or(Listed::WithoutSchema, |pointer| {
                Listed::Schema(pointer.to_owned())
            })
    }

    fn validator(&self, pointer: &str) -> Result<std::sync::Arc<jsonschema::Validator>, String> {
        let mut cache = self
            .validators
            .lock()
            .map_err(|_| "validator cache poisoned".to_owned())?;
        if let Some(validator) = cache.get(pointer) {
            return Ok(validator.clone());
        }
        // The schema is a reference into the whole document, so `$ref`s between components
        // resolve: `{"$ref": "#/components/schemas/X", "components": ...}`.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#{pointer}"),
            "components": self.document["components"].clone(),
        });
        let validator = jsonschema::validator_for(&root)
            .map_err(|err| format!("the schema at {pointer} does not compile: {err}"))?;
        let validator = std::sync::Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        Ok(validator)
    }
}

/// `body` without its `request_id`: for comparing two answers that must be alike, since each
/// names its own request.
pub fn without_request_id(mut body: Value) -> Value {
    if let Some(members) = body.as_object_mut() {
        members.remove("request_id");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_in_the_merged_document() {
        let document = serde_json::to_value(document()).unwrap_or_default();
        let operations = operations(&document);
        for expected in [
            ("GET", "/v1/users/me"),
            ("POST", "/v1/accounts/{id}/deposits"),
            ("POST", "/v1/orders/{id}/refund"),
        ] {
            assert!(
                operations
                    .iter()
                    .any(|(m, p)| m == expected.0 && p == expected.1),
                "{expected:?} missing"
            );
        }
    }

    #[test]
    fn an_answer_with_an_undocumented_field_fails_the_check() -> Result<(), String> {
        let answers = Answers::new().map_err(|e| e.to_string())?;
        let mut profile = json!({
            "id": "3f6c1a8e-5b2d-4c71-9e0a-7d4b2c8f1e63",
            "username": "alice",
            "display_name": "Alice Example",
            "email": "alice@example.com",
            "phone": null,
            "contact": "full",
        });
        answers.check("GET", "/v1/users/me", 200, &profile)?;
        profile["password_hash"] = json!("$argon2id$...");
        assert!(answers.check("GET", "/v1/users/me", 200, &profile).is_err());
        Ok(())
    }

    #[test]
    fn an_error_answer_must_be_a_problem() -> Result<(), String> {
        let answers = Answers::new().map_err(|e| e.to_string())?;
        let problem =
            json!({ "type": "urn:baton:problem:not-found", "title": "Not Found", "status": 404 });
        answers.check("GET", "/v1/orders/x", 404, &problem)?;
        assert!(
            answers
                .check("GET", "/v1/orders/x", 404, &json!({"error": "nope"}))
                .is_err()
        );
        Ok(())
    }
}
