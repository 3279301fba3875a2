//! Inputs become events, events become rows.
//!
//! [`ingest`] validates an input, appends it to the log and projects it into the tables in
//! the same transaction; a duplicate input changes nothing. [`reproject`] rebuilds the tables
//! from the log alone. The projection is a pure function of the event sequence: it never
//! reads the clock, only each event's receive time.

mod changelog_refs;
mod deferred;
pub mod payload_generation;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::formats::payload::PayloadRead;
use crate::formats::registry::{DistributionEvent, QuayPush};
use crate::formats::release_controller::{
    ApiRelease, ApiReleaseInfo, ChangeLog, ReleaseStreams, UpgradeHistory, VerificationJobsSummary,
    VerificationStatus,
};
use crate::store::events::{Event, NewEvent};
use crate::store::payloads::{PayloadBinding, PayloadFailure};
use crate::store::promotions::{NewPromotion, StateChange};
use crate::store::publishing::NewPublishStep;
use crate::store::registry_events::NewRegistryEvent;
use crate::store::releases::{
    LiveRelease, NewGate, NewRelease, NewStream, NewUpgrade, ReleaseDetails,
};
use crate::store::{Store, StoreError, Tx};
use app::model::promotion::PromotionState;
use app::model::{GateKind, JobState};
use deferred::Deferred;

/// What an event in the log is: one variant per kind of input, so that a new kind makes
/// the compiler point at every place that must handle it. Stored as its [`as_str`] name.
///
/// [`as_str`]: EventKind::as_str
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A controller's `/releasestreams/all` body.
    RcStreams,
    /// A stream's `/tags` body (subject: the stream).
    RcTags,
    /// A release's `/release/{tag}` body (subject: `stream/tag`).
    RcRelease,
    /// Why a release's details could not be read (subject: `stream/tag`; body
    /// `{"error": "…"}`, written by the poller).
    RcReleaseFailed,
    /// What was read from a release payload image (subject: its digest).
    PayloadRead,
    /// The payload a release names (subject: `stream/release`).
    PayloadRelease,
    /// A payload read that failed (subject: the pull spec).
    PayloadFailed,
    /// One CNCF distribution notification event, a manifest push or delete (subject: the
    /// repository; external id: the event's `id`).
    RegistryEvent,
    /// A Quay `repo_push` notification (subject: the repository; external id: its
    /// [`QuayPush::dedup_key`]).
    QuayPush,
    /// A mirror-integrity check of a promoted release (subject `stream/release`).
    IntegrityChecked,
    /// A maintainer confirmed a promotion plan (subject: the target; the event's id becomes
    /// the promotion's id).
    PromotionRequested,
    /// A promotion moved to another state (subject: the promotion id).
    PromotionState,
    /// A step after a promotion published its payload (adoption, GitHub release) ended
    /// (subject: the promotion id).
    PromotionStep,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 13] = [
        EventKind::RcStreams,
        EventKind::RcTags,
        EventKind::RcRelease,
        EventKind::RcReleaseFailed,
        EventKind::PayloadRead,
        EventKind::PayloadRelease,
        EventKind::PayloadFailed,
        EventKind::RegistryEvent,
        EventKind::QuayPush,
        EventKind::IntegrityChecked,
        EventKind::PromotionRequested,
        EventKind::PromotionState,
        EventKind::PromotionStep,
    ];

    /// The name the log stores.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::RcStreams => "rc.streams",
            EventKind::RcTags => "rc.tags",
            EventKind::RcRelease => "rc.release",
            EventKind::RcReleaseFailed => "rc.release_failed",
            EventKind::PayloadRead => "payload.read",
            EventKind::PayloadRelease => "payload.release",
            EventKind::PayloadFailed => "payload.failed",
            EventKind::RegistryEvent => "registry.event",
            EventKind::QuayPush => "quay.push",
            EventKind::IntegrityChecked => "integrity.checked",
            EventKind::PromotionRequested => "promotion.requested",
            EventKind::PromotionState => "promotion.state",
            EventKind::PromotionStep => "promotion.step",
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EventError::UnknownKind(s.to_string()))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// [`EventKind::RcStreams`]'s name.
pub const RC_STREAMS: &str = EventKind::RcStreams.as_str();
/// [`EventKind::RcTags`]'s name.
pub const RC_TAGS: &str = EventKind::RcTags.as_str();
/// [`EventKind::RcRelease`]'s name.
pub const RC_RELEASE: &str = EventKind::RcRelease.as_str();
/// [`EventKind::RcReleaseFailed`]'s name.
pub const RC_RELEASE_FAILED: &str = EventKind::RcReleaseFailed.as_str();
/// [`EventKind::PayloadRead`]'s name.
pub const PAYLOAD_READ: &str = EventKind::PayloadRead.as_str();
/// [`EventKind::PayloadRelease`]'s name.
pub const PAYLOAD_RELEASE: &str = EventKind::PayloadRelease.as_str();
/// [`EventKind::PayloadFailed`]'s name.
pub const PAYLOAD_FAILED: &str = EventKind::PayloadFailed.as_str();
/// [`EventKind::RegistryEvent`]'s name.
pub const REGISTRY_EVENT: &str = EventKind::RegistryEvent.as_str();
/// [`EventKind::QuayPush`]'s name.
pub const QUAY_PUSH: &str = EventKind::QuayPush.as_str();
/// [`EventKind::IntegrityChecked`]'s name.
pub const INTEGRITY_CHECKED: &str = EventKind::IntegrityChecked.as_str();
/// [`EventKind::PromotionRequested`]'s name.
pub const PROMOTION_REQUESTED: &str = EventKind::PromotionRequested.as_str();
/// [`EventKind::PromotionState`]'s name.
pub const PROMOTION_STATE: &str = EventKind::PromotionState.as_str();
/// [`EventKind::PromotionStep`]'s name.
pub const PROMOTION_STEP: &str = EventKind::PromotionStep.as_str();

