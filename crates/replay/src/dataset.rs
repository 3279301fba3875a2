//! The replay data set: every tag, job run, upgrade edge and changelog the replay server can
//! show, with the moments at which each becomes visible, plus pure views that render it in
//! the release-controller's wire format at a virtual time `now`.
//!
//! The data is plain values ([`Dataset`] and friends); [`Dataset::demo`] and
//! [`Dataset::scaled`] build a deterministic OKD + OCP history ending at an anchor time. The
//! views ([`Dataset::streams`], [`Dataset::tags`], [`Dataset::latest`],
//! [`Dataset::release_info`]) apply the controller's rules: a tag appears at `created`, is
//! `Pending` for [`PENDING_SECS`], `Ready` until `decided`, then takes its final phase; jobs
//! appear [`JOBS_START_SECS`] after creation and read `Pending` until they finish; and
//! non-stable streams prune old tags exactly as `calculateSyncActions` does upstream.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use super::version;
use streamgate_formats::release_controller::{
    ApiRelease, ApiReleaseInfo, ApiTag, ChangeLog, ChangeLogReleaseInfo, ReleaseStreams,
    UpgradeHistory, UpgradeResult, VerificationJobsSummary, VerificationStatus,
};

/// Tag phase `Pending`: the payload is being assembled.
pub const PHASE_PENDING: &str = "Pending";
/// Tag phase `Ready`: the payload exists; verification is running.
pub const PHASE_READY: &str = "Ready";
/// Tag phase `Accepted`: every blocking job succeeded.
pub const PHASE_ACCEPTED: &str = "Accepted";
/// Tag phase `Rejected`: a blocking job failed after its retries.
pub const PHASE_REJECTED: &str = "Rejected";
/// Tag phase `Failed`: the payload could not be created.
pub const PHASE_FAILED: &str = "Failed";
/// Job state `Succeeded`.
pub const STATE_SUCCEEDED: &str = "Succeeded";
/// Job state `Failed`.
pub const STATE_FAILED: &str = "Failed";
/// Job state `Pending` (still running, or waiting for a retry).
pub const STATE_PENDING: &str = "Pending";

/// Seconds a new tag stays `Pending` (unless it is decided earlier, e.g. `Failed`).
pub const PENDING_SECS: i64 = 10 * 60;
/// Seconds after creation at which verification jobs start and become visible.
pub const JOBS_START_SECS: i64 = 15 * 60;
/// `expires` of every non-stable stream: 72 hours.
pub const EXPIRES_SECS: i64 = 72 * 3600;
/// How many tags of each terminal phase the controller always keeps.
pub const KEEP_PER_PHASE: usize = 5;

/// The whole replayable world: one entry per release-controller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// Controllers, addressed by name in the replay URL (`/origin/api/v1/…`, `/ocp/api/v1/…`).
    pub controllers: Vec<ControllerData>,
}

/// One release-controller (e.g. `origin` for OKD, `ocp` for OpenShift CI).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControllerData {
    /// URL path prefix and identifier, e.g. `origin`.
    pub name: String,
    /// Artifacts host; `downloadURL` is `<artifacts_url>/<tag>`, or `""` when `None` (OKD).
    pub artifacts_url: Option<String>,
    /// The release streams this controller manages.
    pub streams: Vec<StreamData>,
}

/// One release stream with every tag it ever had.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamData {
    /// Stream name, e.g. `4.21.0-0.okd-scos` or `4-scos-stable`.
    pub name: String,
    /// `endOfLife: true`: omitted from `/releasestreams/*`, still answers per-stream routes.
    pub end_of_life: bool,
    /// `as: Stable`: the controller never prunes its tags; listed newest semver first.
    pub stable: bool,
    /// Repository part of each tag's pull spec (`<pull_repo>:<tag>`).
    pub pull_repo: String,
    /// Tags in creation order (oldest first).
    pub tags: Vec<TagData>,
}

/// One release tag and its whole life.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagData {
    /// Tag name (`<stream>-YYYY-MM-DD-HHMMSS` for CI streams).
    pub name: String,
    /// Creation time; the tag is invisible before it.
    pub created: DateTime<Utc>,
    /// When the final phase was reached; `None` = stays `Ready` forever.
    pub decided: Option<DateTime<Utc>>,
    /// `Accepted`, `Rejected` or `Failed`.
    pub final_phase: String,
    /// Payload digest (`sha256:…`), empty for `Failed` tags.
    pub digest: String,
    /// Verification jobs.
    pub jobs: Vec<JobData>,
    /// Upgrades tested into this tag.
    pub upgrades_to: Vec<UpgradeData>,
    /// Versions its payload declares it can upgrade from (`release-metadata` `previous`)
    /// besides those of `upgrades_to`, which it always declares.
    pub previous: Vec<String>,
    /// Changelog against the previous tag of the stream (zero value for the first one).
    pub changelog: ChangeLog,
    /// The payload's components, sorted by name (empty for `Failed` tags).
    pub components: Vec<ComponentData>,
}

/// Which CI built a component image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum BuiltBy {
    /// OpenShift CI (ART): the image OCP ships, mirrored as is into OKD payloads.
    Ocp,
    /// OKD's own build (machine OS, components built with OKD's base or build tags).
    Okd,
}

/// One component of a release payload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ComponentData {
    /// Payload tag name, e.g. `cluster-version-operator`, `centos-stream-coreos-9`.
    pub name: String,
    /// Source repository URL, e.g. `https://github.com/openshift/oc`.
    pub source: String,
    /// The commit the image was built from.
    pub commit: String,
    /// Who built it; the same component at the same commit built by the same CI is the same
    /// image.
    pub built_by: BuiltBy,
    /// `io.openshift.build.versions` (`machine-os=…` for the machine OS), or empty.
    pub versions: String,
}

/// Which bucket of `results` a job is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum JobKind {
    /// `blockingJobs`: gates acceptance.
    Blocking,
    /// `informingJobs`: optional.
    Informing,
    /// `asyncJobs`: optional and asynchronous.
    Async,
}

