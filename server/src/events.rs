//! Inputs become events, events become rows.
//!
//! [`ingest`] validates an input, appends it to the log and projects it into the tables in
//! the same transaction; a duplicate input changes nothing. [`reproject`] rebuilds the tables
//! from the log alone. The projection is a pure function of the event sequence: it never
//! reads the clock, only each event's receive time.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::formats::payload::PayloadRead;
use crate::formats::registry::{DistributionEvent, QuayPush};
use crate::formats::release_controller::{
    ApiRelease, ApiReleaseInfo, ChangeLog, ReleaseStreams, UpgradeHistory, VerificationStatus,
};
use crate::store::events::{Event, NewEvent};
use crate::store::payloads::{PayloadBinding, PayloadFailure};
use crate::store::promotions::{NewPromotion, StateChange};
use crate::store::registry_events::NewRegistryEvent;
use crate::store::releases::{NewGate, NewRelease, NewStream, NewUpgrade, ReleaseDetails};
use crate::store::{Store, StoreError, Tx};
use app::model::promotion::PromotionState;

/// Event kind: a controller's `/releasestreams/all` body.
pub const RC_STREAMS: &str = "rc.streams";
/// Event kind: a stream's `/tags` body.
pub const RC_TAGS: &str = "rc.tags";
/// Event kind: a release's `/release/{tag}` body.
pub const RC_RELEASE: &str = "rc.release";

/// Event kind: what was read from a release payload image (subject: its digest).
pub const PAYLOAD_READ: &str = "payload.read";
/// Event kind: the payload a release names (subject: `stream/release`).
pub const PAYLOAD_RELEASE: &str = "payload.release";
/// Event kind: a payload read that failed (subject: the pull spec).
pub const PAYLOAD_FAILED: &str = "payload.failed";

/// Event kind: one CNCF distribution notification event, a manifest push or delete
/// (subject: the repository; external id: the event's `id`).
pub const REGISTRY_EVENT: &str = "registry.event";
/// Event kind: a Quay `repo_push` notification (subject: the repository; external id: its
/// [`QuayPush::dedup_key`]).
pub const QUAY_PUSH: &str = "quay.push";
/// Event kind: a mirror-integrity check of a promoted release (subject `stream/release`).
pub const INTEGRITY_CHECKED: &str = "integrity.checked";

/// Event kind: a maintainer confirmed a promotion plan (subject: the target; the event's id
/// becomes the promotion's id).
pub const PROMOTION_REQUESTED: &str = "promotion.requested";
/// Event kind: a promotion moved to another state (subject: the promotion id).
pub const PROMOTION_STATE: &str = "promotion.state";

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
}

fn malformed(kind: &str, subject: &str, reason: impl ToString) -> EventError {
    EventError::Malformed {
        kind: kind.to_string(),
        subject: subject.to_string(),
        reason: reason.to_string(),
    }
}