/// The body of an `rc.release_failed` event: why a release's details could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseFailure {
    /// What went wrong, as shown on the release page.
    pub error: String,
}

/// Why an input was refused or could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The body is not what the upstream format says.
    #[error("malformed {kind} body for {subject}: {reason}")]
    Malformed {
        /// Event kind.
        kind: String,
        /// Subject.
        subject: String,
        /// What was wrong.
        reason: String,
    },
    /// The event kind is not known.
    #[error("unknown event kind {0}")]
    UnknownKind(String),
    /// Storing failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the log beside a replay stopped short (its task panicked or was cancelled).
    #[error("reading the log for the replay stopped: {0}")]
    Replay(String),
}

/// A validated input, ready to project.
#[derive(Debug, Clone)]
enum Parsed {
    Streams(ReleaseStreams),
    Tags(ApiRelease),
    Release {
        stream: String,
        info: Box<ApiReleaseInfo>,
    },
    ReleaseFailed {
        stream: String,
        release: String,
        failure: ReleaseFailure,
    },
    PayloadRead(Box<PayloadRead>),
    PayloadRelease {
        stream: String,
        release: String,
        binding: PayloadBinding,
    },
    PayloadFailed(PayloadFailure),
    RegistryEvent(Box<DistributionEvent>),
    QuayPush(QuayPush),
    IntegrityChecked {
        stream: String,
        release: String,
        check: crate::store::integrity::MirrorCheck,
    },
    PromotionRequested(Box<NewPromotion>),
    PromotionState {
        id: i64,
        change: StateChange,
    },
    PromotionStep {
        id: i64,
        step: NewPublishStep,
    },
}

fn malformed(kind: &str, subject: &str, reason: impl ToString) -> EventError {
    EventError::Malformed {
        kind: kind.to_string(),
        subject: subject.to_string(),
        reason: reason.to_string(),
    }
}

/// One input being checked: its kind, subject and body.
struct Input<'a> {
    kind: EventKind,
    subject: &'a str,
    payload: &'a str,
}

impl Input<'_> {
    fn malformed(&self, reason: impl ToString) -> EventError {
        malformed(self.kind.as_str(), self.subject, reason)
    }

    /// The body as `T`.
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, EventError> {
        serde_json::from_str(self.payload).map_err(|e| self.malformed(e))
    }

    /// A `stream/release` subject, split.
    fn stream_and_release(&self) -> Result<(String, String), EventError> {
        self.subject
            .split_once('/')
            .map(|(s, r)| (s.to_string(), r.to_string()))
            .ok_or_else(|| self.malformed("subject is not stream/tag"))
    }

    /// Refuses the input unless the body names what the subject says: `what` is the
    /// body's field, `named` its value.
    fn names(&self, what: &str, named: &str, expected: &str) -> Result<(), EventError> {
        if named == expected {
            Ok(())
        } else {
            Err(self.malformed(format!("body names {what} {named:?}")))
        }
    }
}

