//! A verification job's history across a stream's releases, and a stream's jobs ranked by
//! how often they blocked acceptance, read from the stored gates.

use app::model::jobs::{
    JobPage, JobRanking, JobRun, JobStats, JobSummary, MOST_RUNS, RANKING_DAYS, WINDOWS,
};
use chrono::{Duration, Utc};

use super::StoreBackend;
use crate::store::jobs::{JobRunRow, JobSummaryRow};
use crate::store::queries::StreamRow;
use crate::store::StoreError;

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn run(row: JobRunRow) -> JobRun {
    JobRun {
        phase: row.phase,
        kind: row.kind,
        previous_attempt_urls: serde_json::from_str(&row.previous_attempt_urls).unwrap_or_default(),
        retries: count(row.retries),
        release: row.release,
        created_at: row.created_at,
        state: row.state,
        url: row.url,
    }
}

fn summary(row: JobSummaryRow, days: u32) -> JobSummary {
    JobSummary {
        kind: row.kind,
        stats: JobStats {
            days,
            runs: count(row.runs),
            passed: count(row.passed),
            failed: count(row.failed),
            flaked: count(row.flaked),
        },
        blocked: count(row.blocked),
        name: row.name,
    }
}

impl StoreBackend {
    /// Job `name`'s runs in `stream` over the longest window; an unknown stream, or a job
    /// that never ran in it, is [`StoreError::NotFound`].
    pub async fn job_page(&self, stream: &str, name: &str) -> Result<JobPage, StoreError> {
        self.job_stream(stream, name).await?;
        let now = Utc::now();
        let longest = WINDOWS.iter().max().copied().unwrap_or(30);
        let limit = i64::try_from(MOST_RUNS).unwrap_or(i64::MAX);
        let runs = self
            .store
            .job_runs(
                stream,
                name,
                now - Duration::days(i64::from(longest)),
                limit,
            )
            .await?;
        Ok(JobPage::new(
            now,
            stream,
            name,
            runs.into_iter().map(run).collect(),
        ))
    }

    /// The row of `stream`, when job `name` ran in it; an unknown stream, or a job that
    /// never ran in it, is [`StoreError::NotFound`].
    pub async fn job_stream(&self, stream: &str, name: &str) -> Result<StreamRow, StoreError> {
        let row = self
            .store
            .stream(stream)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("stream {stream}")))?;
        if !self.store.job_known(stream, name).await? {
            return Err(StoreError::NotFound(format!(
                "job {name} in stream {stream}"
            )));
        }
        Ok(row)
    }

    /// The jobs of `stream` over [`RANKING_DAYS`], those that blocked acceptance most first;
    /// an unknown stream is [`StoreError::NotFound`].
    pub async fn job_ranking(&self, stream: &str) -> Result<JobRanking, StoreError> {
        if self.store.stream(stream).await?.is_none() {
            return Err(StoreError::NotFound(format!("stream {stream}")));
        }
        let now = Utc::now();
        let rows = self
            .store
            .job_summaries(stream, now - Duration::days(i64::from(RANKING_DAYS)))
            .await?;
        Ok(JobRanking {
            now,
            stream: stream.to_string(),
            days: RANKING_DAYS,
            jobs: rows.into_iter().map(|r| summary(r, RANKING_DAYS)).collect(),
        })
    }
}
