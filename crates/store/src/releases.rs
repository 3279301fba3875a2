//! Writes of the projected tables — streams, releases, gates and upgrade edges — made only
//! by the projection in [`crate::events`], inside the transaction that appended the event.

use app::model::{GateKind, JobState, Phase, StreamKind, Variant};
use chrono::{DateTime, Utc};

use super::{StoreError, StoreResult, Tx};
use crate::on_tx;

/// Gates per insert statement (9 values each, within both databases' parameter limits).
const GATE_ROWS: usize = 100;

/// Releases of a tag list written per statement (8 parameters each).
const RELEASE_ROWS: usize = 100;
/// Releases' details to an `update` (ten parameters each).
const DETAILS_ROWS: usize = 100;
/// Upgrade edges to an `insert` (seven parameters each).
const UPGRADE_ROWS: usize = 100;

/// A stream as first seen.
#[derive(Debug, Clone)]
pub struct NewStream {
    /// Stream name.
    pub name: String,
    /// Controller it belongs to.
    pub controller: String,
    /// `okd-fcos`, `okd-scos` or `ocp`.
    pub variant: Variant,
    /// `ci`, `nightly`, `next` or `stable`.
    pub kind: StreamKind,
    /// `major.minor`, when the name has one.
    pub minor: Option<String>,
    /// When it was first seen.
    pub seen_at: DateTime<Utc>,
}

/// A release as listed in a stream's tags.
#[derive(Debug, Clone)]
pub struct NewRelease {
    /// Stream name.
    pub stream: String,
    /// Tag name.
    pub name: String,
    /// Phase as listed.
    pub phase: Phase,
    /// Payload pull spec.
    pub pull_spec: String,
    /// Download URL (empty on OKD).
    pub download_url: String,
    /// Creation time (from the tag name, else when first seen).
    pub created_at: DateTime<Utc>,
    /// When this listing was received.
    pub seen_at: DateTime<Utc>,
}

/// A release that is not expired, as a tag list finds it ([`Tx::live_releases`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveRelease {
    /// Tag name.
    pub name: String,
    /// Stored phase.
    pub phase: String,
    /// Stored pull spec.
    pub pull_spec: String,
    /// Stored download URL.
    pub download_url: String,
    /// Whether a promotion put it in the stream: upstream not listing it expires nothing.
    pub promoted: bool,
}

impl LiveRelease {
    /// Whether writing `r`'s listing would leave this row as it is (the phase compared only
    /// when `with_phase`).
    pub fn unchanged_by(&self, r: &NewRelease, with_phase: bool) -> bool {
        self.pull_spec == r.pull_spec
            && self.download_url == r.download_url
            && (!with_phase || self.phase == r.phase.as_str())
    }
}

/// A release's details as reported by the controller.
#[derive(Debug, Clone)]
pub struct ReleaseDetails {
    /// Stream name.
    pub stream: String,
    /// Tag name.
    pub name: String,
    /// Phase reported with the details.
    pub phase: Phase,
    /// A better creation time, when the changelog gives one.
    pub created_at: Option<DateTime<Utc>>,
    /// When the details were received.
    pub seen_at: DateTime<Utc>,
}

/// Details of several releases waiting to be applied together ([`Tx::apply_details_batch`]):
/// each release's details folded, in the order they came, into what applying them one
/// after another would leave. A tag list listing a release with details waiting folds its
/// phase in too ([`DetailsBatch::listed`]), so the details need not be written before it.
#[derive(Debug, Default)]
pub struct DetailsBatch {
    releases: Vec<FoldedDetails>,
    /// Where each release is in `releases`, by stream and name.
    at: std::collections::HashMap<String, std::collections::HashMap<String, usize>>,
}

/// One release's details in a [`DetailsBatch`].
#[derive(Debug)]
struct FoldedDetails {
    stream: String,
    name: String,
    /// The first phase reported: it changes the stored phase's time only if it differs.
    first_phase: Phase,
    first_seen: DateTime<Utc>,
    /// When a later report changed the phase again, which is then when it last changed.
    forced: Option<DateTime<Utc>>,
    /// The phase last reported, by details or by a tag list.
    phase: Phase,
    /// The phase the newest details reported, and when they came.
    details_phase: Phase,
    details_seen: DateTime<Utc>,
    changelog: Option<String>,
    created_at: Option<DateTime<Utc>>,
}