fn parse(kind: &str, subject: &str, payload: &str) -> Result<Parsed, EventError> {
    let input = Input {
        kind: kind.parse()?,
        subject,
        payload,
    };
    match input.kind {
        EventKind::RcStreams => input.json().map(Parsed::Streams),
        EventKind::RcTags => parse_tags(&input),
        EventKind::RcRelease => {
            let (stream, tag) = input.stream_and_release()?;
            let info: ApiReleaseInfo = input.json()?;
            input.names("release", &info.name, &tag)?;
            Ok(Parsed::Release {
                stream,
                info: Box::new(info),
            })
        }
        EventKind::RcReleaseFailed => {
            let (stream, release) = input.stream_and_release()?;
            let failure: ReleaseFailure = input.json()?;
            if failure.error.trim().is_empty() {
                return Err(input.malformed("no error"));
            }
            Ok(Parsed::ReleaseFailed {
                stream,
                release,
                failure,
            })
        }
        EventKind::PayloadRead => {
            let read: PayloadRead = input.json()?;
            read.validate().map_err(|e| input.malformed(e))?;
            if read.digest != subject {
                return Err(input.malformed(format!("body reads digest {:?}", read.digest)));
            }
            Ok(Parsed::PayloadRead(Box::new(read)))
        }
        EventKind::PayloadRelease => {
            let (stream, release) = input.stream_and_release()?;
            Ok(Parsed::PayloadRelease {
                stream,
                release,
                binding: input.json()?,
            })
        }
        EventKind::PayloadFailed => {
            let failure: PayloadFailure = input.json()?;
            input.names("pull spec", &failure.pull_spec, subject)?;
            Ok(Parsed::PayloadFailed(failure))
        }
        EventKind::RegistryEvent => {
            let event: DistributionEvent = input.json()?;
            event.validate().map_err(|e| input.malformed(e))?;
            input.names("repository", &event.target.repository, subject)?;
            Ok(Parsed::RegistryEvent(Box::new(event)))
        }
        EventKind::QuayPush => {
            let push = QuayPush::parse(payload.as_bytes()).map_err(|e| input.malformed(e))?;
            input.names("repository", &push.repository, subject)?;
            Ok(Parsed::QuayPush(push))
        }
        EventKind::IntegrityChecked => parse_integrity(&input),
        EventKind::PromotionRequested => {
            let p: NewPromotion = input.json()?;
            input.names("target", &p.plan.target.name, subject)?;
            Ok(Parsed::PromotionRequested(Box::new(p)))
        }
        EventKind::PromotionState => {
            let id: i64 = subject
                .parse()
                .map_err(|_| input.malformed("subject is not a promotion id"))?;
            Ok(Parsed::PromotionState {
                id,
                change: input.json()?,
            })
        }
        EventKind::PromotionStep => {
            let id: i64 = subject
                .parse()
                .map_err(|_| input.malformed("subject is not a promotion id"))?;
            Ok(Parsed::PromotionStep {
                id,
                step: input.json()?,
            })
        }
    }
}

/// A stream's tags: for the stream the subject names, every tag with a name.
fn parse_tags(input: &Input<'_>) -> Result<Parsed, EventError> {
    let tags: ApiRelease = input.json()?;
    input.names("stream", &tags.name, input.subject)?;
    if let Some(t) = tags.tags.iter().find(|t| t.name.trim().is_empty()) {
        return Err(input.malformed(format!("tag with empty name ({t:?})")));
    }
    Ok(Parsed::Tags(tags))
}

/// A mirror check: of a sha256 payload digest, with a count that is not negative.
fn parse_integrity(input: &Input<'_>) -> Result<Parsed, EventError> {
    let (stream, release) = input.stream_and_release()?;
    let check: crate::store::integrity::MirrorCheck = input.json()?;
    if check.checked < 0 || !check.payload_digest.starts_with("sha256:") {
        return Err(input.malformed("not a check of a sha256 payload digest"));
    }
    Ok(Parsed::IntegrityChecked {
        stream,
        release,
        check,
    })
}

/// Validates `event`, appends it and projects it, all in one transaction. Returns the new
/// event id, or `None` when the input was a duplicate and nothing was written.
pub async fn ingest(store: &Store, event: NewEvent) -> Result<Option<i64>, EventError> {
    let checked = check(event)?;
    let ids = ingest_all(store, vec![checked]).await?;
    Ok(ids.into_iter().next().flatten())
}

/// An input that parsed, ready for [`ingest_all`].
#[derive(Debug)]
pub struct Checked {
    event: NewEvent,
    parsed: Parsed,
}

impl Checked {
    /// The input.
    pub fn event(&self) -> &NewEvent {
        &self.event
    }
}

/// Parses `event`; a malformed one is refused with the reason before anything is stored.
pub fn check(event: NewEvent) -> Result<Checked, EventError> {
    let parsed = parse(&event.kind, &event.subject, &event.payload)?;
    Ok(Checked { event, parsed })
}