/// One verification job of a tag, with all its attempts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobData {
    /// Verify key in the stream config, e.g. `aws`.
    pub name: String,
    /// Prow job name, e.g. `periodic-ci-openshift-release-master-okd-scos-4.21-e2e-aws-ovn`.
    pub prow_job: String,
    /// Result bucket.
    pub kind: JobKind,
    /// `Succeeded` or `Failed` once finished.
    pub final_state: String,
    /// URL of the deciding (last) attempt.
    pub url: String,
    /// Retries used (= `previous_attempt_urls.len()`).
    pub retries: u32,
    /// URLs of the earlier attempts, oldest first; each of them failed.
    pub previous_attempt_urls: Vec<String>,
    /// When each earlier attempt finished (parallel to `previous_attempt_urls`).
    pub previous_attempt_finished: Vec<DateTime<Utc>>,
    /// When the first attempt started; the job is absent before.
    pub started: DateTime<Utc>,
    /// When the last attempt finished; `Pending` before.
    pub finished: DateTime<Utc>,
}

/// Upgrade runs from one older tag into the owning tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradeData {
    /// Tag the cluster upgraded from.
    pub from: String,
    /// The runs; the edge is shown once the last of them finished.
    pub runs: Vec<UpgradeRun>,
}

/// One upgrade run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpgradeRun {
    /// Prow URL of the run (also the `History` key).
    pub url: String,
    /// `Succeeded` or `Failed`.
    pub state: String,
    /// When the run finished.
    pub finished: DateTime<Utc>,
}

/// Which tags `/api/v1/releasestreams/{which}` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamsFilter {
    /// `accepted`
    Accepted,
    /// `rejected`
    Rejected,
    /// `ready`
    Ready,
    /// `all`
    All,
}

impl StreamsFilter {
    /// Parses the route segment (`accepted`, `rejected`, `ready`, `all`).
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "accepted" => Some(Self::Accepted),
            "rejected" => Some(Self::Rejected),
            "ready" => Some(Self::Ready),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    fn admits(self, phase: &str) -> bool {
        match self {
            Self::Accepted => phase == PHASE_ACCEPTED,
            Self::Rejected => phase == PHASE_REJECTED,
            Self::Ready => phase == PHASE_READY,
            Self::All => true,
        }
    }
}

/// Formats a time the way Go marshals `metav1.Time` / `time.Time` at second precision.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The changelog zero value the controller sends when there is nothing to compare.
pub fn zero_changelog() -> ChangeLog {
    let zero = ChangeLogReleaseInfo {
        name: String::new(),
        created: "0001-01-01T00:00:00Z".to_string(),
        digest: String::new(),
        promoted_from: None,
    };
    ChangeLog {
        from: zero.clone(),
        to: zero,
        ..ChangeLog::default()
    }
}

impl TagData {
    /// The phase shown at `now` (meaningful only when `created <= now`).
    pub fn phase_at(&self, now: DateTime<Utc>) -> &str {
        match self.decided {
            Some(decided) if now >= decided => &self.final_phase,
            _ if now < self.created + Duration::seconds(PENDING_SECS) => PHASE_PENDING,
            _ => PHASE_READY,
        }
    }
}

impl JobData {
    /// The job's status at `now`, or `None` before it started.
    pub fn status_at(&self, now: DateTime<Utc>) -> Option<VerificationStatus> {
        if now < self.started {
            return None;
        }
        if now >= self.finished {
            return Some(VerificationStatus {
                state: self.final_state.clone(),
                url: self.url.clone(),
                retries: (self.retries > 0).then_some(i64::from(self.retries)),
                previous_attempt_urls: (!self.previous_attempt_urls.is_empty())
                    .then(|| self.previous_attempt_urls.clone()),
                transition_time: Some(rfc3339(self.finished)),
            });
        }
        let done = self
            .previous_attempt_finished
            .iter()
            .filter(|finished| **finished <= now)
            .count()
            .min(self.previous_attempt_urls.len());
        let url = self
            .previous_attempt_urls
            .get(done)
            .unwrap_or(&self.url)
            .clone();
        Some(VerificationStatus {
            state: STATE_PENDING.to_string(),
            url,
            retries: (done > 0).then_some(done as i64),
            previous_attempt_urls: (done > 0).then(|| self.previous_attempt_urls[..done].to_vec()),
            transition_time: done
                .checked_sub(1)
                .and_then(|i| self.previous_attempt_finished.get(i))
                .map(|t| rfc3339(*t)),
        })
    }
}

impl UpgradeData {
    /// When the edge becomes visible: the end of its last run.
    pub fn finished(&self) -> Option<DateTime<Utc>> {
        self.runs.iter().map(|run| run.finished).max()
    }

    fn visible_at(&self, now: DateTime<Utc>) -> bool {
        self.finished().is_some_and(|finished| finished <= now)
    }

    fn history(&self, from: &str, to: &str) -> UpgradeHistory {
        let success = self
            .runs
            .iter()
            .filter(|run| run.state == STATE_SUCCEEDED)
            .count() as i64;
        let failure = self
            .runs
            .iter()
            .filter(|run| run.state == STATE_FAILED)
            .count() as i64;
        UpgradeHistory {
            from: from.to_string(),
            to: to.to_string(),
            success,
            failure,
            total: self.runs.len() as i64,
            history: Some(
                self.runs
                    .iter()
                    .map(|run| {
                        (
                            run.url.clone(),
                            UpgradeResult {
                                state: run.state.clone(),
                                url: run.url.clone(),
                            },
                        )
                    })
                    .collect(),
            ),
        }
    }
}

impl ControllerData {
    /// Looks a stream up by name.
    pub fn stream(&self, name: &str) -> Option<&StreamData> {
        self.streams.iter().find(|stream| stream.name == name)
    }
}

