//! Wire types shared by the server and the browser: what the pages show.
//!
//! Everything here is plain data (serde), compiled for both the server and WASM. Times are
//! UTC; every page model carries the server's `now` so ages render the same on the server
//! and after hydration.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod account;
pub mod jobs;
pub mod markup;
pub mod promotion;
pub mod search;
mod stored;
pub mod upgrade;

pub use markup::{safe_url, SanitizedHtml};

/// The product a stream belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Variant {
    /// OKD on Fedora CoreOS (ended after 4.15).
    OkdFcos,
    /// OKD on CentOS Stream CoreOS.
    OkdScos,
    /// OpenShift CI releases, the source of mirrored components.
    Ocp,
}

impl Variant {
    /// Stable identifier used in the database and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::OkdFcos => "okd-fcos",
            Variant::OkdScos => "okd-scos",
            Variant::Ocp => "ocp",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Variant::OkdFcos => "OKD/FCOS",
            Variant::OkdScos => "OKD/SCOS",
            Variant::Ocp => "OCP CI",
        }
    }

    /// Parses [`Variant::as_str`].
    pub fn parse(s: &str) -> Option<Variant> {
        match s {
            "okd-fcos" => Some(Variant::OkdFcos),
            "okd-scos" => Some(Variant::OkdScos),
            "ocp" => Some(Variant::Ocp),
            _ => None,
        }
    }
}

/// What kind of releases a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamKind {
    /// Promoted, long-lived releases (`4-scos-stable`, `4-stable`).
    Stable,
    /// Promoted previews (`4-scos-next`).
    Next,
    /// Continuous-integration builds (`4.21.0-0.okd-scos`), expire upstream after ~72 h.
    Ci,
    /// Nightly builds from ART inputs (`4.22.0-0.okd-scos-nightly`).
    Nightly,
}

impl StreamKind {
    /// Stable identifier used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Stable => "stable",
            StreamKind::Next => "next",
            StreamKind::Ci => "ci",
            StreamKind::Nightly => "nightly",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            StreamKind::Stable => "stable",
            StreamKind::Next => "next",
            StreamKind::Ci => "CI",
            StreamKind::Nightly => "nightly",
        }
    }

    /// Parses [`StreamKind::as_str`].
    pub fn parse(s: &str) -> Option<StreamKind> {
        match s {
            "stable" => Some(StreamKind::Stable),
            "next" => Some(StreamKind::Next),
            "ci" => Some(StreamKind::Ci),
            "nightly" => Some(StreamKind::Nightly),
            _ => None,
        }
    }
}

/// Classifies a stream by its name, as the release-controllers name them: `4-stable`
/// (OKD/FCOS stable), `4-scos-stable` / `4-scos-next` / `5-scos-next`, CI streams
/// `4.15.0-0.okd` and `4.21.0-0.okd-scos`, nightlies `4.22.0-0.okd-scos-nightly`, and OCP CI
/// streams `4.21.0-0.ci` (from the `ocp` controller).
pub fn classify_stream(controller: &str, name: &str) -> (Variant, StreamKind) {
    let kind = if name.ends_with("-nightly") {
        StreamKind::Nightly
    } else if name.ends_with("-next") {
        StreamKind::Next
    } else if name.ends_with("-stable") {
        StreamKind::Stable
    } else {
        StreamKind::Ci
    };
    let variant = if name.contains("scos") {
        Variant::OkdScos
    } else if name.contains("okd") || (controller == "origin" && name.starts_with("4-")) {
        Variant::OkdFcos
    } else {
        Variant::Ocp
    };
    (variant, kind)
}

/// `major.minor` of a stream or tag name (`4.21.0-0.okd-scos` → `4.21`), if it has one.
pub fn minor_version(name: &str) -> Option<String> {
    let mut parts = name.split(['.', '-']);
    let major = parts.next()?.parse::<u32>().ok()?;
    let minor = parts.next()?.parse::<u32>().ok()?;
    Some(format!("{major}.{minor}"))
}