/// Appends `events` to the log and projects each, in order, in one transaction: all of
/// them or none. Each one's id, `None` for an input already in the log (see [`ingest`]).
pub async fn ingest_all(
    store: &Store,
    events: Vec<Checked>,
) -> Result<Vec<Option<i64>>, EventError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let (raw, parsed): (Vec<NewEvent>, Vec<Parsed>) =
        events.into_iter().map(|c| (c.event, c.parsed)).unzip();
    let mut tx = store.begin().await?;
    let ids = tx.append_events(&raw.iter().collect::<Vec<_>>()).await?;
    // projections read the projected tables, never the log: appending first changes nothing
    let mut deferred = Deferred::default();
    for ((event, parsed), id) in raw.iter().zip(parsed).zip(&ids) {
        if let Some(id) = *id {
            project(
                &mut tx,
                &mut deferred,
                id,
                &event.source,
                parsed,
                event.received_at,
            )
            .await?;
        }
    }
    deferred.write(&mut tx).await?;
    tx.commit().await?;
    for (event, id) in raw.iter().zip(&ids) {
        if id.is_some() {
            crate::metrics::get().event(&event.source, &event.kind);
        }
    }
    if ids.iter().any(Option::is_some) {
        crate::edge::page_cache::log_advanced(store);
    }
    if raw
        .iter()
        .zip(&ids)
        .any(|(e, id)| id.is_some() && payload_generation::changes_payloads(&e.kind))
    {
        payload_generation::payloads_changed(store);
    }
    Ok(ids)
}

/// What a replay of the log did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReprojectStats {
    /// Events replayed.
    pub events: u64,
    /// Events skipped because they no longer parse or project (logged).
    pub skipped: u64,
}

/// Events read from the log at a time during a replay.
const REPLAY_BATCH: i64 = 1_000;
/// Batches read and parsed ahead of the one being projected.
const REPLAY_AHEAD: usize = 4;

/// A batch of the log, read and parsed.
type ParsedBatch = Vec<(Event, Result<Parsed, EventError>)>;

/// Empties the projected tables and replays the whole log into them, in one transaction.
///
/// The log is held still meanwhile ([`Tx::hold_log`]), and read and parsed on another
/// connection a few batches ahead of the projection, so reading and projecting overlap.
pub async fn reproject(store: &Store) -> Result<ReprojectStats, EventError> {
    replay(store, REPLAY_BATCH).await
}

/// [`reproject`], reading the log `batch` events at a time.
async fn replay(store: &Store, batch: i64) -> Result<ReprojectStats, EventError> {
    let mut tx = store.begin().await?;
    let upto = tx.hold_log().await?;
    tx.clear_projection().await?;
    let (ahead, mut batches) = tokio::sync::mpsc::channel(REPLAY_AHEAD);
    let reader = tokio::spawn(read_log(store.clone(), upto, batch, ahead));
    let mut stats = ReprojectStats::default();
    let mut deferred = Deferred::default();
    while let Some(batch) = batches.recv().await {
        for (e, parsed) in batch? {
            match parsed {
                Ok(parsed) => {
                    project(
                        &mut tx,
                        &mut deferred,
                        e.id,
                        &e.source,
                        parsed,
                        e.received_at,
                    )
                    .await?;
                    stats.events += 1;
                }
                Err(err) => {
                    tracing::warn!(event = e.id, error = %err, "event skipped during reprojection");
                    stats.skipped += 1;
                }
            }
        }
        if deferred.is_full() {
            deferred.write(&mut tx).await?;
        }
    }
    reader
        .await
        .map_err(|e| EventError::Replay(e.to_string()))?;
    deferred.write(&mut tx).await?;
    tx.commit().await?;
    Ok(stats)
}

/// Reads the log up to `upto`, `batch` events at a time, parses each batch on a blocking
/// thread and sends it `ahead`; a read that fails is sent as the error, and ends the reading.
async fn read_log(
    store: Store,
    upto: i64,
    batch: i64,
    ahead: tokio::sync::mpsc::Sender<Result<ParsedBatch, EventError>>,
) {
    let mut after = 0;
    while after < upto {
        let parsed = match store.events_upto(after, upto, batch).await {
            Ok(batch) if batch.is_empty() => break,
            Ok(batch) => {
                after = batch.last().map_or(upto, |e| e.id);
                tokio::task::spawn_blocking(move || {
                    batch
                        .into_iter()
                        .map(|e| {
                            let parsed = parse(&e.kind, &e.subject, &e.payload);
                            (e, parsed)
                        })
                        .collect::<ParsedBatch>()
                })
                .await
                .map_err(|e| EventError::Replay(e.to_string()))
            }
            Err(e) => Err(e.into()),
        };
        let failed = parsed.is_err();
        // the projection stopped, or the reading failed: nothing more to read
        if ahead.send(parsed).await.is_err() || failed {
            break;
        }
    }
}

