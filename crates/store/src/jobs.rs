//! The history of verification jobs across a stream's releases: every run of one job, and
//! per job how often it passed, failed, passed only on a retry, and blocked a release's
//! acceptance, over the releases created since a time.

use app::model::{GateKind, JobState, Phase};
use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::on_pool;

/// One run of a job: its gate on one release.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRunRow {
    /// The release.
    pub release: String,
    /// When the release was created.
    pub created_at: DateTime<Utc>,
    /// The release's phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// `blocking` or `informing` on that release.
    #[sqlx(try_from = "String")]
    pub kind: GateKind,
    /// `Succeeded`, `Failed` or `Pending`.
    #[sqlx(try_from = "String")]
    pub state: JobState,
    /// Prow URL of the deciding run.
    pub url: String,
    /// Retries used.
    pub retries: i64,
    /// Earlier attempts (JSON array of URLs).
    pub previous_attempt_urls: String,
}

/// A failed run of a job, as its feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobFailureRow {
    /// The release.
    pub release: String,
    /// When the release was created.
    pub created_at: DateTime<Utc>,
    /// The release's phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// `blocking` or `informing` on that release.
    #[sqlx(try_from = "String")]
    pub kind: GateKind,
    /// Prow URL of the failed run.
    pub url: String,
    /// Retries used.
    pub retries: i64,
    /// When the job's state last changed.
    pub transition_time: Option<DateTime<Utc>>,
}

/// How one job of a stream fared over a window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobSummaryRow {
    /// Job name.
    pub name: String,
    /// `blocking` when it blocked any release of the window, else `informing`.
    #[sqlx(try_from = "String")]
    pub kind: GateKind,
    /// Runs (releases it ran on).
    pub runs: i64,
    /// Runs that succeeded.
    pub passed: i64,
    /// Runs that failed.
    pub failed: i64,
    /// Runs that succeeded only on a retry.
    pub flaked: i64,
    /// Rejected releases on which it was a failed blocking job.
    pub blocked: i64,
}

