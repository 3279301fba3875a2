//! The server functions' backend: [`SiteBackend`] answers the app's
//! [`app::backend::Backend`] questions, the reads from [`StoreBackend`] and the promotion
//! questions (panel, plan, list, one promotion with its notes, targets for admins) with the
//! planner when promotion is on.

mod promotions;

use std::sync::Arc;

use app::backend::Backend;
use app::error::AppError;
use app::model::promotion::{
    PromotionList, PromotionPage, PromotionPanel, PromotionPlan, PromotionTarget, TargetList,
};
use app::model::{
    BadgePage, Comparison, ComponentHistory, Overview, Phase, ReleaseDetail, StreamPage,
};

use crate::backend::{internal, page_error, StoreBackend};
use crate::promote::plan::Planner;

/// The app's backend on this server.
#[derive(Clone)]
pub struct SiteBackend {
    reads: StoreBackend,
    planner: Option<Planner>,
}

impl SiteBackend {
    /// Answers with `reads`, and plans promotions with `planner` (none: promotion is off).
    pub fn new(reads: StoreBackend, planner: Option<Planner>) -> Self {
        SiteBackend { reads, planner }
    }

    /// As shared Leptos context.
    pub fn shared(self) -> app::backend::SharedBackend {
        Arc::new(self)
    }
}

#[async_trait::async_trait]
impl Backend for SiteBackend {
    async fn overview(&self) -> Result<Overview, AppError> {
        self.reads.overview().await
    }

    async fn stream_page(
        &self,
        stream: &str,
        phase: Option<Phase>,
        page: u32,
    ) -> Result<StreamPage, AppError> {
        self.reads.stream_page(stream, phase, page).await
    }

    async fn release(&self, tag: &str, stream: Option<&str>) -> Result<ReleaseDetail, AppError> {
        self.reads.release(tag, stream).await
    }

    async fn compare(&self, from: &str, to: &str) -> Result<Comparison, AppError> {
        self.reads.compare(from, to).await
    }

    async fn upgrade(
        &self,
        from: &str,
        to: &str,
    ) -> Result<app::model::upgrade::UpgradeAnswer, AppError> {
        self.reads.upgrade(from, to).await
    }

    async fn component_history(
        &self,
        name: &str,
        stream: Option<&str>,
    ) -> Result<ComponentHistory, AppError> {
        self.reads.component_history(name, stream).await
    }

    async fn job(&self, stream: &str, name: &str) -> Result<app::model::jobs::JobPage, AppError> {
        self.reads.job(stream, name).await
    }

    async fn jobs(&self, stream: &str) -> Result<app::model::jobs::JobRanking, AppError> {
        self.reads.jobs(stream).await
    }

    async fn search(&self, q: &str) -> Result<app::model::search::SearchResults, AppError> {
        self.reads.find(q).await
    }

    async fn suggest(&self, q: &str) -> Result<Vec<app::model::search::Suggestion>, AppError> {
        self.reads.suggest(q).await
    }

    async fn promotion_panel(
        &self,
        stream: &str,
        release: &str,
    ) -> Result<PromotionPanel, AppError> {
        self.panel(stream, release).await.map_err(page_error)
    }

    async fn promotion_plan(
        &self,
        viewer: &app::viewer::Viewer,
        target: &str,
        stream: &str,
        release: &str,
    ) -> Result<PromotionPlan, AppError> {
        self.plan(viewer, target, stream, release).await
    }

    async fn promotions(&self, before: Option<i64>) -> Result<PromotionList, AppError> {
        self.promotion_list(before).await.map_err(page_error)
    }

    async fn promotion(&self, id: i64) -> Result<PromotionPage, AppError> {
        self.promotion_page(id).await.map_err(page_error)
    }

    async fn targets(&self) -> Result<Vec<PromotionTarget>, AppError> {
        self.reads.targets().await
    }

    async fn targets_for_admin(&self, new_webhook: Option<&str>) -> Result<TargetList, AppError> {
        self.admin_targets(new_webhook).await.map_err(internal)
    }

    async fn badge_page(&self) -> Result<BadgePage, AppError> {
        self.reads.badge_page().await
    }

    async fn api_tokens(
        &self,
        name: &str,
    ) -> Result<Vec<app::model::account::TokenInfo>, AppError> {
        self.reads.api_tokens(name).await
    }

    async fn users(&self) -> Result<Vec<app::model::account::UserInfo>, AppError> {
        self.reads.users().await
    }
}