/// A release's phase on the release-controller (an open set upstream; unknown values map to
/// [`Phase::Unknown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Waiting for the payload to be built.
    Pending,
    /// Built; verification running.
    Ready,
    /// Passed its blocking jobs.
    Accepted,
    /// A blocking job failed.
    Rejected,
    /// The payload could not be built.
    Failed,
    /// Published by a Streamgate promotion; the release-controller has not listed it in its
    /// stream yet, and only the release-controller says whether it is accepted.
    Published,
    /// No phase known.
    Unknown,
}

impl Phase {
    /// All phases a user can filter by.
    pub const ALL: [Phase; 6] = [
        Phase::Accepted,
        Phase::Rejected,
        Phase::Ready,
        Phase::Pending,
        Phase::Failed,
        Phase::Published,
    ];

    /// The upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Ready => "Ready",
            Phase::Accepted => "Accepted",
            Phase::Rejected => "Rejected",
            Phase::Failed => "Failed",
            Phase::Published => "Published",
            Phase::Unknown => "Unknown",
        }
    }

    /// Parses [`Phase::as_str`] (case-insensitive); anything else is `Unknown`.
    pub fn parse(s: &str) -> Phase {
        match s.to_ascii_lowercase().as_str() {
            "pending" => Phase::Pending,
            "ready" => Phase::Ready,
            "accepted" => Phase::Accepted,
            "rejected" => Phase::Rejected,
            "failed" => Phase::Failed,
            "published" => Phase::Published,
            _ => Phase::Unknown,
        }
    }

    /// Parses a phase the release-controller sent: one of its five, else `Unknown` (it
    /// never says [`Phase::Published`], which only a promotion records).
    pub fn from_upstream(s: &str) -> Phase {
        match Phase::parse(s) {
            Phase::Published => Phase::Unknown,
            phase => phase,
        }
    }

    /// Whether the phase can still change without a human.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Accepted | Phase::Rejected | Phase::Failed)
    }

    /// CSS class for the phase.
    pub fn css(self) -> &'static str {
        match self {
            Phase::Accepted => "phase-accepted",
            Phase::Rejected => "phase-rejected",
            Phase::Failed => "phase-failed",
            Phase::Ready => "phase-ready",
            Phase::Pending => "phase-pending",
            Phase::Published => "phase-published",
            Phase::Unknown => "phase-unknown",
        }
    }
}

/// A pointer to one release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRef {
    /// Tag name.
    pub name: String,
    /// Its stream.
    pub stream: String,
    /// Its phase.
    pub phase: Phase,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Health of a stream, as release watchers report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamHealth {
    /// Accepted releases created in the last 14 days.
    pub accepted_14d: u32,
    /// Rejected or failed releases created in the last 14 days.
    pub rejected_14d: u32,
    /// The current run of same-outcome releases, newest first: its phase and length.
    pub streak: Option<(Phase, u32)>,
    /// When the newest accepted release was created.
    pub last_accepted_at: Option<DateTime<Utc>>,
}

impl StreamHealth {
    /// Share of decided releases in the last 14 days that were accepted, if any were decided.
    pub fn acceptance_rate(&self) -> Option<f64> {
        let decided = self.accepted_14d + self.rejected_14d;
        (decided > 0).then(|| f64::from(self.accepted_14d) / f64::from(decided))
    }
}

/// One stream as listed on the overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSummary {
    /// Stream name.
    pub name: String,
    /// The release-controller it comes from.
    pub controller: String,
    /// Product variant.
    pub variant: Variant,
    /// Stream kind.
    pub kind: StreamKind,
    /// Whether the controller still lists the stream.
    pub listed_upstream: bool,
    /// Releases known, including expired ones.
    pub release_count: u32,
    /// The newest accepted release.
    pub latest_accepted: Option<ReleaseRef>,
    /// The newest release of any phase.
    pub latest: Option<ReleaseRef>,
    /// Health figures.
    pub health: StreamHealth,
    /// Phases of the most recent releases, oldest first (for the small chart).
    pub recent: Vec<ReleaseRef>,
    /// For an OKD stream, the era of its newest release whose payload was read, with that
    /// release's name.
    #[serde(default)]
    pub era: Option<(String, EraEvidence)>,
}

