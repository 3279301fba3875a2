//! The demo data set's literal data, kept in `data/demo.json` (embedded at build time):
//! the repositories and components of a payload, commit subjects, the verification jobs of
//! each kind of stream, and the streams of the replayed release-controllers. The generator
//! draws everything else from these deterministically.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

/// The embedded data file.
const DEMO_JSON: &str = include_str!("../data/demo.json");

/// Why the data set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// `data/demo.json` does not read as the data set's description.
    #[error("data/demo.json: {0}")]
    Unreadable(String),
    /// A value in it is out of place; the message says which.
    #[error("data/demo.json: {0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DemoData {
    #[allow(dead_code)]
    about: String,
    pub repositories: Vec<Repository>,
    pub components: Vec<Component>,
    pub mirrored_in_scos: Vec<String>,
    pub subjects: Vec<String>,
    pub jobs: JobSets,
    pub ci_streams: Vec<CiStream>,
    pub promoted_streams: Vec<PromotedStream>,
    pub controllers: Vec<Controller>,
}

/// A source repository under github.com/openshift and the payload images built from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Repository {
    pub name: String,
    pub images: Vec<String>,
}

/// A payload component: its tag, its repository, and whether OKD builds its own image
/// (OKD's base image or build tags) instead of mirroring OCP's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Component {
    pub tag: String,
    pub repository: String,
    pub okd_builds: bool,
}

/// The jobs of each kind of stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobSets {
    pub ocp: JobSet,
    pub okd: JobSet,
    pub stable_upgrade: JobSpec,
}

/// Jobs sharing a Prow name prefix (`{minor}`, `{branch}`, `{variant}` filled in).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobSet {
    pub prefix: String,
    pub jobs: Vec<JobSpec>,
}

/// One verification job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobSpec {
    pub name: String,
    /// Its Prow job name (`{prefix}`, `{variant}`, `{previous_minor}` filled in).
    pub prow: String,
    pub blocking: bool,
    pub retries: Retries,
    /// How long a run takes, in minutes.
    pub minutes: (i64, i64),
    /// How often it fails when nothing is wrong.
    pub flake: f64,
    #[serde(default)]
    pub upgrade: Option<UpgradeSource>,
    /// Run on OKD/SCOS streams only.
    #[serde(default)]
    pub only_scos: bool,
    /// On OKD/FCOS streams, run from this minor on.
    #[serde(default)]
    pub fcos_from_minor: Option<u32>,
}

/// A job's retry budget: a number, or the stream's own.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub(crate) enum Retries {
    Fixed(u32),
    Stream(StreamRetries),
}

/// The word `stream`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StreamRetries {
    Stream,
}

/// What an upgrade job upgrades from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UpgradeSource {
    /// The newest accepted release of the same stream.
    Previous,
    /// The newest accepted release of the previous minor's stream.
    Minor,
}

/// A CI stream's plan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CiStream {
    pub name: String,
    #[serde(default)]
    #[allow(dead_code)]
    about: Option<String>,
    pub pull_repo: String,
    pub end_of_life: bool,
    pub minor: u32,
    pub os: String,
    pub start: String,
    pub end: String,
    /// Releases at factor 1.
    pub count: usize,
    /// The newest release is created exactly at `end`.
    pub exact_end: bool,
    pub jobs: StreamJobs,
    /// The newest release is accepted.
    pub last_accepted: bool,
    /// Releases whose payload fails to build, as fractions `[n, d]` of the count.
    pub failed_at: Vec<(usize, usize)>,
    /// The OCP CI stream the components OKD does not build are mirrored from.
    #[serde(default)]
    pub mirror_from: Option<String>,
}

/// Which job set a CI stream runs, with what.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamJobs {
    pub set: JobSetName,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub retries: Option<u32>,
    /// The previous minor's stream, for the minor upgrade job.
    #[serde(default)]
    pub previous_minor: Option<String>,
}

/// The job sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobSetName {
    Ocp,
    Okd,
}

