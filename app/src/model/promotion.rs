//! Promotions as the pages and the JSON API show them: targets, the dry-run plan, jobs and
//! their progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a promotion job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromotionState {
    /// Confirmed, waiting for a worker.
    Planned,
    /// Copying the component images to the content repository.
    Copying,
    /// Building and pushing the new release payload.
    Publishing,
    /// Checking every digest at the target.
    Verifying,
    /// Done: the release is in its target stream.
    Succeeded,
    /// Stopped with an error; nothing was tagged unless it says so.
    Failed,
}

impl PromotionState {
    /// Every state, in order.
    pub const ALL: [PromotionState; 6] = [
        PromotionState::Planned,
        PromotionState::Copying,
        PromotionState::Publishing,
        PromotionState::Verifying,
        PromotionState::Succeeded,
        PromotionState::Failed,
    ];

    /// The state's name as stored and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            PromotionState::Planned => "planned",
            PromotionState::Copying => "copying",
            PromotionState::Publishing => "publishing",
            PromotionState::Verifying => "verifying",
            PromotionState::Succeeded => "succeeded",
            PromotionState::Failed => "failed",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<PromotionState> {
        PromotionState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(self, PromotionState::Succeeded | PromotionState::Failed)
    }
}

/// A stored state name read back: an unknown name is an error, not a guess.
impl TryFrom<String> for PromotionState {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        PromotionState::parse(&name).ok_or_else(|| format!("no promotion state {name:?}"))
    }
}

impl std::fmt::Display for PromotionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where releases of a CI stream are promoted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionTarget {
    /// The target stream, e.g. `4-scos-next`.
    pub name: String,
    /// The CI stream whose accepted releases it takes, e.g. `4.21.0-0.okd-scos`.
    pub source_stream: String,
    /// Where component images are copied (`quay.io/okd/scos-content`).
    pub content_repo: String,
    /// Where the new release payload is pushed (`quay.io/okd/scos-release`).
    pub release_repo: String,
    /// The new release's name, e.g. `{version}-okd-scos.ec.{n}`: `{version}` is the CI
    /// release's version (`4.21.0`), `{n}` counts up from 0 per version in the target.
    pub name_template: String,
    /// Whether a signed JSON notice of each finished promotion is posted to a webhook. The
    /// webhook's address is a credential (a chat webhook URL lets anyone post to the room):
    /// it is never part of this shape, only whether there is one.
    #[serde(default)]
    pub has_webhook: bool,
    /// For admins only: the webhook's address masked to its scheme and host
    /// (`https://hooks.example.com/…`); `None` for everyone else and in plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_masked: Option<String>,
    /// What happens after a promotion has published its payload: adoption into an image
    /// stream, a GitHub release.
    #[serde(default)]
    pub publishing: TargetPublishing,
    /// When OKD's own release pipeline promotes into this target: the address of its
    /// Tekton EventListener. Streamgate then starts the pipeline and follows its result
    /// instead of copying and publishing itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_url: Option<String>,
}

/// What a target does once a promotion has published its payload, besides its webhook.
/// Nothing here is a secret: the credentials are the server's (token files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPublishing {
    /// The namespace of the image stream the release is tagged into, e.g. `origin`.
    #[serde(default)]
    pub adopt_namespace: Option<String>,
    /// That image stream, e.g. `release-scos`: the release becomes the ImageStreamTag
    /// `release-scos:<name>`, as the release pipeline's channel update makes it.
    #[serde(default)]
    pub adopt_imagestream: Option<String>,
    /// The GitHub repository (`owner/name`) the release notes are published to as a
    /// release, e.g. `okd-project/okd-scos`.
    #[serde(default)]
    pub github_repo: Option<String>,
}

impl TargetPublishing {
    /// The image stream the release is adopted into, as `namespace/imagestream`.
    pub fn adoption(&self) -> Option<(&str, &str)> {
        match (&self.adopt_namespace, &self.adopt_imagestream) {
            (Some(ns), Some(is)) => Some((ns.as_str(), is.as_str())),
            _ => None,
        }
    }

    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.adopt_namespace.is_none()
            && self.adopt_imagestream.is_none()
            && self.github_repo.is_none()
    }
}

/// A step done after a promotion published its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishStep {
    /// The ImageStreamTag `<imagestream>:<name>` was created through the OpenShift API.
    Adoption,
    /// The release notes were published as a GitHub release.
    GithubRelease,
}