/// The state of polling one release-controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollStatus {
    /// Controller name.
    pub controller: String,
    /// When a poll last completed without error.
    pub last_success_at: Option<DateTime<Utc>>,
    /// When a poll was last attempted.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last error, if the last poll failed.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
}

/// The front page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Server time when the page was built.
    pub now: DateTime<Utc>,
    /// OKD streams grouped by variant (OKD/SCOS first, then OKD/FCOS).
    pub groups: Vec<(Variant, Vec<StreamSummary>)>,
    /// Other streams (OCP CI).
    pub others: Vec<StreamSummary>,
    /// Polling state per controller.
    pub polls: Vec<PollStatus>,
}

/// One row of a stream's release list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRow {
    /// Tag name.
    pub name: String,
    /// Phase.
    pub phase: Phase,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Blocking gates that succeeded.
    pub blocking_passed: u32,
    /// Blocking gates known.
    pub blocking_total: u32,
    /// When the controller stopped listing it, if it has.
    pub expired_at: Option<DateTime<Utc>>,
}

/// A page of a stream's releases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamPage {
    /// Server time.
    pub now: DateTime<Utc>,
    /// The stream.
    pub stream: StreamSummary,
    /// Phase filter applied, if any.
    pub phase: Option<Phase>,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Releases matching the filter.
    pub total: u32,
    /// This page's rows, newest first.
    pub releases: Vec<ReleaseRow>,
    /// Polling state of the stream's controller.
    pub poll: Option<PollStatus>,
    /// The upgrade graph, for a promoted stream.
    #[serde(default)]
    pub graph: Option<upgrade::UpgradeGraph>,
}

/// Which bucket a verification job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GateKind {
    /// Must succeed for acceptance.
    Blocking,
    /// Reported only.
    Informing,
    /// Reported only, run asynchronously.
    Async,
}

impl GateKind {
    /// Stable identifier used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::Blocking => "blocking",
            GateKind::Informing => "informing",
            GateKind::Async => "async",
        }
    }

    /// Parses [`GateKind::as_str`].
    pub fn parse(s: &str) -> Option<GateKind> {
        match s {
            "blocking" => Some(GateKind::Blocking),
            "informing" => Some(GateKind::Informing),
            "async" => Some(GateKind::Async),
            _ => None,
        }
    }
}

/// A verification job's or an upgrade run's state on the release-controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String")]
pub enum JobState {
    /// Running, or waiting to run.
    Pending,
    /// Passed.
    Succeeded,
    /// Failed, after any retries.
    Failed,
    /// A state the release-controller does not write today.
    Unknown,
}

impl JobState {
    /// The upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "Pending",
            JobState::Succeeded => "Succeeded",
            JobState::Failed => "Failed",
            JobState::Unknown => "Unknown",
        }
    }

    /// Parses the upstream spelling; anything else is `Unknown`.
    pub fn parse(s: &str) -> JobState {
        match s {
            "Pending" => JobState::Pending,
            "Succeeded" => JobState::Succeeded,
            "Failed" => JobState::Failed,
            _ => JobState::Unknown,
        }
    }

    /// CSS class for the state.
    pub fn css(self) -> &'static str {
        match self {
            JobState::Pending => "state-pending",
            JobState::Succeeded => "state-succeeded",
            JobState::Failed => "state-failed",
            JobState::Unknown => "state-unknown",
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for GateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verification job's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Job name on the controller (`aws`, `aws-upgrade`, …).
    pub name: String,
    /// Bucket.
    pub kind: GateKind,
    /// Its state.
    pub state: JobState,
    /// Prow URL of the deciding run.
    pub url: String,
    /// Retries used.
    pub retries: u32,
    /// Earlier attempts.
    pub previous_attempt_urls: Vec<String>,
    /// When the state last changed.
    pub transition_time: Option<DateTime<Utc>>,
}

