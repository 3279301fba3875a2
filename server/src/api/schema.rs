//! The API's wire types: what `/api/v1` answers, with their OpenAPI schemas.
//!
//! They are built from the page models of [`app::model`] (one mapping from rows, in
//! [`crate::backend`]), but are their own types: the API's shape is a public contract that
//! must not change when a page does, and `app` (compiled to WASM too) stays free of OpenAPI.
//! Variants, kinds and gate buckets use their stable lowercase identifiers; phases use the
//! release-controller's spelling (`Accepted`, `Rejected`, …).

use app::model::{self, Phase};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A pointer to one release.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReleaseRef {
    /// Tag name.
    #[schema(example = "4.21.0-0.okd-scos-2026-11-20-101500")]
    pub name: String,
    /// Its stream.
    pub stream: String,
    /// `Accepted`, `Rejected`, `Ready`, `Pending`, `Failed` or `Unknown`.
    #[schema(example = "Accepted")]
    pub phase: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<&model::ReleaseRef> for ReleaseRef {
    fn from(r: &model::ReleaseRef) -> Self {
        ReleaseRef {
            name: r.name.clone(),
            stream: r.stream.clone(),
            phase: r.phase.as_str().to_string(),
            created_at: r.created_at,
        }
    }
}

/// The current run of releases with the same outcome.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Streak {
    /// `Accepted` or `Rejected` (failed releases count as rejected).
    pub phase: String,
    /// How many releases in a row, newest first.
    pub length: u32,
}

/// A stream's health as release watchers read it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StreamHealth {
    /// Accepted releases created in the last 14 days.
    pub accepted_14d: u32,
    /// Rejected or failed releases created in the last 14 days.
    pub rejected_14d: u32,
    /// Share of those decided that were accepted; `null` when none were decided.
    pub acceptance_rate_14d: Option<f64>,
    /// The current streak, `null` when no release has been decided.
    pub streak: Option<Streak>,
    /// When the newest accepted release was created.
    pub last_accepted_at: Option<DateTime<Utc>>,
}

/// Where to find more about a stream.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StreamLinks {
    /// This resource.
    #[serde(rename = "self")]
    pub self_: String,
    /// Its releases, newest first.
    pub releases: String,
    /// Its Atom feed of accepted releases.
    pub feed: String,
    /// Its page for people.
    pub html: String,
}

/// One release stream.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stream {
    /// Stream name.
    #[schema(example = "4.21.0-0.okd-scos")]
    pub name: String,
    /// The release-controller it comes from.
    #[schema(example = "origin")]
    pub controller: String,
    /// `okd-scos`, `okd-fcos` or `ocp`.
    #[schema(example = "okd-scos")]
    pub variant: String,
    /// `stable`, `next`, `ci` or `nightly`.
    #[schema(example = "ci")]
    pub kind: String,
    /// Whether the controller still lists the stream.
    pub listed_upstream: bool,
    /// Releases known, including those the controller no longer lists.
    pub release_count: u32,
    /// The newest release of any phase.
    pub latest: Option<ReleaseRef>,
    /// The newest accepted release.
    pub latest_accepted: Option<ReleaseRef>,
    /// Health figures.
    pub health: StreamHealth,
    /// Related resources.
    pub links: StreamLinks,
}

impl From<model::StreamSummary> for Stream {
    fn from(s: model::StreamSummary) -> Self {
        let path = crate::percent::encode(&s.name);
        Stream {
            links: StreamLinks {
                self_: format!("{}/streams/{path}", super::PREFIX),
                releases: format!("{}/streams/{path}/releases", super::PREFIX),
                feed: format!("/streams/{path}/feed.atom"),
                html: format!("/streams/{path}"),
            },
            health: StreamHealth {
                accepted_14d: s.health.accepted_14d,
                rejected_14d: s.health.rejected_14d,
                acceptance_rate_14d: s.health.acceptance_rate(),
                streak: s.health.streak.map(|(phase, length)| Streak {
                    phase: phase.as_str().to_string(),
                    length,
                }),
                last_accepted_at: s.health.last_accepted_at,
            },
            latest: s.latest.as_ref().map(ReleaseRef::from),
            latest_accepted: s.latest_accepted.as_ref().map(ReleaseRef::from),
            name: s.name,
            controller: s.controller,
            variant: s.variant.as_str().to_string(),
            kind: s.kind.as_str().to_string(),
            listed_upstream: s.listed_upstream,
            release_count: s.release_count,
        }
    }
}

/// A verification job's result.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Gate {
    /// Job name on the controller.
    #[schema(example = "aws")]
    pub name: String,
    /// `blocking`, `informing` or `async`.
    #[schema(example = "blocking")]
    pub kind: String,
    /// `Succeeded`, `Failed` or `Pending`.
    #[schema(example = "Succeeded")]
    pub state: String,
    /// Prow URL of the deciding run.
    pub url: String,
    /// Retries used.
    pub retries: u32,
    /// Earlier attempts.
    pub previous_attempt_urls: Vec<String>,
    /// When the state last changed.
    pub transition_time: Option<DateTime<Utc>>,
}

