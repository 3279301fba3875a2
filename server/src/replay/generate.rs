//! The deterministic generator behind [`Dataset::demo`] and [`Dataset::scaled`].
//!
//! Everything random comes from a splitmix64 generator seeded by stream name, so a given anchor
//! always yields the same data. CI streams get tags spread over their time span with a
//! Markov chain of Accepted/Rejected (runs of rejections), a few Failed payloads at fixed positions, verification
//! jobs with retries and Prow URLs whose build ids are snowflakes of the run's start time,
//! upgrade edges from the previous accepted tag (and from the previous minor's stream), and
//! changelogs produced by a per-minor "lineage" of component commits. Stable streams promote
//! accepted CI tags (same digest, `promotedFrom` = the CI pull spec) when the data set holds
//! one, and otherwise synthesize a plausible promotion.
//!
//! Every repository of a minor version moves along one timeline of commits shared by all
//! streams of that minor, so an OKD and an OCP payload built a few hours apart carry mostly
//! the same commits — and so the same component images, as OKD mirrors them from OCP CI —
//! while the machine OS and a few components OKD builds itself differ.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::dataset::{
    rfc3339, zero_changelog, BuiltBy, ComponentData, ControllerData, Dataset, JobData, JobKind,
    StreamData, TagData, UpgradeData, UpgradeRun, JOBS_START_SECS, PHASE_ACCEPTED, PHASE_FAILED,
    PHASE_REJECTED, STATE_FAILED, STATE_SUCCEEDED,
};
use crate::formats::release_controller::{
    ChangeLog, ChangeLogComponent, ChangeLogImage, ChangeLogReleaseInfo, CommitInfo,
};

/// splitmix64: small, fast, and good enough for plausible fake data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len + 16);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next_u64()));
        }
        out.truncate(len);
        out
    }
}

/// FNV-1a over the parts, as a seed.
fn seed(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .map(|naive| naive.and_utc())
        .unwrap_or_default()
}

/// Twitter-style snowflake epoch used by Prow build ids.
const PROW_EPOCH_MS: i64 = 1_288_834_974_657;

fn build_id(rng: &mut Rng, at: DateTime<Utc>) -> String {
    let ms = (at.timestamp_millis() - PROW_EPOCH_MS).max(0) as u64;
    ((ms << 22) | (rng.next_u64() & 0x3F_FFFF)).to_string()
}

fn prow_url(job: &str, id: &str) -> String {
    format!("https://prow.ci.openshift.org/view/gs/test-platform-results/logs/{job}/{id}")
}

/// Source repositories (under github.com/openshift) and the payload images built from each.
const REPOS: &[(&str, &str)] = &[
    ("cluster-network-operator", "cluster-network-operator"),
    ("machine-config-operator", "machine-config-operator"),
    (
        "installer",
        "baremetal-installer, installer, installer-artifacts",
    ),
    ("cluster-version-operator", "cluster-version-operator"),
    ("ovn-kubernetes", "ovn-kubernetes"),
    ("console", "console"),
    ("console-operator", "console-operator"),
    ("oc", "cli, cli-artifacts, deployer, tools"),
    ("kubernetes", "hyperkube, kube-proxy"),
    (
        "cluster-kube-apiserver-operator",
        "cluster-kube-apiserver-operator",
    ),
    ("cluster-ingress-operator", "cluster-ingress-operator"),
    ("router", "haproxy-router"),
    ("cluster-monitoring-operator", "cluster-monitoring-operator"),
    ("machine-api-operator", "machine-api-operator"),
    ("cluster-etcd-operator", "cluster-etcd-operator"),
    (
        "cluster-authentication-operator",
        "cluster-authentication-operator",
    ),
    ("cluster-storage-operator", "cluster-storage-operator"),
    ("origin", "tests"),
];

/// The payload components built from [`REPOS`]: tag name, repository, and whether OKD
/// builds its own image (OKD's base image or build tags) instead of mirroring OCP's.
const COMPONENTS: &[(&str, &str, bool)] = &[
    (
        "cluster-network-operator",
        "cluster-network-operator",
        false,
    ),
    ("machine-config-operator", "machine-config-operator", true),
    ("installer", "installer", true),
    (
        "cluster-version-operator",
        "cluster-version-operator",
        false,
    ),
    ("ovn-kubernetes", "ovn-kubernetes", false),
    ("console", "console", false),
    ("console-operator", "console-operator", false),
    ("cli", "oc", false),
    ("hyperkube", "kubernetes", false),
    (
        "cluster-kube-apiserver-operator",
        "cluster-kube-apiserver-operator",
        false,
    ),
    (
        "cluster-ingress-operator",
        "cluster-ingress-operator",
        false,
    ),
    ("haproxy-router", "router", false),
    (
        "cluster-monitoring-operator",
        "cluster-monitoring-operator",
        false,
    ),
    ("machine-api-operator", "machine-api-operator", false),
    ("cluster-etcd-operator", "cluster-etcd-operator", false),
    (
        "cluster-authentication-operator",
        "cluster-authentication-operator",
        false,
    ),
    (
        "cluster-storage-operator",
        "cluster-storage-operator",
        false,
    ),
    ("tests", "origin", false),
];

/// The handful of components OKD/SCOS payloads still take from OCP CI as they are; every
/// other component is built as an OKD variant (since mid-2024).
pub(crate) const MIRRORED_IN_SCOS: &[&str] = &["cli", "hyperkube", "haproxy-router", "tests"];

/// The commit `repo` is at for minor `minor` at `at`. Each repository gets a new commit on
/// its own rhythm (every 1.5 to 5.5 days), the same for every stream of the minor.
fn commit_at(minor: u32, repo: &str, at: DateTime<Utc>) -> String {
    let window = rhythm(minor, repo).window(at);
    Rng::new(seed(&[
        "commit",
        &minor.to_string(),
        repo,
        &window.to_string(),
    ]))
    .hex(40)
}

/// How often a repository of a minor gets a new commit: every `period` seconds, shifted.
struct Rhythm {
    period: i64,
    offset: i64,
}

