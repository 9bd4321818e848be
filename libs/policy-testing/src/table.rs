//! The roles-against-functions table of `docs/authorization.md`, read from the doc itself.
//!
//! How a row reads ("own" means the *stored* owner is the caller, as the doc says):
//! - each role's cell says what a holder of that role gets: `✔` (whatever the function
//!   reaches), `✘` (nothing), `own`, `any`, `any, full`, `any, masked` (someone else's contact
//!   details masked, one's own in full), `own, not frozen`; a remark in brackets, such as
//!   `(no scope)`, explains a cell and does not change it;
//! - the scope in the service column is checked before the policy: without it the answer is a
//!   refusal, whatever the roles;
//! - a function marked `(gRPC, from orders)` is orders' to call: a delegation chain (exchange
//!   mode) that does not pass through orders is refused;
//! - a caller with several roles gets the most that any of them gives.
//!
//! A cell this module cannot read is an error, not a guess: teach [`Cell::parse`] what it means.

use crate::caller::Caller;

const DOC: &str = include_str!("../../../docs/authorization.md");
const SECTION: &str = "## Roles against functions";
const HEADER: &str = "| function | customer | support | admin | gateway: scope, roles | service: scope, policy action |";

/// What a caller gets from a function, the least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Refused,
    /// Allowed, with someone else's contact details masked.
    Masked,
    Full,
}

impl From<bool> for Outcome {
    fn from(allowed: bool) -> Self {
        if allowed {
            Outcome::Full
        } else {
            Outcome::Refused
        }
    }
}

/// The stored object a function is asked about, as far as the table cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    /// Its stored owner is the caller.
    pub own: bool,
    /// It is a frozen account.
    pub frozen: bool,
}

/// What one role gets from one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Refused,
    Any,
    AnyMasked,
    Own,
    OwnUnlessFrozen,
}

impl Cell {
    fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.replace("**", "");
        // `✘ (no scope)`, `✔ (owner is the caller)`: the remark explains, the mark decides.
        let text = match text.split_once(" (") {
            Some((mark, remark)) if remark.ends_with(')') => mark,
            _ => text.as_str(),
        };
        match text {
            "✘" => Ok(Cell::Refused),
            "✔" | "✔ full" | "any" | "any, full" => Ok(Cell::Any),
            "any, masked" => Ok(Cell::AnyMasked),
            "own" => Ok(Cell::Own),
            "own, not frozen" => Ok(Cell::OwnUnlessFrozen),
            _ => Err(format!("a cell the policy tests cannot read: `{raw}`")),
        }
    }

    fn outcome(self, object: Object) -> Outcome {
        match self {
            Cell::Refused => Outcome::Refused,
            Cell::Any => Outcome::Full,
            Cell::AnyMasked if object.own => Outcome::Full,
            Cell::AnyMasked => Outcome::Masked,
            Cell::Own => Outcome::from(object.own),
            Cell::OwnUnlessFrozen => Outcome::from(object.own && !object.frozen),
        }
    }
}

/// One function of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The function's first code span: `GET /v1/users/{id}`, `Debit`.
    pub function: String,
    /// The customer's, support's and admin's cells.
    cells: [Cell; 3],
    /// The scope the service checks before it asks its policy, if the row names one.
    pub scope: Option<String>,
    /// The workload whose function this is (`(gRPC, from orders)`).
    caller: Option<String>,
}

impl Row {
    fn parse(line: &str) -> Result<Self, String> {
        let columns: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [function, customer, support, admin, _gateway, service] = columns[..] else {
            return Err(format!("a row without six columns: `{line}`"));
        };
        let name = code_spans(function)
            .next()
            .ok_or_else(|| format!("a function without a code span: `{function}`"))?;
        Ok(Self {
            function: name.to_owned(),
            cells: [
                Cell::parse(customer)?,
                Cell::parse(support)?,
                Cell::parse(admin)?,
            ],
            scope: code_spans(service)
                .find(|span| span.contains(':'))
                .map(str::to_owned),
            caller: function
                .split_once("(gRPC, from ")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(workload, _)| workload.trim().to_owned()),
        })
    }

    /// What the table says `caller` gets from this function, asked about `object`.
    pub fn expected(&self, caller: &Caller, object: Object) -> Outcome {
        if self
            .scope
            .as_ref()
            .is_some_and(|scope| !caller.scopes.contains(scope))
        {
            return Outcome::Refused;
        }
        let chain = &caller.chain;
        if self
            .caller
            .as_ref()
            .is_some_and(|workload| !chain.is_empty() && !chain.contains(workload))
        {
            return Outcome::Refused;
        }
        caller
            .known_roles()
            .map(|role| self.cells[column(role)].outcome(object))
            .max()
            .unwrap_or(Outcome::Refused)
    }

    /// What the service answers a caller holding `principal`: its scope check, then `policy`
    /// (the Guard call its domain makes for this function), asked only when the scope is there.
    pub fn answer(
        &self,
        principal: &baton_token::Principal,
        policy: impl FnOnce() -> Outcome,
    ) -> Outcome {
        match &self.scope {
            Some(scope) if !principal.has_scope(scope) => Outcome::Refused,
            _ => policy(),
        }
    }
}

