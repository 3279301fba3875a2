//! Promotion: copying an accepted CI release to its target — the component images by digest
//! to the content repository, a new release payload with rewritten `image-references` and
//! `release-metadata` to the release repository — as `oc adm release new --from-release
//! … --mirror … --to-image …` does, behind a plan that is shown before it is confirmed.
//!
//! [`plan`] makes the dry run, [`request`] turns a confirmed plan into a job (an event),
//! [`worker`] runs jobs (resuming after a restart) or has a target's release [`pipeline`]
//! run them, [`notes`] writes release notes and
//! [`notify`] tells a chat room or pipeline, signed as [`webhook`] says. After publishing,
//! [`publishing`] adopts the release into an image stream ([`adoption`]) and publishes its
//! notes as a GitHub release ([`github_release`]), with tokens read by [`token_file`]. The OCI work is in
//! [`copy`], [`rebuild`] and [`payload`] (the release manifests, from the component
//! images), with [`blobs`]; the source release's signature is checked by [`signature`] and
//! [`verification`], the published release is signed by [`signing`] into a
//! [`signature_dir`].

pub mod adoption;
pub mod blobs;
pub mod copy;
pub mod forms;
pub mod github_release;
pub mod notes;
pub mod notify;
pub mod payload;
pub mod pipeline;
pub mod plan;
pub mod publish_http;
pub mod publishing;
pub mod rebuild;
pub mod request;
pub mod signature;
pub mod signature_dir;
pub mod signing;
pub mod target_publishing;
pub mod targets;
pub mod token_file;
pub mod verification;
pub mod webhook;
pub mod worker;

use crate::edge::error::ApiError;
use crate::events::EventError;
use crate::store::StoreError;

/// Why a promotion cannot be planned, requested or run.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// The server is shutting down; the job is resumed later.
    #[error("interrupted by shutdown; resumed later")]
    Interrupted,
    /// No such target.
    #[error("no promotion target {0}")]
    UnknownTarget(String),
    /// No such release.
    #[error("no release {0}")]
    UnknownRelease(String),
    /// No such promotion.
    #[error("no promotion {0}")]
    UnknownPromotion(i64),
    /// The target takes releases of another stream.
    #[error("target {target} takes releases of {takes}, not of {stream}")]
    WrongStream {
        /// Target.
        target: String,
        /// The stream it takes.
        takes: String,
        /// The stream asked for.
        stream: String,
    },
    /// The release's payload has not been read, so its images are not known.
    #[error("the payload of {0} has not been read yet; its images are not known")]
    PayloadNotRead(String),
    /// The target's name template cannot name this release.
    #[error("name template {template:?}: {reason}")]
    Template {
        /// The template.
        template: String,
        /// What is wrong.
        reason: String,
    },
    /// The blocking gates have not all succeeded and nobody overrode them.
    #[error("blocking gates have not all succeeded ({0}); an admin may override with a reason")]
    GatesNotPassed(String),
    /// The release's signature is not valid.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// The user may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The plan changed between showing and confirming it.
    #[error("the plan changed since it was shown ({0}); review it again")]
    PlanChanged(String),
    /// A request field is wrong.
    #[error("{0}")]
    Invalid(String),
    /// Copying or publishing failed.
    #[error(transparent)]
    Copy(#[from] copy::CopyError),
    /// The target's release pipeline could not be started or did not deliver.
    #[error(transparent)]
    Pipeline(#[from] pipeline::PipelineError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Recording an event failed.
    #[error(transparent)]
    Events(#[from] EventError),
}

impl PromoteError {
    /// The message shown to users: internal failures are not described.
    pub fn public_message(&self) -> String {
        match self {
            PromoteError::Store(StoreError::Conflict(m) | StoreError::InvalidText(m)) => m.clone(),
            PromoteError::Store(_) | PromoteError::Events(_) => {
                "the promotion could not be stored; try again".to_string()
            }
            other => other.to_string(),
        }
    }
}

/// What the HTTP handlers need to plan and request promotions.
#[derive(Clone)]
pub struct Promotions {
    /// Makes plans (and reads the registries to do so).
    pub planner: plan::Planner,
    /// Wakes the worker when a job is requested.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Promotions {
    /// Checks and records a request, then wakes the worker.
    pub async fn request(
        &self,
        viewer: &app::viewer::Viewer,
        req: &request::PromotionRequest,
    ) -> Result<(i64, app::model::promotion::PromotionPlan), PromoteError> {
        let done = request::request(&self.planner, viewer, req, chrono::Utc::now()).await?;
        self.wake.notify_one();
        Ok(done)
    }
}

/// Every promotion failure as the [`ApiError`] of the same meaning; the HTTP mapping itself
/// lives with [`ApiError`].
impl From<PromoteError> for ApiError {
    fn from(e: PromoteError) -> Self {
        let message = e.public_message();
        match e {
            PromoteError::UnknownTarget(_)
            | PromoteError::UnknownRelease(_)
            | PromoteError::UnknownPromotion(_)
            | PromoteError::Store(StoreError::NotFound(_)) => ApiError::NotFound(message),
            PromoteError::WrongStream { .. }
            | PromoteError::Template { .. }
            | PromoteError::Invalid(_) => ApiError::Unprocessable(message),
            PromoteError::GatesNotPassed(_)
            | PromoteError::Signature(_)
            | PromoteError::Forbidden(_) => ApiError::Forbidden(message),
            PromoteError::PayloadNotRead(_)
            | PromoteError::PlanChanged(_)
            | PromoteError::Store(StoreError::Conflict(_)) => ApiError::Conflict(message),
            PromoteError::Store(StoreError::InvalidText(_)) => ApiError::BadRequest(message),
            PromoteError::Copy(_) | PromoteError::Pipeline(_) => ApiError::BadGateway(message),
            PromoteError::Interrupted => ApiError::Busy {
                message,
                retry_after: crate::edge::error::RETRY_AFTER,
            },
            e @ (PromoteError::Store(_) | PromoteError::Events(_)) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}