/// One upgrade run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeRun {
    /// Its state.
    pub state: JobState,
    /// Prow URL.
    pub url: String,
}

/// Upgrade results between two releases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeEdge {
    /// Upgraded from.
    pub from: String,
    /// Upgraded to.
    pub to: String,
    /// Successful runs.
    pub success: u32,
    /// Failed runs.
    pub failure: u32,
    /// All runs.
    pub total: u32,
    /// The runs.
    pub runs: Vec<UpgradeRun>,
    /// The stream of the other end, when Streamgate knows it.
    pub other_stream: Option<String>,
}

/// A versioned component from the changelog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedComponent {
    /// Name (`Kubernetes`, `CentOS Stream CoreOS`).
    pub name: String,
    /// Version now.
    pub version: String,
    /// Version before, if it changed.
    pub from: Option<String>,
    /// Link to the difference.
    pub diff_url: Option<String>,
}

/// A commit listed in a changelog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedCommit {
    /// Subject line.
    pub subject: String,
    /// Pull request URL.
    pub pull_url: Option<String>,
    /// Pull request number.
    pub pull_id: Option<i64>,
    /// Linked issues (key, URL).
    pub issues: Vec<(String, String)>,
}

/// An image entry of a changelog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedImage {
    /// Image name(s).
    pub name: String,
    /// Source repository link.
    pub path: String,
    /// Commits.
    pub commits: Vec<ChangedCommit>,
    /// Link to the full comparison.
    pub full_change_log: Option<String>,
}

/// The changelog of a release against its predecessor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changelog {
    /// The release compared against.
    pub from: String,
    /// Payload digest of this release.
    pub digest: Option<String>,
    /// Where this release was promoted from.
    pub promoted_from: Option<String>,
    /// Versioned components.
    pub components: Vec<ChangedComponent>,
    /// New images.
    pub new_images: Vec<ChangedImage>,
    /// Removed images.
    pub removed_images: Vec<ChangedImage>,
    /// Images with code changes.
    pub updated_images: Vec<ChangedImage>,
    /// Images rebuilt without a code change.
    pub rebuilt_images: Vec<ChangedImage>,
}

impl Changelog {
    /// What changed, in one line: images updated (with how many pull requests), added and
    /// removed, and the machine OS and Kubernetes versions.
    pub fn summary(&self) -> String {
        let prs: std::collections::BTreeSet<&str> = self
            .updated_images
            .iter()
            .chain(&self.new_images)
            .flat_map(|i| &i.commits)
            .filter_map(|c| c.pull_url.as_deref())
            .collect();
        let mut parts = vec![format!(
            "{} images updated with {} pull requests, {} new, {} removed",
            self.updated_images.len(),
            prs.len(),
            self.new_images.len(),
            self.removed_images.len()
        )];
        for c in self
            .components
            .iter()
            .filter(|c| is_machine_os(&c.name) || c.name == "Kubernetes")
        {
            parts.push(match &c.from {
                Some(was) if *was != c.version => format!("{} {} (was {was})", c.name, c.version),
                _ => format!("{} {} (unchanged)", c.name, c.version),
            });
        }
        format!("Since {}: {}.", self.from, parts.join("; "))
    }
}

/// What changed in a stream since its previous accepted release, up to a release: what a
/// cluster on that accepted release gets by moving to this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinceAccepted {
    /// The previous accepted release.
    pub release: String,
    /// Releases after it up to this one (1: this is the next release).
    pub releases: u32,
    /// Distinct pull requests the changelogs of those releases name.
    pub pulls: u32,
    /// Of those releases, the ones whose changelog has not been read (then `pulls` is a
    /// lower bound).
    pub unread: u32,
    /// Components whose image is not the previous accepted release's, when both payloads
    /// have been read.
    pub new_images: Option<u32>,
    /// The machine OS (name, version then, version now), when both changelogs name it.
    pub os: Option<(String, String, String)>,
}

