//! Request input, checked at the door: JSON bodies bound to explicit types, declared validation
//! rules, and page sizes with a hard maximum.
//!
//! Every request type a service accepts is a struct that names exactly what a caller may send
//! (`#[serde(deny_unknown_fields)]`) and declares its rules with `validator` attributes on the
//! fields: lengths, ranges, patterns. [`Valid`] is the extractor that does both, so a handler
//! never sees a body that is malformed, carries a field it should not, or breaks a rule. Each
//! failure is an RFC 9457 problem that says what was wrong, in terms of the caller's own fields.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::{Validate, ValidationErrors};

use baton_platform::db::Page;
use baton_platform::{Control, Controls};

use crate::problem::Problem;

/// A JSON body that parsed, but is not yet bound to a type. Services use it where lab mode offers
/// a deliberately careless binding next to the strict one ([`JsonBody::bind`]).
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(Problem::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::payload_too_large()
                } else {
                    Problem::bad_request("the body could not be read")
                }
            })?;
        let value = serde_json::from_slice(&bytes).map_err(|err| {
            Problem::bad_request(format!(
                "the body is not JSON (line {}, column {})",
                err.line(),
                err.column()
            ))
        })?;
        Ok(Self(value))
    }
}

impl JsonBody {
    /// Binds the body to `T` and checks `T`'s rules: an unknown field, a missing one, a wrong
    /// type or a broken rule is a 422 naming the field. Every request body is a JSON object;
    /// anything else is refused before binding, since serde would otherwise read an array as a
    /// struct's fields in order (`[null, null]` as two absent fields).
    pub fn bind<T: DeserializeOwned + Validate>(self) -> Result<T, Problem> {
        let mut body = self.0;
        if !body.is_object() {
            return Err(Problem::unprocessable("the body must be a JSON object"));
        }
        whole_numbers_as_integers(&mut body);
        let value: T = serde_path_to_error::deserialize(body).map_err(|err| {
            let what = explain(err.path(), &err.inner().to_string(), "field")
                .unwrap_or_else(|| format!("{} is not valid", place(err.path())));
            Problem::unprocessable(what)
        })?;
        value.validate().map_err(invalid)?;
        Ok(value)
    }
}

/// The largest integer every JSON number can hold exactly (2^53).
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Writes each number with no fraction (`1.0`, `1e2`) as the integer it is, as JSON Schema
/// counts it an `integer`: a field the description says is an integer takes what the description
/// allows. Past 2^53 a written fraction may already have been rounded away, so such a number is
/// left as it came, and a whole-number field refuses it.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            if let Some(float) = number.as_f64()
                && float.fract() == 0.0
                && float.abs() <= EXACT_INTEGER
            {
                // Whole and within 2^53: the cast is exact.
                *value = Value::from(float as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(members) => members.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Whether the request says its body is JSON: `application/json`, or `application/…+json`, in
/// any case, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A deserializer's complaint about the `kind` (field or parameter) at `path`, in Baton's words:
/// which one, and what it must be. The caller's own value is never repeated; a field name it
/// made up is repeated only if it is a plain name.
///
/// `message` is the deserializer's text, whose forms serde fixes (`missing field `x``,
/// `invalid type: …, expected …`); for one it does not know, `None`.
fn explain(path: &serde_path_to_error::Path, message: &str, kind: &str) -> Option<String> {
    let at = path.to_string();
    let this = place(path);
    let named = |prefix: &str| {
        let name = message.strip_prefix(prefix)?.split('`').next()?;
        Some(field_at(&at, name, kind))
    };
    if let Some(field) = named("unknown field `") {
        return Some(format!("{field} is not a {kind} of this request"));
    }
    if let Some(field) = named("missing field `") {
        return Some(format!("{field} is required"));
    }
    if let Some(field) = named("duplicate field `") {
        return Some(format!("{field} is given more than once"));
    }
    if let Some(variants) = message
        .strip_prefix("unknown variant `")
        .and_then(|rest| rest.split_once("expected "))
        .map(|(_, expected)| expected.trim_start_matches("one of ").replace('`', ""))
    {
        return Some(format!("{this} must be one of {variants}"));
    }
    let expected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .or_else(|| message.strip_prefix("invalid length "))
        .and_then(|rest| rest.rsplit_once(", expected "))
        .and_then(|(_, expected)| in_words(expected))?;
    Some(format!("{this} must be {expected}"))
}

/// Where in the input `path` is, quoted: "`items[0].quantity`", or "the body" for all of it.
fn place(path: &serde_path_to_error::Path) -> String {
    match path.to_string().as_str() {
        "." => "the body".to_owned(),
        at => format!("`{at}`"),
    }
}

/// The field `name` inside the object at `at`, quoted; or, for a name the caller made up that is
/// not a plain one, no name at all.
fn field_at(at: &str, name: &str, kind: &str) -> String {
    let plain = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if !plain {
        return format!("a {kind} of that name");
    }
    let already_there = at == name || at.ends_with(&format!(".{name}"));
    if at == "." || at.is_empty() {
        format!("`{name}`")
    } else if already_there {
        format!("`{at}`")
    } else {
        format!("`{at}.{name}`")
    }
}

/// What serde says it expected, as a caller would say it; `None` for what it has no words for.
fn in_words(expected: &str) -> Option<&'static str> {
    let expected = expected.trim();
    Some(match expected {
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "usize" | "isize" => {
            "a whole number"
        }
        "f32" | "f64" => "a number",
        "a string" | "a borrowed string" | "a UUID string" | "UUID parsable string" => "a string",
        "a boolean" => "true or false",
        "a sequence" => "an array",
        "a map" => "an object",
        _ if expected.starts_with("struct ") => "an object",
        _ if expected.starts_with("a sequence") || expected.contains("element") => "an array",
        _ => return None,
    })
}

/// A JSON body bound to `T` (which must refuse unknown fields) and validated.
#[derive(Debug, Clone)]
pub struct Valid<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequest<S> for Valid<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        JsonBody::from_request(request, state)
            .await?
            .bind()
            .map(Valid)
    }
}

