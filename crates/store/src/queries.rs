//! Read models: the questions the pages, the poller and `/readyz` ask of the projected
//! tables. Each answers with plain rows; [`crate::backend`] turns them into page models.

use app::model::{GateKind, JobState, Phase, StreamKind, Variant};
use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::on_pool;

/// A stream row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StreamRow {
    /// Stream name.
    pub name: String,
    /// Controller.
    pub controller: String,
    /// Variant id.
    #[sqlx(try_from = "String")]
    pub variant: Variant,
    /// Kind id.
    #[sqlx(try_from = "String")]
    pub kind: StreamKind,
    /// `major.minor`.
    pub minor: Option<String>,
    /// Whether the controller still lists it.
    pub listed_upstream: bool,
    /// First seen.
    pub first_seen_at: DateTime<Utc>,
}

/// A release with its list-page figures.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseListRow {
    /// Stream.
    pub stream: String,
    /// Tag name.
    pub name: String,
    /// Phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stopped being listed upstream.
    pub expired_at: Option<DateTime<Utc>>,
    /// Blocking gates that succeeded.
    pub blocking_passed: i64,
    /// Blocking gates known.
    pub blocking_total: i64,
}

/// A release's name, phase and age.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecentRow {
    /// Stream.
    pub stream: String,
    /// Tag name.
    pub name: String,
    /// Phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A full release row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseFullRow {
    /// Stream.
    pub stream: String,
    /// Tag name.
    pub name: String,
    /// Phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// Pull spec.
    pub pull_spec: String,
    /// Download URL.
    pub download_url: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// First seen.
    pub first_seen_at: DateTime<Utc>,
    /// Last phase change seen.
    pub phase_changed_at: DateTime<Utc>,
    /// When it stopped being listed upstream.
    pub expired_at: Option<DateTime<Utc>>,
    /// When details were last applied.
    pub details_at: Option<DateTime<Utc>>,
    /// Phase at that time.
    pub details_phase: Option<String>,
    /// Why the details could not be read on the last try, until a read succeeds.
    pub details_error: Option<String>,
    /// Changelog JSON.
    pub changelog: Option<String>,
}

/// A gate row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GateRow {
    /// Stream.
    pub stream: String,
    /// Release.
    pub release: String,
    /// Job name.
    pub name: String,
    /// Bucket.
    #[sqlx(try_from = "String")]
    pub kind: GateKind,
    /// State.
    #[sqlx(try_from = "String")]
    pub state: JobState,
    /// URL.
    pub url: String,
    /// Retries.
    pub retries: i64,
    /// Earlier attempts (JSON array).
    pub previous_attempt_urls: String,
    /// Last change.
    pub transition_time: Option<DateTime<Utc>>,
}

/// An upgrade edge row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UpgradeRow {
    /// From tag.
    pub from_tag: String,
    /// To tag.
    pub to_tag: String,
    /// Successes.
    pub success: i64,
    /// Failures.
    pub failure: i64,
    /// Runs.
    pub total: i64,
    /// Runs JSON.
    pub runs: String,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

/// What the poller needs to know about a stored release.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReleaseState {
    /// Tag name.
    pub name: String,
    /// Phase from the tag list.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// Phase when details were last applied.
    pub details_phase: Option<String>,
    /// When details were last applied.
    pub details_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

pub(super) const LIST_COLUMNS: &str = "r.stream, r.name, r.phase, r.created_at, r.expired_at, \
    (select count(*) from gates g where g.stream = r.stream and g.release = r.name \
        and g.kind = 'blocking' and g.state = 'Succeeded') as blocking_passed, \
    (select count(*) from gates g where g.stream = r.stream and g.release = r.name \
        and g.kind = 'blocking') as blocking_total";

const FULL_COLUMNS: &str = "stream, name, phase, pull_spec, download_url, created_at, \
    first_seen_at, phase_changed_at, expired_at, details_at, details_phase, details_error, \
    changelog";