impl SinceAccepted {
    /// The one line the release page starts with.
    pub fn sentence(&self) -> String {
        let later = match self.releases {
            1 => "the release before this one".to_string(),
            n => format!("{n} releases before this one"),
        };
        let mut parts = Vec::new();
        if let Some(n) = self.new_images {
            parts.push(plural(
                n,
                "component with a new image",
                "components with a new image",
            ));
        }
        let pulls = plural(self.pulls, "pull request", "pull requests");
        parts.push(match self.unread {
            0 => pulls,
            n => format!(
                "at least {pulls} ({} not read)",
                plural(n, "changelog", "changelogs")
            ),
        });
        if let Some((os, was, now)) = &self.os {
            parts.push(if was == now {
                format!("{os} {now} (unchanged)")
            } else {
                format!("{os} {now} (was {was})")
            });
        }
        format!(
            "Since the previous accepted release, {} ({later}): {}.",
            self.release,
            parts.join(", ")
        )
    }
}

/// Whether a changelog's versioned component named `name` is the machine OS (`CentOS
/// Stream CoreOS`, `Fedora CoreOS`, …).
pub fn is_machine_os(name: &str) -> bool {
    name.contains("CoreOS")
}

/// `1 one` or `n many`.
pub fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Everything the release page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseDetail {
    /// Server time.
    pub now: DateTime<Utc>,
    /// Tag name.
    pub name: String,
    /// Stream name.
    pub stream: String,
    /// Stream variant.
    pub variant: Variant,
    /// Stream kind.
    pub kind: StreamKind,
    /// Phase.
    pub phase: Phase,
    /// Payload pull spec.
    pub pull_spec: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When Streamgate first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// When the controller stopped listing it.
    pub expired_at: Option<DateTime<Utc>>,
    /// Whether details (gates, changelog) have been fetched.
    pub has_details: bool,
    /// Why the last try to read the details failed, until one succeeds; the poller retries.
    #[serde(default)]
    pub details_error: Option<String>,
    /// Verification jobs.
    pub gates: Vec<Gate>,
    /// Upgrades tested into this release.
    pub upgrades_into: Vec<UpgradeEdge>,
    /// Upgrades tested out of this release.
    pub upgrades_out: Vec<UpgradeEdge>,
    /// Versions the payload declares it can upgrade from (payload metadata `previous`),
    /// when the payload has been read.
    pub declared_previous: Option<Vec<String>>,
    /// The changelog, when the controller produced one.
    pub changelog: Option<Changelog>,
    /// What changed since the stream's previous accepted release, when there is one.
    #[serde(default)]
    pub since_accepted: Option<SinceAccepted>,
    /// Other streams carrying a release of the same name.
    pub also_in: Vec<String>,
    /// The previous and next release of the same stream.
    pub neighbours: (Option<String>, Option<String>),
    /// The payload's components with their provenance, or why they are not known.
    pub payload: PayloadView,
    /// The latest mirror-integrity check, for promoted releases whose payload was read.
    pub mirror: Option<MirrorIntegrity>,
}

/// Whether every digest a promoted release references still resolves in its registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MirrorIntegrity {
    /// References checked.
    pub checked: u32,
    /// References the registry no longer has.
    pub missing: Vec<String>,
    /// References that could not be checked.
    pub unreachable: Vec<String>,
    /// Since when this has been the result.
    pub since: DateTime<Utc>,
}

/// A stream offered on the badge page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgeStream {
    /// Stream name.
    pub name: String,
    /// The badge's default label (`OKD/SCOS 4-scos-stable`).
    pub label: String,
}

/// The badge page's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgePage {
    /// Streams to choose from, OKD/SCOS first.
    pub streams: Vec<BadgeStream>,
    /// The URL users reach this Streamgate at, for the snippets.
    pub base_url: String,
}

