//! What the store wrappers learn on the way through: every failed operation is counted (one
//! counter, whichever endpoint or task made the call), and the outcome of the last write is
//! kept, so readiness can say whether the store takes writes — a store that answers reads
//! while its disk is full is not ready.

use super::StoreError;
use prometheus_client::metrics::counter::Counter;
use std::sync::Mutex;

/// What happened to a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    /// Why not, in the operator's words ("disk full", "unreachable", …).
    Failed(&'static str),
}

/// Shared by the clones of one store wrapper.
#[derive(Debug)]
pub struct Watch {
    kind: &'static str,
    errors: Counter,
    /// The last write's outcome, and whether readiness's probe made it.
    last_write: Mutex<Option<(Outcome, bool)>>,
    /// The last probe's verdict and when it came: one probe at a time, and the health
    /// checks that waited for it share its verdict instead of writing each.
    last_probe: tokio::sync::Mutex<Option<(std::time::Instant, Outcome)>>,
}

/// The reasons a request's failed write keeps a store unready past a good probe: the store
/// cannot take data (its disk, its memory, its mode). A failure of the request's own making, a
/// busy or saturated store, is not held: the probe alone says whether the store works, so
/// requests cannot pull a gateway out of rotation.
const HELD: [&str; 7] = [
    "disk full",
    "read-only",
    "read-only (a standby)",
    "I/O error",
    "read-only (a replica)",
    "out of memory (maxmemory)",
    "database file damaged",
];

/// How an operation's result is taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Counted when it fails.
    Read,
    /// Counted when it fails; its outcome is the store's last write.
    Write,
    /// Readiness's own write: its outcome is the last write, but it is not counted (a
    /// health check every few seconds against a store that is down would count the checker,
    /// not the work the store failed; readiness reports it through `store_up`).
    Probe,
    /// A read made for a scrape of `/metrics` (the census behind its gauges): not counted,
    /// for the same reason.
    Scrape,
}

/// A probe that did not answer within readiness's bound (`any::PROBE_LIMIT`).
pub const PROBE_TIMED_OUT: &str = "unreachable (no answer within 400 ms)";

impl Watch {
    pub fn new(kind: &'static str, errors: Counter) -> Self {
        Watch {
            kind,
            errors,
            last_write: Mutex::new(None),
            last_probe: tokio::sync::Mutex::new(None),
        }
    }

    pub fn errors(&self) -> &Counter {
        &self.errors
    }

    /// Takes note of an operation's result.
    pub fn saw<T>(&self, call: Call, result: &Result<T, StoreError>) {
        if result.is_err() && matches!(call, Call::Read | Call::Write) {
            self.errors.inc();
        }
        if matches!(call, Call::Read | Call::Scrape) {
            return;
        }
        self.note(call, self.outcome(result));
    }

    fn note(&self, call: Call, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Failed(why)) if call == Call::Write && !HELD.contains(&why) => {}
            Some(outcome) => *self.last() = Some((outcome, call == Call::Probe)),
            None => {}
        }
    }

    /// Readiness's verdict: `probe`'s, run one at a time; a check that waited while another
    /// probed takes that probe's verdict (it is newer than the check), so a flood of `/readyz`
    /// costs one write at a time, never a pile of them.
    pub async fn verdict<F>(&self, probe: F) -> Outcome
    where
        F: std::future::Future<Output = Option<Result<(), StoreError>>>,
    {
        let asked = crate::ops::clock::instant();
        let mut last = self.last_probe.lock().await;
        if let Some((at, outcome)) = *last {
            if at > asked {
                return outcome;
            }
        }
        let outcome = self.probed(probe.await);
        *last = Some((crate::ops::clock::instant(), outcome));
        outcome
    }

    /// `None` for an error that says nothing about the store taking writes (a stored value
    /// that does not decode).
    fn outcome<T>(&self, result: &Result<T, StoreError>) -> Option<Outcome> {
        match result {
            Ok(_) => Some(Outcome::Written),
            Err(error) => why(self.kind, error).map(Outcome::Failed),
        }
    }

    fn last(&self) -> std::sync::MutexGuard<'_, Option<(Outcome, bool)>> {
        // A poisoned lock only means another thread panicked while holding it; the value
        // (a copy) is still whole.
        self.last_write.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Readiness's verdict on its probe write (`None`: it did not answer in time), which
    /// becomes the last write. Not ready when the probe failed, nor when the write before it
    /// was a request's and failed: a store can take the probe's one small row and still
    /// refuse a bigger write, and that request saw it as it is. A store out of rotation
    /// gets no requests, so the next probe alone decides and it comes back by itself.
    pub fn probed(&self, probe: Option<Result<(), StoreError>>) -> Outcome {
        let probed = match &probe {
            Some(result) => self.outcome(result).unwrap_or(Outcome::Failed("error")),
            None => Outcome::Failed(PROBE_TIMED_OUT),
        };
        let before = self.last().replace((probed, true));
        match (probed, before) {
            (Outcome::Written, Some((Outcome::Failed(why), false))) => Outcome::Failed(why),
            _ => probed,
        }
    }

    #[cfg(test)]
    fn last_write(&self) -> Option<Outcome> {
        self.last().map(|(outcome, _)| outcome)
    }
}

