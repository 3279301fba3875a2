//! A promoted stream (stable or next): releases promoted from accepted CI releases (the
//! same component images in a payload of their own), or made up where the data set holds
//! no CI release to promote, with the upgrade tests a promoted release gets.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use streamgate_formats::release_controller::ChangeLogReleaseInfo;

use super::ci::{spread, Generated};
use super::jobs::{decide, edge_from_job, latest_accepted, plan_of, run_job, JobPlan, UpgradeFrom};
use super::payload::{diff_changelog, release_info, Commits, Lineage, Os, Snap};
use super::rng::{build_id, prow_url, seed, Rng};
use crate::data::{self, DataError, DemoData, NamedReleases, Promotes, Retries};
use crate::dataset::{
    zero_changelog, JobData, StreamData, TagData, UpgradeData, UpgradeRun, JOBS_START_SECS,
    PHASE_ACCEPTED, STATE_FAILED, STATE_SUCCEEDED,
};

/// One tag of a stable stream before generation.
pub(crate) struct StableEntry {
    pub(crate) name: String,
    pub(crate) minor: u32,
    pub(crate) created: DateTime<Utc>,
    /// `(index into the generated CI streams, tag index)` of the promoted CI tag.
    pub(crate) source: Option<(usize, usize)>,
}

pub(crate) struct StablePlan {
    pub(crate) data: &'static DemoData,
    pub(crate) name: String,
    pub(crate) pull_repo: String,
    pub(crate) os: Os,
    /// Resolve sources from `4.<minor>.0-0.okd-scos` when `entries` carry none.
    pub(crate) resolve_scos_sources: bool,
    pub(crate) upgrade_jobs: bool,
    pub(crate) entries: Vec<StableEntry>,
}

/// The previous stable tag while generating: its changelog identity, payload state and source.
type Promoted = (ChangeLogReleaseInfo, Snap, Option<(usize, usize)>);

/// Same-minor releases a stable payload declares in `previous`, newest first.
const DECLARED_SAME_MINOR: usize = 4;

/// The accepted releases of `promotes.stream` among `generated` promoted under their own
/// names, `count` (times `factor`) of them evenly over the stream's accepted releases, a
/// few hours after each was decided.
pub(crate) fn promoted_as_they_are(
    rng: &mut Rng,
    promotes: &Promotes,
    generated: &[Generated],
    factor: usize,
) -> Vec<StableEntry> {
    let Some(g) = generated
        .iter()
        .position(|g| g.stream.name == promotes.stream)
    else {
        return Vec::new();
    };
    let stream = &generated[g].stream;
    let accepted: Vec<usize> = stream
        .tags
        .iter()
        .enumerate()
        .filter(|(_, tag)| tag.final_phase == PHASE_ACCEPTED)
        .map(|(i, _)| i)
        .collect();
    let wanted = (promotes.count * factor).min(accepted.len());
    let mut entries = Vec::with_capacity(wanted);
    let mut last_created: Option<DateTime<Utc>> = None;
    for n in 0..wanted {
        let t = accepted[(n + 1) * accepted.len() / wanted - 1];
        let tag = &stream.tags[t];
        let mut created =
            tag.decided.unwrap_or(tag.created) + Duration::minutes(rng.range(180, 1200));
        if let Some(last) = last_created {
            if created <= last {
                created = last + Duration::minutes(61);
            }
        }
        last_created = Some(created);
        entries.push(StableEntry {
            name: tag.name.clone(),
            minor: promotes.minor,
            created,
            source: Some((g, t)),
        });
    }
    entries
}

/// Stable entries named `4.<minor>.0-okd-scos.<infix><n>`, `count` (times `factor`) of them
/// spread over the span `releases` gives.
pub(crate) fn named_entries(
    rng: &mut Rng,
    releases: &NamedReleases,
    anchor: DateTime<Utc>,
    factor: usize,
) -> Result<Vec<StableEntry>, DataError> {
    let from = data::time(&releases.from, anchor)?;
    let to = data::time(&releases.to, anchor)?;
    let minor = releases.minor;
    let infix = &releases.infix;
    Ok(spread(rng, from, to, releases.count * factor, false)
        .into_iter()
        .enumerate()
        .map(|(n, created)| StableEntry {
            name: format!("4.{minor}.0-okd-scos.{infix}{n}"),
            minor,
            created,
            source: None,
        })
        .collect())
}