async fn project(
    tx: &mut Tx,
    deferred: &mut Deferred,
    id: i64,
    source: &str,
    parsed: Parsed,
    at: DateTime<Utc>,
) -> Result<(), EventError> {
    // the details kept so far go in before anything else that reads or writes releases
    // (a tag list folds its phases into them instead)
    if !matches!(
        &parsed,
        Parsed::Release { .. }
            | Parsed::Tags(_)
            | Parsed::Streams(_)
            | Parsed::RegistryEvent(_)
            | Parsed::QuayPush(_)
    ) {
        deferred.write_details(tx).await?;
    }
    match parsed {
        Parsed::Streams(map) => {
            let listed: Vec<String> = map.keys().cloned().collect();
            tx.set_stream_listing(source, &listed).await?;
        }
        Parsed::Tags(list) => project_tags(tx, deferred, source, &list, at).await?,
        Parsed::Release { stream, info } => project_release(deferred, stream, info, at),
        Parsed::ReleaseFailed {
            stream,
            release,
            failure,
        } => {
            tx.set_details_error(&stream, &release, &failure.error)
                .await?
        }
        Parsed::PayloadRead(read) => tx.insert_payload(&read, at).await?,
        Parsed::PayloadRelease {
            stream,
            release,
            binding,
        } => {
            tx.bind_release_payload(&stream, &release, &binding.digest, &binding.pull_spec, at)
                .await?
        }
        Parsed::PayloadFailed(failure) => tx.record_payload_failure(&failure, at).await?,
        Parsed::RegistryEvent(event) => {
            // only manifest pushes and deletes are stored; an older log may hold others
            if event.is_manifest_change() {
                let occurred_at = event.occurred_at().unwrap_or(at);
                let DistributionEvent {
                    id,
                    action,
                    target,
                    request,
                    ..
                } = *event;
                deferred.registry_event(NewRegistryEvent {
                    source: source.to_string(),
                    event_key: id,
                    position: 0,
                    action,
                    repository: target.repository,
                    tag: target.tag,
                    digest: target.digest,
                    media_type: target.media_type,
                    host: request.and_then(|r| r.host),
                    occurred_at,
                    received_at: at,
                });
            }
        }
        Parsed::IntegrityChecked {
            stream,
            release,
            check,
        } => {
            tx.record_mirror_check(&stream, &release, &check, at)
                .await?
        }
        Parsed::PromotionRequested(p) => tx.insert_promotion(id, &p, at).await?,
        Parsed::PromotionStep { id, step } => tx.record_publish_step(id, &step, at).await?,
        Parsed::PromotionState { id, change } => {
            tx.set_promotion_state(id, &change, at).await?;
            if change.state == PromotionState::Succeeded {
                project_promoted(tx, id, &change, at).await?;
            }
        }
        Parsed::QuayPush(push) => {
            let key = push.dedup_key(at);
            for (position, tag) in (0..).zip(push.tags()) {
                deferred.registry_event(NewRegistryEvent {
                    source: source.to_string(),
                    event_key: key.clone(),
                    position,
                    action: "push".to_string(),
                    repository: push.repository.clone(),
                    tag: Some(tag),
                    digest: None,
                    media_type: None,
                    host: push.host(),
                    occurred_at: at,
                    received_at: at,
                });
            }
        }
    }
    Ok(())
}

/// A succeeded promotion's release joins its target stream, accepted.
async fn project_promoted(
    tx: &mut Tx,
    id: i64,
    change: &StateChange,
    at: DateTime<Utc>,
) -> Result<(), EventError> {
    let promotion = tx
        .promotion_in_tx(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("promotion {id}")))?;
    let stream = promotion.target.clone();
    if tx.stream_controller(&stream).await?.is_none() {
        let controller = tx
            .stream_controller(&promotion.source_stream)
            .await?
            .unwrap_or_else(|| "streamgate".to_string());
        let (variant, kind) = app::model::classify_stream(&controller, &stream);
        tx.ensure_stream(&NewStream {
            name: stream.clone(),
            controller,
            variant,
            kind,
            minor: app::model::minor_version(&promotion.name),
            seen_at: at,
        })
        .await?;
    }
    let pull_spec = change
        .result_pull_spec
        .clone()
        .or_else(|| promotion.result_pull_spec.clone())
        .unwrap_or_else(|| format!("{}:{}", promotion.release_repo, promotion.name));
    // published, not accepted: the release-controller says that once it lists the release
    // (a listing that came first is kept)
    tx.insert_release_if_absent(&NewRelease {
        stream: stream.clone(),
        name: promotion.name.clone(),
        phase: app::model::Phase::Published,
        pull_spec,
        download_url: String::new(),
        created_at: at,
        seen_at: at,
    })
    .await?;
    tx.insert_promoted_release(&stream, &promotion.name, &promotion)
        .await?;
    Ok(())
}

