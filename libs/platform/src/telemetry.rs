//! Logs with `tracing`, one line per event, filtered by `RUST_LOG`, written as text (the default,
//! for people at a terminal) or as one JSON object per line (`BATON_LOG_FORMAT=json`, for a log
//! pipeline), both by `tracing-subscriber`'s own formatters.
//!
//! Beside the log, a platform component writes its audit trail ([`crate::audit`]), which the log's
//! filter does not touch.
//!
//! A request's events happen inside its `request` span (`baton_api::request_id`), so every line
//! names the request it belongs to: in text as the span's fields before the message, in JSON in
//! the `spans` list, outermost first, each span with its name and fields.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::Workload;
use crate::audit::{self, AuditLayer, SecurityEvents};
use crate::config::{ConfigError, Environment, Source, SourceExt, exit_on_bad_config};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event: the default, and what `just up` shows.
    #[default]
    Text,
    /// One JSON object per line, with the event's fields, its level, target and time, and the
    /// spans it happened in.
    Json,
}

impl LogFormat {
    pub const KEY: &'static str = "BATON_LOG_FORMAT";

    /// `BATON_LOG_FORMAT`: `text` (the default) or `json`.
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        source.parse_or(Self::KEY, Self::default())
    }
}

impl FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected `text` or `json`"),
        }
    }
}

/// Installs the global subscriber for a tool (`baton-ca`): the log, read from `RUST_LOG` and
/// `BATON_LOG_FORMAT`; exits with a configuration error if the format is not one of them.
pub fn init(target: &str) {
    install(target, None);
}

/// Installs the global subscriber for a platform component: its log, as [`init`], and its audit
/// trail ([`crate::audit`]) in `<BATON_AUDIT_DIR>/<workload>.jsonl`. A component whose trail
/// cannot be opened does not start. Tests leave it alone: the test kit's components log through
/// whatever subscriber the test installed, if any.
pub fn init_component(workload: Workload) {
    let dir = audit::dir_from_source(&Environment);
    let file = audit::open(&dir, workload.name()).unwrap_or_else(|err| {
        let err = ConfigError::invalid(audit::DIR_KEY, &dir.display().to_string(), err.to_string());
        exit_on_bad_config(workload.name(), &err)
    });
    let target = format!("baton_{}", workload.name());
    install(&target, Some(AuditLayer::new(workload.name(), file)));
}

fn install(target: &str, audit: Option<AuditLayer<File>>) {
    let format =
        LogFormat::from_source(&Environment).unwrap_or_else(|err| exit_on_bad_config(target, &err));
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{target}=info,sqlx=warn")));
    // Colours only for a person at a terminal; `just up`'s log files and pipelines get plain text.
    let colours = std::io::stdout().is_terminal();
    let subscriber = subscriber(format, filter, std::io::stdout, colours, audit);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The log, filtered by `filter`, written to `writer` in `format` (in colour if asked); beside it
/// the audit layer, if any, with a filter of its own.
fn subscriber<W, A>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    colours: bool,
    audit: Option<AuditLayer<A>>,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    A: Write + Send + 'static,
{
    let log = tracing_subscriber::fmt::layer().with_writer(writer);
    let log: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => log.with_target(false).with_ansi(colours).boxed(),
        LogFormat::Json => log
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    };
    Box::new(
        tracing_subscriber::registry()
            .with(log.with_filter(filter))
            .with(audit.map(|audit| audit.with_filter(SecurityEvents))),
    )
}

/// A writer that keeps in memory what it is given, for tests that read the log or the audit trail
/// (a subscriber's `with_writer`, or an [`AuditLayer`]). Clones share one buffer.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::config::Map;

    /// Two events in a request span (one inside a span of its own), one outside it.
    fn log_a_request(format: LogFormat) -> String {
        let captured = Captured::default();
        let subscriber = subscriber::<_, Vec<u8>>(
            format,
            EnvFilter::new("info"),
            captured.clone(),
            false,
            None,
        );
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", request_id = "r-1", path = "/v1/orders");
            request.in_scope(|| {
                tracing::info!(sku = "BATON-STICKERS", "priced");
                tracing::info_span!("debit").in_scope(|| tracing::warn!("debit did not succeed"));
            });
            tracing::info!("between requests");
        });
        captured.text()
    }

    #[test]
    fn json_is_one_object_per_line_and_every_line_of_a_request_names_it() {
        let written = log_a_request(LogFormat::Json);
        let lines: Vec<Value> = written
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect();
        assert_eq!(lines.len(), 3, "{written}");
        let request_id = |line: &Value| {
            line["spans"]
                .as_array()
                .and_then(|spans| spans.first())
                .and_then(|outermost| outermost["request_id"].as_str())
                .map(str::to_owned)
        };
        assert_eq!(lines[0]["message"], "priced");
        assert_eq!(lines[0]["sku"], "BATON-STICKERS");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(request_id(&lines[0]).as_deref(), Some("r-1"));
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(
            request_id(&lines[1]).as_deref(),
            Some("r-1"),
            "a line in a span inside the request still names it"
        );
        assert_eq!(lines[1]["spans"][1]["name"], "debit");
        assert_eq!(request_id(&lines[2]), None);
    }

    #[test]
    fn text_names_the_request_before_the_message() {
        let written = log_a_request(LogFormat::Text);
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 3, "{written}");
        assert!(
            lines[1].ends_with(
                r#" WARN request{request_id="r-1" path="/v1/orders"}:debit: debit did not succeed"#
            ),
            "{written}"
        );
        assert!(lines[2].ends_with(" INFO between requests"), "{written}");
        assert!(
            !written.contains('\u{1b}'),
            "no colour codes off a terminal"
        );
    }

    #[test]
    fn the_format_is_text_unless_asked_and_anything_else_is_refused() {
        assert_eq!(
            LogFormat::from_source(&Map::new()).ok(),
            Some(LogFormat::Text)
        );
        let json = Map::new().with(LogFormat::KEY, "json");
        assert_eq!(LogFormat::from_source(&json).ok(), Some(LogFormat::Json));
        let other = Map::new().with(LogFormat::KEY, "logfmt");
        assert!(LogFormat::from_source(&other).is_err());
    }
}