/// Gives each entry without a source the newest accepted `4.<minor>.0-0.okd-scos` release
/// two hours before it, unless an earlier entry promoted that one or a newer one.
fn resolve_scos_sources(entries: &mut [StableEntry], ci: &[Generated]) {
    let mut used: BTreeMap<u32, usize> = BTreeMap::new();
    for entry in entries {
        let stream = format!("4.{}.0-0.okd-scos", entry.minor);
        let Some(g) = ci.iter().position(|g| g.stream.name == stream) else {
            continue;
        };
        let cutoff = entry.created - Duration::hours(2);
        if let Some(t) = latest_accepted(&ci[g].stream.tags, cutoff) {
            if used.get(&entry.minor).is_none_or(|last| t > *last) {
                entry.source = Some((g, t));
                used.insert(entry.minor, t);
            }
        }
    }
}

/// A promoted release's payload before its changelog.
struct Payload {
    snap: Option<Snap>,
    digest: String,
    promoted_from: String,
    /// The commits behind it since the previous promoted release.
    known: Commits,
}

/// The payload of `entry`: its CI release's components in a payload of its own (a
/// promotion writes its own name, `previous` and mirror references, so its own digest),
/// or a made-up CI build of the entry's minor.
fn payload_of(
    rng: &mut Rng,
    plan: &StablePlan,
    entry: &StableEntry,
    ci: &[Generated],
    previous: Option<&Promoted>,
    lineages: &mut BTreeMap<u32, Lineage>,
) -> Payload {
    match entry.source {
        Some((g, t)) => {
            let source = &ci[g];
            let tag = &source.stream.tags[t];
            let mut known = Commits::new();
            if let Some((_, _, Some((pg, pt)))) = previous {
                if *pg == g && *pt < t {
                    for step in &source.steps[*pt + 1..=t] {
                        for (repo, commits) in step {
                            known
                                .entry(*repo)
                                .or_default()
                                .extend(commits.iter().cloned());
                        }
                    }
                }
            }
            Payload {
                snap: source.snaps.get(t).cloned().flatten(),
                digest: format!("sha256:{}", rng.hex(64)),
                promoted_from: format!("{}:{}", source.stream.pull_repo, tag.name),
                known,
            }
        }
        None => {
            let lineage = lineages
                .entry(entry.minor)
                .or_insert_with(|| Lineage::new(plan.data, entry.minor, plan.os, entry.created));
            let known = lineage.step(rng, entry.created, 3, 7, 0.3);
            let ci_stream = if entry.minor >= 22 {
                format!("4.{}.0-0.okd-scos-nightly", entry.minor)
            } else {
                format!("4.{}.0-0.okd-scos", entry.minor)
            };
            let built = entry.created - Duration::hours(rng.range(8, 40));
            Payload {
                snap: Some(lineage.snap.clone()),
                digest: format!("sha256:{}", rng.hex(64)),
                promoted_from: format!(
                    "registry.ci.openshift.org/origin/release-scos:{ci_stream}-{}",
                    built.format("%Y-%m-%d-%H%M%S")
                ),
                known,
            }
        }
    }
}

/// What a promoted release's upgrade tests left: the jobs, the upgrade edges, and the
/// releases it declares it upgrades from.
struct Tested {
    jobs: Vec<JobData>,
    edges: Vec<UpgradeData>,
    declared: Vec<String>,
}