impl PublishStep {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishStep::Adoption => "adoption",
            PublishStep::GithubRelease => "github_release",
        }
    }

    /// The step named `s`.
    pub fn parse(s: &str) -> Option<PublishStep> {
        [PublishStep::Adoption, PublishStep::GithubRelease]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A stored step name read back: an unknown name is an error, not a guess.
impl TryFrom<String> for PublishStep {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        PublishStep::parse(&name).ok_or_else(|| format!("no publishing step {name:?}"))
    }
}

/// How a [`PublishStep`] ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishStepResult {
    /// The step.
    pub step: PublishStep,
    /// Whether it was done.
    pub done: bool,
    /// What happened: where the release went, or why it did not.
    pub detail: String,
    /// What it made: `namespace/imagestream:name` for an adoption, the release's page
    /// (`html_url`) for a GitHub release.
    #[serde(default)]
    pub reference: Option<String>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// A webhook an admin just set: its full address and the secret its notices are signed
/// with, shown to that admin this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    /// The target.
    pub target: String,
    /// The webhook's full address.
    pub url: String,
    /// The signing secret: notices carry `X-Streamgate-Signature: sha256=<hex>`, the
    /// HMAC-SHA256 of the body's bytes with this secret as the key.
    pub secret: String,
}

/// The `/admin/targets` page: every target, and for the admin who just set a webhook, its
/// address and secret once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetList {
    /// Every target, by name (webhooks masked for admins, absent for everyone else).
    pub targets: Vec<PromotionTarget>,
    /// The webhook the viewing admin just set.
    pub new_webhook: Option<NewWebhook>,
}

/// The blocking gates of the release being promoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSummary {
    /// Blocking jobs.
    pub blocking: u32,
    /// Blocking jobs that succeeded.
    pub succeeded: u32,
    /// Blocking jobs that did not succeed, with their state.
    pub not_succeeded: Vec<(String, String)>,
}

impl GateSummary {
    /// Whether every blocking gate succeeded (and there was at least one, or the release is
    /// accepted without any).
    pub fn passed(&self) -> bool {
        self.not_succeeded.is_empty()
    }
}

/// The result of checking the release's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SignatureStatus {
    /// No signature store is configured; nothing was checked.
    Unchecked,
    /// A valid signature by a trusted key names the payload digest.
    Verified {
        /// Signing key fingerprint.
        fingerprint: String,
        /// `docker-reference` the signature names.
        identity: String,
    },
    /// No valid signature: why.
    Invalid {
        /// What was wrong.
        reason: String,
    },
}

/// The signature of a promoted release's payload: the signed document is written for every
/// promotion; whether it was signed, and where the signature is, depends on the server's
/// signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSignature {
    /// The payload digest the document names (`sha256:…`).
    pub digest: String,
    /// The document, exactly as signed: `oc adm release new`'s release signature message
    /// (`critical` names the digest and the pull spec by digest, `optional` the creator and
    /// the time).
    pub message: String,
    /// Whether it was signed.
    #[serde(flatten)]
    pub status: SigningStatus,
}

impl ReleaseSignature {
    /// Where this server serves the signature, when it was signed.
    pub fn href(&self) -> Option<String> {
        match &self.status {
            SigningStatus::Signed { path, .. } => Some(format!("/signatures/{path}")),
            _ => None,
        }
    }

    /// One line for people: signed by which key, unsigned, or why signing failed.
    pub fn summary(&self) -> String {
        match &self.status {
            SigningStatus::Unsigned => {
                "unsigned (no signing key is configured; the signature message is kept)".to_string()
            }
            SigningStatus::Signed { key, .. } => format!("signed by key {key}"),
            SigningStatus::Failed { reason } => format!("signing failed: {reason}"),
        }
    }
}

/// Whether a promoted release's signature message was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SigningStatus {
    /// No signing key is configured: the message was written, not signed.
    Unsigned,
    /// Signed, and stored in the signature store.
    Signed {
        /// The key that signed (as configured: a key id or fingerprint).
        key: String,
        /// Its place in the signature store, `sha256=<hex>/signature-<n>`.
        path: String,
    },
    /// Signing or storing the signature failed; the release is published all the same.
    Failed {
        /// Why.
        reason: String,
    },
}

impl SigningStatus {
    /// The status's name as the API writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            SigningStatus::Unsigned => "unsigned",
            SigningStatus::Signed { .. } => "signed",
            SigningStatus::Failed { .. } => "failed",
        }
    }
}