/// The problem for a body or query that broke its declared rules: every field and what it must be.
pub fn invalid(errors: ValidationErrors) -> Problem {
    let mut fields: Vec<String> = errors
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    fields.sort();
    Problem::unprocessable(fields.join("; "))
}

/// The most items one page of any listing holds. Asking for more is refused, not clamped: a
/// client that asks for a million rows has a bug or an intent, and either should hear about it.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The page size when the caller names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// How far into a listing an offset may reach; past it, narrow the query instead.
pub const MAX_OFFSET: u32 = 10_000;

/// `?limit=&offset=` as a caller sends it.
#[derive(Debug, Clone, Copy, Default, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items, 1 to 100 (default 20). More is refused with 422, never clamped.
    #[validate(range(min = 1, max = MAX_PAGE_SIZE, message = "must be between 1 and 100"))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// How many items to skip, at most 10 000 (default 0).
    #[validate(range(max = MAX_OFFSET, message = "must be at most 10000"))]
    #[param(maximum = 10000)]
    pub offset: Option<u32>,
}

impl PageQuery {
    /// The page asked for, checked against the limits (`service.page_limit` off skips the check).
    pub fn checked(self, controls: &Controls) -> Result<Page, Problem> {
        if controls.is_on(Control::ServicePageLimit) {
            self.validate().map_err(invalid)?;
        }
        Ok(Page {
            limit: i64::from(self.limit.unwrap_or(DEFAULT_PAGE_SIZE)),
            offset: i64::from(self.offset.unwrap_or(0)),
        })
    }
}

/// The raw page query from a request; a malformed one (`limit=ten`) is a 400.
#[derive(Debug, Clone, Copy)]
pub struct PageParams(pub PageQuery);

impl<S: Send + Sync> FromRequestParts<S> for PageParams {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
        let query = serde_path_to_error::deserialize(pairs).map_err(|err| {
            // Both parameters are whole numbers; what else the deserializer says is its own.
            let what = explain(err.path(), &err.inner().to_string(), "parameter")
                .unwrap_or_else(|| format!("{} must be a whole number", place(err.path())));
            Problem::bad_request(what)
        })?;
        Ok(Self(query))
    }
}

#[cfg(test)]
mod tests {
    use baton_platform::RunMode;
    use baton_platform::config::Map;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Deposit {
        #[validate(range(min = 1, max = 1000, message = "must be between 1 and 1000"))]
        amount_minor: i64,
    }

