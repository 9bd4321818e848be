//! The audit trail: every security event a component logs, also written to a stream of its own,
//! one JSON object per line, appended to a file and never rewritten.
//!
//! A security decision is logged where it is made, as a `tracing` event with a `security_event`
//! field naming it (`tracing::warn!(security_event = "refresh_token_reused", …)`). The
//! [`AuditLayer`] copies each such event into the audit stream with the component's name, the
//! time, the level, the message, the event's other fields, and the id of the request it happened
//! in (from the enclosing `request` span). It has a filter of its own, so `RUST_LOG` changes what
//! the log shows but never what the audit trail records.
//!
//! The trail must never hold a secret, so however an event is written, a field whose name says it
//! holds a token, a secret, a password or a code is not copied: its name is listed under
//! `withheld` instead. Events should not carry such fields in the first place; this is the net.
//!
//! Each event is written with one `write` on a file opened for appending, and not buffered, so a
//! component killed at any moment leaves whole lines behind.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::config::Source;

/// Where the audit files go.
pub const DIR_KEY: &str = "BATON_AUDIT_DIR";
/// The field that makes an event a security event, and names it.
pub const EVENT_FIELD: &str = "security_event";
/// The span whose `request_id` an event's record carries (`baton_api::request_id`).
const REQUEST_SPAN: &str = "request";
/// Field names never copied into the trail.
const WITHHELD: [&str; 11] = [
    "token",
    "access_token",
    "refresh_token",
    "subject_token",
    "jwt",
    "secret",
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "authorization",
];

/// Where the audit files are: `BATON_AUDIT_DIR`, by default `.baton/audit`; one
/// `<component>.jsonl` per component.
pub fn dir_from_source(source: &dyn Source) -> PathBuf {
    PathBuf::from(
        source
            .get(DIR_KEY)
            .unwrap_or_else(|| ".baton/audit".to_owned()),
    )
}

/// Opens (creating it and its folder) `<dir>/<component>.jsonl` for appending.
pub fn open(dir: &Path, component: &str) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{component}.jsonl")))
}

/// Copies security events into `sink`, one JSON line each.
#[derive(Debug)]
pub struct AuditLayer<W> {
    component: String,
    sink: Mutex<W>,
}

impl<W: Write> AuditLayer<W> {
    pub fn new(component: &str, sink: W) -> Self {
        Self {
            component: component.to_owned(),
            sink: Mutex::new(sink),
        }
    }

    fn write(&self, record: &Value) {
        let mut line = record.to_string();
        line.push('\n');
        // A poisoned lock only means a writer panicked mid-call; the file is still appendable.
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(err) = sink.write_all(line.as_bytes()).and_then(|()| sink.flush()) {
            // Not through `tracing`: this layer would see its own complaint. The log's stderr is
            // the one place left to say it.
            eprintln!(
                "{}: could not write to the audit trail: {err}",
                self.component
            );
        }
    }
}

/// Which callsites the audit layer sees: security events, and request spans for their ids.
/// Independent of `RUST_LOG`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityEvents;

impl<S> Filter<S> for SecurityEvents {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        Self::wanted(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        if Self::wanted(meta) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }
}

impl SecurityEvents {
    fn wanted(meta: &Metadata<'_>) -> bool {
        if meta.is_span() {
            meta.name() == REQUEST_SPAN
        } else {
            meta.fields().field(EVENT_FIELD).is_some()
        }
    }
}

/// A request span's id, kept in the span's extensions for the events inside it.
struct RequestIdOf(String);

/// An event's or span's fields as JSON values.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