fn rhythm(minor: u32, repo: &str) -> Rhythm {
    let bits = seed(&["rhythm", &minor.to_string(), repo]);
    let period = 3600 * (36 + (bits % 97) as i64);
    Rhythm {
        period,
        offset: ((bits >> 16) % period as u64) as i64,
    }
}

impl Rhythm {
    fn window(&self, at: DateTime<Utc>) -> i64 {
        (at.timestamp() + self.offset).div_euclid(self.period)
    }

    /// When the window after the one holding `at` starts.
    fn next(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let start = (self.window(at) + 1) * self.period - self.offset;
        DateTime::from_timestamp(start, 0).unwrap_or(at)
    }
}

/// The first moment after `at` at which some repository of `minor` gets a new commit.
fn next_commit(minor: u32, at: DateTime<Utc>) -> DateTime<Utc> {
    REPOS
        .iter()
        .map(|(repo, _)| rhythm(minor, repo).next(at))
        .min()
        .unwrap_or(at)
}

/// Every repository's commit for minor `minor` at `at`.
fn commits_at(minor: u32, at: DateTime<Utc>) -> BTreeMap<&'static str, String> {
    REPOS
        .iter()
        .map(|(repo, _)| (*repo, commit_at(minor, repo, at)))
        .collect()
}

const SUBJECTS: &[&str] = &[
    "Fix race when reconciling ClusterOperator conditions",
    "Retry transient API errors during bootstrap",
    "Add e2e test for dual-stack egress IP",
    "Drop deprecated feature gate from defaults",
    "Update OWNERS file",
    "Synchronize from upstream main",
    "Reduce log noise in the status controller",
    "Handle nil pointer when infrastructure status is empty",
    "Set correct SELinux context on kubelet config",
    "Add metrics for degraded condition duration",
    "Rebase to the latest upstream release",
    "Use the SCOS base image for OKD builds",
    "Avoid hot-looping on an unchanged MachineConfigPool",
    "Fix MTU migration when the network operator is upgraded",
    "Document the new install-config field",
    "Respect cluster-wide proxy settings for image pulls",
    "Improve the error message for a missing pull secret",
    "Remove unused vendored packages",
    "Stop requeueing on NotFound errors",
    "Add an OKD variant of the Dockerfile",
    "Bump base images to golang 1.24",
    "Fix flaky unit test in the sync loop",
    "Promote feature gate to default",
    "Tolerate missing node labels during rollout",
    "Bump golang.org/x/net",
    "Preserve user-provided annotations on managed objects",
    "Wait for the API to be available before creating CRDs",
    "Skip degraded status while a rollout is progressing",
];

/// The machine OS of a stream, for the changelog component.
#[derive(Debug, Clone, Copy)]
enum Os {
    Scos,
    Fcos(u32),
    Rhcos,
}

impl Os {
    fn component(self) -> &'static str {
        match self {
            Os::Scos => "CentOS Stream CoreOS",
            Os::Fcos(_) => "Fedora CoreOS",
            Os::Rhcos => "Red Hat Enterprise Linux CoreOS",
        }
    }

    /// The payload tag of the machine OS image.
    fn image(self) -> &'static str {
        match self {
            Os::Scos => "centos-stream-coreos-9",
            Os::Fcos(_) => "fedora-coreos",
            Os::Rhcos => "rhel-coreos",
        }
    }

    fn version(self, at: DateTime<Utc>) -> String {
        let day = at.format("%Y%m%d");
        match self {
            Os::Scos => format!("9.0.{day}-0"),
            Os::Fcos(major) => format!("{major}.{day}.3.0"),
            Os::Rhcos => format!("9.6.{day}-0"),
        }
    }
}

/// Commits per repository for one changelog step.
type Commits = BTreeMap<&'static str, Vec<CommitInfo>>;

/// The component state of one payload.
#[derive(Debug, Clone)]
struct Snap {
    kube: String,
    machine: Os,
    os_name: &'static str,
    os: String,
    commits: BTreeMap<&'static str, String>,
}

impl Snap {
    /// The payload's components, sorted by name: one per [`COMPONENTS`] entry plus the
    /// machine OS. OKD/FCOS payloads (the mirrored era) build only the machine OS and OKD's
    /// own components and mirror the rest from OCP CI; OKD/SCOS payloads build every
    /// component as an OKD variant but [`MIRRORED_IN_SCOS`]; OCP payloads are OCP's.
    fn components(&self) -> Vec<ComponentData> {
        let built_by = |name: &str, own: bool| match self.machine {
            Os::Rhcos => BuiltBy::Ocp,
            Os::Fcos(_) if own => BuiltBy::Okd,
            Os::Fcos(_) => BuiltBy::Ocp,
            Os::Scos if MIRRORED_IN_SCOS.contains(&name) => BuiltBy::Ocp,
            Os::Scos => BuiltBy::Okd,
        };
        let mut out: Vec<ComponentData> = COMPONENTS
            .iter()
            .filter_map(|(name, repo, own)| {
                Some(ComponentData {
                    name: (*name).to_string(),
                    source: format!("https://github.com/openshift/{repo}"),
                    commit: self.commits.get(repo)?.clone(),
                    built_by: built_by(name, *own),
                    versions: String::new(),
                })
            })
            .collect();
        out.push(ComponentData {
            name: self.machine.image().to_string(),
            source: "https://github.com/openshift/os".to_string(),
            commit: Rng::new(seed(&["os", self.machine.image(), &self.os])).hex(40),
            built_by: built_by(self.machine.image(), true),
            versions: format!("machine-os={}", self.os),
        });
        out.sort();
        out
    }
}

/// A sequence of payloads of one minor version, moving forward commit by commit.
struct Lineage {
    minor: u32,
    /// The time the commits are taken at: never behind a payload's creation, and moved
    /// on to the next merge when nothing merged since the previous payload (the controller
    /// cuts a payload only when something changed).
    cursor: DateTime<Utc>,
    os: Os,
    kube_minor: u32,
    kube_patch: u32,
    snap: Snap,
}