impl DetailsBatch {
    /// Adds `d` after what the batch holds.
    pub fn add(&mut self, d: ReleaseDetails) {
        match self.find(&d.stream, &d.name) {
            Some(i) => {
                let f = &mut self.releases[i];
                f.report_phase(d.phase, d.seen_at);
                f.details_phase = d.phase;
                f.details_seen = d.seen_at;
                if d.created_at.is_some() {
                    f.created_at = d.created_at;
                }
            }
            None => {
                self.at
                    .entry(d.stream.clone())
                    .or_default()
                    .insert(d.name.clone(), self.releases.len());
                self.releases.push(FoldedDetails {
                    stream: d.stream,
                    name: d.name,
                    first_phase: d.phase,
                    first_seen: d.seen_at,
                    forced: None,
                    phase: d.phase,
                    details_phase: d.phase,
                    details_seen: d.seen_at,
                    changelog: None,
                    created_at: d.created_at,
                });
            }
        }
    }

    /// A tag list, received at `seen`, lists `stream/name` with `phase`: when the batch holds
    /// details of that release, the listing's phase is folded in after them (as writing the
    /// details and then the listing would leave the row) and `true` is returned; the listing
    /// must then not write the phase itself ([`Tx::upsert_listed_keeping_phase`]).
    pub fn listed(&mut self, stream: &str, name: &str, phase: Phase, seen: DateTime<Utc>) -> bool {
        let Some(i) = self.find(stream, name) else {
            return false;
        };
        self.releases[i].report_phase(phase, seen);
        true
    }

    /// The newest changelog of `stream/name`, whose details the batch holds, is `log` (kept
    /// apart from the details until the batch is written; without one, the stored changelog
    /// stays).
    pub fn set_changelog(&mut self, stream: &str, name: &str, log: String) {
        if let Some(i) = self.find(stream, name) {
            self.releases[i].changelog = Some(log);
        }
    }

    fn find(&self, stream: &str, name: &str) -> Option<usize> {
        self.at.get(stream)?.get(name).copied()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.releases.is_empty()
    }
}

impl FoldedDetails {
    /// A later report of the row's phase: a change sets when it last changed.
    fn report_phase(&mut self, phase: Phase, seen: DateTime<Utc>) {
        if phase != self.phase {
            self.forced = Some(seen);
        }
        self.phase = phase;
    }
}

/// A verification job result.
#[derive(Debug, Clone)]
pub struct NewGate {
    /// Job name.
    pub name: String,
    /// `blocking`, `informing` or `async`.
    pub kind: GateKind,
    /// Job state.
    pub state: JobState,
    /// Prow URL.
    pub url: String,
    /// Retries used.
    pub retries: i64,
    /// Earlier attempts, JSON array.
    pub previous_attempt_urls: String,
    /// When the state last changed.
    pub transition_time: Option<DateTime<Utc>>,
}

/// Upgrade results between two tags.
#[derive(Debug, Clone)]
pub struct NewUpgrade {
    /// From tag.
    pub from: String,
    /// To tag.
    pub to: String,
    /// Successful runs.
    pub success: i64,
    /// Failed runs.
    pub failure: i64,
    /// All runs.
    pub total: i64,
    /// Runs, JSON array of `{state, url}`.
    pub runs: String,
    /// When reported.
    pub seen_at: DateTime<Utc>,
}

impl Tx {
    /// The controller a stream belongs to, `None` when the stream is unknown.
    pub async fn stream_controller(&mut self, name: &str) -> StoreResult<Option<String>> {
        let owner = on_tx!(self, c => {
            sqlx::query_scalar("select controller from streams where name = $1")
                .bind(name)
                .fetch_optional(c)
                .await?
        });
        Ok(owner)
    }

