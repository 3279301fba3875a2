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

/// Rows to an `insert` of events (seven parameters each).
const EVENT_ROWS: usize = 100;

/// Which snapshots follow each other: the same kind and subject from the same source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct SnapshotKey<'e> {
    kind: &'e str,
    subject: &'e str,
    source: &'e str,
}

impl<'e> SnapshotKey<'e> {
    fn of(e: &'e NewEvent) -> Self {
        SnapshotKey {
            kind: &e.kind,
            subject: &e.subject,
            source: &e.source,
        }
    }
}

/// The newest snapshot of a subject: stored, or waiting in this batch (its index).
#[derive(Debug)]
enum Newest {
    Stored { id: i64, hash: String },
    Pending { at: usize, hash: String },
}

/// An event of the batch waiting to be inserted.
struct PendingRow {
    at: usize,
    dedup_key: String,
    hash: String,
}

/// SHA-256 of a payload, hex.
pub fn content_hash(payload: &str) -> String {
    hex::encode(Sha256::digest(payload.as_bytes()))
}

impl Tx {
    /// Appends `event` unless it is a duplicate; returns its id, or `None` for a duplicate.
    /// See [`Tx::append_events`].
    pub async fn append_event(&mut self, event: &NewEvent) -> StoreResult<Option<i64>> {
        let ids = self.append_events(&[event]).await?;
        Ok(ids.into_iter().next().flatten())
    }

    /// Appends `events` in order, each unless it is a duplicate (of the log or of an earlier
    /// one of them); returns each one's id, or `None` for a duplicate.
    ///
    /// A handful of statements for the whole batch, not a few per event: the newest stored
    /// snapshot of every subject is read at once, and the new rows are inserted a hundred to
    /// a statement (earlier, only when a later event of the batch needs an earlier one's id).
    ///
    /// On PostgreSQL, appends are serialized by a transaction-scoped advisory lock taken
    /// first, so ids are handed out in commit order (a reader following the log by id never
    /// skips one committed late) and two replicas cannot both store the same snapshot. The
    /// newest id is announced on [`EVENTS_CHANNEL`] when the transaction commits (a follower
    /// reads everything up to it).
    pub async fn append_events(&mut self, events: &[&NewEvent]) -> StoreResult<Vec<Option<i64>>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.lock_appends().await?;
        let snapshot_keys: Vec<SnapshotKey<'_>> = events
            .iter()
            .filter(|e| e.external_id.is_none())
            .map(|e| SnapshotKey::of(e))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut latest = self.latest_snapshots(&snapshot_keys).await?;
        let mut ids: Vec<Option<i64>> = vec![None; events.len()];
        let mut pending: Vec<PendingRow> = Vec::new();
        let mut dedup_keys = std::collections::HashSet::new();
        for (at, event) in events.iter().enumerate() {
            let hash = content_hash(&event.payload);
            let dedup_key = match &event.external_id {
                Some(id) => format!("{}:{}:id:{}", event.source, event.kind, id),
                None => {
                    let key = SnapshotKey::of(event);
                    let predecessor = match latest.get(&key) {
                        Some(Newest::Stored { hash: h, .. } | Newest::Pending { hash: h, .. })
                            if *h == hash =>
                        {
                            continue;
                        }
                        Some(Newest::Stored { id, .. }) => *id,
                        Some(Newest::Pending { at: before, .. }) => {
                            // its predecessor's id is needed: what is waiting goes in first
                            let before = *before;
                            self.insert_pending(events, &mut pending, &mut ids).await?;
                            match ids[before] {
                                Some(id) => id,
                                // it collided with a row stored meanwhile: ask the log
                                None => {
                                    let stored = self.latest_snapshots(&[key]).await?;
                                    match stored.get(&key) {
                                        Some(Newest::Stored { hash: h, .. }) if *h == hash => {
                                            latest.remove(&key);
                                            continue;
                                        }
                                        Some(Newest::Stored { id, .. }) => *id,
                                        _ => 0,
                                    }
                                }
                            }
                        }
                        None => 0,
                    };
                    latest.insert(
                        key,
                        Newest::Pending {
                            at,
                            hash: hash.clone(),
                        },
                    );
                    format!(
                        "{}:{}:{}:{}:{}",
                        event.source, event.kind, event.subject, hash, predecessor
                    )
                }
            };
            // the same key twice in one statement would be one row: the second is a duplicate
            if !dedup_keys.insert(dedup_key.clone()) {
                continue;
            }
            pending.push(PendingRow {
                at,
                dedup_key,
                hash,
            });
            if pending.len() >= EVENT_ROWS {
                self.insert_pending(events, &mut pending, &mut ids).await?;
            }
        }
        self.insert_pending(events, &mut pending, &mut ids).await?;
        if let (Some(id), Tx::Postgres(t)) = (ids.iter().flatten().max(), &mut *self) {
            sqlx::query("select pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(id.to_string())
                .execute(&mut **t)
                .await?;
        }
        Ok(ids)
    }