    fn problem_detail(problem: &Problem) -> String {
        serde_json::to_value(problem)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    #[test]
    fn a_body_within_its_rules_binds() {
        let bound = JsonBody(serde_json::json!({ "amount_minor": 5 })).bind::<Deposit>();
        assert_eq!(bound.ok().map(|d| d.amount_minor), Some(5));
    }

    #[test]
    fn only_an_object_is_a_body() {
        // serde alone would bind `[5]` as `{ "amount_minor": 5 }`.
        for body in [
            serde_json::json!([5]),
            serde_json::json!(5),
            serde_json::json!(null),
        ] {
            let refused = JsonBody(body.clone())
                .bind::<Deposit>()
                .expect_err("refused");
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(problem_detail(&refused), "the body must be a JSON object");
        }
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_an_integer_as_json_schema_says() {
        for body in [
            serde_json::json!({ "amount_minor": 5.0 }),
            serde_json::json!({ "amount_minor": 0.5e1 }),
        ] {
            let bound = JsonBody(body.clone()).bind::<Deposit>();
            assert_eq!(bound.ok().map(|d| d.amount_minor), Some(5), "{body}");
        }
        let detail = bind_detail::<Deposit>(serde_json::json!({ "amount_minor": 5.5 }));
        assert_eq!(detail, "`amount_minor` must be a whole number");
        let detail = bind_detail::<Deposit>(serde_json::json!({ "amount_minor": 1e300 }));
        assert_eq!(detail, "`amount_minor` must be a whole number");
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let refused = JsonBody(serde_json::json!({ "amount_minor": 5, "owner_id": "x" }))
            .bind::<Deposit>()
            .err();
        assert!(refused.is_some_and(|p| problem_detail(&p).contains("owner_id")));
    }

    #[test]
    fn a_broken_rule_names_the_field_and_the_rule() {
        let refused = JsonBody(serde_json::json!({ "amount_minor": 0 }))
            .bind::<Deposit>()
            .err();
        assert!(refused.is_some_and(|p| {
            let detail = problem_detail(&p);
            detail.contains("amount_minor") && detail.contains("between 1 and 1000")
        }));
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Order {
        #[validate(nested)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[expect(dead_code, reason = "only whether it binds is tested")]
        quantity: i64,
    }

    fn bind_detail<T: DeserializeOwned + Validate + std::fmt::Debug>(body: Value) -> String {
        let refused = JsonBody(body).bind::<T>().expect_err("refused");
        problem_detail(&refused)
    }

    #[test]
    fn a_wrong_type_is_named_by_its_path_in_our_words() {
        let detail = bind_detail::<Order>(serde_json::json!({ "items": [{ "quantity": "many" }] }));
        assert_eq!(detail, "`items[0].quantity` must be a whole number");
        let detail = bind_detail::<Order>(serde_json::json!({ "items": "many" }));
        assert_eq!(detail, "`items` must be an array");
    }

    #[test]
    fn missing_and_unknown_fields_are_named_and_values_never_repeated() {
        let detail = bind_detail::<Order>(serde_json::json!({ "items": [{}] }));
        assert_eq!(detail, "`items[0].quantity` is required");
        let detail = bind_detail::<Order>(serde_json::json!({ "items": [], "<b>x</b>": 1 }));
        assert_eq!(
            detail,
            "a field of that name is not a field of this request"
        );
        let detail =
            bind_detail::<Order>(serde_json::json!({ "items": [{ "quantity": "<b>x</b>" }] }));
        assert!(!detail.contains("<b>"), "{detail}");
    }

    async fn page(query: &str) -> Result<PageQuery, String> {
        let request = http::Request::builder()
            .uri(format!("/v1/things?{query}"))
            .body(())
            .unwrap_or_default();
        let (mut parts, ()) = request.into_parts();
        PageParams::from_request_parts(&mut parts, &())
            .await
            .map(|PageParams(query)| query)
            .map_err(|problem| problem_detail(&problem))
    }

    #[tokio::test]
    async fn a_malformed_page_query_says_which_parameter_and_what_it_must_be() {
        assert_eq!(
            page("limit=ten").await.err().as_deref(),
            Some("`limit` must be a whole number")
        );
        assert_eq!(
            page("limit=1&sort=name").await.err().as_deref(),
            Some("`sort` is not a parameter of this request")
        );
        assert_eq!(
            page("limit=5&offset=10").await.ok().and_then(|q| q.limit),
            Some(5)
        );
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_told_where() {
        let request = http::Request::builder()
            .header(CONTENT_TYPE, "application/merge-patch+JSON; charset=utf-8")
            .body(axum::body::Body::from("{\"items\": "))
            .unwrap_or_default();
        let refused = JsonBody::from_request(request, &())
            .await
            .expect_err("refused");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            problem_detail(&refused),
            "the body is not JSON (line 1, column 10)"
        );
        let request = http::Request::builder()
            .header(CONTENT_TYPE, "text/plain")
            .body(axum::body::Body::from("{}"))
            .unwrap_or_default();
        let refused = JsonBody::from_request(request, &())
            .await
            .expect_err("refused");
        assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn a_page_past_the_maximum_is_refused_not_clamped() {
        let query = PageQuery {
            limit: Some(1_000_000),
            offset: None,
        };
        assert!(query.checked(&Controls::enforcing()).is_err());
    }

    #[test]
    fn no_page_size_means_the_default() {
        let page = PageQuery::default().checked(&Controls::enforcing());
        assert_eq!(
            page.ok(),
            Some(Page {
                limit: 20,
                offset: 0
            })
        );
    }

    #[test]
    fn lab_mode_can_switch_the_page_limit_off() {
        let source = Map::new()
            .with("BATON_LAB_MODE", "on")
            .with("BATON_LAB_DISABLE", "service.page_limit");
        let controls = Controls::from_source(&source, RunMode::Development);
        let query = PageQuery {
            limit: Some(1_000_000),
            offset: None,
        };
        let page = controls.map(|c| query.checked(&c).map(|p| p.limit));
        assert!(matches!(page, Ok(Ok(1_000_000))));
    }
}