    /// Records a stream the first time it is seen. A stream name already owned by another
    /// controller is a conflict: stream names identify streams in URLs and badges.
    pub async fn ensure_stream(&mut self, s: &NewStream) -> StoreResult<()> {
        let owner: Option<String> = on_tx!(self, c => {
            sqlx::query_scalar("select controller from streams where name = $1")
                .bind(&s.name)
                .fetch_optional(c)
                .await?
        });
        match owner {
            Some(owner) if owner == s.controller => Ok(()),
            Some(owner) => Err(StoreError::Conflict(format!(
                "stream {} already belongs to controller {owner}",
                s.name
            ))),
            None => {
                on_tx!(self, c => {
                    sqlx::query(
                        "insert into streams (name, controller, variant, kind, minor, first_seen_at) \
                         values ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&s.name)
                    .bind(&s.controller)
                    .bind(s.variant.as_str())
                    .bind(s.kind.as_str())
                    .bind(&s.minor)
                    .bind(s.seen_at)
                    .execute(c).await?.rows_affected()
                });
                Ok(())
            }
        }
    }

    /// Marks which of a controller's known streams it still lists.
    pub async fn set_stream_listing(
        &mut self,
        controller: &str,
        listed: &[String],
    ) -> StoreResult<()> {
        let known: Vec<(String, bool)> = on_tx!(self, c => {
            sqlx::query_as("select name, listed_upstream from streams where controller = $1")
                .bind(controller)
                .fetch_all(c)
                .await?
        });
        for (name, was_listed) in known {
            let now_listed = listed.contains(&name);
            if now_listed != was_listed {
                on_tx!(self, c => {
                    sqlx::query("update streams set listed_upstream = $1 where name = $2")
                        .bind(now_listed)
                        .bind(&name)
                        .execute(c).await?.rows_affected()
                });
            }
        }
        Ok(())
    }

    /// Inserts a listed release or updates its phase and pull spec; a release listed again
    /// is no longer expired.
    pub async fn upsert_release(&mut self, r: &NewRelease) -> StoreResult<()> {
        self.upsert_releases(&[r]).await
    }

    /// [`Tx::upsert_release`] for every release of a tag list, a hundred to a statement;
    /// a release whose row would not change is not written at all.
    pub async fn upsert_releases(&mut self, releases: &[&NewRelease]) -> StoreResult<()> {
        self.insert_releases(
            releases,
            "do update set \
             phase_changed_at = case when releases.phase <> excluded.phase \
                 then excluded.phase_changed_at else releases.phase_changed_at end, \
             phase = excluded.phase, pull_spec = excluded.pull_spec, \
             download_url = excluded.download_url, expired_at = null \
             where releases.phase <> excluded.phase or releases.pull_spec <> excluded.pull_spec \
                 or releases.download_url <> excluded.download_url \
                 or releases.expired_at is not null",
        )
        .await
    }

    /// [`Tx::upsert_releases`] for listed releases whose details wait in a [`DetailsBatch`]
    /// that took the listing's phase ([`DetailsBatch::listed`]): everything but the phase and
    /// its time, which the batch writes.
    pub async fn upsert_listed_keeping_phase(
        &mut self,
        releases: &[&NewRelease],
    ) -> StoreResult<()> {
        self.insert_releases(
            releases,
            "do update set \
             pull_spec = excluded.pull_spec, download_url = excluded.download_url, \
             expired_at = null \
             where releases.pull_spec <> excluded.pull_spec \
                 or releases.download_url <> excluded.download_url \
                 or releases.expired_at is not null",
        )
        .await
    }

    /// Records release `r` unless its stream already has a release of that name.
    pub async fn insert_release_if_absent(&mut self, r: &NewRelease) -> StoreResult<()> {
        self.insert_releases(&[r], "do nothing").await
    }

    /// Inserts `releases`; `on_conflict` (`do …`) says what an existing one becomes.
    async fn insert_releases(
        &mut self,
        releases: &[&NewRelease],
        on_conflict: &str,
    ) -> StoreResult<()> {
        for chunk in releases.chunks(RELEASE_ROWS) {
            let sql = format!(
                "insert into releases (stream, name, phase, pull_spec, download_url, created_at, \
                 first_seen_at, phase_changed_at) values {} on conflict (stream, name) {on_conflict}",
                crate::values_rows(chunk.len(), 0, 8)
            );
            let sql = crate::positional(self, &sql);
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(&r.stream)
                        .bind(&r.name)
                        .bind(r.phase.as_str())
                        .bind(&r.pull_spec)
                        .bind(&r.download_url)
                        .bind(r.created_at)
                        .bind(r.seen_at)
                        .bind(r.seen_at);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// A stream's releases that are not expired: those the controller listed last time, and
    /// those a promotion put there.
    pub async fn live_releases(&mut self, stream: &str) -> StoreResult<Vec<LiveRelease>> {
        let rows = on_tx!(self, c => {
            sqlx::query_as::<_, LiveRelease>(
                "select name, phase, pull_spec, download_url, exists (select 1 from \
                 promoted_releases p where p.stream = r.stream and p.release = r.name) as promoted \
                 from releases r where stream = $1 and expired_at is null",
            )
                .bind(stream)
                .fetch_all(c)
                .await?
        });
        Ok(rows)
    }

    /// Marks releases of `stream` as no longer listed upstream (they and their gates are
    /// kept), a hundred to a statement.
    pub async fn expire_releases(
        &mut self,
        stream: &str,
        names: &[&str],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        for chunk in names.chunks(RELEASE_ROWS) {
            let list: Vec<String> = (3..3 + chunk.len()).map(|k| format!("${k}")).collect();
            let sql = format!(
                "update releases set expired_at = $1 where stream = $2 and name in ({})",
                list.join(", ")
            );
            let sql = crate::positional(self, &sql);
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql).bind(at).bind(stream);
                for name in chunk {
                    q = q.bind(*name);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// Applies every release's details `batch` holds, as applying them one after another
    /// would, a hundred releases to a statement; empties it. The release rows must exist
    /// (they are created from the tag list); an empty changelog never replaces a stored one;
    /// a release not stored fails the whole batch.
    pub async fn apply_details_batch(&mut self, batch: &mut DetailsBatch) -> StoreResult<()> {
        let folded = std::mem::take(&mut batch.releases);
        batch.at.clear();
        for chunk in folded.chunks(DETAILS_ROWS) {
            let sql = format!(
                "with v (s, n, first_phase, first_seen, forced, phase_now, details_phase_now, \
                 seen_now, log, created) as (values {}) \
                 update releases set \
                 phase_changed_at = coalesce(v.forced, case when phase <> v.first_phase \
                     then v.first_seen else phase_changed_at end), \
                 phase = v.phase_now, details_at = v.seen_now, \
                 details_phase = v.details_phase_now, \
                 details_error = null, changelog = coalesce(v.log, changelog), \
                 created_at = coalesce(v.created, created_at) \
                 from v where releases.stream = v.s and releases.name = v.n \
                 returning releases.stream, releases.name",
                crate::values_rows(chunk.len(), 0, 10)
            );
            let sql = crate::positional(self, &sql);
            let done: Vec<(String, String)> = on_tx!(self, c => {
                let mut q = sqlx::query_as(&sql);
                for f in chunk {
                    q = q
                        .bind(&f.stream)
                        .bind(&f.name)
                        .bind(f.first_phase.as_str())
                        .bind(f.first_seen)
                        .bind(f.forced)
                        .bind(f.phase.as_str())
                        .bind(f.details_phase.as_str())
                        .bind(f.details_seen)
                        .bind(&f.changelog)
                        .bind(f.created_at);
                }
                q.fetch_all(c).await?
            });
            if done.len() < chunk.len() {
                let missing = chunk
                    .iter()
                    .find(|f| !done.iter().any(|(s, n)| *s == f.stream && *n == f.name));
                if let Some(f) = missing {
                    return Err(StoreError::NotFound(format!(
                        "release {}/{}",
                        f.stream, f.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Records why `stream/name`'s details could not be read; a later successful read
    /// clears it. A release not (or no longer) stored is left alone.
    pub async fn set_details_error(
        &mut self,
        stream: &str,
        name: &str,
        error: &str,
    ) -> StoreResult<()> {
        on_tx!(self, c => {
            sqlx::query("update releases set details_error = $3 where stream = $1 and name = $2")
                .bind(stream)
                .bind(name)
                .bind(error)
                .execute(c).await?.rows_affected()
        });
        Ok(())
    }

    /// Replaces a release's verification jobs.
    pub async fn replace_gates(
        &mut self,
        stream: &str,
        release: &str,
        gates: &[NewGate],
    ) -> StoreResult<()> {
        self.replace_gates_of(&[(stream, release, gates)]).await
    }

    /// [`Tx::replace_gates`] for several releases at once: one `delete` and a few `insert`s
    /// for all of them, not a few statements per release.
    pub async fn replace_gates_of(
        &mut self,
        releases: &[(&str, &str, &[NewGate])],
    ) -> StoreResult<()> {
        crate::delete_by_release(self, "gates", releases.iter().map(|(s, r, _)| (*s, *r))).await?;
        let rows: Vec<(&str, &str, &NewGate)> = releases
            .iter()
            .flat_map(|(stream, release, gates)| gates.iter().map(move |g| (*stream, *release, g)))
            .collect();
        for chunk in rows.chunks(GATE_ROWS) {
            let sql = format!(
                "insert into gates (stream, release, name, kind, state, url, retries, \
                 previous_attempt_urls, transition_time) values {}",
                crate::values_rows(chunk.len(), 0, 9)
            );
            let sql = crate::positional(self, &sql);
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql);
                for (stream, release, g) in chunk {
                    q = q
                        .bind(*stream)
                        .bind(*release)
                        .bind(&g.name)
                        .bind(g.kind.as_str())
                        .bind(g.state.as_str())
                        .bind(&g.url)
                        .bind(g.retries)
                        .bind(&g.previous_attempt_urls)
                        .bind(g.transition_time);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// Records the latest results of upgrades between two tags.
    pub async fn upsert_upgrade(&mut self, u: &NewUpgrade) -> StoreResult<()> {
        self.upsert_upgrades(std::slice::from_ref(u)).await
    }

    /// [`Tx::upsert_upgrade`] for every edge a release reports, a hundred to a statement; an
    /// edge reported twice counts as its last report.
    pub async fn upsert_upgrades(&mut self, upgrades: &[NewUpgrade]) -> StoreResult<()> {
        let mut at_row: std::collections::HashMap<(&str, &str), usize> =
            std::collections::HashMap::with_capacity(upgrades.len());
        let mut rows: Vec<&NewUpgrade> = Vec::with_capacity(upgrades.len());
        for u in upgrades {
            match at_row.get(&(u.from.as_str(), u.to.as_str())) {
                Some(&i) => rows[i] = u,
                None => {
                    at_row.insert((&u.from, &u.to), rows.len());
                    rows.push(u);
                }
            }
        }
        for chunk in rows.chunks(UPGRADE_ROWS) {
            let sql = format!(
                "insert into upgrades (from_tag, to_tag, success, failure, total, runs, updated_at) \
                 values {} on conflict (from_tag, to_tag) do update set success = excluded.success, \
                 failure = excluded.failure, total = excluded.total, runs = excluded.runs, \
                 updated_at = excluded.updated_at",
                crate::values_rows(chunk.len(), 0, 7)
            );
            let sql = crate::positional(self, &sql);
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql);
                for u in chunk {
                    q = q
                        .bind(&u.from)
                        .bind(&u.to)
                        .bind(u.success)
                        .bind(u.failure)
                        .bind(u.total)
                        .bind(&u.runs)
                        .bind(u.seen_at);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// Empties every projected table (the log stays), before a replay of the log.
    pub async fn clear_projection(&mut self) -> StoreResult<()> {
        for table in [
            "promoted_releases",
            "promotion_steps",
            "promotions",
            "mirror_checks",
            "registry_events",
            "payload_failures",
            "release_payloads",
            "payload_component_platforms",
            "payload_components",
            "payloads",
            "gates",
            "changelog_refs",
            "upgrades",
            "releases",
            "streams",
        ] {
            on_tx!(self, c => {
                sqlx::query(&format!("delete from {table}")).execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }
}
