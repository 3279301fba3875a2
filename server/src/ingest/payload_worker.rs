//! The background job that reads release payloads: every interval, and whenever a webhook
//! wakes it, it asks the store for releases whose payload has not been read
//! ([`Store::releases_awaiting_payload`]) and reads them with [`PayloadReader::read_into`],
//! a few at a time.
//!
//! The job is idempotent: a payload read twice is stored once, and a release already bound
//! costs no request. A read that fails is recorded (`payload.failed`) by the reader; the
//! store then leaves the pull spec out for `retry_after`, and the worker itself backs off
//! per pull spec (doubling from one interval up to `retry_after`), so a registry that keeps
//! failing is not asked again every interval even when the recorded failure does not change.
//! A push of the image (a webhook) lifts both: the store lists a failed release again once
//! a registry event newer than its failure names its image, and a wake-up clears the
//! worker's own backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{watch, Notify};

use super::payload::{PayloadReader, PayloadRequest, ReadOutcome};
use crate::store::{Store, StoreError};

/// How often and how much the worker reads.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Time between rounds when nothing wakes the worker.
    pub interval: Duration,
    /// Payloads read at the same time.
    pub concurrency: usize,
    /// Most releases taken per round.
    pub batch: usize,
    /// How long a failed pull spec is left alone, at most.
    pub retry_after: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            interval: Duration::from_secs(120),
            concurrency: 4,
            batch: 32,
            retry_after: Duration::from_secs(3600),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Payloads fetched and stored.
    pub read: usize,
    /// Releases bound to a payload stored before.
    pub cached: usize,
    /// Reads that failed.
    pub failed: usize,
    /// Releases skipped because their pull spec is backing off.
    pub backing_off: usize,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: Instant,
}

/// Reads the payloads of releases as they appear.
#[derive(Clone)]
pub struct PayloadWorker {
    store: Store,
    reader: PayloadReader,
    wake: Arc<Notify>,
    config: WorkerConfig,
    backoff: Arc<Mutex<HashMap<String, Backoff>>>,
}

impl PayloadWorker {
    /// A worker over `store`, woken early by `wake`.
    pub fn new(
        store: Store,
        reader: PayloadReader,
        wake: Arc<Notify>,
        config: WorkerConfig,
    ) -> Self {
        PayloadWorker {
            store,
            reader,
            wake,
            config,
            backoff: Arc::default(),
        }
    }

    fn backing_off(&self, pull_spec: &str, now: Instant) -> bool {
        self.backoff
            .lock()
            .map(|b| b.get(pull_spec).is_some_and(|b| b.until > now))
            .unwrap_or(false)
    }

    fn note(&self, pull_spec: &str, ok: bool) {
        let Ok(mut map) = self.backoff.lock() else {
            return;
        };
        if ok {
            map.remove(pull_spec);
            return;
        }
        let failures = map.get(pull_spec).map_or(0, |b| b.failures) + 1;
        let delay = self
            .config
            .interval
            .saturating_mul(1 << failures.min(16))
            .min(self.config.retry_after);
        map.insert(
            pull_spec.to_string(),
            Backoff {
                failures,
                until: Instant::now() + delay,
            },
        );
    }

    fn forget_backoff(&self) {
        if let Ok(mut map) = self.backoff.lock() {
            map.clear();
        }
    }

    /// One round: reads the payloads of up to `batch` releases that wait for one.
    pub async fn run_once(&self) -> Result<RoundReport, StoreError> {
        let retry = chrono::Duration::from_std(self.config.retry_after)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        let failed_before = chrono::Utc::now() - retry;
        let backing_off = self.backoff.lock().map(|b| b.len()).unwrap_or(0);
        let limit = i64::try_from(self.config.batch + backing_off).unwrap_or(i64::MAX);
        let candidates = self
            .store
            .releases_awaiting_payload(failed_before, limit)
            .await?;
        let now = Instant::now();
        let mut report = RoundReport::default();
        let mut todo = Vec::new();
        for r in candidates {
            if self.backing_off(&r.pull_spec, now) {
                report.backing_off += 1;
            } else if todo.len() < self.config.batch {
                todo.push(r);
            }
        }
        let outcomes: Vec<_> = futures_util::stream::iter(todo)
            .map(|r| async move {
                let request = PayloadRequest {
                    pull_spec: r.pull_spec.clone(),
                    release: Some((r.stream, r.name)),
                };
                (
                    r.pull_spec,
                    self.reader.read_into(&self.store, &request).await,
                )
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        for (pull_spec, outcome) in outcomes {
            self.note(&pull_spec, outcome.is_ok());
            match outcome {
                Ok(ReadOutcome::Read { .. }) => report.read += 1,
                Ok(ReadOutcome::Cached { .. }) => report.cached += 1,
                Err(_) => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Runs rounds until `stop` turns true: after each round it waits for the interval or a
    /// wake-up, except when a full round made progress and more may be waiting.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let mut more = false;
            match self.run_once().await {
                Ok(report) => {
                    let done = report.read + report.cached;
                    if done + report.failed > 0 {
                        tracing::info!(
                            read = report.read,
                            cached = report.cached,
                            failed = report.failed,
                            "payload round"
                        );
                    }
                    more = done > 0 && done + report.failed >= self.config.batch;
                }
                Err(e) => tracing::warn!(error = %e, "payload round failed"),
            }
            if *stop.borrow() {
                return;
            }
            if more {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                // something a release names was pushed: failed reads may succeed now
                _ = self.wake.notified() => self.forget_backoff(),
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ingest, RC_TAGS};
    use crate::ingest::payload::ReaderConfig;
    use crate::store::events::NewEvent;
    use crate::store::testing;

    #[tokio::test]
    async fn failed_reads_are_recorded_and_left_alone() {
        let (store, _dir) = testing::sqlite().await;
        // nothing listens on the discard port: every read fails fast
        let spec = "127.0.0.1:9/okd/scos-release:4.21.0-okd-scos.1";
        let tags = serde_json::json!({"name": "4-scos-stable", "tags": [{"name": "4.21.0-okd-scos.1",
            "phase": "Accepted", "pullSpec": spec, "downloadURL": ""}]});
        ingest(
            &store,
            NewEvent {
                source: "origin".into(),
                kind: RC_TAGS.into(),
                subject: "4-scos-stable".into(),
                payload: tags.to_string(),
                received_at: chrono::Utc::now(),
                external_id: None,
            },
        )
        .await
        .expect("release");
        let reader = PayloadReader::new(ReaderConfig {
            insecure_hosts: vec!["127.0.0.1:9".into()],
            timeout: Duration::from_secs(2),
            ..ReaderConfig::default()
        });
        let worker = PayloadWorker::new(
            store.clone(),
            reader,
            Arc::new(Notify::new()),
            WorkerConfig::default(),
        );
        let first = worker.run_once().await.expect("round");
        assert_eq!(first.failed, 1, "{first:?}");
        let failure = store
            .payload_failure(spec)
            .await
            .expect("query")
            .expect("failure recorded");
        assert_eq!(failure.kind, "registry");
        assert_eq!(failure.release.as_deref(), Some("4.21.0-okd-scos.1"));
        // within the retry window nothing is asked again
        let second = worker.run_once().await.expect("round");
        assert_eq!(second, RoundReport::default());
    }
}
