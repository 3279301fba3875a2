//! `/api/v1/jobs?stream=` and `/api/v1/jobs/{name}?stream=`: a stream's verification jobs
//! ranked by how often they blocked acceptance, and one job's runs with its pass and flake
//! rates — the answers of the `/jobs` pages.

use app::model::jobs as model;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::edge::error::{method_not_allowed, ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::AppState;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", get(rank_jobs).fallback(method_not_allowed))
        .route(
            "/api/v1/jobs/{name}",
            get(job_history).fallback(method_not_allowed),
        )
}

/// Which stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The stream.
    #[param(example = "4.21.0-0.okd-scos")]
    pub stream: Option<String>,
}

/// How a job fared over a window of days.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobStats {
    /// The window: runs on releases created in the last `days` days.
    pub days: u32,
    /// Runs.
    pub runs: u32,
    /// Runs that succeeded.
    pub passed: u32,
    /// Runs that failed.
    pub failed: u32,
    /// Runs that succeeded only on a retry.
    pub flaked: u32,
    /// Passed, in percent of the finished runs; `null` when none finished.
    pub pass_rate: Option<u32>,
    /// Flaked, in percent of the finished runs; `null` when none finished.
    pub flake_rate: Option<u32>,
}

impl From<model::JobStats> for JobStats {
    fn from(s: model::JobStats) -> Self {
        JobStats {
            pass_rate: s.pass_rate(),
            flake_rate: s.flake_rate(),
            days: s.days,
            runs: s.runs,
            passed: s.passed,
            failed: s.failed,
            flaked: s.flaked,
        }
    }
}

/// One run of a job: its gate on one release.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobRun {
    /// The release.
    pub release: String,
    /// When the release was created.
    pub created_at: DateTime<Utc>,
    /// The release's phase.
    pub phase: String,
    /// `blocking`, `informing` or `async` on that release.
    pub kind: String,
    /// `Succeeded`, `Failed` or `Pending`.
    pub state: String,
    /// Whether it succeeded only on a retry.
    pub flaked: bool,
    /// Prow URL of the deciding run.
    pub url: String,
    /// Retries used.
    pub retries: u32,
    /// Earlier attempts.
    pub previous_attempt_urls: Vec<String>,
}

/// One job's history in one stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobHistory {
    /// The stream.
    pub stream: String,
    /// The job.
    pub name: String,
    /// Whether it was blocking on its newest run.
    pub blocking: bool,
    /// `passing` or `failing` (its newest finished runs), or `none`.
    #[schema(example = "passing")]
    pub streak: String,
    /// How many newest finished runs share that result.
    pub streak_runs: u32,
    /// Over 7, 14 and 30 days.
    pub stats: Vec<JobStats>,
    /// Runs of the last 30 days, newest first.
    pub runs: Vec<JobRun>,
}

impl From<model::JobPage> for JobHistory {
    fn from(p: model::JobPage) -> Self {
        let (streak, streak_runs) = match p.streak {
            model::Streak::Passing(n) => ("passing", n),
            model::Streak::Failing(n) => ("failing", n),
            model::Streak::None => ("none", 0),
        };
        JobHistory {
            stream: p.stream,
            name: p.name,
            blocking: p.blocking,
            streak: streak.to_string(),
            streak_runs,
            stats: p.stats.into_iter().map(JobStats::from).collect(),
            runs: p
                .runs
                .into_iter()
                .map(|r| JobRun {
                    flaked: r.flaked(),
                    phase: r.phase.as_str().to_string(),
                    kind: r.kind.as_str().to_string(),
                    release: r.release,
                    created_at: r.created_at,
                    state: r.state.to_string(),
                    url: r.url,
                    retries: r.retries,
                    previous_attempt_urls: r.previous_attempt_urls,
                })
                .collect(),
        }
    }
}

/// One job of a ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankedJob {
    /// The job.
    pub name: String,
    /// `blocking` when it was blocking on any release of the window.
    pub kind: String,
    /// Rejected releases on which it was a failed blocking job.
    pub blocked: u32,
    /// Its runs over the window.
    pub stats: JobStats,
}

/// A stream's jobs, those that blocked acceptance most first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobRanking {
    /// The stream.
    pub stream: String,
    /// The window: releases created in the last `days` days.
    pub days: u32,
    /// The jobs.
    pub jobs: Vec<RankedJob>,
}

fn stream_of(query: StreamQuery) -> Result<String, ApiError> {
    let stream = query.stream.unwrap_or_default();
    model::check_name("stream", &stream).map_err(ApiError::BadRequest)?;
    Ok(stream)
}

/// A stream's jobs ranked by how many releases they blocked in the last 14 days.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "releases",
    params(StreamQuery),
    responses(
        (status = 200, description = "the ranking", body = JobRanking),
        (status = 400, description = "the stream is missing or malformed", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody),
    )
)]
pub async fn rank_jobs(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> ApiResult<JobRanking> {
    let stream = stream_of(query)?;
    let r = super::backend(&state).job_ranking(&stream).await?;
    Ok(Json(JobRanking {
        stream: r.stream,
        days: r.days,
        jobs: r
            .jobs
            .into_iter()
            .map(|j| RankedJob {
                kind: j.kind.as_str().to_string(),
                blocked: j.blocked,
                stats: j.stats.into(),
                name: j.name,
            })
            .collect(),
    }))
}

/// Every run of a job across a stream's releases of the last 30 days, with its pass and
/// flake rates over 7, 14 and 30 days and its current streak.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{name}",
    tag = "releases",
    params(
        ("name" = String, Path, description = "job name", example = "e2e-aws-ovn"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "the job's history", body = JobHistory),
        (status = 400, description = "the stream is missing or malformed", body = ErrorBody),
        (status = 404, description = "no such stream, or the job never ran in it", body = ErrorBody),
    )
)]
pub async fn job_history(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> ApiResult<JobHistory> {
    let stream = stream_of(query)?;
    model::check_name("job", &name).map_err(ApiError::BadRequest)?;
    let page = super::backend(&state).job_page(&stream, &name).await?;
    Ok(Json(page.into()))
}