/// Where a component image of an OKD payload came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Provenance {
    /// The machine OS image, with its version when the payload records one.
    MachineOs {
        /// `machine-os` version label.
        version: Option<String>,
    },
    /// The same image (digest) was in an OCP CI payload first.
    Mirrored {
        /// The earliest OCP CI release carrying it.
        release: String,
        /// That release's stream.
        stream: String,
    },
    /// Built for OKD, on evidence: an OCP CI payload of the same minor from the same days
    /// was read, and its image of this component differs (or it has none).
    BuiltForOkd {
        /// The OCP CI release compared with.
        compared_with: String,
        /// That release's stream.
        stream: String,
    },
    /// Not known, and why (`no OCP CI 4.17 payload read`).
    Unknown {
        /// What evidence is missing.
        reason: String,
    },
}

/// The provenance filters of the components table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvenanceKind {
    /// [`Provenance::Mirrored`].
    Mirrored,
    /// [`Provenance::BuiltForOkd`].
    Okd,
    /// [`Provenance::MachineOs`].
    Os,
    /// [`Provenance::Unknown`].
    Unknown,
}

impl ProvenanceKind {
    /// All kinds, in filter order.
    pub const ALL: [ProvenanceKind; 4] = [
        ProvenanceKind::Mirrored,
        ProvenanceKind::Okd,
        ProvenanceKind::Os,
        ProvenanceKind::Unknown,
    ];

    /// Query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvenanceKind::Mirrored => "mirrored",
            ProvenanceKind::Okd => "okd",
            ProvenanceKind::Os => "os",
            ProvenanceKind::Unknown => "unknown",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            ProvenanceKind::Mirrored => "mirrored from OCP CI",
            ProvenanceKind::Okd => "built for OKD",
            ProvenanceKind::Os => "machine OS",
            ProvenanceKind::Unknown => "unknown",
        }
    }

    /// Parses [`ProvenanceKind::as_str`].
    pub fn parse(s: &str) -> Option<ProvenanceKind> {
        ProvenanceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl Provenance {
    /// The filter bucket of this provenance.
    pub fn kind(&self) -> ProvenanceKind {
        match self {
            Provenance::MachineOs { .. } => ProvenanceKind::Os,
            Provenance::Mirrored { .. } => ProvenanceKind::Mirrored,
            Provenance::BuiltForOkd { .. } => ProvenanceKind::Okd,
            Provenance::Unknown { .. } => ProvenanceKind::Unknown,
        }
    }
}

/// Which era of OKD a payload is from, by its components' evidence: until about mid-2024
/// OKD mirrored most components from OCP CI; since then OKD/SCOS builds them as OKD
/// variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Era {
    /// Most components are OCP CI's images.
    Mirrored,
    /// Most components are built for OKD.
    BuiltForOkd,
}

/// A payload's era with the counts it was judged from (machine OS left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraEvidence {
    /// The era, `None` when more components are unknown than known.
    pub era: Option<Era>,
    /// Components mirrored from OCP CI.
    pub mirrored: u32,
    /// Components built for OKD.
    pub built: u32,
    /// Components whose provenance is unknown.
    pub unknown: u32,
}

impl EraEvidence {
    /// Judges the era of a payload from its components.
    pub fn of(components: &[ComponentInfo]) -> EraEvidence {
        let count = |k: ProvenanceKind| {
            let n = components
                .iter()
                .filter(|c| c.provenance.kind() == k)
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        let (mirrored, built, unknown) = (
            count(ProvenanceKind::Mirrored),
            count(ProvenanceKind::Okd),
            count(ProvenanceKind::Unknown),
        );
        let known = mirrored + built;
        let era = if known == 0 || unknown > known {
            None
        } else if mirrored >= built {
            Some(Era::Mirrored)
        } else {
            Some(Era::BuiltForOkd)
        };
        EraEvidence {
            era,
            mirrored,
            built,
            unknown,
        }
    }

    /// CSS class suffix: `mirrored`, `okd` or `unknown`.
    pub fn css(&self) -> &'static str {
        match self.era {
            Some(Era::Mirrored) => "mirrored",
            Some(Era::BuiltForOkd) => "okd",
            None => "unknown",
        }
    }