impl Lineage {
    fn new(minor: u32, os: Os, start: DateTime<Utc>) -> Self {
        let mut base = Rng::new(seed(&["base", &minor.to_string()]));
        // one draw per repository, so the versions drawn next do not depend on the timeline
        for _ in REPOS {
            base.hex(40);
        }
        // OpenShift 4.N ships Kubernetes 1.(N+13).
        let kube_minor = minor + 13;
        let kube_patch = 1 + base.below(3) as u32;
        let os_version = os.version(start - Duration::days(base.range(1, 5)));
        Lineage {
            minor,
            cursor: start,
            os,
            kube_minor,
            kube_patch,
            snap: Snap {
                kube: format!("1.{kube_minor}.{kube_patch}"),
                machine: os,
                os_name: os.component(),
                os: os_version,
                commits: commits_at(minor, start),
            },
        }
    }

    /// Moves every repository to its commit at `at`, and maybe Kubernetes and the OS;
    /// returns the commits behind the step for `lo..=hi` repositories (the changelog makes
    /// some up for the others that moved).
    fn step(&mut self, rng: &mut Rng, at: DateTime<Utc>, lo: i64, hi: i64, kube: f64) -> Commits {
        let wanted = (rng.range(lo, hi) as usize).min(REPOS.len());
        let mut commits = Commits::new();
        while commits.len() < wanted {
            let (repo, _) = REPOS[rng.below(REPOS.len())];
            if commits.contains_key(repo) {
                continue;
            }
            let count = rng.range(1, 3);
            let list = (0..count).map(|_| commit(rng, repo)).collect();
            commits.insert(repo, list);
            // the draw stays so that phases and jobs do not depend on the timeline
            rng.hex(40);
        }
        let mut cursor = at.max(self.cursor);
        let mut moved = commits_at(self.minor, cursor);
        if moved == self.snap.commits {
            cursor = next_commit(self.minor, cursor);
            moved = commits_at(self.minor, cursor);
        }
        self.cursor = cursor;
        self.snap.commits = moved;
        if rng.chance(kube) {
            self.kube_patch += 1;
            self.snap.kube = format!("1.{}.{}", self.kube_minor, self.kube_patch);
        }
        if rng.chance(0.35) {
            self.snap.os = self.os.version(at - Duration::hours(rng.range(2, 30)));
        }
        commits
    }
}

fn commit(rng: &mut Rng, repo: &str) -> CommitInfo {
    let base = SUBJECTS[rng.below(SUBJECTS.len())];
    let pull = rng.range(1000, 9800);
    let roll = rng.below(100);
    let (subject, issues) = if roll < 45 {
        let key = format!("OCPBUGS-{}", rng.range(30000, 66000));
        let url = format!("https://issues.redhat.com/browse/{key}");
        (format!("{key}: {base}"), Some(BTreeMap::from([(key, url)])))
    } else if roll < 65 {
        (format!("NO-JIRA: {base}"), None)
    } else {
        (base.to_string(), None)
    };
    CommitInfo {
        issues,
        subject,
        pull_id: Some(pull),
        pull_url: Some(format!("https://github.com/openshift/{repo}/pull/{pull}")),
    }
}

fn release_info(
    name: &str,
    created: DateTime<Utc>,
    digest: &str,
    promoted_from: Option<String>,
) -> ChangeLogReleaseInfo {
    ChangeLogReleaseInfo {
        name: name.to_string(),
        created: rfc3339(created),
        digest: digest.to_string(),
        promoted_from,
    }
}

fn component(name: &str, version: &str, from: &str) -> ChangeLogComponent {
    ChangeLogComponent {
        name: name.to_string(),
        version: version.to_string(),
        version_url: None,
        from: (version != from).then(|| from.to_string()),
        from_url: None,
        diff_url: None,
    }
}

/// The changelog between two payloads; repositories that moved without known commits get
/// one to three synthetic ones.
fn diff_changelog(
    from: (ChangeLogReleaseInfo, &Snap),
    to: (ChangeLogReleaseInfo, &Snap),
    known: &Commits,
    rng: &mut Rng,
) -> ChangeLog {
    let (from_info, old) = from;
    let (to_info, new) = to;
    let mut updated = Vec::new();
    for (repo, images) in REPOS {
        let (Some(a), Some(b)) = (old.commits.get(repo), new.commits.get(repo)) else {
            continue;
        };
        if a == b {
            continue;
        }
        let commits = match known.get(repo) {
            Some(list) if !list.is_empty() => list.clone(),
            _ => (0..rng.range(1, 3)).map(|_| commit(rng, repo)).collect(),
        };
        updated.push(ChangeLogImage {
            name: (*images).to_string(),
            path: format!("https://github.com/openshift/{repo}/tree/{b}"),
            short_commit: None,
            commit: None,
            image_ref: None,
            commits: Some(commits),
            full_change_log: Some(format!(
                "https://github.com/openshift/{repo}/compare/{a}...{b}"
            )),
        });
    }
    ChangeLog {
        from: from_info,
        to: to_info,
        components: Some(vec![
            component("Kubernetes", &new.kube, &old.kube),
            component(new.os_name, &new.os, &old.os),
        ]),
        new_images: None,
        removed_images: None,
        rebuilt_images: None,
        updated_images: (!updated.is_empty()).then_some(updated),
    }
}

/// Where an upgrade job starts from.
#[derive(Debug, Clone, PartialEq)]
enum UpgradeFrom {
    No,
    /// The newest accepted tag of the same stream.
    Previous,
    /// The newest accepted tag of the named stream (the previous minor).
    Minor(String),
}

#[derive(Debug, Clone)]
struct JobPlan {
    name: &'static str,
    prow: String,
    kind: JobKind,
    max_retries: u32,
    minutes: (i64, i64),
    flake: f64,
    upgrade: UpgradeFrom,
}

fn job(
    name: &'static str,
    prow: String,
    kind: JobKind,
    max_retries: u32,
    minutes: (i64, i64),
    flake: f64,
) -> JobPlan {
    JobPlan {
        name,
        prow,
        kind,
        max_retries,
        minutes,
        flake,
        upgrade: UpgradeFrom::No,
    }
}

fn upgrade(mut plan: JobPlan, from: UpgradeFrom) -> JobPlan {
    plan.upgrade = from;
    plan
}