fn parse(kind: &str, subject: &str, payload: &str) -> Result<Parsed, EventError> {
    match kind {
        RC_STREAMS => serde_json::from_str(payload)
            .map(Parsed::Streams)
            .map_err(|e| malformed(kind, subject, e)),
        RC_TAGS => {
            let tags: ApiRelease =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            if tags.name != subject {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body names stream {:?}", tags.name),
                ));
            }
            if let Some(t) = tags.tags.iter().find(|t| t.name.trim().is_empty()) {
                return Err(malformed(
                    kind,
                    subject,
                    format!("tag with empty name ({t:?})"),
                ));
            }
            Ok(Parsed::Tags(tags))
        }
        RC_RELEASE => {
            let (stream, tag) = subject
                .split_once('/')
                .ok_or_else(|| malformed(kind, subject, "subject is not stream/tag"))?;
            let info: ApiReleaseInfo =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            if info.name != tag {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body names release {:?}", info.name),
                ));
            }
            Ok(Parsed::Release {
                stream: stream.to_string(),
                info: Box::new(info),
            })
        }
        PAYLOAD_READ => {
            let read: PayloadRead =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            read.validate().map_err(|e| malformed(kind, subject, e))?;
            if read.digest != subject {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body reads digest {:?}", read.digest),
                ));
            }
            Ok(Parsed::PayloadRead(Box::new(read)))
        }
        PAYLOAD_RELEASE => {
            let (stream, release) = subject
                .split_once('/')
                .ok_or_else(|| malformed(kind, subject, "subject is not stream/tag"))?;
            let binding: PayloadBinding =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            Ok(Parsed::PayloadRelease {
                stream: stream.to_string(),
                release: release.to_string(),
                binding,
            })
        }
        PAYLOAD_FAILED => {
            let failure: PayloadFailure =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            if failure.pull_spec != subject {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body names pull spec {:?}", failure.pull_spec),
                ));
            }
            Ok(Parsed::PayloadFailed(failure))
        }
        REGISTRY_EVENT => {
            let event: DistributionEvent =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            event.validate().map_err(|e| malformed(kind, subject, e))?;
            if event.target.repository != subject {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body names repository {:?}", event.target.repository),
                ));
            }
            Ok(Parsed::RegistryEvent(Box::new(event)))
        }
        QUAY_PUSH => {
            let push =
                QuayPush::parse(payload.as_bytes()).map_err(|e| malformed(kind, subject, e))?;
            if push.repository != subject {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body names repository {:?}", push.repository),
                ));
            }
            Ok(Parsed::QuayPush(push))
        }
        INTEGRITY_CHECKED => {
            let (stream, release) = subject
                .split_once('/')
                .ok_or_else(|| malformed(kind, subject, "subject is not stream/tag"))?;
            let check: crate::store::integrity::MirrorCheck =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            if check.checked < 0 || !check.payload_digest.starts_with("sha256:") {
                return Err(malformed(
                    kind,
                    subject,
                    "not a check of a sha256 payload digest",
                ));
            }
            Ok(Parsed::IntegrityChecked {
                stream: stream.to_string(),
                release: release.to_string(),
                check,
            })
        }
        PROMOTION_REQUESTED => {
            let p: NewPromotion =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            if p.plan.target.name != subject {
                return Err(malformed(
                    kind,
                    subject,
                    format!("body names target {:?}", p.plan.target.name),
                ));
            }
            Ok(Parsed::PromotionRequested(Box::new(p)))
        }
        PROMOTION_STATE => {
            let id: i64 = subject
                .parse()
                .map_err(|_| malformed(kind, subject, "subject is not a promotion id"))?;
            let change: StateChange =
                serde_json::from_str(payload).map_err(|e| malformed(kind, subject, e))?;
            Ok(Parsed::PromotionState { id, change })
        }
        other => Err(EventError::UnknownKind(other.to_string())),
    }
}

/// Validates `event`, appends it and projects it, all in one transaction. Returns the new
/// event id, or `None` when the input was a duplicate and nothing was written.
pub async fn ingest(store: &Store, event: NewEvent) -> Result<Option<i64>, EventError> {
    let parsed = parse(&event.kind, &event.subject, &event.payload)?;
    let mut tx = store.begin().await?;
    let Some(id) = tx.append_event(&event).await? else {
        return Ok(None);
    };
    project(&mut tx, id, &event.source, &parsed, event.received_at).await?;
    tx.commit().await?;
    crate::metrics::get().event(&event.source, &event.kind);
    Ok(Some(id))
}

/// What a replay of the log did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReprojectStats {
    /// Events replayed.
    pub events: u64,
    /// Events skipped because they no longer parse or project (logged).
    pub skipped: u64,
}

