//! The UI's port to the server: the questions pages ask, answered by the server's store.
//!
//! Compiled only with `ssr`. The server provides an implementation as Leptos context
//! ([`SharedBackend`]); server functions call it through [`backend`].

use std::sync::Arc;

use crate::error::AppError;
use crate::model::account::{TokenInfo, UserInfo};
use crate::model::jobs::{JobPage, JobRanking};
use crate::model::promotion::{
    PromotionList, PromotionPage, PromotionPanel, PromotionPlan, PromotionTarget, TargetList,
};
use crate::model::search::{SearchResults, Suggestion};
use crate::model::upgrade::UpgradeAnswer;
use crate::model::{
    BadgePage, Comparison, ComponentHistory, Overview, Phase, ReleaseDetail, StreamPage,
};
use crate::viewer::Viewer;

/// What the pages need from the server.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The front page: every stream with its health.
    async fn overview(&self) -> Result<Overview, AppError>;
    /// One page of a stream's releases, newest first, optionally of one phase.
    async fn stream_page(
        &self,
        stream: &str,
        phase: Option<Phase>,
        page: u32,
    ) -> Result<StreamPage, AppError>;
    /// One release; `stream` picks among streams sharing the tag name.
    async fn release(&self, tag: &str, stream: Option<&str>) -> Result<ReleaseDetail, AppError>;
    /// Two releases compared: components added, removed and changed, and gate differences.
    async fn compare(&self, from: &str, to: &str) -> Result<Comparison, AppError>;
    /// Whether a cluster on release `from` is offered release `to`, why not, and the
    /// shortest chain of offered updates. An unknown `to` is [`AppError::NotFound`]; `from`
    /// may be any version name.
    async fn upgrade(&self, from: &str, to: &str) -> Result<UpgradeAnswer, AppError>;
    /// Every run of job `name` across the releases of `stream` over the last 30 days, with
    /// its pass and flake rates; an unknown stream or a job that never ran in it is
    /// [`AppError::NotFound`].
    async fn job(&self, stream: &str, name: &str) -> Result<JobPage, AppError>;
    /// The jobs of `stream` ranked by how often they blocked acceptance in the last 14 days.
    async fn jobs(&self, stream: &str) -> Result<JobRanking, AppError>;
    /// What `q` finds (see [`crate::model::search::Query`]) and where each thing first appeared per stream; a
    /// query that cannot be searched for is [`AppError::BadRequest`], finding nothing is not
    /// an error.
    async fn search(&self, q: &str) -> Result<SearchResults, AppError>;
    /// What the search box offers while `q` is typed (empty for an unusable `q`).
    async fn suggest(&self, q: &str) -> Result<Vec<Suggestion>, AppError>;
    /// A component's images across the releases of `stream` (default: the newest OKD CI
    /// stream that has it).
    async fn component_history(
        &self,
        name: &str,
        stream: Option<&str>,
    ) -> Result<ComponentHistory, AppError>;
    /// The streams a badge can be made for, and the configured public URL (empty when not
    /// configured: the page then uses the request's host).
    async fn badge_page(&self) -> Result<BadgePage, AppError>;
    /// Where a release may be promoted and its promotions so far.
    async fn promotion_panel(
        &self,
        stream: &str,
        release: &str,
    ) -> Result<PromotionPanel, AppError>;
    /// The dry run of promoting `release` of `stream` to `target`, for `viewer`, who must
    /// be allowed to promote there (refused before any registry is asked). Registry reads
    /// are reused for a short while, so looking at a plan again costs the registries
    /// nothing.
    async fn promotion_plan(
        &self,
        viewer: &Viewer,
        target: &str,
        stream: &str,
        release: &str,
    ) -> Result<PromotionPlan, AppError>;
    /// Promotions newest first, older than `before` when given.
    async fn promotions(&self, before: Option<i64>) -> Result<PromotionList, AppError>;
    /// One promotion with its release notes.
    async fn promotion(&self, id: i64) -> Result<PromotionPage, AppError>;
    /// Every promotion target, as anyone may see it (whether it has a webhook, not where).
    async fn targets(&self) -> Result<Vec<PromotionTarget>, AppError>;
    /// Every promotion target for an admin: webhooks masked, and the webhook this admin
    /// just set, carried by `new_webhook` (the value of the cookie the target form set),
    /// shown in full when it is still the target's.
    async fn targets_for_admin(&self, new_webhook: Option<&str>) -> Result<TargetList, AppError>;
    /// The API tokens of user `name`, newest first.
    async fn api_tokens(&self, name: &str) -> Result<Vec<TokenInfo>, AppError>;
    /// Every user, by name (the pages ask for admins only).
    async fn users(&self) -> Result<Vec<UserInfo>, AppError>;
}

/// The backend as shared context.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend provided by the server for this request.
pub fn backend() -> Result<SharedBackend, AppError> {
    leptos::prelude::use_context::<SharedBackend>()
        .ok_or_else(|| AppError::Unavailable("no backend in context".to_string()))
}