impl StreamData {
    /// The tags the controller still holds at `now` (created, not pruned), newest semver
    /// first, each with its phase at `now`.
    pub fn listed_at(&self, now: DateTime<Utc>) -> Vec<(&TagData, &str)> {
        // Newest creation first, like `TagReferencesByAge`.
        let mut visible: Vec<(&TagData, &str)> = self
            .tags
            .iter()
            .filter(|tag| tag.created <= now)
            .map(|tag| (tag, tag.phase_at(now)))
            .collect();
        visible.sort_by(|a, b| {
            b.0.created
                .cmp(&a.0.created)
                .then_with(|| b.0.name.cmp(&a.0.name))
        });
        let removed = if self.stable {
            vec![false; visible.len()]
        } else {
            prune(&visible, now)
        };
        let mut kept: Vec<(&TagData, &str)> = visible
            .into_iter()
            .zip(removed)
            .filter(|(_, removed)| !removed)
            .map(|(entry, _)| entry)
            .collect();
        kept.sort_by(|a, b| version::newest_first(&a.0.name, &b.0.name));
        kept
    }

    fn api_tag(&self, controller: &ControllerData, tag: &TagData, phase: &str) -> ApiTag {
        ApiTag {
            name: tag.name.clone(),
            phase: phase.to_string(),
            pull_spec: format!("{}:{}", self.pull_repo, tag.name),
            download_url: controller
                .artifacts_url
                .as_ref()
                .map(|base| format!("{base}/{}", tag.name))
                .unwrap_or_default(),
        }
    }
}

/// `calculateSyncActions` (cmd/release-controller/sync.go) for a non-stable stream: given the
/// visible tags newest first with their phases, marks the ones the controller has deleted.
fn prune(tags: &[(&TagData, &str)], now: DateTime<Utc>) -> Vec<bool> {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut failed = Vec::new();
    let mut rejected_after = None;
    let mut failed_after = None;
    for (index, (_, phase)) in tags.iter().enumerate() {
        match *phase {
            PHASE_ACCEPTED => {
                accepted.push(index);
                rejected_after = Some(rejected.len());
                failed_after = Some(failed.len());
            }
            PHASE_REJECTED => rejected.push(index),
            PHASE_FAILED => failed.push(index),
            _ => {}
        }
    }
    let mut removed = vec![false; tags.len()];
    // Rejections and failures older than the oldest accepted tag go.
    if let Some(after) = rejected_after {
        for index in rejected.split_off(after) {
            removed[index] = true;
        }
    }
    if let Some(after) = failed_after {
        for index in failed.split_off(after) {
            removed[index] = true;
        }
    }
    // Only the newest five of each survive.
    for index in rejected.iter().skip(KEEP_PER_PHASE) {
        removed[*index] = true;
    }
    for index in failed.iter().skip(KEEP_PER_PHASE) {
        removed[*index] = true;
    }
    // Accepted tags beyond the newest five expire after 72 h.
    for index in accepted.iter().skip(KEEP_PER_PHASE) {
        if tags[*index].0.created + Duration::seconds(EXPIRES_SECS) < now {
            removed[*index] = true;
        }
    }
    removed
}

impl Dataset {
    /// Looks a controller up by name.
    pub fn controller(&self, name: &str) -> Option<&ControllerData> {
        self.controllers
            .iter()
            .find(|controller| controller.name == name)
    }

    /// Looks a stream up by controller and name.
    pub fn stream(&self, controller: &str, stream: &str) -> Option<&StreamData> {
        self.controller(controller)?.stream(stream)
    }

    /// Total number of tags across every controller and stream.
    pub fn tag_count(&self) -> usize {
        self.controllers
            .iter()
            .flat_map(|controller| &controller.streams)
            .map(|stream| stream.tags.len())
            .sum()
    }

    /// Sorted distinct moments worth stepping a virtual clock to: every tag's `created` and
    /// `decided`. With a positive `bucket`, moments closer than `bucket` to the first moment
    /// of their window are merged into the window's last moment (so stepping to it reveals
    /// all of them); a zero or negative bucket keeps every moment.
    pub fn event_times(&self, bucket: Duration) -> Vec<DateTime<Utc>> {
        let mut moments: Vec<DateTime<Utc>> = self
            .controllers
            .iter()
            .flat_map(|controller| &controller.streams)
            .flat_map(|stream| &stream.tags)
            .flat_map(|tag| std::iter::once(tag.created).chain(tag.decided))
            .collect();
        moments.sort();
        moments.dedup();
        if bucket <= Duration::zero() {
            return moments;
        }
        let mut merged: Vec<DateTime<Utc>> = Vec::new();
        let mut window_start: Option<DateTime<Utc>> = None;
        for moment in moments {
            match window_start {
                Some(start) if moment < start + bucket => {
                    if let Some(last) = merged.last_mut() {
                        *last = moment;
                    }
                }
                _ => {
                    window_start = Some(moment);
                    merged.push(moment);
                }
            }
        }
        merged
    }

    /// `GET /api/v1/releasestreams/{which}` at `now`: every stream that is not end-of-life,
    /// mapped to its listed tags of the wanted phase (`None` = JSON `null` when there are
    /// none). CI streams list newest creation first, stable streams newest semver first.
    /// `None` when the controller is unknown.
    pub fn streams(
        &self,
        controller: &str,
        which: StreamsFilter,
        now: DateTime<Utc>,
    ) -> Option<ReleaseStreams> {
        let controller = self.controller(controller)?;
        let mut out = ReleaseStreams::new();
        for stream in controller.streams.iter().filter(|s| !s.end_of_life) {
            let mut listed: Vec<(&TagData, &str)> = stream
                .listed_at(now)
                .into_iter()
                .filter(|(_, phase)| which.admits(phase))
                .collect();
            if !stream.stable {
                listed.sort_by_key(|(tag, _)| std::cmp::Reverse(tag.created));
            }
            let names: Vec<String> = listed.iter().map(|(tag, _)| tag.name.clone()).collect();
            out.insert(stream.name.clone(), (!names.is_empty()).then_some(names));
        }
        Some(out)
    }