impl Store {
    /// Every stream, by name.
    pub async fn streams(&self) -> StoreResult<Vec<StreamRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, StreamRow>(
                "select name, controller, variant, kind, minor, listed_upstream, first_seen_at \
                 from streams order by name",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// One stream.
    pub async fn stream(&self, name: &str) -> StoreResult<Option<StreamRow>> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, StreamRow>(
                "select name, controller, variant, kind, minor, listed_upstream, first_seen_at \
                 from streams where name = $1",
            )
            .bind(name)
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }

    /// A stream's releases, newest first, optionally of one phase.
    pub async fn stream_releases(
        &self,
        stream: &str,
        phase: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ReleaseListRow>> {
        let sql = format!(
            // the page's rows first, then their gates: the releases the offset skips are
            // not counted (PostgreSQL computes the select list of skipped rows too)
            "select {LIST_COLUMNS} from (select stream, name, phase, created_at, expired_at \
             from releases where stream = $1 and (cast($2 as text) is null or phase = $2) \
             order by created_at desc, name desc limit $3 offset $4) r \
             order by r.created_at desc, r.name desc"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseListRow>(&sql)
                .bind(stream)
                .bind(phase)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    /// How many releases a stream has, optionally of one phase.
    pub async fn count_releases(&self, stream: &str, phase: Option<&str>) -> StoreResult<i64> {
        let n = on_pool!(self, p => {
            sqlx::query_scalar(
                "select count(*) from releases where stream = $1 \
                 and (cast($2 as text) is null or phase = $2)",
            )
            .bind(stream)
            .bind(phase)
            .fetch_one(p)
            .await?
        });
        Ok(n)
    }

    /// Releases of a stream created since `since`, counted by phase.
    pub async fn phase_counts_since(
        &self,
        stream: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as(
                "select phase, count(*) from releases where stream = $1 and created_at >= $2 \
                 group by phase",
            )
            .bind(stream)
            .bind(since)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The newest release of a stream, optionally of one phase: an index seek, whatever
    /// the stream's length.
    pub async fn latest_release(
        &self,
        stream: &str,
        phase: Option<&str>,
    ) -> StoreResult<Option<ReleaseListRow>> {
        let filter = if phase.is_some() {
            "and r.phase = $2"
        } else {
            "and $2 = ''"
        };
        let sql = format!(
            "select {LIST_COLUMNS} from releases r where r.stream = $1 {filter} \
             order by r.created_at desc, r.name desc limit 1"
        );
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseListRow>(&sql)
                .bind(stream)
                .bind(phase.unwrap_or_default())
                .fetch_optional(p)
                .await?
        });
        Ok(row)
    }

    /// A stream's newest releases without gate figures (name, phase, creation time), for
    /// streaks and charts.
    pub async fn recent_releases(&self, stream: &str, limit: i64) -> StoreResult<Vec<RecentRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, RecentRow>(
                "select stream, name, phase, created_at from releases where stream = $1 \
                 order by created_at desc, name desc limit $2",
            )
            .bind(stream)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Every stored release named `name` (a promoted release can share its CI name).
    pub async fn releases_named(&self, name: &str) -> StoreResult<Vec<ReleaseFullRow>> {
        let sql = format!("select {FULL_COLUMNS} from releases where name = $1 order by stream");
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseFullRow>(&sql).bind(name).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// A release's verification jobs: blocking first, then by name.
    pub async fn gates(&self, stream: &str, release: &str) -> StoreResult<Vec<GateRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, GateRow>(
                "select stream, release, name, kind, state, url, retries, previous_attempt_urls, \
                 transition_time from gates where stream = $1 and release = $2 \
                 order by case kind when 'blocking' then 0 when 'informing' then 1 else 2 end, name",
            )
            .bind(stream)
            .bind(release)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Upgrade edges into (`into = true`) or out of a tag.
    pub async fn upgrades(&self, tag: &str, into: bool) -> StoreResult<Vec<UpgradeRow>> {
        let sql = if into {
            "select from_tag, to_tag, success, failure, total, runs, updated_at from upgrades \
             where to_tag = $1 order by from_tag desc"
        } else {
            "select from_tag, to_tag, success, failure, total, runs, updated_at from upgrades \
             where from_tag = $1 order by to_tag desc"
        };
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, UpgradeRow>(sql).bind(tag).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// The stream a tag name was first recorded in, if any.
    pub async fn stream_of(&self, tag: &str) -> StoreResult<Option<String>> {
        let s = on_pool!(self, p => {
            sqlx::query_scalar("select min(stream) from releases where name = $1")
                .bind(tag)
                .fetch_one(p)
                .await?
        });
        Ok(s)
    }

    /// The older and newer neighbours of a release in its stream. (The plain `created_at`
    /// bound beside each keyset condition is what lets both databases seek the
    /// `(stream, created_at)` index rather than filter the stream from its newest end.)
    pub async fn neighbours(
        &self,
        stream: &str,
        name: &str,
        created_at: DateTime<Utc>,
    ) -> StoreResult<(Option<String>, Option<String>)> {
        let (older, newer) = on_pool!(self, p => {
            let older: Option<String> = sqlx::query_scalar(
                "select name from releases where stream = $1 \
                 and created_at <= $2 and (created_at < $2 or (created_at = $2 and name < $3)) \
                 order by created_at desc, name desc limit 1",
            )
            .bind(stream)
            .bind(created_at)
            .bind(name)
            .fetch_optional(p)
            .await?;
            let newer: Option<String> = sqlx::query_scalar(
                "select name from releases where stream = $1 \
                 and created_at >= $2 and (created_at > $2 or (created_at = $2 and name > $3)) \
                 order by created_at, name limit 1",
            )
            .bind(stream)
            .bind(created_at)
            .bind(name)
            .fetch_optional(p)
            .await?;
            (older, newer)
        });
        Ok((older, newer))
    }

    /// The poller's view of a stream's releases still listed upstream.
    pub async fn release_states(&self, stream: &str) -> StoreResult<Vec<ReleaseState>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseState>(
                "select name, phase, details_phase, details_at, created_at from releases \
                 where stream = $1 and expired_at is null",
            )
            .bind(stream)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Every projected row as text, in a fixed order: the fingerprint a replay of the log
    /// must reproduce exactly.
    pub async fn projection_dump(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for s in self.streams().await? {
            out.push(format!("{s:?}"));
        }
        let releases = on_pool!(self, p => {
            sqlx::query_as::<_, ReleaseFullRow>(&format!(
                "select {FULL_COLUMNS} from releases order by stream, name"
            ))
            .fetch_all(p)
            .await?
        });
        out.extend(releases.iter().map(|r| format!("{r:?}")));
        let gates = on_pool!(self, p => {
            sqlx::query_as::<_, GateRow>(
                "select stream, release, name, kind, state, url, retries, previous_attempt_urls, \
                 transition_time from gates order by stream, release, name",
            )
            .fetch_all(p)
            .await?
        });
        out.extend(gates.iter().map(|g| format!("{g:?}")));
        let upgrades = on_pool!(self, p => {
            sqlx::query_as::<_, UpgradeRow>(
                "select from_tag, to_tag, success, failure, total, runs, updated_at from upgrades \
                 order by from_tag, to_tag",
            )
            .fetch_all(p)
            .await?
        });
        out.extend(upgrades.iter().map(|u| format!("{u:?}")));
        out.extend(self.changelog_ref_dump().await?);
        out.extend(self.payload_dump().await?);
        out.extend(self.registry_event_dump().await?);
        let checks = on_pool!(self, p => {
            sqlx::query_as::<_, crate::integrity::MirrorCheckRow>(
                "select stream, release, payload_digest, checked, missing, unreachable, ok, since \
                 from mirror_checks order by stream, release",
            )
            .fetch_all(p)
            .await?
        });
        out.extend(checks.iter().map(|c| format!("{c:?}")));
        Ok(out)
    }
}