impl Store {
    /// Runs of job `name` in `stream` on releases created since `since`, newest first, at
    /// most `limit`.
    pub async fn job_runs(
        &self,
        stream: &str,
        name: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<JobRunRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, JobRunRow>(
                "select r.name as release, r.created_at, r.phase, g.kind, g.state, g.url, \
                 g.retries, g.previous_attempt_urls from gates g \
                 join releases r on r.stream = g.stream and r.name = g.release \
                 where g.stream = $1 and g.name = $2 and r.created_at >= $3 \
                 order by r.created_at desc, r.name desc limit $4",
            )
            .bind(stream)
            .bind(name)
            .bind(since)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The newest `limit` failed runs of job `name` in `stream`, newest release first.
    pub async fn job_failures(
        &self,
        stream: &str,
        name: &str,
        limit: i64,
    ) -> StoreResult<Vec<JobFailureRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, JobFailureRow>(
                "select r.name as release, r.created_at, r.phase, g.kind, g.url, g.retries, \
                 g.transition_time from gates g \
                 join releases r on r.stream = g.stream and r.name = g.release \
                 where g.stream = $1 and g.name = $2 and g.state = 'Failed' \
                 order by r.created_at desc, r.name desc limit $3",
            )
            .bind(stream)
            .bind(name)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Whether job `name` ever ran in `stream`.
    pub async fn job_known(&self, stream: &str, name: &str) -> StoreResult<bool> {
        let found: Option<i64> = on_pool!(self, p => {
            sqlx::query_scalar(
                "select cast(1 as bigint) from gates where stream = $1 and name = $2 limit 1",
            )
                .bind(stream)
                .bind(name)
                .fetch_optional(p)
                .await?
        });
        Ok(found.is_some())
    }

    /// Every job of `stream` that ran on a release created since `since`, with its counts;
    /// those that blocked acceptance most first, then by failures and name.
    pub async fn job_summaries(
        &self,
        stream: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<JobSummaryRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, JobSummaryRow>(
                "select g.name, min(g.kind) as kind, count(*) as runs, \
                 sum(case when g.state = 'Succeeded' then 1 else 0 end) as passed, \
                 sum(case when g.state = 'Failed' then 1 else 0 end) as failed, \
                 sum(case when g.state = 'Succeeded' and g.retries > 0 then 1 else 0 end) \
                 as flaked, \
                 sum(case when g.state = 'Failed' and g.kind = 'blocking' \
                 and r.phase = 'Rejected' then 1 else 0 end) as blocked \
                 from gates g join releases r on r.stream = g.stream and r.name = g.release \
                 where g.stream = $1 and r.created_at >= $2 group by g.name \
                 order by blocked desc, failed desc, g.name",
            )
            .bind(stream)
            .bind(since)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::releases::{NewGate, NewRelease, NewStream};
    use crate::testing;
    use app::model::{StreamKind, Variant};

    const STREAM: &str = "4.21.0-0.okd-scos";

    fn gate(name: &str, kind: GateKind, state: &str, retries: i64) -> NewGate {
        NewGate {
            name: name.into(),
            kind,
            state: JobState::parse(state),
            url: format!("https://prow.ci.openshift.org/view/gs/{name}"),
            retries,
            previous_attempt_urls: "[]".into(),
            transition_time: None,
        }
    }

    /// Four releases a day apart, newest first: `aws` fails twice (blocking one rejected
    /// release), passes once on a retry; `metal` (informing) fails on the oldest only.
    async fn history(store: Store) {
        let now = Utc::now();
        let mut tx = store.begin().await.expect("begin");
        tx.ensure_stream(&NewStream {
            name: STREAM.into(),
            controller: "origin".into(),
            variant: Variant::OkdScos,
            kind: StreamKind::Ci,
            minor: Some("4.21".into()),
            seen_at: now,
        })
        .await
        .expect("stream");
        let releases = [
            ("r4", 0, "Ready", ("Failed", 0), ("Succeeded", 0)),
            ("r3", 1, "Rejected", ("Failed", 1), ("Succeeded", 0)),
            ("r2", 2, "Accepted", ("Succeeded", 2), ("Succeeded", 0)),
            ("r1", 40, "Accepted", ("Succeeded", 0), ("Failed", 0)),
        ];
        for (name, days, phase, aws, metal) in releases {
            tx.upsert_release(&NewRelease {
                stream: STREAM.into(),
                name: name.into(),
                phase: Phase::parse(phase),
                pull_spec: format!("quay.io/okd/scos-release:{name}"),
                download_url: String::new(),
                created_at: now - Duration::days(days),
                seen_at: now,
            })
            .await
            .expect("release");
            tx.replace_gates(
                STREAM,
                name,
                &[
                    gate("aws", GateKind::Blocking, aws.0, aws.1),
                    gate("metal", GateKind::Informing, metal.0, metal.1),
                ],
            )
            .await
            .expect("gates");
        }
        tx.commit().await.expect("commit");

        let month = now - Duration::days(30);
        let runs = store
            .job_runs(STREAM, "aws", month, 100)
            .await
            .expect("runs");
        let names: Vec<&str> = runs.iter().map(|r| r.release.as_str()).collect();
        assert_eq!(names, ["r4", "r3", "r2"], "newest first, within the window");
        assert_eq!((runs[2].state, runs[2].retries), (JobState::Succeeded, 2));
        assert_eq!(runs[1].phase, Phase::Rejected);
        let limited = store.job_runs(STREAM, "aws", month, 1).await.expect("runs");
        assert_eq!(limited.len(), 1);

        let summaries = store.job_summaries(STREAM, month).await.expect("summaries");
        let aws = JobSummaryRow {
            name: "aws".into(),
            kind: GateKind::Blocking,
            runs: 3,
            passed: 1,
            failed: 2,
            flaked: 1,
            blocked: 1,
        };
        let metal = JobSummaryRow {
            name: "metal".into(),
            kind: GateKind::Informing,
            runs: 3,
            passed: 3,
            failed: 0,
            flaked: 0,
            blocked: 0,
        };
        assert_eq!(summaries, [aws, metal], "what blocked acceptance first");
        let all = store
            .job_summaries(STREAM, now - Duration::days(60))
            .await
            .expect("summaries");
        assert_eq!(
            all[1].failed, 1,
            "the older failure counts in a longer window"
        );

        let failures: Vec<String> = store
            .job_failures(STREAM, "aws", 10)
            .await
            .expect("failures")
            .into_iter()
            .map(|f| f.release)
            .collect();
        assert_eq!(failures, ["r4", "r3"]);
        let metal = store
            .job_failures(STREAM, "metal", 10)
            .await
            .expect("failures");
        assert_eq!(metal.len(), 1, "any age");
        assert!(
            store
                .job_failures(STREAM, "aws", 1)
                .await
                .expect("failures")
                .len()
                == 1
        );

        assert!(store.job_known(STREAM, "metal").await.expect("known"));
        assert!(!store.job_known(STREAM, "gcp").await.expect("known"));
        assert!(!store.job_known("4-scos-next", "aws").await.expect("known"));
    }

    #[tokio::test]
    async fn job_history_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        history(store).await;
    }

    #[tokio::test]
    async fn job_history_on_postgres() {
        history(testing::postgres().await).await;
    }
}