    /// `GET /api/v1/releasestream/{stream}/tags[?phase=…]` at `now`: listed tags newest
    /// first, restricted to `phases` unless it is empty. `None` for an unknown stream.
    pub fn tags(
        &self,
        controller: &str,
        stream: &str,
        now: DateTime<Utc>,
        phases: &[String],
    ) -> Option<ApiRelease> {
        let controller = self.controller(controller)?;
        let data = controller.stream(stream)?;
        let tags = data
            .listed_at(now)
            .into_iter()
            .filter(|(_, phase)| phases.is_empty() || phases.iter().any(|p| p == phase))
            .map(|(tag, phase)| data.api_tag(controller, tag, phase))
            .collect();
        Some(ApiRelease {
            name: data.name.clone(),
            tags,
        })
    }

    /// The listed `Accepted` tags at `now`, newest semver first, as `/latest` sees them.
    /// `None` for an unknown stream.
    pub fn accepted(
        &self,
        controller: &str,
        stream: &str,
        now: DateTime<Utc>,
    ) -> Option<Vec<ApiTag>> {
        let controller = self.controller(controller)?;
        let data = controller.stream(stream)?;
        Some(
            data.listed_at(now)
                .into_iter()
                .filter(|(_, phase)| *phase == PHASE_ACCEPTED)
                .map(|(tag, phase)| data.api_tag(controller, tag, phase))
                .collect(),
        )
    }

    /// `GET /api/v1/releasestream/{stream}/latest[?prefix=]` at `now`: the newest `Accepted`
    /// tag (by semver) whose name starts with `prefix`. `None` for an unknown stream or when
    /// no tag matches.
    pub fn latest(
        &self,
        controller: &str,
        stream: &str,
        now: DateTime<Utc>,
        prefix: Option<&str>,
    ) -> Option<ApiTag> {
        self.accepted(controller, stream, now)?
            .into_iter()
            .find(|tag| prefix.is_none_or(|prefix| tag.name.starts_with(prefix)))
    }

    /// `GET /api/v1/releasestream/{stream}/release/{tag}` at `now`, with the changelog.
    /// `None` when the stream is unknown or the tag is not (or no longer) listed.
    pub fn release_info(
        &self,
        controller: &str,
        stream: &str,
        tag: &str,
        now: DateTime<Utc>,
    ) -> Option<ApiReleaseInfo> {
        self.release_info_with(controller, stream, tag, now, false)
    }

    /// Like [`Dataset::release_info`] with `?format=short`: the changelog is the zero value.
    pub fn release_info_short(
        &self,
        controller: &str,
        stream: &str,
        tag: &str,
        now: DateTime<Utc>,
    ) -> Option<ApiReleaseInfo> {
        self.release_info_with(controller, stream, tag, now, true)
    }