async fn project_tags(
    tx: &mut Tx,
    deferred: &mut Deferred,
    controller: &str,
    list: &ApiRelease,
    at: DateTime<Utc>,
) -> Result<(), EventError> {
    if !deferred.known().stream(&list.name, controller) {
        let (variant, kind) = app::model::classify_stream(controller, &list.name);
        tx.ensure_stream(&NewStream {
            name: list.name.clone(),
            controller: controller.to_string(),
            variant,
            kind,
            minor: app::model::minor_version(&list.name),
            seen_at: at,
        })
        .await?;
        deferred.known().found_stream(&list.name, controller);
    }
    // one row per name, the last listed winning, as upstream's own list would read
    let mut rows: Vec<NewRelease> = Vec::with_capacity(list.tags.len());
    let mut at_row: HashMap<&str, usize> = HashMap::new();
    for tag in &list.tags {
        let row = NewRelease {
            stream: list.name.clone(),
            name: tag.name.clone(),
            phase: app::model::Phase::from_upstream(&tag.phase),
            pull_spec: tag.pull_spec.clone(),
            download_url: tag.download_url.clone(),
            created_at: created_from_tag_name(&tag.name).unwrap_or(at),
            seen_at: at,
        };
        match at_row.get(tag.name.as_str()) {
            Some(&i) => rows[i] = row,
            None => {
                at_row.insert(&tag.name, rows.len());
                rows.push(row);
            }
        }
    }
    let live = match deferred.known().take_live(&list.name) {
        Some(live) => live,
        None => tx.live_releases(&list.name).await?,
    };
    let live_at: HashMap<&str, &LiveRelease> = live.iter().map(|r| (r.name.as_str(), r)).collect();
    // releases with details kept take the listing's phase with them (see `deferred`)
    let (kept, others) = deferred.listed(&rows);
    tx.upsert_listed_keeping_phase(&changed(kept, &live_at, false))
        .await?;
    tx.upsert_releases(&changed(others, &live_at, true)).await?;
    let gone: Vec<&str> = live
        .iter()
        .filter(|r| !r.promoted && !at_row.contains_key(r.name.as_str()))
        .map(|r| r.name.as_str())
        .collect();
    tx.expire_releases(&list.name, &gone, at).await?;
    // what the listing leaves live: its rows (their phase the listing's, or, for those with
    // details kept, what writing the details will make it), and the promoted ones it left out
    let left = rows
        .iter()
        .map(|r| LiveRelease {
            name: r.name.clone(),
            phase: r.phase.as_str().to_string(),
            pull_spec: r.pull_spec.clone(),
            download_url: r.download_url.clone(),
            promoted: live_at.get(r.name.as_str()).is_some_and(|l| l.promoted),
        })
        .chain(
            live.iter()
                .filter(|l| l.promoted && !at_row.contains_key(l.name.as_str()))
                .cloned(),
        )
        .collect();
    deferred.known().left(list.name.clone(), left);
    Ok(())
}

/// The rows of a tag list that writing would change: a row the listing leaves as it is is
/// not written (most of a tag list, most polls). The phase is compared `with_phase`.
fn changed<'a>(
    rows: Vec<&'a NewRelease>,
    live: &HashMap<&str, &LiveRelease>,
    with_phase: bool,
) -> Vec<&'a NewRelease> {
    rows.into_iter()
        .filter(|r| {
            !live
                .get(r.name.as_str())
                .is_some_and(|l| l.unchanged_by(r, with_phase))
        })
        .collect()
}

/// A release's details, kept in `deferred` (see [`deferred`]): what the row keeps is folded
/// now, the gates, changelog and upgrade runs are kept as read and made into rows when
/// written, so that details a later read replaces cost nothing more.
fn project_release(
    deferred: &mut Deferred,
    stream: String,
    info: Box<ApiReleaseInfo>,
    at: DateTime<Utc>,
) {
    let ApiReleaseInfo {
        name,
        phase,
        results,
        upgrades_to,
        upgrades_from,
        change_log_json,
        ..
    } = *info;
    let changelog = change_log_json.filter(|c| !c.to.name.is_empty() || !c.from.name.is_empty());
    let created_at = changelog
        .as_ref()
        .filter(|c| c.to.name == name)
        .filter(|_| created_from_tag_name(&name).is_none())
        .and_then(|c| DateTime::parse_from_rfc3339(&c.to.created).ok())
        .map(|t| t.with_timezone(&Utc));
    let upgrades = upgrades_to
        .into_iter()
        .flatten()
        .chain(upgrades_from.into_iter().flatten());
    deferred.details(
        ReleaseDetails {
            stream,
            name,
            phase: app::model::Phase::from_upstream(&phase),
            created_at,
            seen_at: at,
        },
        changelog,
        results,
        upgrades,
    );
}

/// The gate rows of a release's job results.
fn new_gates(results: Option<&VerificationJobsSummary>) -> Vec<NewGate> {
    let mut gates = Vec::new();
    if let Some(results) = results {
        for (kind, jobs) in [
            (GateKind::Blocking, &results.blocking_jobs),
            (GateKind::Informing, &results.informing_jobs),
            (GateKind::Async, &results.async_jobs),
        ] {
            for (name, status) in jobs.iter().flatten() {
                gates.push(new_gate(name, kind, status));
            }
        }
    }
    gates
}

