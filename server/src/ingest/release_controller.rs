//! Polls a release-controller's JSON API and feeds what changed into the event log.
//!
//! One poll asks for the controller's stream list, then each wanted stream's tag list, then
//! the details of only those releases whose details are missing, stale (the phase moved on)
//! or still changing (verification running, or a final release young enough to gain late
//! upgrade results: read again at doubling intervals for three days). Unchanged answers are deduplicated by the log,
//! so a poll that finds nothing new writes nothing. `429 Too Many Requests` is honoured with
//! its `Retry-After`; failures back off exponentially with jitter and never touch stored data.
//! Every answer is read in chunks up to [`PollTiming::max_body`] bytes
//! (`--max-upstream-body`): a larger one fails the poll as soon as the cap is passed (or at
//! once when its `Content-Length` says so) and its connection is dropped.

use crate::formats::release_controller as wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use regex::Regex;
use reqwest::StatusCode;
use tokio::sync::watch;

use crate::capped::{read_capped, CappedError};
use crate::events::{self, EventError, RC_RELEASE, RC_RELEASE_FAILED, RC_STREAMS, RC_TAGS};
use crate::store::events::{content_hash, NewEvent};
use crate::store::poll_lock::PollLock;
use crate::store::{Store, StoreError};
use app::model::{Phase, PollStatus};

/// Answers read in one poll and not stored yet: a stream's tag list and release details
/// are stored together, in one transaction per stream or per [`BATCH_EVENTS`] answers or
/// [`BATCH_BYTES`] of bodies, whichever comes first.
#[derive(Debug, Default)]
struct Batch {
    events: Vec<events::Checked>,
    /// Each answer's content hash, for [`Poller::last_stored`].
    hashes: Vec<String>,
    bytes: usize,
}

/// Per kind and subject, the content hash of the answer last stored and when.
type LastStored = HashMap<(String, String), (String, chrono::DateTime<Utc>)>;

/// Answers stored per transaction, at most.
const BATCH_EVENTS: usize = 200;

/// Bytes of answers held before they are stored, at most.
const BATCH_BYTES: usize = 16 << 20;

/// One release-controller to poll.
#[derive(Debug, Clone)]
pub struct Controller {
    /// Short name (`origin`, `ocp`), recorded as the events' source.
    pub name: String,
    /// Base URL, e.g. `https://amd64.origin.releases.ci.openshift.org`.
    pub base_url: String,
    /// Streams to ingest; all when `None`.
    pub include: Option<Regex>,
    /// Streams to skip.
    pub exclude: Option<Regex>,
}

impl Controller {
    /// Whether a stream passes this controller's filters.
    pub fn wants(&self, stream: &str) -> bool {
        self.include.as_ref().is_none_or(|r| r.is_match(stream))
            && !self.exclude.as_ref().is_some_and(|r| r.is_match(stream))
    }
}

/// Timing and limits of the poll loop.
#[derive(Debug, Clone, Copy)]
pub struct PollTiming {
    /// Time between successful polls.
    pub interval: Duration,
    /// Timeout of each request.
    pub request_timeout: Duration,
    /// Longest wait after repeated failures.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured before giving up on the poll.
    pub max_retry_after: Duration,
    /// On PostgreSQL, how often a standby replica tries to take the poll lock (and so how
    /// soon it takes over from a replica that died).
    pub lock_retry: Duration,
    /// Largest answer read from the controller, in bytes.
    pub max_body: u64,
    /// Most requests a second to the controller (0: no limit): a first poll of many
    /// streams is spread out instead of meeting the controller's rate limit.
    pub max_rate: u32,
}

/// Default of [`PollTiming::max_body`]: the largest real answer (all streams of a
/// controller) is a few MB.
pub const MAX_BODY: u64 = 32 << 20;
/// Bytes of an error answer read for its message.
const ERROR_BODY: u64 = 4 << 10;