    fn release_info_with(
        &self,
        controller: &str,
        stream: &str,
        tag: &str,
        now: DateTime<Utc>,
        short: bool,
    ) -> Option<ApiReleaseInfo> {
        let controller = self.controller(controller)?;
        let data = controller.stream(stream)?;
        let (tag, phase) = data
            .listed_at(now)
            .into_iter()
            .find(|(candidate, _)| candidate.name == tag)?;

        let mut blocking = BTreeMap::new();
        let mut informing = BTreeMap::new();
        let mut asynchronous = BTreeMap::new();
        for job in &tag.jobs {
            if let Some(status) = job.status_at(now) {
                let bucket = match job.kind {
                    JobKind::Blocking => &mut blocking,
                    JobKind::Informing => &mut informing,
                    JobKind::Async => &mut asynchronous,
                };
                bucket.insert(job.name.clone(), status);
            }
        }
        let results = VerificationJobsSummary {
            blocking_jobs: (!blocking.is_empty()).then_some(blocking),
            informing_jobs: (!informing.is_empty()).then_some(informing),
            async_jobs: (!asynchronous.is_empty()).then_some(asynchronous),
            pending_jobs: None,
        };

        let upgrades_to: Vec<UpgradeHistory> = tag
            .upgrades_to
            .iter()
            .filter(|edge| edge.visible_at(now))
            .map(|edge| edge.history(&edge.from, &tag.name))
            .collect();
        let mut upgrades_from: Vec<UpgradeHistory> = controller
            .streams
            .iter()
            .flat_map(|stream| &stream.tags)
            .flat_map(|to| to.upgrades_to.iter().map(move |edge| (to, edge)))
            .filter(|(_, edge)| edge.from == tag.name && edge.visible_at(now))
            .map(|(to, edge)| edge.history(&tag.name, &to.name))
            .collect();
        upgrades_from.sort_by(|a, b| version::newest_first(&a.to, &b.to));
        upgrades_from.dedup();

        // The changelog needs the payload image, which Pending and Failed tags lack.
        let has_changelog = !short
            && phase != PHASE_PENDING
            && phase != PHASE_FAILED
            && !tag.changelog.from.name.is_empty();
        let (change_log, change_log_json) = if has_changelog {
            (
                Some(super::render::base64(
                    super::render::changelog_html(&tag.changelog).as_bytes(),
                )),
                tag.changelog.clone(),
            )
        } else {
            (None, zero_changelog())
        };

        Some(ApiReleaseInfo {
            name: tag.name.clone(),
            phase: phase.to_string(),
            results: Some(results),
            upgrades_to: (!upgrades_to.is_empty()).then_some(upgrades_to),
            upgrades_from: (!upgrades_from.is_empty()).then_some(upgrades_from),
            change_log,
            change_log_json: Some(change_log_json),
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 11, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    fn tag(
        name: &str,
        created: DateTime<Utc>,
        decided_after_min: Option<i64>,
        phase: &str,
    ) -> TagData {
        TagData {
            name: name.to_string(),
            created,
            decided: decided_after_min.map(|m| created + Duration::minutes(m)),
            final_phase: phase.to_string(),
            digest: String::new(),
            jobs: Vec::new(),
            upgrades_to: Vec::new(),
            previous: Vec::new(),
            changelog: zero_changelog(),
            components: Vec::new(),
        }
    }

    fn single_stream(stable: bool, tags: Vec<TagData>) -> Dataset {
        Dataset {
            controllers: vec![ControllerData {
                name: "origin".to_string(),
                artifacts_url: None,
                streams: vec![StreamData {
                    name: "4.21.0-0.okd-scos".to_string(),
                    end_of_life: false,
                    stable,
                    pull_repo: "registry.ci.openshift.org/origin/release-scos".to_string(),
                    tags,
                }],
            }],
        }
    }

    fn ci_name(created: DateTime<Utc>) -> String {
        format!("4.21.0-0.okd-scos-{}", created.format("%Y-%m-%d-%H%M%S"))
    }

    fn listed_names(data: &Dataset, now: DateTime<Utc>) -> Vec<String> {
        data.tags("origin", "4.21.0-0.okd-scos", now, &[])
            .expect("stream")
            .tags
            .into_iter()
            .map(|t| t.name)
            .collect()
    }

    #[test]
    fn phase_moves_pending_ready_final() {
        let created = anchor();
        let t = tag("x", created, Some(120), PHASE_REJECTED);
        assert_eq!(t.phase_at(created), PHASE_PENDING);
        assert_eq!(t.phase_at(created + Duration::minutes(9)), PHASE_PENDING);
        assert_eq!(t.phase_at(created + Duration::minutes(10)), PHASE_READY);
        assert_eq!(t.phase_at(created + Duration::minutes(119)), PHASE_READY);
        assert_eq!(t.phase_at(created + Duration::minutes(120)), PHASE_REJECTED);
        let failed = tag("y", created, Some(6), PHASE_FAILED);
        assert_eq!(
            failed.phase_at(created + Duration::minutes(5)),
            PHASE_PENDING
        );
        assert_eq!(
            failed.phase_at(created + Duration::minutes(6)),
            PHASE_FAILED
        );
        let stuck = tag("z", created, None, PHASE_ACCEPTED);
        assert_eq!(stuck.phase_at(created + Duration::days(400)), PHASE_READY);
    }

    #[test]
    fn tag_invisible_before_creation_and_jobs_appear_later() {
        let created = anchor();
        let mut t = tag(&ci_name(created), created, Some(200), PHASE_ACCEPTED);
        t.jobs.push(JobData {
            name: "aws".to_string(),
            prow_job: "job".to_string(),
            kind: JobKind::Blocking,
            final_state: STATE_SUCCEEDED.to_string(),
            url: "u2".to_string(),
            retries: 1,
            previous_attempt_urls: vec!["u1".to_string()],
            previous_attempt_finished: vec![created + Duration::minutes(100)],
            started: created + Duration::minutes(15),
            finished: created + Duration::minutes(200),
        });
        let name = t.name.clone();
        let data = single_stream(false, vec![t]);
        let info = |m: i64| {
            data.release_info(
                "origin",
                "4.21.0-0.okd-scos",
                &name,
                created + Duration::minutes(m),
            )
        };
        assert!(data
            .release_info(
                "origin",
                "4.21.0-0.okd-scos",
                &name,
                created - Duration::seconds(1)
            )
            .is_none());
        let early = info(14).expect("visible");
        assert_eq!(early.phase, PHASE_READY);
        assert!(early.results.expect("results").blocking_jobs.is_none());
        let running = info(15)
            .expect("visible")
            .results
            .expect("results")
            .blocking_jobs
            .expect("jobs");
        assert_eq!(running["aws"].state, STATE_PENDING);
        assert_eq!(running["aws"].url, "u1");
        let retrying = info(150)
            .expect("visible")
            .results
            .expect("results")
            .blocking_jobs
            .expect("jobs");
        assert_eq!(retrying["aws"].state, STATE_PENDING);
        assert_eq!(retrying["aws"].url, "u2");
        assert_eq!(retrying["aws"].retries, Some(1));
        let done = info(200).expect("visible");
        assert_eq!(done.phase, PHASE_ACCEPTED);
        let jobs = done.results.expect("results").blocking_jobs.expect("jobs");
        assert_eq!(jobs["aws"].state, STATE_SUCCEEDED);
        assert_eq!(
            jobs["aws"].previous_attempt_urls,
            Some(vec!["u1".to_string()])
        );
    }

    #[test]
    fn pruning_follows_calculate_sync_actions() {
        let now = anchor();
        // Oldest first: 3 old rejected, then 8 accepted and 7 rejected interleaved, all > 72 h old
        // except the newest few.
        let mut tags = Vec::new();
        let mut phases = Vec::new();
        for i in 0..3 {
            phases.push((i, PHASE_REJECTED));
        }
        for i in 3..11 {
            phases.push((i, PHASE_ACCEPTED));
        }
        for i in 11..18 {
            phases.push((i, PHASE_REJECTED));
        }
        phases.push((18, PHASE_FAILED));
        for (i, phase) in &phases {
            let created = now - Duration::days(20) + Duration::days(*i);
            tags.push(tag(&ci_name(created), created, Some(60), phase));
        }
        let names: Vec<String> = tags.iter().map(|t| t.name.clone()).collect();
        let data = single_stream(false, tags.clone());
        let listed = listed_names(&data, now);
        // Accepted 3..=10: newest five (6..=10) stay, 3..=5 are older than 72 h and go.
        for name in &names[3..=5] {
            assert!(!listed.contains(name), "expired accepted {name} kept");
        }
        for name in &names[6..=10] {
            assert!(listed.contains(name), "accepted {name} pruned");
        }
        // Rejected older than the oldest accepted (0..=2) go; of 11..=17 the newest five stay.
        for i in [0, 1, 2, 11, 12] {
            assert!(!listed.contains(&names[i]), "rejected {i} kept");
        }
        for name in &names[13..=17] {
            assert!(listed.contains(name), "rejected {name} pruned");
        }
        assert!(listed.contains(&names[18]));
        assert_eq!(listed.len(), 11);
        // Newest first.
        assert_eq!(listed.first(), Some(&names[18]));

        // A stable stream keeps everything.
        let stable = single_stream(true, tags);
        assert_eq!(listed_names(&stable, now).len(), phases.len());
    }

    #[test]
    fn pending_and_ready_tags_are_never_pruned() {
        let now = anchor();
        let mut tags = Vec::new();
        let old = now - Duration::days(30);
        tags.push(tag(&ci_name(old), old, None, PHASE_ACCEPTED));
        for i in 0..7 {
            let created = now - Duration::days(10) + Duration::hours(i);
            tags.push(tag(&ci_name(created), created, Some(30), PHASE_ACCEPTED));
        }
        let data = single_stream(false, tags);
        let listed = listed_names(&data, now);
        assert!(listed.contains(&ci_name(old)));
        assert_eq!(listed.len(), 6);
    }

    #[test]
    fn demo_is_deterministic_and_large_enough() {
        let a = Dataset::demo(anchor()).expect("demo data");
        let b = Dataset::demo(anchor()).expect("demo data");
        assert_eq!(a, b);
        assert!(a.tag_count() >= 220, "only {} tags", a.tag_count());
        let info = |d: &Dataset| {
            let name = d
                .tags("origin", "4.21.0-0.okd-scos", anchor(), &[])
                .expect("stream")
                .tags[1]
                .name
                .clone();
            serde_json::to_string(&d.release_info("origin", "4.21.0-0.okd-scos", &name, anchor()))
                .expect("json")
        };
        assert_eq!(info(&a), info(&b));
        let other = Dataset::demo(anchor() + Duration::hours(1)).expect("demo data");
        assert_ne!(a, other);
    }

    #[test]
    fn demo_has_the_expected_streams_and_counts() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let count = |c: &str, s: &str| data.stream(c, s).map(|s| s.tags.len()).unwrap_or(0);
        assert_eq!(count("origin", "4.15.0-0.okd"), 60);
        assert_eq!(count("origin", "4-stable"), 6);
        assert_eq!(count("origin", "4.20.0-0.okd-scos"), 45);
        assert_eq!(count("origin", "4.21.0-0.okd-scos"), 70);
        assert_eq!(count("origin", "4-scos-stable"), 10);
        assert_eq!(count("origin", "4-scos-next"), 8);
        assert_eq!(count("ocp", "4.21.0-0.ci"), 40);
        let fcos = data.stream("origin", "4.15.0-0.okd").expect("fcos");
        let first = fcos.tags.first().expect("tags").created;
        let last = fcos.tags.last().expect("tags");
        assert!(
            first
                >= Utc
                    .with_ymd_and_hms(2024, 1, 15, 0, 0, 0)
                    .single()
                    .expect("t")
        );
        assert_eq!(last.name, "4.15.0-0.okd-2024-03-10-010116");
        let stable = data.stream("origin", "4-stable").expect("stable");
        assert!(stable
            .tags
            .iter()
            .any(|t| t.name == "4.15.0-0.okd-2024-03-10-010116"));
        assert!(stable.tags.iter().all(|t| t.final_phase == PHASE_ACCEPTED));
    }

    #[test]
    fn tag_names_follow_upstream_formats() {
        let data = Dataset::demo(anchor()).expect("demo data");
        for controller in &data.controllers {
            for stream in &controller.streams {
                let mut names: Vec<&str> = stream.tags.iter().map(|t| t.name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(
                    names.len(),
                    stream.tags.len(),
                    "duplicate names in {}",
                    stream.name
                );
                for t in &stream.tags {
                    assert!(t.created.timestamp_subsec_nanos() == 0);
                    if stream.name == "4-stable" {
                        assert!(t.name.starts_with("4.15.0-0.okd-20"));
                    } else if stream.stable {
                        assert!(t.name.contains("-okd-scos."), "{}", t.name);
                        assert!(version::parse(&t.name).is_some());
                    } else {
                        let expected =
                            format!("{}-{}", stream.name, t.created.format("%Y-%m-%d-%H%M%S"));
                        assert_eq!(t.name, expected);
                    }
                }
            }
        }
        let next = data.stream("origin", "4-scos-next").expect("next");
        assert!(next.tags.iter().any(|t| t.name == "4.22.0-okd-scos.ec.1"));
        let stable = data.stream("origin", "4-scos-stable").expect("stable");
        assert!(stable.tags.iter().any(|t| t.name == "4.20.0-okd-scos.6"));
        assert!(stable.tags.iter().any(|t| t.name == "4.21.0-okd-scos.2"));
    }

    #[test]
    fn phase_mix_and_rejections_are_consistent() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut ci_total = 0;
        for controller in &data.controllers {
            for stream in controller.streams.iter().filter(|s| !s.stable) {
                for t in &stream.tags {
                    ci_total += 1;
                    *counts.entry(t.final_phase.clone()).or_default() += 1;
                    let blocking: Vec<&JobData> = t
                        .jobs
                        .iter()
                        .filter(|j| j.kind == JobKind::Blocking)
                        .collect();
                    match t.final_phase.as_str() {
                        PHASE_ACCEPTED => {
                            assert!(!blocking.is_empty());
                            assert!(blocking.iter().all(|j| j.final_state == STATE_SUCCEEDED));
                            let last = blocking.iter().map(|j| j.finished).max();
                            assert_eq!(t.decided, last);
                        }
                        PHASE_REJECTED => {
                            let failed: Vec<&&JobData> = blocking
                                .iter()
                                .filter(|j| j.final_state == STATE_FAILED)
                                .collect();
                            assert!(!failed.is_empty(), "{} rejected without failure", t.name);
                            assert!(failed.iter().all(|j| j.retries > 0));
                            assert_eq!(t.decided, failed.iter().map(|j| j.finished).min());
                        }
                        PHASE_FAILED => assert!(t.jobs.is_empty()),
                        other => panic!("unexpected final phase {other}"),
                    }
                    for j in &t.jobs {
                        assert_eq!(j.retries as usize, j.previous_attempt_urls.len());
                        assert_eq!(
                            j.previous_attempt_urls.len(),
                            j.previous_attempt_finished.len()
                        );
                        if crate::hostile::is_hostile(t) {
                            // the poisoned release's URLs are hostile on purpose
                            continue;
                        }
                        assert!(j.url.starts_with(
                            "https://prow.ci.openshift.org/view/gs/test-platform-results/logs/"
                        ));
                        let id = j.url.rsplit('/').next().expect("id");
                        assert_eq!(id.len(), 19, "{}", j.url);
                        assert!(j.started == t.created + Duration::seconds(JOBS_START_SECS));
                    }
                }
            }
        }
        let share = |p: &str| counts.get(p).copied().unwrap_or(0) as f64 / ci_total as f64;
        assert!((0.5..0.8).contains(&share(PHASE_ACCEPTED)), "{counts:?}");
        assert!((0.18..0.45).contains(&share(PHASE_REJECTED)), "{counts:?}");
        assert!(
            counts.get(PHASE_FAILED).copied().unwrap_or(0) >= 2,
            "{counts:?}"
        );
    }

    #[test]
    fn newest_tags_are_in_flight_at_anchor() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let scos = data
            .tags("origin", "4.21.0-0.okd-scos", anchor(), &[])
            .expect("stream");
        assert_eq!(scos.tags[0].phase, PHASE_READY);
        let info = data
            .release_info("origin", "4.21.0-0.okd-scos", &scos.tags[0].name, anchor())
            .expect("info");
        let blocking = info
            .results
            .expect("results")
            .blocking_jobs
            .expect("running jobs");
        assert_eq!(blocking["aws"].state, STATE_PENDING);
        let ocp = data
            .tags("ocp", "4.21.0-0.ci", anchor(), &[])
            .expect("stream");
        assert_eq!(ocp.tags[0].phase, PHASE_PENDING);
        assert!(ocp.tags[0].download_url.starts_with("https://"));
        assert_eq!(scos.tags[0].download_url, "");
        assert!(scos.tags[0]
            .pull_spec
            .starts_with("registry.ci.openshift.org/origin/release-scos:"));
        // Everything gets decided eventually.
        let later = anchor() + Duration::days(2);
        let scos_later = data
            .tags("origin", "4.21.0-0.okd-scos", later, &[])
            .expect("stream");
        assert!(scos_later
            .tags
            .iter()
            .all(|t| t.phase != PHASE_READY && t.phase != PHASE_PENDING));
        // Pruning keeps at most 5 accepted older than 72 h plus what is younger.
        assert!(scos.tags.len() < 20, "{} tags listed", scos.tags.len());
    }

    #[test]
    fn upgrade_edges_are_consistent() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let mut checked = 0;
        for controller in &data.controllers {
            for stream in &controller.streams {
                for (index, t) in stream.tags.iter().enumerate() {
                    for job in t
                        .jobs
                        .iter()
                        .filter(|j| j.name == "aws-upgrade" || j.name == "upgrade")
                    {
                        let edge = t
                            .upgrades_to
                            .iter()
                            .find(|e| e.runs.iter().any(|r| r.url == job.url))
                            .expect("edge for upgrade job");
                        if !stream.stable {
                            // From the newest earlier tag accepted before the job started.
                            let expected = stream.tags[..index]
                                .iter()
                                .rev()
                                .find(|p| {
                                    p.final_phase == PHASE_ACCEPTED
                                        && p.decided.is_some_and(|d| d <= job.started)
                                })
                                .expect("previous accepted");
                            assert_eq!(edge.from, expected.name);
                        }
                        let last = edge.runs.last().expect("runs");
                        assert_eq!(last.url, job.url);
                        assert_eq!(last.state, job.final_state);
                        assert_eq!(edge.runs.len(), job.previous_attempt_urls.len() + 1);
                        assert_eq!(edge.finished(), Some(job.finished));
                        let later = job.finished + Duration::seconds(1);
                        let history = data
                            .release_info_short(&controller.name, &stream.name, &t.name, later)
                            .and_then(|info| info.upgrades_to);
                        if let Some(history) = history {
                            let h = history
                                .iter()
                                .find(|h| h.from == edge.from)
                                .expect("history");
                            assert_eq!(h.success + h.failure, h.total);
                            assert_eq!(h.total as usize, edge.runs.len());
                            assert_eq!(h.history.as_ref().map(|m| m.len()), Some(edge.runs.len()));
                        }
                        let before = job.finished - Duration::seconds(1);
                        if let Some(info) =
                            data.release_info_short(&controller.name, &stream.name, &t.name, before)
                        {
                            assert!(info
                                .upgrades_to
                                .unwrap_or_default()
                                .iter()
                                .all(|h| h.from != edge.from));
                        }
                        checked += 1;
                    }
                    for edge in &t.upgrades_to {
                        // Every edge starts at a tag of the same controller.
                        assert!(controller.streams.iter().any(|s| s
                            .tags
                            .iter()
                            .any(|p| p.name == edge.from && p.created < t.created)));
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} upgrade jobs");

        // upgradesFrom mirrors upgradesTo.
        let far = anchor() + Duration::days(1);
        let scos = data.stream("origin", "4-scos-stable").expect("stable");
        let newest = scos.tags.last().expect("tags");
        let info = data
            .release_info("origin", "4-scos-stable", &newest.name, far)
            .expect("info");
        let to = info.upgrades_to.expect("upgradesTo");
        assert!((2..=3).contains(&to.len()), "{} edges", to.len());
        for h in to {
            let from = data
                .release_info("origin", "4-scos-stable", &h.from, far)
                .expect("from tag");
            assert!(from.upgrades_from.expect("upgradesFrom").contains(&h));
        }
        // The minor upgrade job of 4.21 starts from 4.20.
        let minor = data
            .stream("origin", "4.21.0-0.okd-scos")
            .expect("4.21")
            .tags
            .iter()
            .flat_map(|t| &t.upgrades_to)
            .filter(|e| e.from.starts_with("4.20.0-0.okd-scos-"))
            .count();
        assert!(minor > 30, "{minor} minor edges");
    }

    #[test]
    fn changelogs_chain_tags() {
        let data = Dataset::demo(anchor()).expect("demo data");
        for controller in &data.controllers {
            for stream in &controller.streams {
                let mut previous: Option<&TagData> = None;
                for t in &stream.tags {
                    if t.final_phase == PHASE_FAILED {
                        assert_eq!(t.changelog, zero_changelog());
                        continue;
                    }
                    match previous {
                        None => assert_eq!(t.changelog, zero_changelog(), "{}", t.name),
                        Some(p) => {
                            assert_eq!(t.changelog.from.name, p.name);
                            assert_eq!(t.changelog.from.digest, p.digest);
                            assert_eq!(t.changelog.to.name, t.name);
                            assert_eq!(t.changelog.to.created, rfc3339(t.created));
                            assert!(t.changelog.to.digest.starts_with("sha256:"));
                            assert_eq!(t.changelog.to.digest.len(), 71);
                            assert_eq!(t.changelog.to.promoted_from.is_some(), stream.stable);
                            let components = t.changelog.components.as_ref().expect("components");
                            assert_eq!(components[0].name, "Kubernetes");
                            // a mirrored-era payload made from the same OCP CI release as
                            // the one before may change only what OKD builds
                            let mirrored_era = stream.name.ends_with("-0.okd");
                            let images = match t.changelog.updated_images.as_ref() {
                                Some(images) => images.as_slice(),
                                None if mirrored_era => &[],
                                None => panic!("{}: updated images", t.name),
                            };
                            for image in images {
                                assert!(image.path.starts_with("https://github.com/openshift/"));
                                assert!(image
                                    .full_change_log
                                    .as_ref()
                                    .is_some_and(|u| u.contains("/compare/")));
                                let commits = image.commits.as_ref().expect("commits");
                                assert!(!commits.is_empty());
                            }
                        }
                    }
                    previous = Some(t);
                }
            }
        }
        let stable = data.stream("origin", "4-stable").expect("4-stable");
        let last = stable.tags.last().expect("tag");
        assert_eq!(
            last.changelog.to.promoted_from.as_deref(),
            Some("registry.ci.openshift.org/origin/release:4.15.0-0.okd-2024-03-10-010116")
        );
        let scos = data.stream("origin", "4.21.0-0.okd-scos").expect("scos");
        let os = scos
            .tags
            .iter()
            .find_map(|t| t.changelog.components.as_ref())
            .expect("components");
        assert_eq!(os[1].name, "CentOS Stream CoreOS");
        assert!(os[0].version.starts_with("1.34."));
    }

    #[test]
    fn end_of_life_streams_hide_from_lists_only() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let all = data
            .streams("origin", StreamsFilter::All, anchor())
            .expect("controller");
        assert!(!all.contains_key("4.14.0-0.okd"));
        assert!(all.contains_key("4.15.0-0.okd"));
        assert!(all.contains_key("4-scos-next"));
        let eol = data
            .tags("origin", "4.14.0-0.okd", anchor(), &[])
            .expect("eol stream");
        assert!(!eol.tags.is_empty());
        let ready = data
            .streams("origin", StreamsFilter::Ready, anchor())
            .expect("controller");
        assert_eq!(ready["4.21.0-0.okd-scos"].as_ref().map(Vec::len), Some(1));
        assert_eq!(ready["4-scos-stable"], None);
        let accepted = data
            .streams("origin", StreamsFilter::Accepted, anchor())
            .expect("c");
        let scos_stable = accepted["4-scos-stable"].as_ref().expect("stable tags");
        assert_eq!(scos_stable[0], "4.21.0-okd-scos.2");
        assert!(data.streams("nope", StreamsFilter::All, anchor()).is_none());
    }

    #[test]
    fn latest_and_phase_filters() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let latest = data
            .latest("origin", "4-scos-stable", anchor(), None)
            .expect("latest");
        assert_eq!(latest.name, "4.21.0-okd-scos.2");
        assert_eq!(
            latest.pull_spec,
            "quay.io/okd/scos-release:4.21.0-okd-scos.2"
        );
        let prefixed = data
            .latest("origin", "4-scos-stable", anchor(), Some("4.20"))
            .expect("latest 4.20");
        assert!(prefixed.name.starts_with("4.20.0-okd-scos."));
        let rejected = data
            .tags(
                "origin",
                "4.21.0-0.okd-scos",
                anchor(),
                &[PHASE_REJECTED.to_string()],
            )
            .expect("stream");
        assert!(rejected.tags.iter().all(|t| t.phase == PHASE_REJECTED));
        assert!(data.latest("origin", "nope", anchor(), None).is_none());
    }

    #[test]
    fn event_times_are_sorted_and_bucketed() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let all = data.event_times(Duration::zero());
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.len() > 400);
        let hourly = data.event_times(Duration::hours(6));
        assert!(hourly.len() < all.len());
        assert!(hourly.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(hourly.last(), all.last());
    }

    #[test]
    fn scaled_multiplies_tags() {
        let data = Dataset::scaled(anchor(), 10).expect("demo data");
        assert!(data.tag_count() >= 2300, "{}", data.tag_count());
        for controller in &data.controllers {
            for stream in &controller.streams {
                let mut names: Vec<&str> = stream.tags.iter().map(|t| t.name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(names.len(), stream.tags.len());
            }
        }
    }
}
