//! Reads that only the JSON API and the Atom feeds make: keyset ("cursor") pages of a
//! stream's releases, and the rows a feed entry needs.

use app::model::Phase;
use chrono::{DateTime, Utc};

use super::queries::{ReleaseListRow, LIST_COLUMNS};
use super::{Store, StoreResult};
use crate::on_pool;

/// Where a keyset page starts: the `(created_at, name)` of the last row already seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseKey {
    /// Creation time of the last row seen.
    pub created_at: DateTime<Utc>,
    /// Tag name of the last row seen (breaks ties between equal times).
    pub name: String,
}

/// A release as a feed entry shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FeedRow {
    /// Tag name.
    pub name: String,
    /// Phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last phase change seen.
    pub phase_changed_at: DateTime<Utc>,
    /// Payload pull spec.
    pub pull_spec: String,
    /// Blocking gates that succeeded.
    pub blocking_passed: i64,
    /// Blocking gates known.
    pub blocking_total: i64,
}

impl Store {
    /// Up to `limit` releases of a stream created before `after` (all of them when `None`),
    /// newest first, optionally of one phase. Ordered by `(created_at, name)` descending, so
    /// a page that starts after the last row of the previous one neither repeats nor skips
    /// rows, whatever was inserted in between.
    pub async fn stream_releases_after(
        &self,
        stream: &str,
        phase: Option<&str>,
        after: Option<&ReleaseKey>,
        limit: i64,
    ) -> StoreResult<Vec<ReleaseListRow>> {
        // a row-value comparison, which SQLite (3.15+) and PostgreSQL both evaluate in
        // lexicographic order and PostgreSQL can answer from the (stream, created_at) index
        let sql = format!(
            "select {LIST_COLUMNS} from releases r where r.stream = $1 \
             and (cast($2 as text) is null or r.phase = $2) \
             and (cast($4 as text) is null or (r.created_at, r.name) < ($3, $4)) \
             order by r.created_at desc, r.name desc limit $5"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseListRow>(&sql)
                .bind(stream)
                .bind(phase)
                .bind(after.map(|k| k.created_at))
                .bind(after.map(|k| k.name.as_str()))
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    /// The newest `limit` releases of a stream for its feed, optionally of one phase.
    pub async fn feed_releases(
        &self,
        stream: &str,
        phase: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<FeedRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, FeedRow>(
                "select r.name, r.phase, r.created_at, r.phase_changed_at, r.pull_spec, \
                 (select count(*) from gates g where g.stream = r.stream and g.release = r.name \
                     and g.kind = 'blocking' and g.state = 'Succeeded') as blocking_passed, \
                 (select count(*) from gates g where g.stream = r.stream and g.release = r.name \
                     and g.kind = 'blocking') as blocking_total \
                 from releases r where r.stream = $1 \
                 and (cast($2 as text) is null or r.phase = $2) \
                 order by r.created_at desc, r.name desc limit $3",
            )
            .bind(stream)
            .bind(phase)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }
}
