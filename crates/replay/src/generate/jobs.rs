//! The verification jobs of a release: which run, how often they retry and fail, the
//! upgrade edges upgrade jobs leave, and when the release is decided.

use chrono::{DateTime, Duration, Utc};

use super::rng::{build_id, prow_url, Rng};
use crate::data::{DataError, DemoData, JobSetName, JobSpec, Retries, StreamJobs, UpgradeSource};
use crate::dataset::{
    JobData, JobKind, TagData, UpgradeData, UpgradeRun, PHASE_ACCEPTED, PHASE_REJECTED,
    STATE_FAILED,
};

/// Where an upgrade job starts from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UpgradeFrom {
    No,
    /// The newest accepted tag of the same stream.
    Previous,
    /// The newest accepted tag of the named stream (the previous minor).
    Minor(String),
}

#[derive(Debug, Clone)]
pub(crate) struct JobPlan {
    pub(crate) name: &'static str,
    pub(crate) prow: String,
    pub(crate) kind: JobKind,
    pub(crate) max_retries: u32,
    pub(crate) minutes: (i64, i64),
    pub(crate) flake: f64,
    pub(crate) upgrade: UpgradeFrom,
}

pub(crate) fn run_job(rng: &mut Rng, plan: &JobPlan, start: DateTime<Utc>, state: &str) -> JobData {
    let failed_attempts = if state == STATE_FAILED {
        plan.max_retries
    } else {
        let roll = rng.below(100);
        if plan.max_retries >= 2 && roll < 5 {
            2
        } else if plan.max_retries >= 1 && roll < 25 {
            1
        } else {
            0
        }
    };
    let mut at = start;
    let mut previous_urls = Vec::new();
    let mut previous_finished = Vec::new();
    for attempt in 0..failed_attempts {
        let id = build_id(rng, at);
        previous_urls.push(prow_url(&plan.prow, &id));
        // Failed attempts tend to end a little early.
        let end = at
            + Duration::minutes(rng.range(plan.minutes.0 * 3 / 4, plan.minutes.1))
            + Duration::seconds(rng.range(0, 59));
        previous_finished.push(end);
        at = end + Duration::minutes(1 << attempt.min(4)) + Duration::seconds(rng.range(5, 170));
    }
    let id = build_id(rng, at);
    let finished = at
        + Duration::minutes(rng.range(plan.minutes.0, plan.minutes.1))
        + Duration::seconds(rng.range(0, 59));
    JobData {
        name: plan.name.to_string(),
        prow_job: plan.prow.clone(),
        kind: plan.kind,
        final_state: state.to_string(),
        url: prow_url(&plan.prow, &id),
        retries: failed_attempts,
        previous_attempt_urls: previous_urls,
        previous_attempt_finished: previous_finished,
        started: start,
        finished,
    }
}

/// The upgrade edge an upgrade job's attempts produce.
pub(crate) fn edge_from_job(from: &str, job: &JobData) -> UpgradeData {
    let mut runs: Vec<UpgradeRun> = job
        .previous_attempt_urls
        .iter()
        .zip(&job.previous_attempt_finished)
        .map(|(url, finished)| UpgradeRun {
            url: url.clone(),
            state: STATE_FAILED.to_string(),
            finished: *finished,
        })
        .collect();
    runs.push(UpgradeRun {
        url: job.url.clone(),
        state: job.final_state.clone(),
        finished: job.finished,
    });
    UpgradeData {
        from: from.to_string(),
        runs,
    }
}

/// When the ReleasePayload reaches its final phase: all blocking jobs succeeded, or the first
/// blocking job failed for good.
pub(crate) fn decide(phase: &str, jobs: &[JobData], created: DateTime<Utc>) -> DateTime<Utc> {
    let blocking = jobs.iter().filter(|job| job.kind == JobKind::Blocking);
    let decided = if phase == PHASE_REJECTED {
        blocking
            .filter(|job| job.final_state == STATE_FAILED)
            .map(|job| job.finished)
            .min()
    } else {
        blocking.map(|job| job.finished).max()
    };
    decided.unwrap_or(created)
}

pub(crate) fn latest_accepted(tags: &[TagData], at: DateTime<Utc>) -> Option<usize> {
    tags.iter()
        .rposition(|tag| tag.final_phase == PHASE_ACCEPTED && tag.decided.is_some_and(|d| d <= at))
}

/// The jobs a CI stream of `minor` runs, from the data file's job set `jobs` names: the
/// Prow names filled in, the jobs the stream does not run left out (OKD/SCOS-only jobs on
/// OKD/FCOS, FCOS jobs before their minor, the minor upgrade without a previous minor).
pub(crate) fn job_plans(
    data: &'static DemoData,
    stream: &str,
    jobs: &StreamJobs,
    minor: u32,
    fcos: bool,
) -> Result<Vec<JobPlan>, DataError> {
    let set = match jobs.set {
        JobSetName::Ocp => &data.jobs.ocp,
        JobSetName::Okd => &data.jobs.okd,
    };
    let variant = if fcos { "okd" } else { "okd-scos" };
    let prefix = set
        .prefix
        .replace("{minor}", &minor.to_string())
        .replace("{branch}", jobs.branch.as_deref().unwrap_or_default())
        .replace("{variant}", variant);
    let mut plans = Vec::new();
    for spec in &set.jobs {
        if (spec.only_scos && fcos) || spec.fcos_from_minor.is_some_and(|m| fcos && minor < m) {
            continue;
        }
        let upgrade = match spec.upgrade {
            None => UpgradeFrom::No,
            Some(UpgradeSource::Previous) => UpgradeFrom::Previous,
            Some(UpgradeSource::Minor) => match &jobs.previous_minor {
                Some(stream) => UpgradeFrom::Minor(stream.clone()),
                None => continue,
            },
        };
        let max_retries = match spec.retries {
            Retries::Fixed(n) => n,
            Retries::Stream(_) => jobs.retries.ok_or_else(|| {
                DataError::Invalid(format!(
                    "stream {stream}: job {} takes the stream's retries; give the stream `retries`",
                    spec.name
                ))
            })?,
        };
        let prow = spec
            .prow
            .replace("{prefix}", &prefix)
            .replace("{variant}", variant)
            .replace("{previous_minor}", &minor.saturating_sub(1).to_string());
        plans.push(plan_of(spec, prow, max_retries, upgrade));
    }
    Ok(plans)
}

/// The plan of job `spec` under its Prow name `prow`.
pub(crate) fn plan_of(
    spec: &'static JobSpec,
    prow: String,
    max_retries: u32,
    upgrade: UpgradeFrom,
) -> JobPlan {
    JobPlan {
        name: spec.name.as_str(),
        prow,
        kind: if spec.blocking {
            JobKind::Blocking
        } else {
            JobKind::Informing
        },
        max_retries,
        minutes: spec.minutes,
        flake: spec.flake,
        upgrade,
    }
}