/// Runs a job from `start` until it reaches `state`, with retries.
fn run_job(rng: &mut Rng, plan: &JobPlan, start: DateTime<Utc>, state: &str) -> JobData {
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
fn edge_from_job(from: &str, job: &JobData) -> UpgradeData {
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
fn decide(phase: &str, jobs: &[JobData], created: DateTime<Utc>) -> DateTime<Utc> {
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

fn latest_accepted(tags: &[TagData], at: DateTime<Utc>) -> Option<usize> {
    tags.iter()
        .rposition(|tag| tag.final_phase == PHASE_ACCEPTED && tag.decided.is_some_and(|d| d <= at))
}

/// `count` strictly increasing whole-second times from about `start` to about `end` (exactly
/// `end` when `exact_end`), with jitter so that no stream starts or ends on a round time.
fn spread(
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
struct Generated {
    stream: StreamData,
    snaps: Vec<Option<Snap>>,
    steps: Vec<Commits>,
}

struct CiPlan {
    name: String,
    pull_repo: String,
    end_of_life: bool,
    minor: u32,
    os: Os,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    count: usize,
    jobs: Vec<JobPlan>,
    /// The newest tag is created exactly at `end`.
    exact_end: bool,
    last_accepted: bool,
    failed_at: Vec<usize>,
    /// The OCP CI stream this OKD stream mirrors its components from (the mirrored era:
    /// every component OKD does not build is taken from one OCP CI release).
    mirror_from: Option<&'static str>,
}

/// `snap` with every component OKD does not build taken from the OCP CI release of `ocp`
/// an OKD payload created at `at` was made from: the newest before it, else the first.
fn mirror(snap: &Snap, ocp: Option<&Generated>, at: DateTime<Utc>) -> Snap {
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
        for (_, repo, own) in COMPONENTS {
            if let (false, Some(commit)) = (*own, from.commits.get(repo)) {
                out.commits.insert(repo, commit.clone());
            }
        }
        out.kube = from.kube.clone();
    }
    out
}

fn generate_ci(plan: &CiPlan, prior: &[Generated]) -> Generated {
    let mut rng = Rng::new(seed(&["ci", &plan.name]));
    // repositories that moved without a step's commits get made-up ones from here, so the
    // timeline does not shift the phases drawn from `rng`
    let mut log_rng = Rng::new(seed(&["changelog", &plan.name]));
    let times = spread(&mut rng, plan.start, plan.end, plan.count, plan.exact_end);
    let mut lineage = Lineage::new(plan.minor, plan.os, plan.start);
    let mut tags: Vec<TagData> = Vec::with_capacity(plan.count);
    let mut snaps = Vec::with_capacity(plan.count);
    let mut steps = Vec::with_capacity(plan.count);
    let mut previous_rejected = false;
    let mut previous_good: Option<(ChangeLogReleaseInfo, Snap)> = None;

    for (index, created) in times.into_iter().enumerate() {
        let name = format!("{}-{}", plan.name, created.format("%Y-%m-%d-%H%M%S"));
        let newest = index + 1 == plan.count;
        let phase = if newest && plan.last_accepted {
            PHASE_ACCEPTED
        } else if plan.failed_at.contains(&index) {
            PHASE_FAILED
        } else if rng.chance(if previous_rejected { 0.55 } else { 0.24 }) {
            PHASE_REJECTED
        } else {
            PHASE_ACCEPTED
        };
        if phase == PHASE_FAILED {
            tags.push(TagData {
                name,
                created,
                decided: Some(created + Duration::seconds(rng.range(240, 500))),
                final_phase: phase.to_string(),
                digest: String::new(),
                jobs: Vec::new(),
                upgrades_to: Vec::new(),
                previous: Vec::new(),
                changelog: zero_changelog(),
                components: Vec::new(),
            });
            snaps.push(None);
            steps.push(Commits::new());
            continue;
        }
        previous_rejected = phase == PHASE_REJECTED;
        let digest = format!("sha256:{}", rng.hex(64));
        let start = created + Duration::seconds(JOBS_START_SECS);

        // Upgrade jobs run only when there is something to upgrade from.
        let mut active: Vec<(&JobPlan, Option<String>)> = Vec::new();
        for job_plan in &plan.jobs {
            match &job_plan.upgrade {
                UpgradeFrom::No => active.push((job_plan, None)),
                UpgradeFrom::Previous => {
                    if let Some(from) = latest_accepted(&tags, start) {
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
            let job = run_job(&mut rng, job_plan, start, state);
            if let Some(from) = from {
                edges.push(edge_from_job(from, &job));
            }
            jobs.push(job);
        }
        let decided = decide(phase, &jobs, created);

        let to_info = release_info(&name, created, &digest, None);
        let mirrored_from = plan
            .mirror_from
            .and_then(|stream| prior.iter().find(|g| g.stream.name == stream));
        let (changelog, step, snap) = match previous_good.take() {
            Some((from_info, from_snap)) => {
                let step = lineage.step(&mut rng, created, 1, 4, 0.06);
                let snap = mirror(&lineage.snap, mirrored_from, created);
                let log = diff_changelog(
                    (from_info, &from_snap),
                    (to_info.clone(), &snap),
                    &step,
                    &mut log_rng,
                );
                (log, step, snap)
            }
            None => (
                zero_changelog(),
                Commits::new(),
                mirror(&lineage.snap, mirrored_from, created),
            ),
        };
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

/// One tag of a stable stream before generation.
struct StableEntry {
    name: String,
    minor: u32,
    created: DateTime<Utc>,
    /// `(index into the generated CI streams, tag index)` of the promoted CI tag.
    source: Option<(usize, usize)>,
}

struct StablePlan {
    name: String,
    pull_repo: String,
    os: Os,
    /// Resolve sources from `4.<minor>.0-0.okd-scos` when `entries` carry none.
    resolve_scos_sources: bool,
    upgrade_jobs: bool,
    entries: Vec<StableEntry>,
}

/// The previous stable tag while generating: its changelog identity, payload state and source.
type Promoted = (ChangeLogReleaseInfo, Snap, Option<(usize, usize)>);

/// Same-minor releases a stable payload declares in `previous`, newest first.
const DECLARED_SAME_MINOR: usize = 4;

const STABLE_UPGRADE_JOB: &str =
    "release-openshift-okd-scos-installer-e2e-aws-upgrade-from-scos-stable";

fn generate_stable(mut plan: StablePlan, ci: &[Generated]) -> StreamData {
    let mut rng = Rng::new(seed(&["stable", &plan.name]));
    if plan.resolve_scos_sources {
        let mut used: BTreeMap<u32, usize> = BTreeMap::new();
        for entry in &mut plan.entries {
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

    let mut lineages: BTreeMap<u32, Lineage> = BTreeMap::new();
    let mut tags: Vec<TagData> = Vec::with_capacity(plan.entries.len());
    let mut previous: Option<Promoted> = None;
    let upgrade_plan = job(
        "upgrade",
        STABLE_UPGRADE_JOB.to_string(),
        JobKind::Blocking,
        2,
        (120, 200),
        0.0,
    );
    let minor_plan = JobPlan {
        name: "upgrade-minor",
        ..upgrade_plan.clone()
    };

    for (index, entry) in plan.entries.iter().enumerate() {
        let (snap, digest, promoted_from, known) = match entry.source {
            Some((g, t)) => {
                let source = &ci[g];
                let tag = &source.stream.tags[t];
                let snap = source.snaps.get(t).cloned().flatten();
                let mut known = Commits::new();
                if let Some((_, _, Some((pg, pt)))) = &previous {
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
                // promotion builds a new payload (its own name, `previous` and mirror
                // references) from the same component images: a digest of its own
                (
                    snap,
                    format!("sha256:{}", rng.hex(64)),
                    format!("{}:{}", source.stream.pull_repo, tag.name),
                    known,
                )
            }
            None => {
                let lineage = lineages
                    .entry(entry.minor)
                    .or_insert_with(|| Lineage::new(entry.minor, plan.os, entry.created));
                let known = lineage.step(&mut rng, entry.created, 3, 7, 0.3);
                let ci_stream = if entry.minor >= 22 {
                    format!("4.{}.0-0.okd-scos-nightly", entry.minor)
                } else {
                    format!("4.{}.0-0.okd-scos", entry.minor)
                };
                let built = entry.created - Duration::hours(rng.range(8, 40));
                (
                    Some(lineage.snap.clone()),
                    format!("sha256:{}", rng.hex(64)),
                    format!(
                        "registry.ci.openshift.org/origin/release-scos:{ci_stream}-{}",
                        built.format("%Y-%m-%d-%H%M%S")
                    ),
                    known,
                )
            }
        };
        let Some(snap) = snap else {
            continue;
        };
        let to_info = release_info(&entry.name, entry.created, &digest, Some(promoted_from));
        let changelog = match &previous {
            Some((from_info, from_snap, _)) => diff_changelog(
                (from_info.clone(), from_snap),
                (to_info.clone(), &snap),
                &known,
                &mut rng,
            ),
            None => zero_changelog(),
        };

        let mut jobs = Vec::new();
        let mut edges = Vec::new();
        let mut declared = Vec::new();
        if plan.upgrade_jobs {
            let start = entry.created + Duration::seconds(JOBS_START_SECS);
            let earlier = &plan.entries[..index];
            let same: Vec<&StableEntry> =
                earlier.iter().filter(|e| e.minor == entry.minor).collect();
            let lower: Vec<&StableEntry> = earlier
                .iter()
                .filter(|e| e.minor + 1 == entry.minor)
                .collect();
            if let Some(from) = same.last() {
                let job = run_job(&mut rng, &upgrade_plan, start, STATE_SUCCEEDED);
                edges.push(edge_from_job(&from.name, &job));
                jobs.push(job);
            }
            if let Some(from) = lower.last() {
                let job = run_job(&mut rng, &minor_plan, start, STATE_SUCCEEDED);
                edges.push(edge_from_job(&from.name, &job));
                jobs.push(job);
            }
            // The payload declares the newest same-minor releases and the previous minor's
            // newest two; like upstream, the controller tests a sample of 3 of them: the two
            // above, and one more drawn at random, which fails now and then. The rest are
            // declared and never tested.
            declared = same
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
                let id = build_id(&mut rng, at);
                let state = if rng.chance(0.4) {
                    STATE_FAILED
                } else {
                    STATE_SUCCEEDED
                };
                edges.push(UpgradeData {
                    from: from.clone(),
                    runs: vec![UpgradeRun {
                        url: prow_url(STABLE_UPGRADE_JOB, &id),
                        state: state.to_string(),
                        finished: at + Duration::minutes(rng.range(110, 190)),
                    }],
                });
            }
        }
        // the sampled upgrades finish before the release is accepted, so the details a
        // poller reads of the accepted release carry every edge
        let sampled = edges
            .iter()
            .flat_map(|e| e.runs.iter().map(|r| r.finished))
            .max();
        let decided = decide(PHASE_ACCEPTED, &jobs, entry.created)
            .max(sampled.map_or(entry.created, |t| t + Duration::minutes(1)));
        let components = snap.components();
        previous = Some((to_info, snap, entry.source));
        tags.push(TagData {
            name: entry.name.clone(),
            created: entry.created,
            decided: Some(decided),
            final_phase: PHASE_ACCEPTED.to_string(),
            digest,
            jobs,
            previous: declared,
            upgrades_to: edges,
            changelog,
            components,
        });
    }

    StreamData {
        name: plan.name,
        end_of_life: false,
        stable: true,
        pull_repo: plan.pull_repo,
        tags,
    }
}

/// Stable entries named `4.<minor>.0-okd-scos.<infix><n>` spread over `from..to`.
fn stable_entries(
    rng: &mut Rng,
    minor: u32,
    infix: &str,
    count: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<StableEntry> {
    spread(rng, from, to, count, false)
        .into_iter()
        .enumerate()
        .map(|(n, created)| StableEntry {
            name: format!("4.{minor}.0-okd-scos.{infix}{n}"),
            minor,
            created,
            source: None,
        })
        .collect()
}

/// The verification jobs of OCP CI stream `4.<minor>.0-0.ci`.
fn ocp_jobs(minor: u32) -> Vec<JobPlan> {
    let prefix = format!("periodic-ci-openshift-release-master-ci-4.{minor}");
    vec![
        job(
            "aws-ovn",
            format!("{prefix}-e2e-aws-ovn"),
            JobKind::Blocking,
            2,
            (80, 140),
            0.0,
        ),
        upgrade(
            job(
                "upgrade",
                format!("{prefix}-e2e-aws-ovn-upgrade"),
                JobKind::Blocking,
                2,
                (110, 190),
                0.0,
            ),
            UpgradeFrom::Previous,
        ),
        job(
            "gcp-ovn",
            format!("{prefix}-e2e-gcp-ovn"),
            JobKind::Informing,
            1,
            (80, 140),
            0.15,
        ),
        job(
            "azure-ovn",
            format!("{prefix}-e2e-azure-ovn"),
            JobKind::Informing,
            1,
            (90, 160),
            0.25,
        ),
    ]
}

fn okd_jobs(
    minor: u32,
    branch: &str,
    retries: u32,
    fcos: bool,
    previous_minor: Option<String>,
) -> Vec<JobPlan> {
    let variant = if fcos { "okd" } else { "okd-scos" };
    let prefix = format!("periodic-ci-openshift-release-{branch}-{variant}-4.{minor}");
    let mut jobs = vec![
        job(
            "aws",
            format!("{prefix}-e2e-aws-ovn"),
            JobKind::Blocking,
            retries,
            (85, 150),
            0.0,
        ),
        upgrade(
            job(
                "aws-upgrade",
                format!("{prefix}-e2e-aws-ovn-upgrade"),
                JobKind::Informing,
                retries,
                (115, 200),
                0.15,
            ),
            UpgradeFrom::Previous,
        ),
    ];
    if let Some(stream) = previous_minor {
        jobs.push(upgrade(
            job(
                "aws-upgrade-minor",
                format!(
                    "{prefix}-upgrade-from-{variant}-4.{}-e2e-aws-ovn-upgrade",
                    minor.saturating_sub(1)
                ),
                JobKind::Informing,
                0,
                (130, 210),
                0.2,
            ),
            UpgradeFrom::Minor(stream),
        ));
    }
    if !fcos {
        jobs.push(job(
            "aws-ovn-techpreview",
            format!("{prefix}-e2e-aws-ovn-techpreview"),
            JobKind::Informing,
            retries,
            (90, 160),
            0.25,
        ));
        jobs.push(job(
            "gcp",
            format!("{prefix}-e2e-gcp"),
            JobKind::Informing,
            0,
            (80, 140),
            0.15,
        ));
    }
    if !fcos || minor >= 15 {
        jobs.push(job(
            "vsphere",
            format!("{prefix}-e2e-vsphere-ovn"),
            JobKind::Informing,
            retries,
            (90, 170),
            0.3,
        ));
    }
    jobs
}

/// Builds the demo data set with `factor` times the tags per stream.
pub(super) fn build(anchor: DateTime<Utc>, factor: usize) -> Dataset {
    let anchor = DateTime::from_timestamp(anchor.timestamp(), 0).unwrap_or(anchor);
    let days = Duration::days;
    let scale = |n: usize| n * factor;

    let plans = vec![
        // OCP CI of the mirrored era: six releases each over the FCOS streams' span
        CiPlan {
            name: "4.14.0-0.ci".to_string(),
            pull_repo: "registry.ci.openshift.org/ocp/release".to_string(),
            end_of_life: false,
            minor: 14,
            os: Os::Rhcos,
            start: utc(2023, 8, 13, 1, 0, 0),
            end: utc(2023, 10, 27, 6, 30, 0),
            count: scale(6),
            exact_end: false,
            jobs: ocp_jobs(14),
            last_accepted: true,
            failed_at: Vec::new(),
            mirror_from: None,
        },
        CiPlan {
            name: "4.15.0-0.ci".to_string(),
            pull_repo: "registry.ci.openshift.org/ocp/release".to_string(),
            end_of_life: false,
            minor: 15,
            os: Os::Rhcos,
            start: utc(2024, 1, 14, 1, 0, 0),
            end: utc(2024, 3, 9, 20, 0, 0),
            count: scale(6),
            exact_end: false,
            jobs: ocp_jobs(15),
            last_accepted: true,
            failed_at: Vec::new(),
            mirror_from: None,
        },
        CiPlan {
            name: "4.14.0-0.okd".to_string(),
            pull_repo: "registry.ci.openshift.org/origin/release".to_string(),
            end_of_life: true,
            minor: 14,
            os: Os::Fcos(38),
            start: utc(2023, 8, 14, 3, 12, 40),
            end: utc(2023, 10, 27, 18, 4, 51),
            count: scale(10),
            exact_end: false,
            jobs: okd_jobs(14, "master", 2, true, None),
            last_accepted: true,
            failed_at: Vec::new(),
            mirror_from: Some("4.14.0-0.ci"),
        },
        CiPlan {
            name: "4.15.0-0.okd".to_string(),
            pull_repo: "registry.ci.openshift.org/origin/release".to_string(),
            end_of_life: false,
            minor: 15,
            os: Os::Fcos(39),
            start: utc(2024, 1, 15, 2, 31, 7),
            end: utc(2024, 3, 10, 1, 1, 16),
            count: scale(60),
            exact_end: true,
            jobs: okd_jobs(15, "master", 2, true, None),
            last_accepted: true,
            failed_at: vec![scale(60) / 3],
            mirror_from: Some("4.15.0-0.ci"),
        },
        CiPlan {
            name: "4.20.0-0.okd-scos".to_string(),
            pull_repo: "registry.ci.openshift.org/origin/release-scos".to_string(),
            end_of_life: false,
            minor: 20,
            os: Os::Scos,
            start: anchor - days(40),
            end: anchor - Duration::hours(13),
            count: scale(45),
            exact_end: false,
            jobs: okd_jobs(20, "main", 1, false, None),
            last_accepted: true,
            failed_at: Vec::new(),
            mirror_from: None,
        },
        CiPlan {
            name: "4.21.0-0.okd-scos".to_string(),
            pull_repo: "registry.ci.openshift.org/origin/release-scos".to_string(),
            end_of_life: false,
            minor: 21,
            os: Os::Scos,
            start: anchor - days(35),
            end: anchor - Duration::minutes(80),
            count: scale(70),
            exact_end: false,
            jobs: okd_jobs(
                21,
                "master",
                2,
                false,
                Some("4.20.0-0.okd-scos".to_string()),
            ),
            last_accepted: false,
            failed_at: vec![scale(70) * 2 / 5],
            mirror_from: None,
        },
        CiPlan {
            name: "4.21.0-0.ci".to_string(),
            pull_repo: "registry.ci.openshift.org/ocp/release".to_string(),
            end_of_life: false,
            minor: 21,
            os: Os::Rhcos,
            start: anchor - days(14),
            end: anchor - Duration::minutes(6),
            count: scale(40),
            exact_end: false,
            jobs: ocp_jobs(21),
            last_accepted: false,
            failed_at: vec![scale(40) / 2],
            mirror_from: None,
        },
    ];
    let mut generated: Vec<Generated> = Vec::with_capacity(plans.len());
    for plan in &plans {
        let next = generate_ci(plan, &generated);
        generated.push(next);
    }
    let index_of = |name: &str| generated.iter().position(|g| g.stream.name == name);

    // 4-stable: accepted FCOS CI tags promoted under their own names.
    let mut rng = Rng::new(seed(&["promotions", "4-stable"]));
    let mut fcos_stable = Vec::new();
    if let Some(g) = index_of("4.15.0-0.okd") {
        let stream = &generated[g].stream;
        let accepted: Vec<usize> = stream
            .tags
            .iter()
            .enumerate()
            .filter(|(_, tag)| tag.final_phase == PHASE_ACCEPTED)
            .map(|(i, _)| i)
            .collect();
        let wanted = scale(6).min(accepted.len());
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
            fcos_stable.push(StableEntry {
                name: tag.name.clone(),
                minor: 15,
                created,
                source: Some((g, t)),
            });
        }
    }
    let fcos_stable = generate_stable(
        StablePlan {
            name: "4-stable".to_string(),
            pull_repo: "quay.io/openshift/okd".to_string(),
            os: Os::Fcos(39),
            resolve_scos_sources: false,
            upgrade_jobs: false,
            entries: fcos_stable,
        },
        &generated,
    );

    let mut rng = Rng::new(seed(&["promotions", "4-scos-stable"]));
    let mut entries = stable_entries(
        &mut rng,
        20,
        "",
        scale(7),
        anchor - days(120),
        anchor - days(30),
    );
    entries.extend(stable_entries(
        &mut rng,
        21,
        "",
        scale(3),
        anchor - days(22),
        anchor - days(3),
    ));
    let scos_stable = generate_stable(
        StablePlan {
            name: "4-scos-stable".to_string(),
            pull_repo: "quay.io/okd/scos-release".to_string(),
            os: Os::Scos,
            resolve_scos_sources: true,
            upgrade_jobs: true,
            entries,
        },
        &generated,
    );

    let mut rng = Rng::new(seed(&["promotions", "4-scos-next"]));
    let mut entries = stable_entries(
        &mut rng,
        21,
        "ec.",
        scale(6),
        anchor - days(150),
        anchor - days(60),
    );
    entries.extend(stable_entries(
        &mut rng,
        22,
        "ec.",
        scale(2),
        anchor - days(20),
        anchor - days(6),
    ));
    let scos_next = generate_stable(
        StablePlan {
            name: "4-scos-next".to_string(),
            pull_repo: "quay.io/okd/scos-release".to_string(),
            os: Os::Scos,
            resolve_scos_sources: true,
            upgrade_jobs: false,
            entries,
        },
        &generated,
    );

    // after the stable streams took what they promote, so only the CI release is poisoned
    if let Some(g) = generated
        .iter_mut()
        .find(|g| g.stream.name == super::hostile::HOSTILE_STREAM)
    {
        super::hostile::poison(&mut g.stream, anchor);
    }

    let mut ci: BTreeMap<String, StreamData> = generated
        .into_iter()
        .map(|g| (g.stream.name.clone(), g.stream))
        .collect();
    let mut take = |name: &str| ci.remove(name);
    let origin: Vec<StreamData> = [
        take("4.14.0-0.okd"),
        take("4.15.0-0.okd"),
        Some(fcos_stable),
        take("4.20.0-0.okd-scos"),
        take("4.21.0-0.okd-scos"),
        Some(scos_stable),
        Some(scos_next),
    ]
    .into_iter()
    .flatten()
    .collect();
    let ocp: Vec<StreamData> = [
        take("4.14.0-0.ci"),
        take("4.15.0-0.ci"),
        take("4.21.0-0.ci"),
    ]
    .into_iter()
    .flatten()
    .collect();

    Dataset {
        controllers: vec![
            ControllerData {
                name: "origin".to_string(),
                artifacts_url: None,
                streams: origin,
            },
            ControllerData {
                name: "ocp".to_string(),
                artifacts_url: Some(
                    "https://openshift-release-artifacts.apps.ci.l2s4.p1.openshiftapps.com"
                        .to_string(),
                ),
                streams: ocp,
            },
        ],
    }
}

impl Dataset {
    /// The demo data set: OKD (`origin`) and OCP (`ocp`) streams whose history ends at
    /// `anchor` ("now"), about 250 tags. Deterministic: the same anchor gives the same data.
    pub fn demo(anchor: DateTime<Utc>) -> Dataset {
        build(anchor, 1)
    }

    /// The demo shape with `factor` times as many tags per stream over the same time spans
    /// (factor 10 gives about 2,500 tags), for benchmarks. A factor of 0 counts as 1.
    pub fn scaled(anchor: DateTime<Utc>, factor: usize) -> Dataset {
        build(anchor, factor.max(1))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn build_ids_are_nineteen_digit_snowflakes() {
        let mut rng = Rng::new(1);
        let id = build_id(&mut rng, utc(2026, 2, 11, 9, 0, 0));
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("2021"), "{id}");
        let old = build_id(&mut rng, utc(2023, 8, 14, 0, 0, 0));
        assert_eq!(old.len(), 19);
    }

    #[test]
    fn spread_is_strictly_increasing_and_spans() {
        let mut rng = Rng::new(7);
        let start = utc(2026, 1, 1, 0, 0, 0);
        let end = utc(2026, 1, 2, 0, 0, 0);
        let times = spread(&mut rng, start, end, 700, true);
        assert_eq!(times.len(), 700);
        assert!(times.first().is_some_and(|t| *t >= start));
        assert_eq!(times.last(), Some(&end));
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }

    fn stream<'a>(data: &'a Dataset, controller: &str, name: &str) -> &'a StreamData {
        data.controllers
            .iter()
            .find(|c| c.name == controller)
            .and_then(|c| c.stream(name))
            .expect("stream")
    }

    fn built(tag: &TagData) -> Vec<&ComponentData> {
        tag.components
            .iter()
            .filter(|c| c.built_by == BuiltBy::Ocp)
            .collect()
    }

    #[test]
    fn payload_components_are_deterministic_and_complete() {
        let anchor = utc(2026, 2, 11, 12, 0, 0);
        let data = build(anchor, 1);
        assert_eq!(data, build(anchor, 1));
        assert_ne!(data, build(anchor + Duration::days(1), 1));
        for controller in &data.controllers {
            for stream in &controller.streams {
                for tag in &stream.tags {
                    if tag.final_phase == PHASE_FAILED {
                        assert!(tag.components.is_empty(), "{}", tag.name);
                        continue;
                    }
                    assert_eq!(tag.components.len(), COMPONENTS.len() + 1, "{}", tag.name);
                    assert!(tag.components.windows(2).all(|w| w[0].name < w[1].name));
                    assert!(tag.components.iter().all(|c| c.commit.len() == 40
                        && c.source.starts_with("https://github.com/openshift/")));
                    let os: Vec<&ComponentData> = tag
                        .components
                        .iter()
                        .filter(|c| c.versions.starts_with("machine-os="))
                        .collect();
                    assert_eq!(os.len(), 1, "{}", tag.name);
                    let expected = if controller.name == "ocp" {
                        "rhel-coreos"
                    } else if stream.name.contains("scos") {
                        "centos-stream-coreos-9"
                    } else {
                        "fedora-coreos"
                    };
                    assert_eq!(os[0].name, expected, "{}", tag.name);
                }
            }
        }
    }

    #[test]
    fn scos_payloads_build_most_components_and_mirror_a_handful() {
        let anchor = utc(2026, 2, 11, 12, 0, 0);
        let data = build(anchor, 1);
        let okd = stream(&data, "origin", "4.21.0-0.okd-scos");
        let ocp = stream(&data, "ocp", "4.21.0-0.ci");
        let ocp_builds: std::collections::BTreeSet<(&str, &str)> = ocp
            .tags
            .iter()
            .flat_map(built)
            .map(|c| (c.name.as_str(), c.commit.as_str()))
            .collect();
        let newest: Vec<&TagData> = okd
            .tags
            .iter()
            .rev()
            .filter(|t| t.final_phase != PHASE_FAILED)
            .take(6)
            .collect();
        let (mut mirrored, mut total) = (0, 0);
        for tag in &newest {
            for c in built(tag) {
                total += 1;
                if ocp_builds.contains(&(c.name.as_str(), c.commit.as_str())) {
                    mirrored += 1;
                }
            }
            // OKD/SCOS builds every component as an OKD variant but a handful
            let mut taken: Vec<&str> = built(tag).iter().map(|c| c.name.as_str()).collect();
            taken.sort_unstable();
            let mut handful = MIRRORED_IN_SCOS.to_vec();
            handful.sort_unstable();
            assert_eq!(taken, handful, "{}", tag.name);
            let own = tag
                .components
                .iter()
                .filter(|c| c.built_by == BuiltBy::Okd)
                .count();
            assert!(own > 3 * taken.len(), "{own} built for OKD");
        }
        assert!(mirrored * 10 >= total * 7, "{mirrored} of {total} mirrored");
        // the OCP payload nearest to the newest OKD one shares most commits with it
        let last = newest[0];
        let nearest = ocp
            .tags
            .iter()
            .filter(|t| t.final_phase != PHASE_FAILED)
            .min_by_key(|t| (t.created - last.created).num_seconds().abs())
            .expect("ocp tag");
        let same = built(last)
            .iter()
            .filter(|c| built(nearest).contains(c))
            .count();
        assert!(
            same + 2 >= built(last).len(),
            "{same} shared with {}",
            nearest.name
        );
        assert!(ocp
            .tags
            .iter()
            .all(|t| t.components.iter().all(|c| c.built_by == BuiltBy::Ocp)));
        // changelogs name the commits the components carry
        for tag in okd
            .tags
            .iter()
            .filter(|t| t.changelog.updated_images.is_some())
        {
            for image in tag.changelog.updated_images.iter().flatten() {
                let commit = image.path.rsplit('/').next().expect("commit");
                assert!(
                    tag.components.iter().any(|c| c.commit == commit),
                    "{} names {commit}",
                    tag.name
                );
            }
        }
    }

    #[test]
    fn promotions_keep_the_ci_payload_components() {
        let data = build(utc(2026, 2, 11, 12, 0, 0), 1);
        let okd = stream(&data, "origin", "4.21.0-0.okd-scos");
        let stable = stream(&data, "origin", "4-scos-stable");
        let mut promoted = 0;
        for tag in &stable.tags {
            let Some(from) = tag.changelog.to.promoted_from.as_deref() else {
                continue;
            };
            if let Some(source) = okd
                .tags
                .iter()
                .find(|t| from.ends_with(&format!(":{}", t.name)))
            {
                assert_eq!(source.components, tag.components, "{}", tag.name);
                // a payload of its own: promotion gives it a new name and `previous`
                assert_ne!(source.digest, tag.digest, "{}", tag.name);
                promoted += 1;
            }
        }
        assert!(promoted > 0);
    }
}