/// The upgrade tests of the `index`th entry of `plan`: from the newest earlier release of
/// its minor and of the minor before, each an upgrade job; the payload declares the newest
/// same-minor releases and the previous minor's newest two, and like upstream the
/// controller tests a sample of 3 of them: the two above, and one more drawn at random,
/// which fails now and then. The rest are declared and never tested.
fn upgrade_tests(
    rng: &mut Rng,
    plan: &StablePlan,
    index: usize,
    upgrade: &JobPlan,
    minor_upgrade: &JobPlan,
) -> Tested {
    let entry = &plan.entries[index];
    let start = entry.created + Duration::seconds(JOBS_START_SECS);
    let earlier = &plan.entries[..index];
    let same: Vec<&StableEntry> = earlier.iter().filter(|e| e.minor == entry.minor).collect();
    let lower: Vec<&StableEntry> = earlier
        .iter()
        .filter(|e| e.minor + 1 == entry.minor)
        .collect();
    let mut jobs = Vec::new();
    let mut edges = Vec::new();
    for (from, job_plan) in [(same.last(), upgrade), (lower.last(), minor_upgrade)] {
        if let Some(from) = from {
            let job = run_job(rng, job_plan, start, STATE_SUCCEEDED);
            edges.push(edge_from_job(&from.name, &job));
            jobs.push(job);
        }
    }
    let declared: Vec<String> = same
        .iter()
        .rev()
        .take(DECLARED_SAME_MINOR)
        .chain(lower.iter().rev().take(2))
        .map(|e| e.name.clone())
        .collect();
    let rest: Vec<&String> = declared
        .iter()
        .filter(|name| !edges.iter().any(|e: &UpgradeData| &e.from == *name))
        .collect();
    if edges.len() < 3 && !rest.is_empty() {
        let from = rest[rng.below(rest.len())];
        let at = start + Duration::minutes(rng.range(1, 20));
        let id = build_id(rng, at);
        let state = if rng.chance(0.4) {
            STATE_FAILED
        } else {
            STATE_SUCCEEDED
        };
        edges.push(UpgradeData {
            from: from.clone(),
            runs: vec![UpgradeRun {
                url: prow_url(&upgrade.prow, &id),
                state: state.to_string(),
                finished: at + Duration::minutes(rng.range(110, 190)),
            }],
        });
    }
    Tested {
        jobs,
        edges,
        declared,
    }
}

/// The upgrade job of promoted releases, and its twin from the previous minor.
fn upgrade_plans(data: &'static DemoData) -> Result<(JobPlan, JobPlan), DataError> {
    let spec = &data.jobs.stable_upgrade;
    let Retries::Fixed(retries) = spec.retries else {
        return Err(DataError::Invalid(
            "jobs.stable_upgrade: give `retries` as a number".into(),
        ));
    };
    let upgrade = plan_of(spec, spec.prow.clone(), retries, UpgradeFrom::No);
    let minor = JobPlan {
        name: "upgrade-minor",
        ..upgrade.clone()
    };
    Ok((upgrade, minor))
}

/// Generates the promoted stream `plan` from the CI streams `ci`.
pub(crate) fn generate_stable(
    mut plan: StablePlan,
    ci: &[Generated],
) -> Result<StreamData, DataError> {
    let mut rng = Rng::new(seed(&["stable", &plan.name]));
    if plan.resolve_scos_sources {
        resolve_scos_sources(&mut plan.entries, ci);
    }
    let (upgrade, minor_upgrade) = upgrade_plans(plan.data)?;
    let mut lineages: BTreeMap<u32, Lineage> = BTreeMap::new();
    let mut tags: Vec<TagData> = Vec::with_capacity(plan.entries.len());
    let mut previous: Option<Promoted> = None;

    for (index, entry) in plan.entries.iter().enumerate() {
        let payload = payload_of(&mut rng, &plan, entry, ci, previous.as_ref(), &mut lineages);
        let Some(snap) = payload.snap else {
            continue;
        };
        let to_info = release_info(
            &entry.name,
            entry.created,
            &payload.digest,
            Some(payload.promoted_from),
        );
        let changelog = match &previous {
            Some((from_info, from_snap, _)) => diff_changelog(
                (from_info.clone(), from_snap),
                (to_info.clone(), &snap),
                &payload.known,
                &mut rng,
            ),
            None => zero_changelog(),
        };
        let tested = if plan.upgrade_jobs {
            upgrade_tests(&mut rng, &plan, index, &upgrade, &minor_upgrade)
        } else {
            Tested {
                jobs: Vec::new(),
                edges: Vec::new(),
                declared: Vec::new(),
            }
        };
        // the sampled upgrades finish before the release is accepted, so the details a
        // poller reads of the accepted release carry every edge
        let sampled = tested
            .edges
            .iter()
            .flat_map(|e| e.runs.iter().map(|r| r.finished))
            .max();
        let decided = decide(PHASE_ACCEPTED, &tested.jobs, entry.created)
            .max(sampled.map_or(entry.created, |t| t + Duration::minutes(1)));
        let components = snap.components();
        previous = Some((to_info, snap, entry.source));
        tags.push(TagData {
            name: entry.name.clone(),
            created: entry.created,
            decided: Some(decided),
            final_phase: PHASE_ACCEPTED.to_string(),
            digest: payload.digest,
            jobs: tested.jobs,
            previous: tested.declared,
            upgrades_to: tested.edges,
            changelog,
            components,
        });
    }

    Ok(StreamData {
        name: plan.name,
        end_of_life: false,
        stable: true,
        pull_repo: plan.pull_repo,
        tags,
    })
}