impl<S, W> Layer<S> for AuditLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Write + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != REQUEST_SPAN {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(span), Some(Value::String(request_id))) =
            (ctx.span(id), fields.0.remove("request_id"))
        {
            span.extensions_mut().insert(RequestIdOf(request_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(name) = fields.0.remove(EVENT_FIELD) else {
            return;
        };
        let request_id = ctx.event_scope(event).and_then(|scope| {
            scope.from_root().find_map(|span| {
                span.extensions()
                    .get::<RequestIdOf>()
                    .map(|id| id.0.clone())
            })
        });
        let mut record = Map::new();
        record.insert("time".to_owned(), Value::from(now_rfc3339()));
        record.insert("component".to_owned(), Value::from(self.component.clone()));
        record.insert("event".to_owned(), name);
        record.insert(
            "level".to_owned(),
            Value::from(event.metadata().level().as_str()),
        );
        record.insert(
            "request_id".to_owned(),
            request_id.map_or(Value::Null, Value::from),
        );
        let mut withheld = Vec::new();
        for (key, value) in fields.0 {
            if WITHHELD.contains(&key.as_str()) {
                withheld.push(Value::from(key));
            } else if !record.contains_key(&key) {
                record.insert(key, value);
            }
        }
        if !withheld.is_empty() {
            withheld.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            record.insert("withheld".to_owned(), Value::Array(withheld));
        }
        self.write(&Value::Object(record));
    }
}

/// Now, as RFC 3339 in UTC with milliseconds.
fn now_rfc3339() -> String {
    let now = ::time::OffsetDateTime::now_utc();
    let format = ::time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::Captured;

    fn records(captured: &Captured) -> Vec<Value> {
        captured
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }

    /// A log that shows nothing at all, beside the audit layer: what the trail records does not
    /// depend on `RUST_LOG`.
    fn with_audit(run: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let log = tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(EnvFilter::new("off"));
        let subscriber = tracing_subscriber::registry()
            .with(log)
            .with(AuditLayer::new("sts", captured.clone()).with_filter(SecurityEvents));
        tracing::subscriber::with_default(subscriber, run);
        records(&captured)
    }

    #[test]
    fn a_security_event_is_recorded_with_its_request_whatever_the_log_level() {
        let records = with_audit(|| {
            let request =
                tracing::info_span!("request", request_id = "r-7", path = "/oauth2/token");
            request.in_scope(|| {
                tracing::info!("an ordinary line");
                tracing::debug_span!("exchange").in_scope(|| {
                    tracing::warn!(
                        security_event = "refresh_token_reused",
                        grant_id = "g-1",
                        "a rotated refresh token was used again"
                    );
                });
            });
            tracing::warn!(
                security_event = "connection_refused",
                remote = "127.0.0.1:9"
            );
        });
        assert_eq!(records.len(), 2, "{records:?}");
        let reused = &records[0];
        assert_eq!(reused["event"], "refresh_token_reused");
        assert_eq!(reused["component"], "sts");
        assert_eq!(reused["level"], "WARN");
        assert_eq!(reused["request_id"], "r-7");
        assert_eq!(reused["grant_id"], "g-1");
        assert_eq!(reused["message"], "a rotated refresh token was used again");
        assert!(reused["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(records[1]["request_id"], Value::Null, "outside any request");
    }

    #[test]
    fn a_field_that_could_hold_a_secret_is_named_but_never_copied() {
        let records = with_audit(|| {
            tracing::warn!(
                security_event = "client_auth_failed",
                client_id = "reports",
                client_secret = "s3cr3t",
                token = "eyJ.payload.sig",
            );
        });
        let line = records[0].to_string();
        assert!(!line.contains("s3cr3t") && !line.contains("eyJ"), "{line}");
        assert_eq!(records[0]["client_id"], "reports");
        assert_eq!(
            records[0]["withheld"],
            serde_json::json!(["client_secret", "token"])
        );
    }

    #[test]
    fn the_audit_file_is_appended_to_and_never_truncated() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut first = open(dir.path(), "users").expect("opened");
        first.write_all(b"{\"event\":\"one\"}\n").expect("written");
        drop(first);
        let mut again = open(dir.path(), "users").expect("opened again");
        again.write_all(b"{\"event\":\"two\"}\n").expect("written");
        let written = std::fs::read_to_string(dir.path().join("users.jsonl")).expect("read");
        assert_eq!(written, "{\"event\":\"one\"}\n{\"event\":\"two\"}\n");
    }
}