    /// The newest stored snapshot (id and hash) of each of `keys`.
    async fn latest_snapshots<'e>(
        &mut self,
        keys: &[SnapshotKey<'e>],
    ) -> StoreResult<std::collections::HashMap<SnapshotKey<'e>, Newest>> {
        let mut latest = std::collections::HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(EVENT_ROWS) {
            let sql = format!(
                "with k (kind, subject, source) as (values {}) \
                 select k.kind, k.subject, k.source, e.id, e.content_hash from k \
                 join events e on e.id = (select x.id from events x \
                 where x.kind = k.kind and x.subject = k.subject and x.source = k.source \
                 order by x.id desc limit 1)",
                crate::values_rows(chunk.len(), 0, 3)
            );
            let sql = crate::positional(self, &sql);
            let rows: Vec<(String, String, String, i64, String)> = on_tx!(self, c => {
                let mut q = sqlx::query_as(&sql);
                for k in chunk {
                    q = q.bind(k.kind).bind(k.subject).bind(k.source);
                }
                q.fetch_all(c).await?
            });
            for (kind, subject, source, id, hash) in rows {
                if let Some(key) = chunk
                    .iter()
                    .find(|k| k.kind == kind && k.subject == subject && k.source == source)
                {
                    latest.insert(*key, Newest::Stored { id, hash });
                }
            }
        }
        Ok(latest)
    }

    /// Inserts the rows `pending` holds (indexes into `events`), noting each new id in `ids`
    /// (a row whose key is already in the log gets none), and empties it.
    async fn insert_pending(
        &mut self,
        events: &[&NewEvent],
        pending: &mut Vec<PendingRow>,
        ids: &mut [Option<i64>],
    ) -> StoreResult<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(pending);
        let sql = format!(
            "insert into events (source, kind, subject, dedup_key, content_hash, received_at, \
             payload) values {} on conflict (dedup_key) do nothing returning id, dedup_key",
            crate::values_rows(rows.len(), 0, 7)
        );
        let sql = crate::positional(self, &sql);
        let inserted: Vec<(i64, String)> = on_tx!(self, c => {
            let mut q = sqlx::query_as(&sql);
            for row in &rows {
                let e = events[row.at];
                q = q
                    .bind(&e.source)
                    .bind(&e.kind)
                    .bind(&e.subject)
                    .bind(&row.dedup_key)
                    .bind(&row.hash)
                    .bind(e.received_at)
                    .bind(&e.payload);
            }
            q.fetch_all(c).await?
        });
        let by_key: std::collections::HashMap<&str, i64> =
            inserted.iter().map(|(id, k)| (k.as_str(), *id)).collect();
        for row in &rows {
            ids[row.at] = by_key.get(row.dedup_key.as_str()).copied();
        }
        Ok(())
    }

    /// On PostgreSQL, takes the appenders' transaction-scoped lock (see
    /// [`Tx::append_events`]); SQLite's write lock already serializes them.
    async fn lock_appends(&mut self) -> StoreResult<()> {
        if let Tx::Postgres(t) = self {
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(APPEND_LOCK)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Holds the log still until the transaction ends and returns its newest id (0 for an
    /// empty log): nothing can be appended meanwhile, and every event up to that id is
    /// committed and readable from any connection. SQLite's write lock, which a transaction
    /// of this store takes at its start, already does so; on PostgreSQL the appenders' lock
    /// is taken.
    pub async fn hold_log(&mut self) -> StoreResult<i64> {
        self.lock_appends().await?;
        let id: Option<i64> = on_tx!(self, c => {
            sqlx::query_scalar("select max(id) from events").fetch_one(c).await?
        });
        Ok(id.unwrap_or(0))
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
    /// Events with ids in `after_id + 1 ..= upto`, in log order, at most `limit`: a replay
    /// reading the log beside the transaction that projects it (see [`Tx::hold_log`]).
    pub async fn events_upto(
        &self,
        after_id: i64,
        upto: i64,
        limit: i64,
    ) -> StoreResult<Vec<Event>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, Event>(
                "select id, source, kind, subject, content_hash, received_at, payload \
                 from events where id > $1 and id <= $2 order by id limit $3",
            )
            .bind(after_id)
            .bind(upto)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

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

    /// One batch gives what appending its events one by one gives: the same ids in the same
    /// order for the same inputs, the same duplicates refused.
    async fn a_batch_appends_as_one_by_one_would(store: Store) {
        let stored = snapshot("a");
        assert!(append(&store, &stored).await.is_some());
        let mut hook = snapshot("h");
        hook.kind = "registry.event".into();
        hook.external_id = Some("evt-1".into());
        let mut other = snapshot("a");
        other.subject = "4.22.0-0.okd-scos".into();
        let batch = [
            snapshot("a"), // the log's newest of its subject already
            snapshot("b"),
            hook.clone(),
            snapshot("b"), // what this batch just added
            other.clone(),
            snapshot("c"), // needs the id "b" was given
            hook.clone(),  // the same external id twice
            snapshot("a"), // back to an earlier content
        ];
        let refs: Vec<&NewEvent> = batch.iter().collect();
        let mut tx = store.begin().await.expect("begin");
        let ids = tx.append_events(&refs).await.expect("append");
        tx.commit().await.expect("commit");
        let kept: Vec<bool> = ids.iter().map(Option::is_some).collect();
        assert_eq!(
            kept,
            [false, true, true, false, true, true, false, true],
            "{ids:?}"
        );
        let new: Vec<i64> = ids.iter().flatten().copied().collect();
        assert!(
            new.windows(2).all(|w| w[0] < w[1]),
            "in batch order: {ids:?}"
        );

        // the same batch again: "a" is the newest now, so only the changes from it are new
        let mut tx = store.begin().await.expect("begin");
        let again = tx.append_events(&refs).await.expect("append again");
        tx.commit().await.expect("commit");
        let kept: Vec<bool> = again.iter().map(Option::is_some).collect();
        assert_eq!(
            kept,
            [false, true, false, false, false, true, false, true],
            "{again:?}"
        );
        let mut tx = store.begin().await.expect("begin");
        let all = tx.events_after(0, 100).await.expect("list");
        tx.commit().await.expect("commit");
        let hashes: Vec<String> = all
            .iter()
            .filter(|e| e.subject == "4.21.0-0.okd-scos" && e.kind == "rc.tags")
            .map(|e| e.content_hash.clone())
            .collect();
        assert_eq!(
            hashes,
            ["a", "b", "c", "a", "b", "c", "a"].map(content_hash),
            "the subject's history"
        );
        assert!(
            append(&store, &snapshot("a")).await.is_none(),
            "a is newest"
        );
        assert!(append(&store, &snapshot("c")).await.is_some(), "c is not");
    }

    #[tokio::test]
    async fn batches_append_as_single_events_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        a_batch_appends_as_one_by_one_would(store).await;
    }

    #[tokio::test]
    async fn batches_append_as_single_events_on_postgres() {
        a_batch_appends_as_one_by_one_would(testing::postgres().await).await;
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