impl Default for PollTiming {
    fn default() -> Self {
        PollTiming {
            interval: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(900),
            max_retry_after: Duration::from_secs(120),
            lock_retry: Duration::from_secs(2),
            max_body: MAX_BODY,
            max_rate: 0,
        }
    }
}

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The controller answered with an unexpected status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// Requested URL.
        url: String,
        /// Status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The controller kept asking to slow down.
    #[error("{url} is rate limiting (retry after {retry_after:?})")]
    RateLimited {
        /// Requested URL.
        url: String,
        /// Asked delay.
        retry_after: Duration,
    },
    /// The answer is larger than allowed.
    #[error("{url} answered more than {limit} bytes (the limit is set by --max-upstream-body)")]
    TooLarge {
        /// Requested URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// No answer in time, or no connection.
    #[error("{url}: {reason}")]
    Transport {
        /// Requested URL.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The answer was not in the upstream format.
    #[error(transparent)]
    Event(#[from] EventError),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some streams failed; the others were ingested.
    #[error("{} of {total} streams failed: {}", .failures.len(), .failures.join("; "))]
    Partial {
        /// Streams attempted.
        total: usize,
        /// One message per failed stream.
        failures: Vec<String>,
    },
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// HTTP requests made.
    pub requests: u32,
    /// Events appended (inputs that changed something).
    pub events: u32,
    /// Answers equal to what the log already held for their subject, so not stored.
    pub unchanged: u32,
    /// Streams polled.
    pub streams: u32,
    /// Releases whose details could not be read this time (recorded against each release
    /// and retried next poll).
    pub release_failures: u32,
}

/// Shared, in-memory polling status per controller, shown on pages and `/readyz`. The
/// replica polling a controller records into it; standbys copy the poller's status from the
/// store.
#[derive(Debug, Clone, Default)]
pub struct PollRegistry(
    Arc<RwLock<BTreeMap<String, Polled>>>,
    /// Counts the changes pages show: a first success, a new error.
    Arc<std::sync::atomic::AtomicU64>,
);

/// A controller's status and who polls it.
#[derive(Debug, Clone)]
struct Polled {
    status: PollStatus,
    /// This process holds the controller's poll lock.
    here: bool,
    /// The replica that polls it, as last seen.
    holder: Option<String>,
}

/// The status of a controller not polled yet.
fn unpolled(controller: &str) -> PollStatus {
    PollStatus {
        controller: controller.to_string(),
        last_success_at: None,
        last_attempt_at: None,
        last_error: None,
        consecutive_failures: 0,
    }
}

/// Whether this replica polls a controller, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PollRole {
    /// `polling` (this replica holds the lock) or `standby`.
    pub role: &'static str,
    /// The replica that polls it, as last seen.
    pub holder: Option<String>,
}

impl PollRegistry {
    /// Registers a controller before its first poll.
    pub fn register(&self, controller: &str) {
        if let Ok(mut map) = self.0.write() {
            map.entry(controller.to_string()).or_insert_with(|| Polled {
                status: unpolled(controller),
                here: false,
                holder: None,
            });
        }
    }

    fn record(&self, controller: &str, result: &Result<PollReport, PollError>) -> PollStatus {
        self.register(controller);
        let mut recorded = None;
        if let Ok(mut map) = self.0.write() {
            if let Some(p) = map.get_mut(controller) {
                let s = &mut p.status;
                let before = (s.last_success_at.is_some(), s.last_error.clone());
                let now = Utc::now();
                s.last_attempt_at = Some(now);
                match result {
                    Ok(_) => {
                        s.last_success_at = Some(now);
                        s.last_error = None;
                        s.consecutive_failures = 0;
                    }
                    Err(e) => {
                        s.last_error = Some(e.to_string());
                        s.consecutive_failures += 1;
                    }
                }
                // pages show whether a controller answers: a first success or a new error
                // makes the pages kept for anonymous visitors stale
                if before != (s.last_success_at.is_some(), s.last_error.clone()) {
                    self.1.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                }
                recorded = Some(s.clone());
            }
        }
        recorded.unwrap_or_else(|| unpolled(controller))
    }

    /// How many times what pages show of the polling status changed.
    pub fn changes(&self) -> u64 {
        self.1.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Takes a controller's status as another replica polled it.
    pub fn adopt(&self, status: PollStatus, holder: String) {
        self.register(&status.controller);
        if let Ok(mut map) = self.0.write() {
            if let Some(p) = map.get_mut(&status.controller) {
                let shown = |s: &PollStatus| (s.last_success_at.is_some(), s.last_error.clone());
                if shown(&p.status) != shown(&status) {
                    self.1.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                }
                p.status = status;
                p.here = false;
                p.holder = Some(holder);
            }
        }
    }

    fn set_here(&self, controller: &str, here: bool, holder: &str) {
        self.register(controller);
        if let Ok(mut map) = self.0.write() {
            if let Some(p) = map.get_mut(controller) {
                p.here = here;
                if here {
                    p.holder = Some(holder.to_string());
                }
            }
        }
        crate::metrics::get().poll_lock(controller, here);
    }

    /// Every controller's status.
    pub fn all(&self) -> Vec<PollStatus> {
        self.0
            .read()
            .map(|m| m.values().map(|p| p.status.clone()).collect())
            .unwrap_or_default()
    }

    /// One controller's status.
    pub fn get(&self, controller: &str) -> Option<PollStatus> {
        self.0
            .read()
            .ok()
            .and_then(|m| m.get(controller).map(|p| p.status.clone()))
    }

    /// Whether this replica polls `controller`, and who does.
    pub fn role(&self, controller: &str) -> Option<PollRole> {
        self.0.read().ok().and_then(|m| {
            m.get(controller).map(|p| PollRole {
                role: if p.here { "polling" } else { "standby" },
                holder: p.holder.clone(),
            })
        })
    }
}

/// How long a final release's details may still change: the controller samples upgrades
/// into an accepted release and retries informing jobs for a while after the decision.
pub const SETTLED_AFTER: chrono::Duration = chrono::Duration::hours(72);
/// The shortest wait between two reads of a final release's details.
const MIN_RECHECK: chrono::Duration = chrono::Duration::minutes(30);

/// Whether a final release's details, created at `created` and last read at `last`, are
/// read again at `now`: at doubling intervals (once the release is twice as old as at the
/// last read, at least [`MIN_RECHECK`] apart) until [`SETTLED_AFTER`], so a release is
/// read a handful of times in all, never every poll.
pub fn recheck_due(
    created: chrono::DateTime<Utc>,
    last: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
) -> bool {
    if now - created > SETTLED_AFTER {
        return false;
    }
    match last {
        None => true,
        Some(last) => now - last >= (last - created).max(MIN_RECHECK),
    }
}

/// Where a poller takes the receive time of what it ingests.
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<Utc> + Send + Sync>;

/// Polls one controller.
#[derive(Clone)]
pub struct Poller {
    /// When each final release's details were last read by this poller (`stream/tag`),
    /// while they may still change ([`recheck_due`]).
    read_at: Arc<std::sync::Mutex<BTreeMap<String, chrono::DateTime<Utc>>>>,
    /// The content hash of the answer this poller last stored for each kind and subject,
    /// and when: an equal answer is not sent to the store at all (the log would not take
    /// it). Forgotten whenever the poll lock is taken again, since another replica may
    /// have stored answers meanwhile.
    last_stored: Arc<std::sync::Mutex<LastStored>>,
    /// Spaces the requests to the controller ([`PollTiming::max_rate`]).
    pace: Option<Arc<governor::DefaultDirectRateLimiter>>,
    client: reqwest::Client,
    store: Store,
    controller: Controller,
    timing: PollTiming,
    registry: PollRegistry,
    clock: Clock,
    takeover: Option<Arc<tokio::sync::Notify>>,
}

impl Poller {
    /// A poller for `controller`, writing into `store` and reporting into `registry`.
    pub fn new(
        store: Store,
        controller: Controller,
        timing: PollTiming,
        registry: PollRegistry,
    ) -> Result<Poller, PollError> {
        let client = reqwest::Client::builder()
            .timeout(timing.request_timeout)
            .connect_timeout(timing.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("streamgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PollError::Transport {
                url: controller.base_url.clone(),
                reason: e.to_string(),
            })?;
        registry.register(&controller.name);
        // evenly spaced, no burst: a controller counting requests per second sees at most
        // `max_rate` in any second
        let pace = std::num::NonZeroU32::new(timing.max_rate).map(|rate| {
            let quota = governor::Quota::per_second(rate).allow_burst(std::num::NonZeroU32::MIN);
            Arc::new(governor::RateLimiter::direct(quota))
        });
        Ok(Poller {
            read_at: Arc::default(),
            last_stored: Arc::default(),
            pace,
            client,
            store,
            controller,
            timing,
            registry,
            clock: Arc::new(now_micros),
            takeover: None,
        })
    }

    /// Takes receive times from `clock` instead of the system clock (the demo plays recorded
    /// history at its own pace and stamps it with the recorded time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// While standing by, also tries the poll lock as soon as `released` is woken (another
    /// replica freed a lock on its way out), not only every `lock_retry`.
    pub fn with_takeover_signal(mut self, released: Arc<tokio::sync::Notify>) -> Self {
        self.takeover = Some(released);
        self
    }

    /// The controller polled.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Polls until `shutdown` turns true: every `interval` after a success, with exponential
    /// backoff and jitter after failures. On PostgreSQL only while this replica holds the
    /// controller's poll lock; until then it stands by, retrying the lock every
    /// `lock_retry` and showing the polling replica's status.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let name = self.controller.name.clone();
        let me = crate::replica_name();
        let mut lock = PollLock::new(&self.store, &name);
        let mut announced_standby = false;
        loop {
            match lock.try_acquire().await {
                Ok(true) => {
                    tracing::info!(controller = %name, replica = %me, "polling (this replica holds the poll lock)");
                    announced_standby = false;
                    self.registry.set_here(&name, true, &me);
                    let stopped = self.poll_while_held(&mut lock, &me, &mut shutdown).await;
                    self.registry.set_here(&name, false, &me);
                    if stopped {
                        lock.release().await;
                        return;
                    }
                    tracing::warn!(controller = %name, "poll lock lost; standing by");
                    continue;
                }
                Ok(false) => {
                    if !announced_standby {
                        tracing::info!(controller = %name, "standing by: another replica polls this controller");
                        announced_standby = true;
                    }
                    match self.store.poll_status(&name).await {
                        Ok(Some((status, holder))) => self.registry.adopt(status, holder),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(controller = %name, error = %e, "reading the poll status failed")
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(controller = %name, error = %e, "taking the poll lock failed")
                }
            }
            let released = async {
                match &self.takeover {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(self.timing.lock_retry) => {}
                _ = released => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                lock.release().await;
                return;
            }
        }
    }

    /// Polls while the lock holds; `true` when stopped for shutdown, `false` when the lock
    /// was lost.
    async fn poll_while_held(
        &self,
        lock: &mut PollLock,
        me: &str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        // another replica may have polled while this one did not hold the lock
        if let Ok(mut stored) = self.last_stored.lock() {
            stored.clear();
        }
        loop {
            if !lock.still_held().await {
                return false;
            }
            let (result, status) = self.poll_recorded().await;
            if let Err(e) = self.store.save_poll_status(&status, me, Utc::now()).await {
                tracing::warn!(controller = %self.controller.name, error = %e, "saving the poll status failed");
            }
            let failures = status.consecutive_failures;
            match &result {
                Ok(report) => tracing::info!(
                    controller = %self.controller.name,
                    requests = report.requests,
                    events = report.events,
                    unchanged = report.unchanged,
                    streams = report.streams,
                    "poll done"
                ),
                Err(e) => {
                    tracing::warn!(controller = %self.controller.name, failures, error = %e, "poll failed")
                }
            }
            // wait for the next poll, checking now and then that the lock still holds
            let next = tokio::time::Instant::now() + next_delay(&self.timing, failures);
            let check = self.timing.lock_retry.max(Duration::from_secs(1)) * 5;
            loop {
                let wake = next.min(tokio::time::Instant::now() + check);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = shutdown.changed() => {}
                }
                if *shutdown.borrow() {
                    return true;
                }
                if tokio::time::Instant::now() >= next {
                    break;
                }
                if !lock.still_held().await {
                    return false;
                }
            }
        }
    }

    /// Polls once and records the outcome in the registry.
    pub async fn poll_and_record(&self) -> Result<PollReport, PollError> {
        self.poll_recorded().await.0
    }

    /// Polls once, counts it in the metrics and records it in the registry; the result and
    /// the controller's status after it.
    async fn poll_recorded(&self) -> (Result<PollReport, PollError>, PollStatus) {
        let started = std::time::Instant::now();
        let result = self.poll_once().await;
        crate::metrics::get().poll(&self.controller.name, result.is_ok(), started);
        let status = self.registry.record(&self.controller.name, &result);
        (result, status)
    }

    /// One poll: streams, then tags per wanted stream, then the details that are needed.
    pub async fn poll_once(&self) -> Result<PollReport, PollError> {
        let mut report = PollReport::default();
        let body = self.get("/api/v1/releasestreams/all", &mut report).await?;
        let streams: wire::ReleaseStreams = serde_json::from_str(&body).map_err(|e| {
            PollError::Event(EventError::Malformed {
                kind: RC_STREAMS.to_string(),
                subject: "all".to_string(),
                reason: e.to_string(),
            })
        })?;
        let mut batch = Batch::default();
        self.record(RC_STREAMS, "all", body, &mut report, &mut batch)
            .await?;
        self.store_batch(&mut batch, &mut report).await?;
        let wanted: Vec<&String> = streams
            .keys()
            .filter(|s| self.controller.wants(s))
            .collect();
        let mut failures = Vec::new();
        for stream in &wanted {
            report.streams += 1;
            let polled = self.poll_stream(stream, &mut report, &mut batch).await;
            // what was read is kept, whatever went wrong after it
            let stored = self.store_batch(&mut batch, &mut report).await;
            if let Err(e) = polled.and(stored) {
                tracing::warn!(controller = %self.controller.name, stream = %stream, error = %e, "stream poll failed");
                failures.push(format!("{stream}: {e}"));
            }
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(PollError::Partial {
                total: wanted.len(),
                failures,
            })
        }
    }

    async fn poll_stream(
        &self,
        stream: &str,
        report: &mut PollReport,
        batch: &mut Batch,
    ) -> Result<(), PollError> {
        let body = self
            .get(
                &format!(
                    "/api/v1/releasestream/{}/tags",
                    crate::percent::encode(stream)
                ),
                report,
            )
            .await?;
        let listed: wire::ApiRelease = serde_json::from_str(&body).map_err(|e| {
            PollError::Event(EventError::Malformed {
                kind: RC_TAGS.to_string(),
                subject: stream.to_string(),
                reason: e.to_string(),
            })
        })?;
        self.record(RC_TAGS, stream, body, report, batch).await?;
        let stored = self.store.release_states(stream).await?;
        let stored: std::collections::HashMap<&str, _> =
            stored.iter().map(|s| (s.name.as_str(), s)).collect();
        let now = (self.clock)();
        for tag in &listed.tags {
            let phase = Phase::from_upstream(&tag.phase);
            let state = stored.get(tag.name.as_str()).copied();
            let fresh = state.is_some_and(|s| s.details_phase.as_deref() == Some(phase.as_str()));
            let subject = format!("{stream}/{}", tag.name);
            if fresh && phase.is_terminal() {
                let last = self
                    .last_read(&subject)
                    .or(state.and_then(|s| s.details_at));
                let created = state.map_or(now, |s| s.created_at);
                if !recheck_due(created, last, now) {
                    continue;
                }
            }
            self.note_read(&subject, now);
            let path = format!(
                "/api/v1/releasestream/{}/release/{}",
                crate::percent::encode(stream),
                crate::percent::encode(&tag.name)
            );
            let failure = match self.get(&path, report).await {
                Ok(body) => match self.record(RC_RELEASE, &subject, body, report, batch).await {
                    Ok(()) => None,
                    // a truncated or malformed answer, or one naming another release
                    Err(PollError::Event(e @ EventError::Malformed { .. })) => Some(e.to_string()),
                    Err(e) => return Err(e),
                },
                // deleted between the two requests: the next tag list will say so
                Err(PollError::Status { status: 404, .. }) => {
                    tracing::debug!(stream, tag = %tag.name, "release vanished before its details were read");
                    None
                }
                // this release's trouble, not the controller's: the other releases are read
                Err(e @ (PollError::Status { .. } | PollError::TooLarge { .. })) => {
                    Some(e.to_string())
                }
                Err(e) => return Err(e),
            };
            if let Some(error) = failure {
                self.release_failed(&subject, error, report, batch).await?;
            }
        }
        Ok(())
    }

    /// When this poller last read `subject`'s details.
    fn last_read(&self, subject: &str) -> Option<chrono::DateTime<Utc>> {
        self.read_at.lock().ok()?.get(subject).copied()
    }

    /// Notes a read of `subject`'s details at `now`, forgetting reads of releases that have
    /// settled since.
    fn note_read(&self, subject: &str, now: chrono::DateTime<Utc>) {
        if let Ok(mut read_at) = self.read_at.lock() {
            read_at.retain(|_, at| now - *at <= SETTLED_AFTER);
            read_at.insert(subject.to_string(), now);
        }
    }

    /// Records that `subject`'s details could not be read, against that release; it is
    /// read again next poll (its details are not fresh).
    async fn release_failed(
        &self,
        subject: &str,
        error: String,
        report: &mut PollReport,
        batch: &mut Batch,
    ) -> Result<(), PollError> {
        tracing::warn!(controller = %self.controller.name, release = subject, error = %error, "release details not read; retried next poll");
        report.release_failures += 1;
        let body = serde_json::to_string(&events::ReleaseFailure { error }).map_err(|e| {
            PollError::Transport {
                url: subject.to_string(),
                reason: e.to_string(),
            }
        })?;
        self.record(RC_RELEASE_FAILED, subject, body, report, batch)
            .await
    }

    /// Checks an answer and adds it to `batch`, storing the batch once it is full; a
    /// malformed answer is refused here, before anything is stored.
    async fn record(
        &self,
        kind: &str,
        subject: &str,
        payload: String,
        report: &mut PollReport,
        batch: &mut Batch,
    ) -> Result<(), PollError> {
        let hash = content_hash(&payload);
        let key = (kind.to_string(), subject.to_string());
        let unchanged = self
            .last_stored
            .lock()
            .is_ok_and(|stored| stored.get(&key).is_some_and(|(h, _)| *h == hash));
        if unchanged {
            report.unchanged += 1;
            return Ok(());
        }
        let (kind, subject) = key;
        let event = NewEvent {
            source: self.controller.name.clone(),
            kind,
            subject,
            payload,
            received_at: (self.clock)(),
            external_id: None,
        };
        let checked = events::check(event)?;
        batch.bytes += checked.event().payload.len();
        batch.events.push(checked);
        batch.hashes.push(hash);
        if batch.events.len() >= BATCH_EVENTS || batch.bytes >= BATCH_BYTES {
            self.store_batch(batch, report).await?;
        }
        Ok(())
    }

    /// Stores what `batch` holds, in one transaction, and empties it: a batch that fails
    /// is not tried again with the next stream's (nothing of it is stored; the next poll
    /// reads it again).
    async fn store_batch(
        &self,
        batch: &mut Batch,
        report: &mut PollReport,
    ) -> Result<(), PollError> {
        let Batch { events, hashes, .. } = std::mem::take(batch);
        let keys: Vec<(String, String)> = events
            .iter()
            .map(|c| (c.event().kind.clone(), c.event().subject.clone()))
            .collect();
        let ids = events::ingest_all(&self.store, events).await?;
        report.events += ids.iter().flatten().count() as u32;
        report.unchanged += ids.iter().filter(|id| id.is_none()).count() as u32;
        // stored or already the log's latest: either way, what the log now holds
        let now = (self.clock)();
        if let Ok(mut stored) = self.last_stored.lock() {
            stored.retain(|_, (_, at)| now - *at <= SETTLED_AFTER);
            for (key, hash) in keys.into_iter().zip(hashes) {
                stored.insert(key, (hash, now));
            }
        }
        Ok(())
    }

    /// GETs `path`, retrying after `429` as long as the asked delay is acceptable.
    async fn get(&self, path: &str, report: &mut PollReport) -> Result<String, PollError> {
        let url = format!("{}{}", self.controller.base_url.trim_end_matches('/'), path);
        let mut attempts = 0;
        loop {
            attempts += 1;
            if let Some(pace) = &self.pace {
                pace.until_ready().await;
            }
            report.requests += 1;
            let mut response = self
                .client
                .get(&url)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| transport(&url, &e))?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(60), Duration::from_secs);
                if attempts >= 3 || retry_after > self.timing.max_retry_after {
                    return Err(PollError::RateLimited { url, retry_after });
                }
                tracing::info!(url = %url, ?retry_after, "rate limited, waiting as asked");
                tokio::time::sleep(retry_after).await;
                continue;
            }
            if !status.is_success() {
                let body = read_prefix(response, ERROR_BODY)
                    .await
                    .map_err(|e| transport(&url, &e))?;
                let body = String::from_utf8_lossy(&body);
                let snippet: String = body.chars().take(200).collect();
                return Err(PollError::Status {
                    url,
                    status: status.as_u16(),
                    body: snippet.trim().to_string(),
                });
            }
            let limit = self.timing.max_body;
            let body = read_capped(&mut response, limit)
                .await
                .map_err(|e| match e {
                    CappedError::TooLarge { .. } => PollError::TooLarge {
                        url: url.clone(),
                        limit,
                    },
                    CappedError::Transport(e) => transport(&url, &e),
                })?;
            return Ok(String::from_utf8_lossy(&body).into_owned());
        }
    }
}