/// Why a store refused or failed a write, in the operator's words; `None` when the error is
/// not the store's (a stored value that does not decode).
pub fn why(kind: &str, error: &StoreError) -> Option<&'static str> {
    Some(match error {
        StoreError::Corrupt(_) => return None,
        StoreError::Unavailable(_) => "unreachable",
        StoreError::Migrate(_) => "schema migration failed",
        StoreError::Database(sqlx::Error::Database(db)) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            if kind == "sqlite" {
                sqlite_reason(code)
            } else {
                postgres_reason(code)
            }
        }
        StoreError::Database(
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut,
        ) => "unreachable",
        StoreError::Database(sqlx::Error::PoolClosed) => "closed",
        StoreError::Database(_) => "error",
        StoreError::Redis(e) => match e.code() {
            Some("READONLY") => "read-only (a replica)",
            Some("OOM") => "out of memory (maxmemory)",
            _ if e.is_io_error()
                || e.is_timeout()
                || e.is_connection_refusal()
                || e.is_connection_dropped() =>
            {
                "unreachable"
            }
            _ => "error",
        },
    })
}

/// SQLite's result codes (extended ones carry the primary code in their low byte).
fn sqlite_reason(code: &str) -> &'static str {
    match code.parse::<i32>().map(|c| c & 0xff) {
        Ok(13) => "disk full",
        Ok(8) => "read-only",
        Ok(10) => "I/O error",
        Ok(5 | 6) => "busy",
        Ok(14) => "cannot open the database file",
        Ok(11 | 26) => "database file damaged",
        _ => "error",
    }
}

/// PostgreSQL's SQLSTATE classes and codes.
fn postgres_reason(code: &str) -> &'static str {
    match code {
        "53100" => "disk full",
        "25006" => "read-only (a standby)",
        _ if code.starts_with("53") => "out of resources",
        _ if code.starts_with("08") || code.starts_with("57P") => "unreachable",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> StoreError {
        StoreError::Unavailable("x")
    }

    #[test]
    fn failed_calls_are_counted_and_probes_are_not() {
        let watch = Watch::new("memory", Counter::default());
        watch.saw::<()>(Call::Read, &Err(down()));
        watch.saw::<()>(Call::Write, &Err(down()));
        watch.saw::<()>(Call::Probe, &Err(down()));
        watch.saw::<()>(Call::Scrape, &Err(down()));
        watch.saw(Call::Write, &Ok(()));
        assert_eq!(watch.errors().get(), 2);
    }

    #[test]
    fn the_last_write_is_kept_and_reads_do_not_change_it() {
        let watch = Watch::new("memory", Counter::default());
        assert_eq!(watch.last_write(), None);
        // A request's write that failed for a reason not the store's state: the probe decides.
        watch.saw::<()>(Call::Write, &Err(down()));
        assert_eq!(watch.last_write(), None);
        watch.note(Call::Write, Some(Outcome::Failed("disk full")));
        watch.saw(Call::Read, &Ok(()));
        assert_eq!(watch.last_write(), Some(Outcome::Failed("disk full")));
        watch.saw(Call::Write, &Ok(()));
        assert_eq!(watch.last_write(), Some(Outcome::Written));
        // A value that does not decode is no news about the store.
        watch.saw::<()>(Call::Write, &Err(StoreError::Corrupt("x")));
        assert_eq!(watch.last_write(), Some(Outcome::Written));
    }

    #[test]
    fn a_request_write_that_failed_before_a_good_probe_keeps_the_store_unready_once() {
        let watch = Watch::new("sqlite", Counter::default());
        assert_eq!(watch.probed(Some(Ok(()))), Outcome::Written);
        watch.saw::<()>(Call::Write, &Err(down()));
        assert_eq!(
            watch.probed(Some(Ok(()))),
            Outcome::Written,
            "a saturated or unreachable moment is the probe's to judge"
        );
        watch.note(Call::Write, Some(Outcome::Failed("disk full")));
        assert_eq!(watch.probed(Some(Ok(()))), Outcome::Failed("disk full"));
        // No request since: the probe alone decides.
        assert_eq!(watch.probed(Some(Ok(()))), Outcome::Written);
        // A failed probe is not held against the next one.
        assert_eq!(watch.probed(None), Outcome::Failed(PROBE_TIMED_OUT));
        assert_eq!(watch.probed(Some(Ok(()))), Outcome::Written);
        assert_eq!(
            watch.errors().get(),
            1,
            "only the request's write is counted"
        );
    }

    #[tokio::test]
    async fn checks_that_wait_for_a_probe_share_its_verdict() {
        let watch = Watch::new("sqlite", Counter::default());
        let probes = std::sync::atomic::AtomicUsize::new(0);
        let probe = || async {
            probes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Some(Ok(()))
        };
        let verdicts =
            futures_util::future::join_all((0..50).map(|_| watch.verdict(probe()))).await;
        assert!(verdicts.iter().all(|v| *v == Outcome::Written));
        assert_eq!(probes.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A check after it probes again: a verdict is never older than the check.
        watch.verdict(probe()).await;
        assert_eq!(probes.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn result_codes_name_the_reason() {
        assert_eq!(sqlite_reason("13"), "disk full");
        // SQLITE_READONLY_DBMOVED, an extended code.
        assert_eq!(sqlite_reason("1032"), "read-only");
        assert_eq!(sqlite_reason("778"), "I/O error");
        assert_eq!(postgres_reason("53100"), "disk full");
        assert_eq!(postgres_reason("25006"), "read-only (a standby)");
        assert_eq!(postgres_reason("08006"), "unreachable");
        assert_eq!(postgres_reason("23505"), "error");
    }
}
