//! Registry notifications as projected from `registry.event` and `quay.push`: which
//! manifest or tag was pushed or deleted where, and when. Written only by the projection in
//! [`crate::events`]; also the reads the payload worker and the webhooks need.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, Tx};
use crate::{on_pool, on_tx};

/// A registry event about to be projected.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRegistryEvent {
    /// The hook it came through (`registry`, `quay`).
    pub source: String,
    /// The upstream event id, or the Quay dedup key.
    pub event_key: String,
    /// Position within the input (a Quay push names several tags).
    pub position: i32,
    /// `push` or `delete`.
    pub action: String,
    /// Repository path.
    pub repository: String,
    /// Tag, when the event names one.
    pub tag: Option<String>,
    /// Manifest digest, when the event names one (never for Quay).
    pub digest: Option<String>,
    /// Manifest media type, when known.
    pub media_type: Option<String>,
    /// Registry host, when known.
    pub host: Option<String>,
    /// The event's own time (the receive time when it has none).
    pub occurred_at: DateTime<Utc>,
    /// When Streamgate received it.
    pub received_at: DateTime<Utc>,
}

/// A stored registry event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryEvent {
    /// The hook it came through.
    pub source: String,
    /// Upstream id or dedup key.
    pub event_key: String,
    /// Position within the input.
    pub position: i32,
    /// `push` or `delete`.
    pub action: String,
    /// Repository path.
    pub repository: String,
    /// Tag.
    pub tag: Option<String>,
    /// Manifest digest.
    pub digest: Option<String>,
    /// Manifest media type.
    pub media_type: Option<String>,
    /// Registry host.
    pub host: Option<String>,
    /// The event's time.
    pub occurred_at: DateTime<Utc>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// A release whose payload has not been read yet.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReleaseToRead {
    /// Stream.
    pub stream: String,
    /// Release name.
    pub name: String,
    /// Its pull spec.
    pub pull_spec: String,
}

/// Registry events to an `insert` (eleven parameters each).
const REGISTRY_ROWS: usize = 50;

const COLUMNS: &str = "source, event_key, position, action, repository, tag, digest, \
     media_type, host, occurred_at, received_at";

/// `text` as a literal inside a `like` pattern (escape character `\`).
fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Tx {
    /// Projects registry events, fifty to a statement; a re-projected one changes nothing,
    /// and of two with the same key the first is kept.
    pub async fn insert_registry_events(&mut self, events: &[NewRegistryEvent]) -> StoreResult<()> {
        for chunk in events.chunks(REGISTRY_ROWS) {
            let sql = format!(
                "insert into registry_events ({COLUMNS}) values {} \
                 on conflict (source, event_key, position) do nothing",
                crate::values_rows(chunk.len(), 0, 11)
            );
            let sql = crate::positional(self, &sql);
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql);
                for e in chunk {
                    q = q
                        .bind(&e.source)
                        .bind(&e.event_key)
                        .bind(e.position)
                        .bind(&e.action)
                        .bind(&e.repository)
                        .bind(&e.tag)
                        .bind(&e.digest)
                        .bind(&e.media_type)
                        .bind(&e.host)
                        .bind(e.occurred_at)
                        .bind(e.received_at);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }
}

impl Store {
    /// The registry events of `repository`, oldest first.
    pub async fn registry_events(&self, repository: &str) -> StoreResult<Vec<RegistryEvent>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, RegistryEvent>(&format!(
                "select {COLUMNS} from registry_events where repository = $1 \
                 order by occurred_at, source, event_key, position"
            ))
            .bind(repository)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Every registry event in a stable order, for replay tests.
    pub async fn registry_event_dump(&self) -> StoreResult<Vec<String>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, RegistryEvent>(&format!(
                "select {COLUMNS} from registry_events order by source, event_key, position"
            ))
            .fetch_all(p)
            .await?
        });
        Ok(rows.iter().map(|r| format!("{r:?}")).collect())
    }

    /// How many known releases have a pull spec naming `repository:tag` or
    /// `repository@digest` (on any registry host).
    pub async fn releases_matching_image(
        &self,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> StoreResult<i64> {
        let repo = like_literal(repository);
        // an absent part becomes a pattern no pull spec has
        let by_tag = tag.map_or_else(
            || "\n".to_string(),
            |t| format!("%/{repo}:{}", like_literal(t)),
        );
        let by_digest = digest.map_or_else(
            || "\n".to_string(),
            |d| format!("%/{repo}@{}", like_literal(d)),
        );
        let n = on_pool!(self, p => {
            sqlx::query_scalar(
                "select count(*) from releases \
                 where pull_spec like $1 escape '\\' or pull_spec like $2 escape '\\'",
            )
            .bind(&by_tag)
            .bind(&by_digest)
            .fetch_one(p)
            .await?
        });
        Ok(n)
    }

    /// Releases still listed upstream whose payload has not been read and whose last read
    /// did not fail after `failed_before` — or did, but its image was pushed again since
    /// (a registry event names its `repository:tag` or digest) — newest first, at most
    /// `limit`.
    pub async fn releases_awaiting_payload(
        &self,
        failed_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ReleaseToRead>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseToRead>(
                "select r.stream, r.name, r.pull_spec from releases r \
                 where r.pull_spec <> '' and r.expired_at is null \
                 and not exists (select 1 from release_payloads rp \
                     where rp.stream = r.stream and rp.release = r.name) \
                 and not exists (select 1 from payload_failures f \
                     where f.pull_spec = r.pull_spec and f.failed_at > $1 \
                     and not exists (select 1 from registry_events e \
                         where e.action = 'push' and e.received_at > f.failed_at \
                         and (substr(r.pull_spec, length(r.pull_spec) - length(e.repository) - length(e.tag) - 1) \
                               = '/' || e.repository || ':' || e.tag \
                           or substr(r.pull_spec, length(r.pull_spec) - length(e.repository) - length(e.digest) - 1) \
                               = '/' || e.repository || '@' || e.digest))) \
                 order by r.created_at desc, r.stream, r.name limit $2",
            )
            .bind(failed_before)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_literal("okd/scos_release%"), "okd/scos\\_release\\%");
    }
}
