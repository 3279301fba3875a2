//! A CI stream: releases spread over its span, each built or failed, accepted or rejected
//! by its jobs, with the payload and changelog of its lineage.

use chrono::{DateTime, Duration, Utc};
use streamgate_formats::release_controller::{ChangeLog, ChangeLogReleaseInfo};

use super::jobs::{decide, edge_from_job, latest_accepted, run_job, JobPlan, UpgradeFrom};
use super::payload::{diff_changelog, release_info, Commits, Lineage, Os, Snap};
use super::rng::{seed, Rng};
use crate::data::DemoData;
use crate::dataset::{
    zero_changelog, JobData, JobKind, StreamData, TagData, UpgradeData, JOBS_START_SECS,
    PHASE_ACCEPTED, PHASE_FAILED, PHASE_REJECTED, STATE_FAILED, STATE_SUCCEEDED,
};

/// `count` strictly increasing whole-second times from about `start` to about `end` (exactly
/// `end` when `exact_end`), with jitter so that no stream starts or ends on a round time.
pub(crate) fn spread(
    rng: &mut Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    count: usize,
    exact_end: bool,
) -> Vec<DateTime<Utc>> {
    let end = if exact_end {
        end
    } else {
        end - Duration::seconds(rng.range(7, 239))
    };
    if count == 0 {
        return Vec::new();
    }
    if count == 1 {
        return vec![end];
    }
    let span = (end - start).num_seconds().max(count as i64);
    let step = span / (count as i64 - 1);
    let mut out: Vec<DateTime<Utc>> = Vec::with_capacity(count);
    for i in 0..count {
        let base = start + Duration::seconds(step * i as i64);
        let mut at = if i == 0 {
            start + Duration::seconds(rng.range(0, (step / 4).min(3600)))
        } else if i + 1 == count {
            end
        } else {
            base + Duration::seconds(rng.range(-step / 4, step / 4))
        };
        if let Some(previous) = out.last() {
            if at <= *previous {
                at = *previous + Duration::seconds(61);
            }
        }
        out.push(at);
    }
    out
}

/// A generated CI stream plus what stable promotions need from it.
pub(crate) struct Generated {
    pub(crate) stream: StreamData,
    pub(crate) snaps: Vec<Option<Snap>>,
    pub(crate) steps: Vec<Commits>,
}

pub(crate) struct CiPlan {
    pub(crate) data: &'static DemoData,
    pub(crate) name: String,
    pub(crate) pull_repo: String,
    pub(crate) end_of_life: bool,
    pub(crate) minor: u32,
    pub(crate) os: Os,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    pub(crate) count: usize,
    pub(crate) jobs: Vec<JobPlan>,
    /// The newest tag is created exactly at `end`.
    pub(crate) exact_end: bool,
    pub(crate) last_accepted: bool,
    pub(crate) failed_at: Vec<usize>,
    /// The OCP CI stream this OKD stream mirrors its components from (the mirrored era:
    /// every component OKD does not build is taken from one OCP CI release).
    pub(crate) mirror_from: Option<&'static str>,
}

/// `snap` with every component OKD does not build taken from the OCP CI release of `ocp`
/// an OKD payload created at `at` was made from: the newest before it, else the first.
pub(crate) fn mirror(snap: &Snap, ocp: Option<&Generated>, at: DateTime<Utc>) -> Snap {
    let mut out = snap.clone();
    let Some(ocp) = ocp else {
        return out;
    };
    let built: Vec<(&TagData, &Snap)> = ocp
        .stream
        .tags
        .iter()
        .zip(&ocp.snaps)
        .filter_map(|(tag, snap)| Some((tag, snap.as_ref()?)))
        .collect();
    let source = built
        .iter()
        .rev()
        .find(|(tag, _)| tag.created <= at)
        .or_else(|| built.first());
    if let Some((_, from)) = source {
        for c in &snap.data.components {
            let repo = c.repository.as_str();
            if let (false, Some(commit)) = (c.okd_builds, from.commits.get(repo)) {
                out.commits.insert(repo, commit.clone());
            }
        }
        out.kube = from.kube.clone();
    }
    out
}

