//! Server functions of the promotion pages.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::promotion::{
    PromotionList, PromotionPage, PromotionPanel, PromotionPlan, PromotionTarget,
};

/// Where a release may be promoted and its promotions so far.
#[server(endpoint = "promotion_panel")]
pub async fn get_promotion_panel(
    stream: String,
    release: String,
) -> Result<PromotionPanel, AppError> {
    crate::backend::backend()?
        .promotion_panel(&stream, &release)
        .await
}

/// The dry run of a promotion.
#[server(endpoint = "promotion_plan")]
pub async fn get_promotion_plan(
    target: String,
    stream: String,
    release: String,
) -> Result<PromotionPlan, AppError> {
    crate::backend::backend()?
        .promotion_plan(&target, &stream, &release)
        .await
}

/// Promotions, newest first.
#[server(endpoint = "promotions")]
pub async fn list_promotions(before: Option<i64>) -> Result<PromotionList, AppError> {
    crate::backend::backend()?.promotions(before).await
}

/// One promotion.
#[server(endpoint = "promotion")]
pub async fn get_promotion(id: i64) -> Result<PromotionPage, AppError> {
    crate::backend::backend()?.promotion(id).await
}

/// Every promotion target.
#[server(endpoint = "targets")]
pub async fn list_targets() -> Result<Vec<PromotionTarget>, AppError> {
    crate::backend::backend()?.targets().await
}
