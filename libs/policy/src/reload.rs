//! Hot reload: a policy change takes effect without a restart and without dropping a request.
//!
//! A background task reads the policy directory every few seconds. When the text differs from
//! what it last saw, it validates the new text against the new schema and, only if that passes,
//! swaps it in ([`PolicyEngine::replace`]). A file that does not validate (half-written by an
//! editor, or simply wrong) is logged and ignored: the policies in force stay in force. Failing
//! closed here would mean one typo takes the whole service down.
//!
//! Polling rather than inotify: it works the same on every platform and inside a Kubernetes
//! ConfigMap mount (which swaps a symlink rather than writing the file), at the cost of a
//! few seconds' delay.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::engine::{PolicyEngine, PolicyError, PolicyText};

/// How often the directory is read, unless the caller says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// Starts watching `dir`, which holds the text `engine` was built from (`loaded`). The task runs
/// until the returned handle is aborted or the runtime stops.
pub fn watch(
    engine: Arc<PolicyEngine>,
    dir: PathBuf,
    loaded: PolicyText,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = loaded;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Some(text) = check_once(&engine, &dir, &seen) {
                seen = text;
            }
        }
    })
}

/// One look at the directory. Returns the text it saw if that text was new (whether or not it
/// validated), so a bad file is reported once, not every interval.
fn check_once(
    engine: &PolicyEngine,
    dir: &std::path::Path,
    seen: &PolicyText,
) -> Option<PolicyText> {
    let text = match PolicyText::read_dir(dir) {
        Ok(text) => text,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), error = %err, "policy reload: cannot read");
            return None;
        }
    };
    if &text == seen {
        return None;
    }
    if let Err(err) = engine.replace(&text) {
        tracing::error!(
            dir = %dir.display(),
            error = %err,
            "policy reload refused: keeping the policies in force"
        );
    }
    Some(text)
}

/// A service's engine: from `dir` if one is given (and then watched for changes), otherwise the
/// policies `embedded` in its binary. An error here must stop the service's start.
pub fn load(
    service: &'static str,
    embedded: &PolicyText,
    dir: Option<&std::path::Path>,
) -> Result<Arc<PolicyEngine>, PolicyError> {
    let Some(dir) = dir else {
        return Ok(Arc::new(PolicyEngine::new(service, embedded)?));
    };
    let text = PolicyText::read_dir(dir)?;
    let engine = Arc::new(PolicyEngine::new(service, &text)?);
    watch(engine.clone(), dir.to_owned(), text, DEFAULT_INTERVAL);
    Ok(engine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{READ, customer, document, text};

    #[test]
    fn a_valid_change_is_swapped_in_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let original = text("@id(\"p\") permit(principal, action == Action::\"read\", resource);");
        write(dir.path(), &original);
        let engine = PolicyEngine::new("test", &original).unwrap();
        assert!(engine.decide(&customer(), READ, &document()).is_allow());

        let bad = text("@id(\"p\") permit(principal, action, resource) when { resource.nope };");
        write(dir.path(), &bad);
        assert_eq!(
            check_once(&engine, dir.path(), &original),
            Some(bad.clone())
        );
        assert!(engine.decide(&customer(), READ, &document()).is_allow());
        assert_eq!(check_once(&engine, dir.path(), &bad), None);

        let stricter = text("@id(\"p\") forbid(principal, action, resource);");
        write(dir.path(), &stricter);
        assert!(check_once(&engine, dir.path(), &bad).is_some());
        assert!(!engine.decide(&customer(), READ, &document()).is_allow());
    }

    fn write(dir: &std::path::Path, text: &PolicyText) {
        std::fs::write(dir.join(PolicyText::SCHEMA_FILE), &text.schema).unwrap();
        std::fs::write(dir.join(PolicyText::POLICIES_FILE), &text.policies).unwrap();
    }
}