/// The phase of the `index`th release of `plan`: the newest is accepted when the plan says
/// so, those the plan fails fail, and the rest are drawn, rejections coming in runs.
fn draw_phase(rng: &mut Rng, plan: &CiPlan, index: usize, previous_rejected: bool) -> &'static str {
    if index + 1 == plan.count && plan.last_accepted {
        PHASE_ACCEPTED
    } else if plan.failed_at.contains(&index) {
        PHASE_FAILED
    } else if rng.chance(if previous_rejected { 0.55 } else { 0.24 }) {
        PHASE_REJECTED
    } else {
        PHASE_ACCEPTED
    }
}

/// A release whose payload failed to build: no jobs, no components.
fn failed_tag(rng: &mut Rng, name: String, created: DateTime<Utc>) -> TagData {
    TagData {
        name,
        created,
        decided: Some(created + Duration::seconds(rng.range(240, 500))),
        final_phase: PHASE_FAILED.to_string(),
        digest: String::new(),
        jobs: Vec::new(),
        upgrades_to: Vec::new(),
        previous: Vec::new(),
        changelog: zero_changelog(),
        components: Vec::new(),
    }
}

/// The jobs of `plan` a release starting its jobs at `start` runs, each upgrade job with
/// the release it upgrades from: upgrade jobs run only when there is something to upgrade
/// from (the stream's, or the previous minor's, newest accepted release by then).
fn active_jobs<'p>(
    plan: &'p CiPlan,
    tags: &[TagData],
    prior: &[Generated],
    start: DateTime<Utc>,
) -> Vec<(&'p JobPlan, Option<String>)> {
    let mut active = Vec::new();
    for job_plan in &plan.jobs {
        match &job_plan.upgrade {
            UpgradeFrom::No => active.push((job_plan, None)),
            UpgradeFrom::Previous => {
                if let Some(from) = latest_accepted(tags, start) {
                    active.push((job_plan, Some(tags[from].name.clone())));
                }
            }
            UpgradeFrom::Minor(stream) => {
                let from = prior
                    .iter()
                    .find(|generated| generated.stream.name == *stream)
                    .and_then(|generated| {
                        latest_accepted(&generated.stream.tags, start)
                            .map(|i| generated.stream.tags[i].name.clone())
                    });
                if let Some(from) = from {
                    active.push((job_plan, Some(from)));
                }
            }
        }
    }
    active
}

/// Runs `active` for a release of `phase`: a rejected release fails one blocking job for
/// sure and others now and then; informing jobs flake at their rate. The runs and the
/// upgrade edges they leave.
fn run_jobs(
    rng: &mut Rng,
    active: &[(&JobPlan, Option<String>)],
    phase: &str,
    start: DateTime<Utc>,
) -> (Vec<JobData>, Vec<UpgradeData>) {
    let blocking: Vec<usize> = active
        .iter()
        .enumerate()
        .filter(|(_, (job_plan, _))| job_plan.kind == JobKind::Blocking)
        .map(|(i, _)| i)
        .collect();
    let failing = if phase == PHASE_REJECTED {
        blocking.get(rng.below(blocking.len())).copied()
    } else {
        None
    };
    let mut jobs = Vec::with_capacity(active.len());
    let mut edges = Vec::new();
    for (position, (job_plan, from)) in active.iter().enumerate() {
        let failed = match job_plan.kind {
            JobKind::Blocking => {
                phase == PHASE_REJECTED && (failing == Some(position) || rng.chance(0.3))
            }
            JobKind::Informing | JobKind::Async => rng.chance(job_plan.flake),
        };
        let state = if failed {
            STATE_FAILED
        } else {
            STATE_SUCCEEDED
        };
        let job = run_job(rng, job_plan, start, state);
        if let Some(from) = from {
            edges.push(edge_from_job(from, &job));
        }
        jobs.push(job);
    }
    (jobs, edges)
}