/// Empties the projected tables and replays the whole log into them, in one transaction.
pub async fn reproject(store: &Store) -> Result<ReprojectStats, EventError> {
    let mut tx = store.begin().await?;
    tx.clear_projection().await?;
    let mut stats = ReprojectStats::default();
    let mut after = 0;
    loop {
        let batch: Vec<Event> = tx.events_after(after, 500).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for e in &batch {
            match parse(&e.kind, &e.subject, &e.payload) {
                Ok(parsed) => {
                    project(&mut tx, e.id, &e.source, &parsed, e.received_at).await?;
                    stats.events += 1;
                }
                Err(err) => {
                    tracing::warn!(event = e.id, error = %err, "event skipped during reprojection");
                    stats.skipped += 1;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(stats)
}

async fn project(
    tx: &mut Tx,
    id: i64,
    source: &str,
    parsed: &Parsed,
    at: DateTime<Utc>,
) -> Result<(), EventError> {
    match parsed {
        Parsed::Streams(map) => {
            let listed: Vec<String> = map.keys().cloned().collect();
            tx.set_stream_listing(source, &listed).await?;
        }
        Parsed::Tags(list) => project_tags(tx, source, list, at).await?,
        Parsed::Release { stream, info } => project_release(tx, stream, info, at).await?,
        Parsed::PayloadRead(read) => tx.insert_payload(read, at).await?,
        Parsed::PayloadRelease {
            stream,
            release,
            binding,
        } => {
            tx.bind_release_payload(stream, release, &binding.digest, &binding.pull_spec, at)
                .await?
        }
        Parsed::PayloadFailed(failure) => tx.record_payload_failure(failure, at).await?,
        Parsed::RegistryEvent(event) => {
            // only manifest pushes and deletes are stored; an older log may hold others
            if event.is_manifest_change() {
                tx.insert_registry_event(&NewRegistryEvent {
                    source: source.to_string(),
                    event_key: event.id.clone(),
                    position: 0,
                    action: event.action.clone(),
                    repository: event.target.repository.clone(),
                    tag: event.target.tag.clone(),
                    digest: event.target.digest.clone(),
                    media_type: event.target.media_type.clone(),
                    host: event.request.as_ref().and_then(|r| r.host.clone()),
                    occurred_at: event.occurred_at().unwrap_or(at),
                    received_at: at,
                })
                .await?;
            }
        }
        Parsed::IntegrityChecked {
            stream,
            release,
            check,
        } => tx.record_mirror_check(stream, release, check, at).await?,
        Parsed::PromotionRequested(p) => tx.insert_promotion(id, p, at).await?,
        Parsed::PromotionState { id, change } => {
            tx.set_promotion_state(*id, change, at).await?;
            if change.state == PromotionState::Succeeded {
                project_promoted(tx, *id, change, at).await?;
            }
        }
        Parsed::QuayPush(push) => {
            let key = push.dedup_key(at);
            for (position, tag) in (0..).zip(push.tags()) {
                tx.insert_registry_event(&NewRegistryEvent {
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
                })
                .await?;
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
            variant: variant.as_str().to_string(),
            kind: kind.as_str().to_string(),
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
    tx.upsert_release(&NewRelease {
        stream: stream.clone(),
        name: promotion.name.clone(),
        phase: app::model::Phase::Accepted.as_str().to_string(),
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
    controller: &str,
    list: &ApiRelease,
    at: DateTime<Utc>,
) -> Result<(), EventError> {
    let (variant, kind) = app::model::classify_stream(controller, &list.name);
    tx.ensure_stream(&NewStream {
        name: list.name.clone(),
        controller: controller.to_string(),
        variant: variant.as_str().to_string(),
        kind: kind.as_str().to_string(),
        minor: app::model::minor_version(&list.name),
        seen_at: at,
    })
    .await?;
    for tag in &list.tags {
        tx.upsert_release(&NewRelease {
            stream: list.name.clone(),
            name: tag.name.clone(),
            phase: app::model::Phase::parse(&tag.phase).as_str().to_string(),
            pull_spec: tag.pull_spec.clone(),
            download_url: tag.download_url.clone(),
            created_at: created_from_tag_name(&tag.name).unwrap_or(at),
            seen_at: at,
        })
        .await?;
    }
    for name in tx.live_release_names(&list.name).await? {
        if !list.tags.iter().any(|t| t.name == name) {
            tx.expire_release(&list.name, &name, at).await?;
        }
    }
    Ok(())
}

async fn project_release(
    tx: &mut Tx,
    stream: &str,
    info: &ApiReleaseInfo,
    at: DateTime<Utc>,
) -> Result<(), EventError> {
    let changelog = info
        .change_log_json
        .as_ref()
        .filter(|c| !c.to.name.is_empty() || !c.from.name.is_empty());
    let created_at = changelog
        .filter(|c| c.to.name == info.name)
        .and_then(|c| DateTime::parse_from_rfc3339(&c.to.created).ok())
        .map(|t| t.with_timezone(&Utc))
        .filter(|_| created_from_tag_name(&info.name).is_none());
    tx.apply_details(&ReleaseDetails {
        stream: stream.to_string(),
        name: info.name.clone(),
        phase: app::model::Phase::parse(&info.phase).as_str().to_string(),
        changelog: changelog.map(normalize_changelog),
        created_at,
        seen_at: at,
    })
    .await?;
    let mut gates = Vec::new();
    if let Some(results) = &info.results {
        for (kind, jobs) in [
            ("blocking", &results.blocking_jobs),
            ("informing", &results.informing_jobs),
            ("async", &results.async_jobs),
        ] {
            for (name, status) in jobs.iter().flatten() {
                gates.push(new_gate(name, kind, status));
            }
        }
    }
    tx.replace_gates(stream, &info.name, &gates).await?;
    for edge in info
        .upgrades_to
        .iter()
        .flatten()
        .chain(info.upgrades_from.iter().flatten())
    {
        tx.upsert_upgrade(&new_upgrade(edge, at)).await?;
    }
    Ok(())
}

fn new_gate(name: &str, kind: &str, s: &VerificationStatus) -> NewGate {
    NewGate {
        name: name.to_string(),
        kind: kind.to_string(),
        state: s.state.clone(),
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
        assert_eq!(full[0].phase, "Rejected");
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
