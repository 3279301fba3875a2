//! The release-controller's JSON API types, exactly as it emits them.
//!
//! Field names follow `openshift/release-controller` (`pkg/release-controller/types.go` and
//! `cmd/release-controller-api`): camelCase everywhere except `UpgradeHistory`, which has no
//! JSON tags and therefore uses the Go field names (`From`, `To`, `Success`, …). Every type
//! both deserializes (the poller) and serializes (the replay server), so recorded data
//! round-trips unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /api/v1/releasestreams/{accepted|rejected|ready|all}`: stream name → tag names.
/// End-of-life streams are omitted; a stream with no matching tag maps to `null`.
pub type ReleaseStreams = BTreeMap<String, Option<Vec<String>>>;

/// `GET /api/v1/releasestream/{stream}/tags` (`APIRelease`): tags newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRelease {
    /// The stream name.
    pub name: String,
    /// The tags the controller still lists.
    #[serde(default)]
    pub tags: Vec<ApiTag>,
}

/// One tag of a stream (`APITag`), also the body of `/latest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTag {
    /// Tag name, e.g. `4.21.0-0.okd-scos-2026-02-11-071519`.
    pub name: String,
    /// `Pending`, `Ready`, `Accepted`, `Rejected`, `Failed` or `Unknown`.
    pub phase: String,
    /// Pull spec of the release payload image.
    #[serde(rename = "pullSpec", default)]
    pub pull_spec: String,
    /// Artifacts URL; always empty on the OKD controller.
    #[serde(rename = "downloadURL", default)]
    pub download_url: String,
}

/// `GET /api/v1/releasestream/{stream}/release/{tag}` (`APIReleaseInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiReleaseInfo {
    /// The tag name.
    pub name: String,
    /// The tag's phase.
    pub phase: String,
    /// Verification job results.
    #[serde(default)]
    pub results: Option<VerificationJobsSummary>,
    /// Upgrades tested *into* this release.
    #[serde(
        rename = "upgradesTo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub upgrades_to: Option<Vec<UpgradeHistory>>,
    /// Upgrades tested *from* this release.
    #[serde(
        rename = "upgradesFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub upgrades_from: Option<Vec<UpgradeHistory>>,
    /// Base64 of the rendered HTML changelog (Go `[]byte`); never rendered as-is.
    #[serde(rename = "changeLog", default, skip_serializing_if = "Option::is_none")]
    pub change_log: Option<String>,
    /// The structured changelog; a zero value when there is no previous tag.
    #[serde(
        rename = "changeLogJson",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub change_log_json: Option<ChangeLog>,
}

/// `VerificationJobsSummary`: job name → status, per bucket.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VerificationJobsSummary {
    /// Jobs that must succeed for the release to be accepted.
    #[serde(
        rename = "blockingJobs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub blocking_jobs: Option<BTreeMap<String, VerificationStatus>>,
    /// Optional jobs, reported but not gating.
    #[serde(
        rename = "informingJobs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub informing_jobs: Option<BTreeMap<String, VerificationStatus>>,
    /// Asynchronous optional jobs.
    #[serde(rename = "asyncJobs", default, skip_serializing_if = "Option::is_none")]
    pub async_jobs: Option<BTreeMap<String, VerificationStatus>>,
    /// Declared upstream, never filled in practice.
    #[serde(
        rename = "pendingJobs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pending_jobs: Option<BTreeMap<String, VerificationStatus>>,
}

/// `VerificationStatus` of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationStatus {
    /// `Succeeded`, `Failed` or `Pending`.
    pub state: String,
    /// Prow URL of the run that decided the state.
    #[serde(default)]
    pub url: String,
    /// Retries used so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// URLs of the earlier attempts.
    #[serde(
        rename = "previousAttemptURLs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_attempt_urls: Option<Vec<String>>,
    /// When the state last changed (RFC 3339).
    #[serde(
        rename = "transitionTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transition_time: Option<String>,
}

/// `UpgradeHistory`: upgrade runs between two tags. No JSON tags upstream, hence the Go names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpgradeHistory {
    /// The tag the cluster upgraded from.
    pub from: String,
    /// The tag the cluster upgraded to.
    pub to: String,
    /// Successful runs.
    #[serde(default)]
    pub success: i64,
    /// Failed runs.
    #[serde(default)]
    pub failure: i64,
    /// All runs.
    #[serde(default)]
    pub total: i64,
    /// Runs keyed by URL.
    #[serde(default)]
    pub history: Option<BTreeMap<String, UpgradeResult>>,
}

/// One upgrade run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeResult {
    /// `Succeeded`, `Failed` or `Pending`.
    pub state: String,
    /// Prow URL of the run.
    #[serde(default)]
    pub url: String,
}