    /// One sentence for the pages.
    pub fn sentence(&self) -> String {
        let counts = format!(
            "{} mirrored from OCP CI, {} built for OKD, {} unknown",
            self.mirrored, self.built, self.unknown
        );
        match self.era {
            Some(Era::Mirrored) => {
                format!("Mirrored era: most components are OCP CI's own images ({counts}).")
            }
            Some(Era::BuiltForOkd) => {
                format!("OKD-built era: most components are built as OKD variants ({counts}).")
            }
            None => format!("Era unknown: too little evidence ({counts})."),
        }
    }
}

/// One component image of a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentInfo {
    /// Component name (`installer`).
    pub name: String,
    /// Where it came from.
    pub provenance: Provenance,
    /// Source repository URL (may be empty).
    pub source: String,
    /// Source commit (may be empty).
    pub commit: String,
    /// Link to the commit, for GitHub repositories.
    pub commit_url: Option<String>,
    /// Image pull spec.
    pub image: String,
    /// Image digest.
    pub digest: String,
    /// Whether the digest differs from the previous release of the stream (`None` when that
    /// release's payload is not known).
    pub changed: Option<bool>,
    /// Its image on each platform of a multi-arch payload (the one above first), with
    /// provenance judged on each platform's own evidence; empty for a single image.
    #[serde(default)]
    pub architectures: Vec<ArchImage>,
}

/// The platforms of a multi-arch payload with `components` (the kept one first); empty for a
/// single image.
pub fn payload_platforms(components: &[ComponentInfo]) -> Vec<String> {
    components
        .iter()
        .find(|c| !c.architectures.is_empty())
        .map(|c| c.architectures.iter().map(|a| a.platform.clone()).collect())
        .unwrap_or_default()
}

impl ComponentInfo {
    /// The platforms whose provenance differs in kind from the component's (the kept
    /// platform's).
    pub fn differing(&self) -> Vec<&ArchImage> {
        self.architectures
            .iter()
            .filter(|a| a.provenance.kind() != self.provenance.kind())
            .collect()
    }
}

/// A component's image on one platform of a multi-arch payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchImage {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The image digest that platform's payload names.
    pub digest: String,
    /// Where that image came from.
    pub provenance: Provenance,
}

impl ArchImage {
    /// The platform without `linux/` (`arm64`, `arm64/v8`), as tables show it.
    pub fn short(&self) -> &str {
        self.platform
            .strip_prefix("linux/")
            .unwrap_or(&self.platform)
    }
}

/// A release payload's components, or why they are not known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PayloadView {
    /// The payload has not been read yet.
    NotRead,
    /// Reading it failed.
    Failed {
        /// What went wrong, as recorded.
        message: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Read: its digest and components by name.
    Read {
        /// Payload digest.
        digest: String,
        /// Components, by name.
        components: Vec<ComponentInfo>,
        /// Whether the previous release of the stream has a read payload to compare with.
        previous_read: bool,
    },
}

/// A component whose image changed between two releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentChange {
    /// Before.
    pub from: ComponentInfo,
    /// After.
    pub to: ComponentInfo,
    /// Link to the source difference, for GitHub repositories with both commits.
    pub diff_url: Option<String>,
}

/// A verification job compared between two releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateChange {
    /// Job name.
    pub name: String,
    /// State in the older release, if it ran there.
    pub from: Option<JobState>,
    /// State in the newer release, if it ran there.
    pub to: Option<JobState>,
}

/// The compare page: two releases' components and gates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Server time.
    pub now: DateTime<Utc>,
    /// The release compared from.
    pub from: ReleaseRef,
    /// The release compared to.
    pub to: ReleaseRef,
    /// Whether both payloads have been read (otherwise the component lists are empty).
    pub payloads_read: (bool, bool),
    /// Components only in `to`.
    pub added: Vec<ComponentInfo>,
    /// Components only in `from`.
    pub removed: Vec<ComponentInfo>,
    /// Components whose image differs.
    pub changed: Vec<ComponentChange>,
    /// Components with the same image in both.
    pub unchanged: u32,
    /// Verification jobs whose state differs, job by job.
    pub gates: Vec<GateChange>,
}