/// The previous built release of a stream: its changelog identity and payload.
type Built = (ChangeLogReleaseInfo, Snap);

/// The payload of the next built release `to` (created at `created`), its changelog from
/// `previous` and the commits behind it: the lineage steps on, and the components OKD does
/// not build come from `mirrored_from`.
fn next_payload(
    draws: &mut Draws,
    lineage: &mut Lineage,
    previous: Option<Built>,
    to: ChangeLogReleaseInfo,
    mirrored_from: Option<&Generated>,
    created: DateTime<Utc>,
) -> (ChangeLog, Commits, Snap) {
    match previous {
        Some((from_info, from_snap)) => {
            let step = lineage.step(&mut draws.rng, created, 1, 4, 0.06);
            let snap = mirror(&lineage.snap, mirrored_from, created);
            let log = diff_changelog((from_info, &from_snap), (to, &snap), &step, &mut draws.log);
            (log, step, snap)
        }
        None => (
            zero_changelog(),
            Commits::new(),
            mirror(&lineage.snap, mirrored_from, created),
        ),
    }
}

/// A CI stream's two generators: `rng` for phases, jobs and steps, `log` for the commits
/// the changelog makes up for repositories that moved without a step's commits, so the
/// timeline does not shift what `rng` draws.
struct Draws {
    rng: Rng,
    log: Rng,
}

/// Generates the CI stream `plan`, after the streams in `prior` (the OCP stream it mirrors,
/// the previous minor it upgrades from).
pub(crate) fn generate_ci(plan: &CiPlan, prior: &[Generated]) -> Generated {
    let mut draws = Draws {
        rng: Rng::new(seed(&["ci", &plan.name])),
        log: Rng::new(seed(&["changelog", &plan.name])),
    };
    let times = spread(
        &mut draws.rng,
        plan.start,
        plan.end,
        plan.count,
        plan.exact_end,
    );
    let mut lineage = Lineage::new(plan.data, plan.minor, plan.os, plan.start);
    let mirrored_from = plan
        .mirror_from
        .and_then(|stream| prior.iter().find(|g| g.stream.name == stream));
    let mut tags: Vec<TagData> = Vec::with_capacity(plan.count);
    let mut snaps = Vec::with_capacity(plan.count);
    let mut steps = Vec::with_capacity(plan.count);
    let mut previous_rejected = false;
    let mut previous_good: Option<Built> = None;

    for (index, created) in times.into_iter().enumerate() {
        let name = format!("{}-{}", plan.name, created.format("%Y-%m-%d-%H%M%S"));
        let phase = draw_phase(&mut draws.rng, plan, index, previous_rejected);
        if phase == PHASE_FAILED {
            tags.push(failed_tag(&mut draws.rng, name, created));
            snaps.push(None);
            steps.push(Commits::new());
            continue;
        }
        previous_rejected = phase == PHASE_REJECTED;
        let digest = format!("sha256:{}", draws.rng.hex(64));
        let start = created + Duration::seconds(JOBS_START_SECS);
        let active = active_jobs(plan, &tags, prior, start);
        let (jobs, edges) = run_jobs(&mut draws.rng, &active, phase, start);
        let decided = decide(phase, &jobs, created);

        let to_info = release_info(&name, created, &digest, None);
        let (changelog, step, snap) = next_payload(
            &mut draws,
            &mut lineage,
            previous_good.take(),
            to_info.clone(),
            mirrored_from,
            created,
        );
        previous_good = Some((to_info, snap.clone()));
        let components = snap.components();
        snaps.push(Some(snap));
        steps.push(step);
        tags.push(TagData {
            name,
            created,
            decided: Some(decided),
            final_phase: phase.to_string(),
            digest,
            jobs,
            previous: Vec::new(),
            upgrades_to: edges,
            changelog,
            components,
        });
    }

    Generated {
        stream: StreamData {
            name: plan.name.clone(),
            end_of_life: plan.end_of_life,
            stable: false,
            pull_repo: plan.pull_repo.clone(),
            tags,
        },
        snaps,
        steps,
    }
}
