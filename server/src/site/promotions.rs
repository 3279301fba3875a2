//! The promotion pages' questions: a release's promotion panel (with a promoted release's
//! signature), the plan, the list of promotions, one promotion with its release notes, and
//! the targets as admins see them.

use app::error::AppError;
use app::model::promotion::{
    PromotionList, PromotionPage, PromotionPanel, PromotionPlan, PromotionState, TargetList,
};
use app::viewer::Viewer;
use chrono::Utc;

use super::SiteBackend;
use crate::promote::{webhook, PromoteError};
use crate::secret::secrets_equal;
use crate::store::StoreError;

/// Promotions per page of `/promotions`.
const PER_PAGE: u32 = 50;

impl SiteBackend {
    /// Targets taking `release`'s stream, its promotions, and where it came from.
    pub async fn panel(&self, stream: &str, release: &str) -> Result<PromotionPanel, StoreError> {
        let targets = self.reads.store().targets_for_stream(stream).await?;
        let history = self
            .reads
            .store()
            .promotions_of_release(stream, release)
            .await?
            .iter()
            .map(|r| r.to_model())
            .collect();
        let promoted = self
            .reads
            .store()
            .promotion_of_promoted(stream, release)
            .await?;
        let promoted_signature = promoted.as_ref().and_then(|p| p.release_signature());
        let promoted_from = promoted.map(|p| (p.source_stream, p.source_release, p.id));
        let github_release = match &promoted_from {
            Some((_, _, id)) => self
                .reads
                .store()
                .publish_steps(*id)
                .await?
                .into_iter()
                .find(|s| s.step == app::model::promotion::PublishStep::GithubRelease && s.done)
                .and_then(|s| s.reference),
            None => None,
        };
        Ok(PromotionPanel {
            targets,
            history,
            promoted_from,
            github_release,
            promoted_signature,
        })
    }

    /// The dry run for `viewer`, or why there is none.
    pub async fn plan(
        &self,
        viewer: &Viewer,
        target: &str,
        stream: &str,
        release: &str,
    ) -> Result<PromotionPlan, AppError> {
        let planner = self
            .planner
            .as_ref()
            .ok_or_else(|| AppError::Refused("promotion is not enabled on this server".into()))?;
        planner
            .review(viewer, target, stream, release, Utc::now())
            .await
            .map_err(|e| match e {
                PromoteError::UnknownTarget(_)
                | PromoteError::UnknownRelease(_)
                | PromoteError::UnknownPromotion(_) => AppError::NotFound(e.public_message()),
                PromoteError::Store(_) | PromoteError::Events(_) => {
                    tracing::error!(error = %e, "planning a promotion failed");
                    AppError::Unavailable("the plan could not be made".into())
                }
                other => AppError::Refused(other.public_message()),
            })
    }

    /// Every target with its webhook masked, and the webhook `new_webhook` (the target
    /// form's cookie) carries when it is still the target's: then it is shown in full.
    pub async fn admin_targets(&self, new_webhook: Option<&str>) -> Result<TargetList, StoreError> {
        let mut targets = self.reads.store().targets().await?;
        let hooks = self.reads.store().target_webhooks().await?;
        for target in &mut targets {
            target.webhook_masked = hooks
                .iter()
                .find(|h| h.name == target.name)
                .map(|h| webhook::mask(&h.webhook_url));
        }
        let new_webhook = new_webhook.and_then(webhook::read_reveal).filter(|shown| {
            hooks.iter().any(|h| {
                h.name == shown.target
                    && h.webhook_url == shown.url
                    && h.webhook_secret
                        .as_deref()
                        .is_some_and(|secret| secrets_equal(secret, &shown.secret))
            })
        });
        Ok(TargetList {
            targets,
            new_webhook,
        })
    }

    /// A page of promotions, newest first.
    pub async fn promotion_list(&self, before: Option<i64>) -> Result<PromotionList, StoreError> {
        let rows = self.reads.store().promotions(before, PER_PAGE).await?;
        Ok(PromotionList {
            now: Utc::now(),
            promotions: rows.iter().map(|r| r.to_model()).collect(),
        })
    }

    /// One promotion and, once it succeeded, its release notes.
    pub async fn promotion_page(&self, id: i64) -> Result<PromotionPage, StoreError> {
        let row = self
            .reads
            .store()
            .promotion(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("promotion {id}")))?;
        let notes = if row.state() == PromotionState::Succeeded {
            let base = self.reads.public_url().unwrap_or_default().to_string();
            Some(
                crate::promote::notes::release_notes(self.reads.store(), &self.reads, &row, &base)
                    .await?,
            )
        } else {
            None
        };
        let mut promotion = row.to_model();
        promotion.publish_steps = self.reads.store().publish_steps(id).await?;
        Ok(PromotionPage {
            now: Utc::now(),
            promotion,
            notes_html: notes.as_deref().map(crate::promote::notes::to_html),
            notes,
        })
    }
}