/// One image a promotion copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedImage {
    /// The payload tag (component) name.
    pub name: String,
    /// Source, by digest.
    pub source: String,
    /// Destination, by digest.
    pub destination: String,
    /// Blobs (config and layers, over all platforms).
    pub blobs: u32,
    /// Their bytes.
    pub bytes: u64,
}

/// How many declared versions the release-controller tests upgrades from.
pub const SAMPLED: usize = 3;

/// A dry run: everything a promotion would do, shown before it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionPlan {
    /// The target.
    pub target: PromotionTarget,
    /// The CI release promoted.
    pub stream: String,
    /// Its name.
    pub release: String,
    /// Its pull spec.
    pub pull_spec: String,
    /// Its payload digest.
    pub payload_digest: String,
    /// The new release's name.
    pub name: String,
    /// Where the new release payload goes (`release_repo:name`).
    pub destination: String,
    /// Versions clusters may update from (`release-metadata`'s `previous`).
    pub previous: Vec<String>,
    /// Every component image.
    pub images: Vec<PlannedImage>,
    /// Distinct blobs to transfer, over all images.
    pub blobs: u32,
    /// Their bytes.
    pub bytes: u64,
    /// Of those, blobs already at the target.
    pub blobs_present: u32,
    /// Their bytes.
    pub bytes_present: u64,
    /// Blocking gates.
    pub gates: GateSummary,
    /// The release's signature.
    pub signature: SignatureStatus,
    /// When the plan was made.
    pub planned_at: DateTime<Utc>,
}

impl PromotionPlan {
    /// When the new release declares more than 3 versions: the release-controller tests a
    /// random sample of 3, so any of the others may go untested, and clusters on a version
    /// never tested are not offered the release.
    pub fn sampling_warning(&self) -> Option<String> {
        let n = self.previous.len();
        (n > SAMPLED).then(|| {
            format!(
                "The release-controller tests upgrades from a random sample of {SAMPLED} of these {n} versions; any {} of {} may go untested, and clusters on a version never tested are not offered this release.",
                n - SAMPLED,
                self.previous.join(", ")
            )
        })
    }

    /// Blobs that must be copied or mounted.
    pub fn blobs_to_copy(&self) -> u32 {
        self.blobs.saturating_sub(self.blobs_present)
    }

    /// Bytes that must be copied or mounted.
    pub fn bytes_to_copy(&self) -> u64 {
        self.bytes.saturating_sub(self.bytes_present)
    }
}

/// How far a running promotion is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionProgress {
    /// Images copied.
    pub images_done: u64,
    /// Images to copy.
    pub images_total: u64,
    /// Blobs handled (copied, mounted or found present).
    pub blobs_done: u64,
    /// Blobs to handle.
    pub blobs_total: u64,
    /// Bytes transferred or found present.
    pub bytes_done: u64,
    /// Bytes in all.
    pub bytes_total: u64,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: u64,
    /// Blobs that were already at the target.
    pub blobs_skipped: u64,
}

impl PromotionProgress {
    /// Done, in per cent of blobs handled (copied, mounted or found present); of images
    /// before the blobs are counted.
    pub fn percent(&self) -> u32 {
        let (done, total) = if self.blobs_total > 0 {
            (self.blobs_done, self.blobs_total)
        } else {
            (self.images_done, self.images_total)
        };
        if total == 0 {
            return 0;
        }
        ((done.min(total) as u128 * 100) / total as u128) as u32
    }
}

/// One promotion job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// Its number.
    pub id: i64,
    /// Target stream.
    pub target: String,
    /// CI stream of the promoted release.
    pub source_stream: String,
    /// The promoted CI release.
    pub source_release: String,
    /// Its pull spec.
    pub source_pull_spec: String,
    /// The new release's name.
    pub name: String,
    /// Versions clusters may update from.
    pub previous: Vec<String>,
    /// Who asked for it.
    pub requested_by: String,
    /// Why an admin promoted a release whose gates had not all passed.
    pub override_reason: Option<String>,
    /// Where it is.
    pub state: PromotionState,
    /// What went wrong, for a failed promotion.
    pub detail: String,
    /// The plan it was confirmed with.
    pub plan: Option<PromotionPlan>,
    /// Progress of the copy.
    pub progress: PromotionProgress,
    /// The pushed release payload, `release_repo@sha256:…`, once published.
    pub result_pull_spec: Option<String>,
    /// Its digest.
    pub result_digest: Option<String>,
    /// The published payload's signature, once published and checked.
    #[serde(default)]
    pub signature: Option<ReleaseSignature>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When a worker started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The steps after publishing (adoption, GitHub release) and how they ended; a failed
    /// step leaves the promotion published.
    #[serde(default)]
    pub publish_steps: Vec<PublishStepResult>,
}