/// A promoted stream's plan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PromotedStream {
    pub name: String,
    #[serde(default)]
    #[allow(dead_code)]
    about: Option<String>,
    pub pull_repo: String,
    pub os: String,
    /// Promote the newest accepted `4.<minor>.0-0.okd-scos` release before each release's
    /// time, when it carries no source.
    pub resolve_scos_sources: bool,
    /// Run upgrade jobs from earlier releases of the stream.
    pub upgrade_jobs: bool,
    /// Promote accepted releases of a CI stream under their own names.
    #[serde(default)]
    pub promotes: Option<Promotes>,
    /// Releases named `4.<minor>.0-okd-scos.<infix><n>`, spread over a span.
    #[serde(default)]
    pub releases: Vec<NamedReleases>,
}

/// Accepted releases of `stream` promoted as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Promotes {
    pub stream: String,
    pub minor: u32,
    pub count: usize,
}

/// `count` releases of `minor` over `from..to`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedReleases {
    pub minor: u32,
    pub infix: String,
    pub count: usize,
    pub from: String,
    pub to: String,
}

/// A replayed release-controller and the streams it lists, in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Controller {
    pub name: String,
    pub artifacts_url: Option<String>,
    pub streams: Vec<String>,
}

static DEMO: LazyLock<Result<DemoData, DataError>> = LazyLock::new(|| {
    serde_json::from_str(DEMO_JSON).map_err(|e| DataError::Unreadable(e.to_string()))
});

/// The data file, read once.
pub(crate) fn demo() -> Result<&'static DemoData, DataError> {
    DEMO.as_ref().map_err(Clone::clone)
}

/// A time of the file: RFC 3339, or `anchor-<n><d|h|m>` before `anchor`.
pub(crate) fn time(text: &str, anchor: DateTime<Utc>) -> Result<DateTime<Utc>, DataError> {
    let invalid = || DataError::Invalid(format!("{text:?} is not a time"));
    if let Some(before) = text.strip_prefix("anchor-") {
        let split = before.len().saturating_sub(1);
        let (n, unit) = before.split_at(split);
        let n: i64 = n.parse().map_err(|_| invalid())?;
        let span = match unit {
            "d" => Duration::days(n),
            "h" => Duration::hours(n),
            "m" => Duration::minutes(n),
            _ => return Err(invalid()),
        };
        return Ok(anchor - span);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_reads_and_names_only_what_it_has() {
        let data = demo().expect("data/demo.json reads");
        let repos: Vec<&str> = data.repositories.iter().map(|r| r.name.as_str()).collect();
        for c in &data.components {
            assert!(repos.contains(&c.repository.as_str()), "{}", c.tag);
        }
        for m in &data.mirrored_in_scos {
            assert!(data.components.iter().any(|c| &c.tag == m), "{m}");
        }
        let streams: Vec<&str> = data
            .ci_streams
            .iter()
            .map(|s| s.name.as_str())
            .chain(data.promoted_streams.iter().map(|s| s.name.as_str()))
            .collect();
        let listed: Vec<&str> = data
            .controllers
            .iter()
            .flat_map(|c| c.streams.iter().map(String::as_str))
            .collect();
        let mut a = streams.clone();
        let mut b = listed.clone();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "every stream is listed by one controller, once");
    }

    #[test]
    fn times_are_absolute_or_before_the_anchor() {
        let anchor = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(time("anchor-40d", anchor), Ok(anchor - Duration::days(40)));
        assert_eq!(time("anchor-13h", anchor), Ok(anchor - Duration::hours(13)));
        assert_eq!(
            time("anchor-80m", anchor),
            Ok(anchor - Duration::minutes(80))
        );
        assert_eq!(
            time("2023-08-13T01:00:00Z", anchor).map(|t| t.timestamp()),
            Ok(1_691_888_400)
        );
        for bad in ["anchor-", "anchor-4w", "anchor-xd", "yesterday", ""] {
            assert!(time(bad, anchor).is_err(), "{bad:?}");
        }
    }
}