fn column(role: baton_token::Role) -> usize {
    match role {
        baton_token::Role::Customer => 0,
        baton_token::Role::Support => 1,
        baton_token::Role::Admin => 2,
    }
}

/// The text between backticks, span by span.
fn code_spans(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

/// The whole table.
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// The table as `docs/authorization.md` has it today.
    pub fn from_doc() -> Result<Self, String> {
        Self::parse(DOC)
    }

    fn parse(doc: &str) -> Result<Self, String> {
        let (_, section) = doc
            .split_once(SECTION)
            .ok_or_else(|| format!("the doc has no `{SECTION}` section"))?;
        let mut lines = section
            .lines()
            .map(str::trim)
            .skip_while(|line| !line.starts_with('|'));
        if lines.next() != Some(HEADER) {
            return Err(format!("the table's header is no longer `{HEADER}`"));
        }
        let rows = lines
            .skip(1) // | --- | --- | …
            .take_while(|line| line.starts_with('|'))
            .map(Row::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rows })
    }

    /// The row of `function` (its first code span).
    pub fn row(&self, function: &str) -> Result<&Row, String> {
        self.rows
            .iter()
            .find(|row| row.function == function)
            .ok_or_else(|| format!("the table has no row for `{function}`"))
    }

    /// Checks that a service's tests account for its whole part of the table: every function in
    /// `decided` (by a policy) and `undecided` (by a query or a scope alone) has a row, and every
    /// row whose path starts with `path` is in one of the two.
    pub fn check_coverage(
        &self,
        path: &str,
        decided: &[&str],
        undecided: &[&str],
    ) -> Result<(), String> {
        let claimed: Vec<&str> = decided.iter().chain(undecided).copied().collect();
        for function in &claimed {
            self.row(function)?;
        }
        let unclaimed: Vec<&str> = self
            .rows
            .iter()
            .map(|row| row.function.as_str())
            .filter(|function| {
                let row_path = function.split_once(' ').map_or("", |(_, path)| path);
                row_path.starts_with(path) && !claimed.contains(function)
            })
            .collect();
        if unclaimed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "functions of `{path}` no policy test looks at: {unclaimed:?}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doc_has_the_table_and_every_cell_reads() {
        let table = Table::from_doc().unwrap();
        assert_eq!(table.rows.len(), 15);
        let refund = table.row("Refund").unwrap();
        assert_eq!(refund.caller.as_deref(), Some("orders"));
        assert_eq!(refund.cells, [Cell::Refused, Cell::Refused, Cell::Any]);
        let profile = table.row("GET /v1/users/{id}").unwrap();
        assert_eq!(profile.scope.as_deref(), Some("users:read"));
        assert_eq!(profile.cells, [Cell::Own, Cell::AnyMasked, Cell::Any]);
    }

    #[test]
    fn a_cell_nobody_taught_the_tests_is_an_error() {
        assert_eq!(Cell::parse("✘ (no scope)"), Ok(Cell::Refused));
        assert_eq!(Cell::parse("✔ (owner is the caller)"), Ok(Cell::Any));
        assert!(Cell::parse("✔ own").is_err());
        assert!(Cell::parse("sometimes").is_err());
    }

    #[test]
    fn a_table_with_other_columns_is_refused() {
        let doc = format!("{SECTION}\n\n| function | customer | admin |\n| --- | --- | --- |\n");
        assert!(Table::parse(&doc).is_err());
    }

    #[test]
    fn a_function_of_the_service_that_no_test_claims_is_reported() {
        let table = Table::from_doc().unwrap();
        let orders = ["GET /v1/orders/{id}", "POST /v1/orders/{id}/refund"];
        assert!(
            table
                .check_coverage("/v1/orders", &orders, &["GET /v1/orders"])
                .is_err()
        );
        let all = ["GET /v1/orders", "POST /v1/orders"];
        assert!(table.check_coverage("/v1/orders", &orders, &all).is_ok());
        assert!(
            table
                .check_coverage("/v1/orders", &["DELETE /v1/orders"], &[])
                .is_err()
        );
    }
}