impl Promotion {
    /// How long it ran (so far, at `now`).
    pub fn duration(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        let start = self.started_at?;
        Some(self.finished_at.unwrap_or(now) - start)
    }
}

/// The `/promotions` page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionList {
    /// Server time.
    pub now: DateTime<Utc>,
    /// Newest first.
    pub promotions: Vec<Promotion>,
}

/// One promotion's page: the job, its release notes, and whether the viewer may retry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionPage {
    /// Server time.
    pub now: DateTime<Utc>,
    /// The job.
    pub promotion: Promotion,
    /// Release notes (Markdown), once it succeeded.
    pub notes: Option<String>,
    /// The same notes as sanitised HTML (raw HTML in the Markdown is shown as text, links
    /// go only to `http`, `https` and this site).
    pub notes_html: Option<super::SanitizedHtml>,
}

/// The release page's promotion panel: where the release may go, and what happened before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionPanel {
    /// Targets taking releases of this release's stream.
    pub targets: Vec<PromotionTarget>,
    /// Promotions of this release, newest first.
    pub history: Vec<Promotion>,
    /// The CI release this one was promoted from, when it was promoted by Streamgate.
    pub promoted_from: Option<(String, String, i64)>,
    /// The GitHub release its notes were published as, when they were.
    #[serde(default)]
    pub github_release: Option<String>,
    /// For a release Streamgate promoted, its payload's signature.
    #[serde(default)]
    pub promoted_signature: Option<ReleaseSignature>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_their_names() {
        for state in PromotionState::ALL {
            assert_eq!(PromotionState::parse(state.as_str()), Some(state));
        }
        assert_eq!(PromotionState::parse("done"), None);
        assert!(PromotionState::Failed.is_terminal());
        assert!(!PromotionState::Verifying.is_terminal());
    }

    #[test]
    fn a_release_signature_reads_flat_with_its_status_and_links_only_when_signed() {
        let signed = ReleaseSignature {
            digest: "sha256:ab".into(),
            message: "{}".into(),
            status: SigningStatus::Signed {
                key: "FPR".into(),
                path: "sha256=ab/signature-2".into(),
            },
        };
        let json = serde_json::to_value(&signed).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"digest": "sha256:ab", "message": "{}", "status": "signed",
                "key": "FPR", "path": "sha256=ab/signature-2"})
        );
        assert_eq!(
            serde_json::from_value::<ReleaseSignature>(json).expect("back"),
            signed
        );
        assert_eq!(
            signed.href().as_deref(),
            Some("/signatures/sha256=ab/signature-2")
        );
        assert_eq!(signed.summary(), "signed by key FPR");
        let failed = ReleaseSignature {
            status: SigningStatus::Failed {
                reason: "gpg said no".into(),
            },
            ..signed.clone()
        };
        assert_eq!(failed.href(), None);
        assert_eq!(failed.summary(), "signing failed: gpg said no");
        let json = serde_json::to_value(&failed).expect("json");
        assert_eq!(json["status"], "failed");
        assert_eq!(json["reason"], "gpg said no");
        let unsigned = ReleaseSignature {
            status: SigningStatus::Unsigned,
            ..signed
        };
        assert_eq!(unsigned.href(), None);
        assert_eq!(
            serde_json::to_value(&unsigned).expect("json")["status"],
            "unsigned"
        );
    }

    #[test]
    fn progress_counts_blobs_mounted_ones_too_and_never_passes_100() {
        let mut p = PromotionProgress {
            blobs_total: 4,
            blobs_done: 1,
            bytes_total: 400,
            bytes_done: 0,
            blobs_mounted: 1,
            ..Default::default()
        };
        assert_eq!(p.percent(), 25);
        p.blobs_done = 5;
        assert_eq!(p.percent(), 100);
        let images = PromotionProgress {
            images_total: 3,
            images_done: 1,
            ..Default::default()
        };
        assert_eq!(images.percent(), 33);
        assert_eq!(PromotionProgress::default().percent(), 0);
    }
}