impl From<model::Gate> for Gate {
    fn from(g: model::Gate) -> Self {
        Gate {
            name: g.name,
            kind: g.kind.as_str().to_string(),
            state: g.state.to_string(),
            url: g.url,
            retries: g.retries,
            previous_attempt_urls: g.previous_attempt_urls,
            transition_time: g.transition_time,
        }
    }
}

/// One upgrade test run.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UpgradeRun {
    /// `Succeeded`, `Failed` or `Pending`.
    pub state: String,
    /// Prow URL.
    pub url: String,
}

/// Upgrade test results between two releases.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UpgradeEdge {
    /// Upgraded from.
    pub from: String,
    /// Upgraded to.
    pub to: String,
    /// The stream of the other end, when Streamgate knows it.
    pub other_stream: Option<String>,
    /// Successful runs.
    pub success: u32,
    /// Failed runs.
    pub failure: u32,
    /// All runs.
    pub total: u32,
    /// The runs.
    pub runs: Vec<UpgradeRun>,
}

impl From<model::UpgradeEdge> for UpgradeEdge {
    fn from(e: model::UpgradeEdge) -> Self {
        UpgradeEdge {
            from: e.from,
            to: e.to,
            other_stream: e.other_stream,
            success: e.success,
            failure: e.failure,
            total: e.total,
            runs: e
                .runs
                .into_iter()
                .map(|r| UpgradeRun {
                    state: r.state.to_string(),
                    url: r.url,
                })
                .collect(),
        }
    }
}

/// A versioned component from the changelog.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Component {
    /// Name (`Kubernetes`, `CentOS Stream CoreOS`).
    #[schema(example = "Kubernetes")]
    pub name: String,
    /// Version in this release.
    #[schema(example = "1.34.2")]
    pub version: String,
    /// Version in the release compared against, when it changed.
    pub from: Option<String>,
    /// Link to the difference.
    pub diff_url: Option<String>,
}

/// An issue linked from a commit.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Issue {
    /// Key (`OCPBUGS-1234`).
    pub key: String,
    /// Link.
    pub url: String,
}

/// A commit listed in a changelog.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Commit {
    /// Subject line.
    pub subject: String,
    /// Pull request URL.
    pub pull_url: Option<String>,
    /// Pull request number.
    pub pull_id: Option<i64>,
    /// Linked issues.
    pub issues: Vec<Issue>,
}

/// An image entry of a changelog.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Image {
    /// Image name(s).
    pub name: String,
    /// Source repository link.
    pub path: String,
    /// Link to the full comparison.
    pub full_change_log: Option<String>,
    /// Commits.
    pub commits: Vec<Commit>,
}

impl From<model::ChangedImage> for Image {
    fn from(i: model::ChangedImage) -> Self {
        Image {
            name: i.name,
            path: i.path,
            full_change_log: i.full_change_log,
            commits: i
                .commits
                .into_iter()
                .map(|c| Commit {
                    subject: c.subject,
                    pull_url: c.pull_url,
                    pull_id: c.pull_id,
                    issues: c
                        .issues
                        .into_iter()
                        .map(|(key, url)| Issue { key, url })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The changelog of a release against its predecessor, as the controller produced it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Changelog {
    /// The release compared against.
    pub from: String,
    /// Payload digest of this release.
    pub digest: Option<String>,
    /// Where this release was promoted from.
    pub promoted_from: Option<String>,
    /// Versioned components.
    pub components: Vec<Component>,
    /// New images.
    pub new_images: Vec<Image>,
    /// Removed images.
    pub removed_images: Vec<Image>,
    /// Images with code changes.
    pub updated_images: Vec<Image>,
    /// Images rebuilt without a code change.
    pub rebuilt_images: Vec<Image>,
}

impl From<model::Changelog> for Changelog {
    fn from(c: model::Changelog) -> Self {
        let images = |list: Vec<model::ChangedImage>| list.into_iter().map(Image::from).collect();
        Changelog {
            from: c.from,
            digest: c.digest,
            promoted_from: c.promoted_from,
            components: c
                .components
                .into_iter()
                .map(|comp| Component {
                    name: comp.name,
                    version: comp.version,
                    from: comp.from,
                    diff_url: comp.diff_url,
                })
                .collect(),
            new_images: images(c.new_images),
            removed_images: images(c.removed_images),
            updated_images: images(c.updated_images),
            rebuilt_images: images(c.rebuilt_images),
        }
    }
}

/// The phase names a client may filter by, for messages.
pub fn phase_names() -> String {
    Phase::ALL
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