/// The first `limit` bytes of an error answer's body at most, for its detail; the rest is
/// never read (the connection is dropped there).
async fn read_prefix(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = usize::try_from(limit).unwrap_or(usize::MAX) - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(url: &str, e: &reqwest::Error) -> PollError {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.to_string()
    };
    PollError::Transport {
        url: url.to_string(),
        reason,
    }
}

/// The current time at the database's precision (microseconds), so stored and in-memory
/// times compare equal on every backend.
pub fn now_micros() -> chrono::DateTime<Utc> {
    let now = Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The wait before the next poll: the interval (±10 %) after a success; after `failures`
/// failures, 5 s doubling per failure up to the interval and `max_backoff`, ±20 %.
pub fn next_delay(timing: &PollTiming, failures: u32) -> Duration {
    let mut rng = rand::rng();
    if failures == 0 {
        return timing.interval.mul_f64(rng.random_range(0.9..1.1));
    }
    let exp = Duration::from_secs(5).saturating_mul(1u32 << failures.min(16).saturating_sub(1));
    let capped = exp
        .min(timing.max_backoff)
        .min(timing.interval.max(Duration::from_secs(5)));
    capped.mul_f64(rng.random_range(0.8..1.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer equal to the one this poller last stored for its subject is not sent to
    /// the store; a changed one is; after the poll lock is taken again the log decides.
    #[tokio::test]
    async fn answers_equal_to_the_last_stored_are_not_sent_to_the_store() {
        let (store, _dir) = crate::store::testing::sqlite().await;
        let controller = Controller {
            name: "origin".into(),
            base_url: "http://127.0.0.1:9".into(),
            include: None,
            exclude: None,
        };
        let poller = Poller::new(
            store.clone(),
            controller,
            PollTiming::default(),
            PollRegistry::default(),
        )
        .expect("poller");
        let stream = "4.21.0-0.okd-scos";
        let empty = format!(r#"{{"name":"{stream}","tags":[]}}"#);
        let one = format!(
            r#"{{"name":"{stream}","tags":[{{"name":"{stream}-2026-02-11-071519","phase":"Ready","pullSpec":"q/r:x","downloadURL":""}}]}}"#
        );
        let mut report = PollReport::default();
        let mut batch = Batch::default();
        poller
            .record(RC_TAGS, stream, empty.clone(), &mut report, &mut batch)
            .await
            .expect("recorded");
        assert_eq!(batch.events.len(), 1);
        poller
            .store_batch(&mut batch, &mut report)
            .await
            .expect("stored");
        assert_eq!((report.events, report.unchanged), (1, 0));

        poller
            .record(RC_TAGS, stream, empty.clone(), &mut report, &mut batch)
            .await
            .expect("recorded");
        assert!(
            batch.events.is_empty(),
            "an unchanged answer joined the batch"
        );
        assert_eq!(report.unchanged, 1);

        poller
            .record(RC_TAGS, stream, one.clone(), &mut report, &mut batch)
            .await
            .expect("recorded");
        assert_eq!(batch.events.len(), 1, "a changed answer is stored");
        poller
            .store_batch(&mut batch, &mut report)
            .await
            .expect("stored");
        assert_eq!(report.events, 2);

        // the lock taken again: memory is forgotten, and the log says the list is not new
        poller.last_stored.lock().expect("lock").clear();
        poller
            .record(RC_TAGS, stream, one, &mut report, &mut batch)
            .await
            .expect("recorded");
        assert_eq!(batch.events.len(), 1);
        poller
            .store_batch(&mut batch, &mut report)
            .await
            .expect("stored");
        assert_eq!((report.events, report.unchanged), (2, 2), "{report:?}");
        assert_eq!(store.event_count().await.expect("count"), 2);
    }

    #[test]
    fn final_details_are_read_again_a_handful_of_times_until_settled() {
        let created = Utc::now() - chrono::Duration::days(30);
        let h = chrono::Duration::hours;
        assert!(recheck_due(created, None, created + h(1)), "never read");
        assert!(!recheck_due(created, Some(created + h(3)), created + h(5)));
        assert!(recheck_due(created, Some(created + h(3)), created + h(6)));
        // at least half an hour apart, however young
        let m = chrono::Duration::minutes;
        assert!(!recheck_due(created, Some(created + m(5)), created + m(20)));
        assert!(recheck_due(created, Some(created + m(5)), created + m(35)));
        // settled after three days
        assert!(!recheck_due(
            created,
            Some(created + h(40)),
            created + h(73)
        ));
        // polled every 5 minutes for three days: a handful of reads, not 864
        let mut last = None;
        let mut reads = 0;
        let mut now = created + h(2);
        while now - created <= h(80) {
            if recheck_due(created, last, now) {
                reads += 1;
                last = Some(now);
            }
            now += m(5);
        }
        assert!((4..=7).contains(&reads), "{reads} reads");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let timing = PollTiming {
            interval: Duration::from_secs(300),
            max_backoff: Duration::from_secs(60),
            ..PollTiming::default()
        };
        let first = next_delay(&timing, 1);
        assert!(first >= Duration::from_secs(4) && first <= Duration::from_secs(6));
        let third = next_delay(&timing, 3);
        assert!(third >= Duration::from_secs(16) && third <= Duration::from_secs(24));
        for _ in 0..20 {
            assert!(next_delay(&timing, 30) <= Duration::from_secs(72));
        }
        let ok = next_delay(&timing, 0);
        assert!(ok >= Duration::from_secs(270) && ok <= Duration::from_secs(330));
    }

    #[test]
    fn filters_streams() {
        let c = Controller {
            name: "origin".into(),
            base_url: "http://x".into(),
            include: Regex::new("okd").ok(),
            exclude: Regex::new("^4\\.14").ok(),
        };
        assert!(c.wants("4.21.0-0.okd-scos"));
        assert!(!c.wants("4.14.0-0.okd"));
        assert!(!c.wants("4.21.0-0.ci"));
    }
}