/// `ChangeLog`: the structured changelog between two releases.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChangeLog {
    /// The older release.
    #[serde(default)]
    pub from: ChangeLogReleaseInfo,
    /// This release.
    #[serde(default)]
    pub to: ChangeLogReleaseInfo,
    /// Versioned components such as Kubernetes and the machine OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<ChangeLogComponent>>,
    /// Images new in this release.
    #[serde(rename = "newImages", default, skip_serializing_if = "Option::is_none")]
    pub new_images: Option<Vec<ChangeLogImage>>,
    /// Images dropped from this release.
    #[serde(
        rename = "removedImages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub removed_images: Option<Vec<ChangeLogImage>>,
    /// Images rebuilt without a code change.
    #[serde(
        rename = "rebuiltImages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rebuilt_images: Option<Vec<ChangeLogImage>>,
    /// Images with code changes.
    #[serde(
        rename = "updatedImages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_images: Option<Vec<ChangeLogImage>>,
}

/// `ReleaseInfo` inside a changelog.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChangeLogReleaseInfo {
    /// Release name; empty in the zero value.
    #[serde(default)]
    pub name: String,
    /// Creation time (RFC 3339); `0001-01-01T00:00:00Z` in the zero value.
    #[serde(default)]
    pub created: String,
    /// Payload digest.
    #[serde(default)]
    pub digest: String,
    /// The pull spec this release was promoted from.
    #[serde(
        rename = "promotedFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub promoted_from: Option<String>,
}

/// A versioned component in a changelog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLogComponent {
    /// Display name, e.g. `Kubernetes`.
    pub name: String,
    /// Version in this release.
    #[serde(default)]
    pub version: String,
    /// Link for the version.
    #[serde(
        rename = "versionUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version_url: Option<String>,
    /// Version in the older release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Link for the older version.
    #[serde(rename = "fromUrl", default, skip_serializing_if = "Option::is_none")]
    pub from_url: Option<String>,
    /// Link to the difference.
    #[serde(rename = "diffUrl", default, skip_serializing_if = "Option::is_none")]
    pub diff_url: Option<String>,
}

/// An image entry in a changelog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLogImage {
    /// Image name(s), comma separated when several share a repository.
    pub name: String,
    /// Source repository URL (possibly with `/tree/<sha>`).
    #[serde(default)]
    pub path: String,
    /// Abbreviated commit.
    #[serde(
        rename = "shortCommit",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub short_commit: Option<String>,
    /// Full commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Image digest.
    #[serde(rename = "imageRef", default, skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    /// Commits in this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Vec<CommitInfo>>,
    /// Link to the full comparison.
    #[serde(
        rename = "fullChangeLog",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub full_change_log: Option<String>,
}

/// One commit of an updated image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Issue key → URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<BTreeMap<String, String>>,
    /// Commit subject.
    #[serde(default)]
    pub subject: String,
    /// Pull request number.
    #[serde(rename = "pullID", default, skip_serializing_if = "Option::is_none")]
    pub pull_id: Option<i64>,
    /// Pull request URL.
    #[serde(rename = "pullURL", default, skip_serializing_if = "Option::is_none")]
    pub pull_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../server/tests/fixtures/upstream"
    );

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture readable")
    }

    #[test]
    fn parses_real_release_info_with_upgrades_and_changelog() {
        let info: ApiReleaseInfo =
            serde_json::from_str(&fixture("api-v1-release-info-4.12.1.json")).expect("parses");
        assert_eq!(info.name, "4.12.1");
        assert_eq!(info.phase, "Accepted");
        let results = info.results.expect("results");
        let blocking = results.blocking_jobs.expect("blocking");
        assert_eq!(blocking["upgrade"].state, "Succeeded");
        let informing = results.informing_jobs.expect("informing");
        assert_eq!(informing["aws-sdn-serial"].retries, Some(2));
        let to = info.upgrades_to.expect("upgradesTo");
        assert!(to.iter().any(|u| u.from == "4.12.0-rc.4" && u.failure == 1));
        let log = info.change_log_json.expect("changelog");
        assert_eq!(log.from.name, "4.12.0");
        assert!(log
            .updated_images
            .expect("updated")
            .iter()
            .any(|i| i.commits.is_some()));
    }

    #[test]
    fn parses_real_tag_list_and_latest() {
        let tags: ApiRelease =
            serde_json::from_str(&fixture("api-v1-releasestream-tags-4.12.0-0.nightly.json"))
                .expect("parses");
        assert_eq!(tags.tags.len(), 3);
        assert_eq!(tags.tags[1].phase, "Rejected");
        let latest: ApiTag =
            serde_json::from_str(&fixture("api-v1-releasestream-latest-4.11.15.json"))
                .expect("parses");
        assert_eq!(latest.name, "4.11.15");
    }

    #[test]
    fn release_info_round_trips_through_serialization() {
        let raw = fixture("api-v1-release-info-4.12.1.json");
        let info: ApiReleaseInfo = serde_json::from_str(&raw).expect("parses");
        let again: ApiReleaseInfo =
            serde_json::from_str(&serde_json::to_string(&info).expect("serializes"))
                .expect("parses");
        assert_eq!(info, again);
    }

    #[test]
    fn null_stream_entries_parse() {
        let streams: ReleaseStreams = serde_json::from_str(
            r#"{"4-scos-next": ["4.22.0-okd-scos.ec.3"], "4.22.0-0.okd-scos-nightly": null}"#,
        )
        .expect("parses");
        assert_eq!(streams["4.22.0-0.okd-scos-nightly"], None);
    }
}

#[cfg(test)]
mod properties;
