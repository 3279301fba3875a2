//! The append-only event log: every input is stored raw, once.
//!
//! Inputs with an identity of their own (a webhook's event id) are deduplicated by it.
//! Polled snapshots (a tag list, a release's details) have none, so a snapshot is stored only
//! when it differs from the newest stored snapshot of the same subject; its dedup key includes
//! that predecessor, so two writers racing to store the same change collide on the key.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{StoreResult, Tx};
use crate::{on_pool, on_tx};

/// An input about to be appended to the log.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Where it came from (a controller name, a webhook source).
    pub source: String,
    /// What it is (`rc.tags`, `rc.release`, …).
    pub kind: String,
    /// What it is about (a stream, `stream/tag`).
    pub subject: String,
    /// The raw body as received.
    pub payload: String,
    /// When Streamgate received it.
    pub received_at: DateTime<Utc>,
    /// The source's own id for the input, when it has one.
    pub external_id: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Event {
    /// Position in the log.
    pub id: i64,
    /// Where it came from.
    pub source: String,
    /// What it is.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// SHA-256 of the payload.
    pub content_hash: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// The raw body.
    pub payload: String,
}

/// PostgreSQL `NOTIFY` channel on which each appended event's id is announced at commit.
pub const EVENTS_CHANNEL: &str = "streamgate_events";

/// The advisory lock key that serializes appends on PostgreSQL ("SGEVENTS").
const APPEND_LOCK: i64 = 0x5347_4556_454e_5453;

/// What live updates need of an event: where it is in the log and what it is about.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventHead {
    /// Position in the log.
    pub id: i64,
    /// What it is.
    pub kind: String,
    /// What it is about.
    pub subject: String,
}

/// SHA-256 of a payload, hex.
pub fn content_hash(payload: &str) -> String {
    hex::encode(Sha256::digest(payload.as_bytes()))
}

impl Tx {
    /// Appends `event` unless it is a duplicate; returns its id, or `None` for a duplicate.
    ///
    /// On PostgreSQL, appends are serialized by a transaction-scoped advisory lock taken
    /// first, so ids are handed out in commit order (a reader following the log by id never
    /// skips one committed late) and two replicas cannot both store the same snapshot. The
    /// new id is announced on [`EVENTS_CHANNEL`] when the transaction commits.
    pub async fn append_event(&mut self, event: &NewEvent) -> StoreResult<Option<i64>> {
        if let Tx::Postgres(t) = self {
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(APPEND_LOCK)
                .execute(&mut **t)
                .await?;
        }
        let hash = content_hash(&event.payload);
        let dedup_key = match &event.external_id {
            Some(id) => format!("{}:{}:id:{}", event.source, event.kind, id),
            None => {
                let latest: Option<(i64, String)> = on_tx!(self, c => {
                    sqlx::query_as(
                        "select id, content_hash from events \
                         where kind = $1 and subject = $2 and source = $3 \
                         order by id desc limit 1",
                    )
                    .bind(&event.kind)
                    .bind(&event.subject)
                    .bind(&event.source)
                    .fetch_optional(c)
                    .await?
                });
                match latest {
                    Some((_, latest_hash)) if latest_hash == hash => return Ok(None),
                    Some((id, _)) => format!(
                        "{}:{}:{}:{}:{}",
                        event.source, event.kind, event.subject, hash, id
                    ),
                    None => format!(
                        "{}:{}:{}:{}:0",
                        event.source, event.kind, event.subject, hash
                    ),
                }
            }
        };
        let id: Option<i64> = on_tx!(self, c => {
            sqlx::query_scalar(
                "insert into events (source, kind, subject, dedup_key, content_hash, received_at, payload) \
                 values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (dedup_key) do nothing returning id",
            )
            .bind(&event.source)
            .bind(&event.kind)
            .bind(&event.subject)
            .bind(&dedup_key)
            .bind(&hash)
            .bind(event.received_at)
            .bind(&event.payload)
            .fetch_optional(c)
            .await?
        });
        if let (Some(id), Tx::Postgres(t)) = (id, &mut *self) {
            sqlx::query("select pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(id.to_string())
                .execute(&mut **t)
                .await?;
        }
        Ok(id)
    }

    /// Events after `after_id` in log order, at most `limit`.
    pub async fn events_after(&mut self, after_id: i64, limit: i64) -> StoreResult<Vec<Event>> {
        let rows = on_tx!(self, c => {
            sqlx::query_as::<_, Event>(
                "select id, source, kind, subject, content_hash, received_at, payload \
                 from events where id > $1 order by id limit $2",
            )
            .bind(after_id)
            .bind(limit)
            .fetch_all(c)
            .await?
        });
        Ok(rows)
    }
}

impl super::Store {
    /// Number of events in the log.
    pub async fn event_count(&self) -> StoreResult<i64> {
        let n = on_pool!(self, p => {
            sqlx::query_scalar("select count(*) from events").fetch_one(p).await?
        });
        Ok(n)
    }

    /// The newest event's id (0 for an empty log).
    pub async fn last_event_id(&self) -> StoreResult<i64> {
        let id: Option<i64> = on_pool!(self, p => {
            sqlx::query_scalar("select max(id) from events").fetch_one(p).await?
        });
        Ok(id.unwrap_or(0))
    }

    /// The heads of the events after `after_id` in log order, at most `limit`.
    pub async fn event_heads_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventHead>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, EventHead>(
                "select id, kind, subject from events where id > $1 order by id limit $2",
            )
            .bind(after_id)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Number of events per kind, for metrics and benchmarks.
    pub async fn event_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as("select kind, count(*) from events group by kind order by kind")
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{testing, Store};

    fn snapshot(payload: &str) -> NewEvent {
        NewEvent {
            source: "origin".into(),
            kind: "rc.tags".into(),
            subject: "4.21.0-0.okd-scos".into(),
            payload: payload.into(),
            received_at: Utc::now(),
            external_id: None,
        }
    }

    async fn append(store: &Store, e: &NewEvent) -> Option<i64> {
        let mut tx = store.begin().await.expect("begin");
        let id = tx.append_event(e).await.expect("append");
        tx.commit().await.expect("commit");
        id
    }

    async fn snapshots_are_stored_only_when_they_change(store: Store) {
        assert!(append(&store, &snapshot("a")).await.is_some());
        assert!(
            append(&store, &snapshot("a")).await.is_none(),
            "same snapshot twice"
        );
        assert!(append(&store, &snapshot("b")).await.is_some());
        // going back to an earlier content is a change too
        assert!(append(&store, &snapshot("a")).await.is_some());
        assert_eq!(store.event_count().await.expect("count"), 3);

        let mut hook = snapshot("x");
        hook.kind = "registry.push".into();
        hook.external_id = Some("evt-1".into());
        assert!(append(&store, &hook).await.is_some());
        hook.payload = "y".into();
        assert!(
            append(&store, &hook).await.is_none(),
            "same external id twice"
        );

        let mut tx = store.begin().await.expect("begin");
        let all = tx.events_after(0, 100).await.expect("list");
        assert_eq!(all.len(), 4);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(all[0].content_hash, content_hash("a"));
    }

    #[tokio::test]
    async fn snapshots_dedup_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        snapshots_are_stored_only_when_they_change(store).await;
    }

    #[tokio::test]
    async fn snapshots_dedup_on_postgres() {
        snapshots_are_stored_only_when_they_change(testing::postgres().await).await;
    }
}