fn new_gate(name: &str, kind: GateKind, s: &VerificationStatus) -> NewGate {
    NewGate {
        name: name.to_string(),
        kind,
        state: JobState::parse(&s.state),
        url: s.url.clone(),
        retries: s.retries.unwrap_or(0).max(0),
        previous_attempt_urls: serde_json::to_string(
            s.previous_attempt_urls.as_deref().unwrap_or_default(),
        )
        .unwrap_or_else(|_| "[]".to_string()),
        transition_time: s
            .transition_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    }
}

fn new_upgrade(u: &UpgradeHistory, at: DateTime<Utc>) -> NewUpgrade {
    let runs: Vec<serde_json::Value> = u
        .history
        .iter()
        .flatten()
        .map(|(_, r)| serde_json::json!({"state": r.state, "url": r.url}))
        .collect();
    NewUpgrade {
        from: u.from.clone(),
        to: u.to.clone(),
        success: u.success,
        failure: u.failure,
        total: u.total,
        runs: serde_json::Value::Array(runs).to_string(),
        seen_at: at,
    }
}

fn normalize_changelog(c: &ChangeLog) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// The creation time encoded in a CI tag name (`…-YYYY-MM-DD-HHMMSS`, UTC), if any.
pub fn created_from_tag_name(name: &str) -> Option<DateTime<Utc>> {
    let suffix = name.get(name.len().checked_sub(17)?..)?;
    NaiveDateTime::parse_from_str(suffix, "%Y-%m-%d-%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn every_kind_has_its_own_name_and_reads_back() {
        let names: std::collections::BTreeSet<&str> =
            EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EventKind::ALL.len(), "names are unique");
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().expect("known"), kind);
        }
        let unknown = "rc.Streams".parse::<EventKind>().expect_err("case matters");
        assert_eq!(unknown.to_string(), "unknown event kind rc.Streams");
    }

    #[test]
    fn tag_names_carry_their_creation_time() {
        let t = created_from_tag_name("4.21.0-0.okd-scos-2026-02-11-071519").expect("dated");
        assert_eq!(t.to_rfc3339(), "2026-02-11T07:15:19+00:00");
        assert_eq!(created_from_tag_name("4.21.0-okd-scos.2"), None);
        assert_eq!(created_from_tag_name("ab"), None);
    }

    fn event(kind: &str, subject: &str, payload: &str, minute: u32) -> NewEvent {
        NewEvent {
            source: "origin".into(),
            kind: kind.into(),
            subject: subject.into(),
            payload: payload.into(),
            received_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 2, 11, 12, minute, 0)
                .single()
                .expect("valid"),
            external_id: None,
        }
    }

    const STREAM: &str = "4.21.0-0.okd-scos";
    const OLD: &str = "4.21.0-0.okd-scos-2026-02-10-070233";
    const NEW: &str = "4.21.0-0.okd-scos-2026-02-11-071519";

    fn tags(list: &[(&str, &str)]) -> String {
        let tags: Vec<_> = list
            .iter()
            .map(|(n, p)| {
                serde_json::json!({"name": n, "phase": p,
                    "pullSpec": format!("registry.ci.openshift.org/origin/release-scos:{n}"), "downloadURL": ""})
            })
            .collect();
        serde_json::json!({"name": STREAM, "tags": tags}).to_string()
    }

    fn release(name: &str, phase: &str, blocking_state: &str) -> String {
        serde_json::json!({
            "name": name, "phase": phase,
            "results": {"blockingJobs": {"aws": {"state": blocking_state, "url": "https://prow.example/aws/1", "retries": 2,
                 "previousAttemptURLs": ["https://prow.example/aws/0"]}},
                "informingJobs": {"gcp": {"state": "Succeeded", "url": "https://prow.example/gcp/1"}}},
            "upgradesTo": [{"From": OLD, "To": name, "Success": 1, "Failure": 0, "Total": 1,
                "History": {"https://prow.example/up/1": {"state": "Succeeded", "url": "https://prow.example/up/1"}}}],
            "changeLogJson": {"from": {"name": OLD, "created": "2026-02-10T07:02:33Z", "digest": "sha256:aa"},
                "to": {"name": name, "created": "2026-02-11T07:15:19Z", "digest": "sha256:bb"},
                "components": [{"name": "Kubernetes", "version": "1.34.2", "from": "1.34.1"}]}
        })
        .to_string()
    }

    /// The whole life of two releases: listed, detailed, re-delivered, expired, replayed.
    async fn release_history_story(store: Store) {
        let subject = format!("{STREAM}/{NEW}");
        assert!(ingest(
            &store,
            event(
                RC_TAGS,
                STREAM,
                &tags(&[(NEW, "Ready"), (OLD, "Accepted")]),
                0
            )
        )
        .await
        .expect("tags")
        .is_some());
        ingest(
            &store,
            event(RC_RELEASE, &subject, &release(NEW, "Rejected", "Failed"), 1),
        )
        .await
        .expect("details");
        // delivering the same inputs again changes nothing
        let before = store.projection_dump().await.expect("dump");
        let events_before = store.event_count().await.expect("count");
        assert!(ingest(
            &store,
            event(
                RC_TAGS,
                STREAM,
                &tags(&[(NEW, "Ready"), (OLD, "Accepted")]),
                2
            )
        )
        .await
        .expect("tags again")
        .is_none());
        assert!(ingest(
            &store,
            event(RC_RELEASE, &subject, &release(NEW, "Rejected", "Failed"), 3)
        )
        .await
        .expect("details again")
        .is_none());
        assert_eq!(store.projection_dump().await.expect("dump"), before);
        assert_eq!(store.event_count().await.expect("count"), events_before);

        let gates = store.gates(STREAM, NEW).await.expect("gates");
        assert_eq!(gates.len(), 2);
        assert_eq!(
            (
                gates[0].name.as_str(),
                gates[0].kind.as_str(),
                gates[0].state.as_str()
            ),
            ("aws", "blocking", "Failed")
        );
        assert_eq!(gates[0].retries, 2);
        let into = store.upgrades(NEW, true).await.expect("upgrades");
        assert_eq!(into.len(), 1);
        assert_eq!(into[0].from_tag, OLD);
        let full = store.releases_named(NEW).await.expect("release");
        assert_eq!(full[0].phase, app::model::Phase::Rejected);
        assert!(full[0]
            .changelog
            .as_deref()
            .is_some_and(|c| c.contains("1.34.2")));

        // the controller prunes the old tag: it is kept, marked expired
        ingest(
            &store,
            event(RC_TAGS, STREAM, &tags(&[(NEW, "Rejected")]), 10),
        )
        .await
        .expect("pruned list");
        let old = store.releases_named(OLD).await.expect("old");
        assert_eq!(old.len(), 1);
        assert!(old[0].expired_at.is_some());
        assert_eq!(store.count_releases(STREAM, None).await.expect("count"), 2);

        // replaying the log rebuilds identical rows
        let projected = store.projection_dump().await.expect("dump");
        let stats = reproject(&store).await.expect("reproject");
        assert_eq!(stats.skipped, 0);
        assert_eq!(store.projection_dump().await.expect("dump"), projected);
    }

    #[tokio::test]
    async fn release_history_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        release_history_story(store).await;
    }

    #[tokio::test]
    async fn release_history_story_on_postgres() {
        release_history_story(testing::postgres().await).await;
    }

    async fn malformed_input_is_refused_and_nothing_is_written(store: Store) {
        ingest(
            &store,
            event(RC_TAGS, STREAM, &tags(&[(OLD, "Accepted")]), 0),
        )
        .await
        .expect("tags");
        let before = store.projection_dump().await.expect("dump");
        for (kind, subject, body) in [
            (RC_TAGS, STREAM, "{\"name\": "),
            (RC_TAGS, STREAM, "{\"name\": \"other-stream\", \"tags\": []}"),
            (RC_TAGS, STREAM, "{\"name\": \"4.21.0-0.okd-scos\", \"tags\": [{\"name\": \"\", \"phase\": \"Accepted\"}]}"),
            (RC_RELEASE, "no-slash", "{}"),
            (RC_RELEASE, &format!("{STREAM}/{OLD}"), "[1, 2]"),
            ("rc.bogus", STREAM, "{}"),
        ] {
            let err = ingest(&store, event(kind, subject, body, 5)).await.expect_err("refused");
            assert!(matches!(err, EventError::Malformed { .. } | EventError::UnknownKind(_)), "{err}");
        }
        // details for a release never listed are refused and roll back the appended event
        let err = ingest(
            &store,
            event(
                RC_RELEASE,
                &format!("{STREAM}/{NEW}"),
                &release(NEW, "Accepted", "Succeeded"),
                6,
            ),
        )
        .await
        .expect_err("unknown release");
        assert!(matches!(err, EventError::Store(StoreError::NotFound(_))));
        assert_eq!(store.projection_dump().await.expect("dump"), before);
        assert_eq!(store.event_count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn malformed_input_is_refused_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        malformed_input_is_refused_and_nothing_is_written(store).await;
    }

    #[tokio::test]
    async fn malformed_input_is_refused_on_postgres() {
        malformed_input_is_refused_and_nothing_is_written(testing::postgres().await).await;
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod stories;
