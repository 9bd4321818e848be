//! Request input, checked at the door: JSON bodies bound to explicit types, declared validation
//! rules, and page sizes with a hard maximum.
//!
//! Every request type a service accepts is a struct that names exactly what a caller may send
//! (`#[serde(deny_unknown_fields)]`) and declares its rules with `validator` attributes on the
//! fields: lengths, ranges, patterns. [`Valid`] is the extractor that does both, so a handler
//! never sees a body that is malformed, carries a field it should not, or breaks a rule. Each
//! failure is an RFC 9457 problem that says what was wrong, in terms of the caller's own fields.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
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
        let Json(value) = Json::<Value>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

impl JsonBody {
    /// Binds the body to `T` and checks `T`'s rules: an unknown field, a missing one, a wrong
    /// type or a broken rule is a 422 naming the field.
    pub fn bind<T: DeserializeOwned + Validate>(self) -> Result<T, Problem> {
        let value: T = serde_json::from_value(self.0)
            .map_err(|err| Problem::unprocessable(format!("the body does not fit: {err}")))?;
        value.validate().map_err(invalid)?;
        Ok(value)
    }
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

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<PageQuery>::from_request_parts(parts, state)
            .await
            .map_err(|err| Problem::bad_request(err.body_text()))?;
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