/// One image of a component in a stream's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The component as first seen with this image.
    pub component: ComponentInfo,
    /// The release it first appeared in.
    pub first: String,
    /// When that release was created.
    pub first_at: DateTime<Utc>,
    /// Later releases that kept it, oldest first.
    pub stayed_in: Vec<String>,
}

/// The component page: one component's images across a stream's releases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentHistory {
    /// Server time.
    pub now: DateTime<Utc>,
    /// Component name.
    pub name: String,
    /// The stream shown.
    pub stream: String,
    /// Other streams carrying the component.
    pub streams: Vec<String>,
    /// Its distinct images, newest first.
    pub entries: Vec<HistoryEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(provenance: Provenance) -> ComponentInfo {
        ComponentInfo {
            name: "c".into(),
            provenance,
            source: String::new(),
            commit: String::new(),
            commit_url: None,
            image: String::new(),
            digest: String::new(),
            changed: None,
            architectures: Vec::new(),
        }
    }

    #[test]
    fn a_changelog_says_what_changed_in_one_line() {
        let commit = |pr: &str| ChangedCommit {
            subject: "Fix".into(),
            pull_url: Some(format!("https://github.com/openshift/installer/pull/{pr}")),
            pull_id: pr.parse().ok(),
            issues: Vec::new(),
        };
        let image = |commits: Vec<ChangedCommit>| ChangedImage {
            name: "installer".into(),
            path: "https://github.com/openshift/installer".into(),
            commits,
            full_change_log: None,
        };
        let log = Changelog {
            from: "4.21.0-0.okd-scos-2026-02-10-071519".into(),
            digest: None,
            promoted_from: None,
            components: vec![
                ChangedComponent {
                    name: "Kubernetes".into(),
                    version: "1.34.2".into(),
                    from: Some("1.34.2".into()),
                    diff_url: None,
                },
                ChangedComponent {
                    name: "CentOS Stream CoreOS".into(),
                    version: "9.0.20260211-0".into(),
                    from: Some("9.0.20260201-0".into()),
                    diff_url: None,
                },
            ],
            new_images: vec![image(vec![commit("3")])],
            removed_images: Vec::new(),
            updated_images: vec![
                image(vec![commit("1"), commit("2")]),
                image(vec![commit("1")]),
            ],
            rebuilt_images: Vec::new(),
        };
        assert_eq!(
            log.summary(),
            "Since 4.21.0-0.okd-scos-2026-02-10-071519: 2 images updated with 3 pull requests, \
             1 new, 0 removed; Kubernetes 1.34.2 (unchanged); \
             CentOS Stream CoreOS 9.0.20260211-0 (was 9.0.20260201-0)."
        );
    }

    #[test]
    fn the_era_is_judged_by_evidence() {
        let mirrored = || {
            component(Provenance::Mirrored {
                release: "4.15.0-0.ci-2024-03-01-000000".into(),
                stream: "4.15.0-0.ci".into(),
            })
        };
        let built = || {
            component(Provenance::BuiltForOkd {
                compared_with: "4.21.0-0.ci-2026-02-09-101010".into(),
                stream: "4.21.0-0.ci".into(),
            })
        };
        let unknown = || {
            component(Provenance::Unknown {
                reason: "no OCP CI 4.20 payload read".into(),
            })
        };
        let os = || component(Provenance::MachineOs { version: None });
        let era = |list: Vec<ComponentInfo>| EraEvidence::of(&list).era;
        assert_eq!(
            era(vec![mirrored(), mirrored(), built(), os()]),
            Some(Era::Mirrored)
        );
        assert_eq!(
            era(vec![mirrored(), built(), built(), os()]),
            Some(Era::BuiltForOkd)
        );
        assert_eq!(era(vec![unknown(), unknown(), built(), os()]), None);
        assert_eq!(era(vec![os()]), None);
        let e = EraEvidence::of(&[mirrored(), built(), built(), unknown()]);
        assert_eq!((e.mirrored, e.built, e.unknown), (1, 2, 1));
        assert!(
            e.sentence().starts_with("OKD-built era"),
            "{}",
            e.sentence()
        );
    }
}
