//! Server functions of the promotion pages. Reads are public except where they would show
//! a secret or cost the registries: a plan needs someone allowed to promote to its target
//! (checked here, before the backend asks any registry), and webhook addresses are shown
//! to admins only, masked, in full once right after an admin set one.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::promotion::{
    PromotionList, PromotionPage, PromotionPanel, PromotionPlan, TargetList,
};

/// The cookie that carries a webhook an admin just set (its address and signing secret) to
/// `/admin/targets`, once.
pub const NEW_WEBHOOK_COOKIE: &str = "sg_new_webhook";

/// The user the server's middleware found for this request.
#[cfg(feature = "ssr")]
fn viewer() -> Option<crate::viewer::Viewer> {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::viewer::Viewer>().cloned())
}

/// Sets the answer's status (the page's, when rendered on the server).
#[cfg(feature = "ssr")]
fn answer_status(status: http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

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

/// The dry run of a promotion, for someone allowed to promote to `target`: anonymous
/// callers get 401 and maintainers limited to other targets 403, before any registry is
/// asked.
#[server(endpoint = "promotion_plan")]
pub async fn get_promotion_plan(
    target: String,
    stream: String,
    release: String,
) -> Result<PromotionPlan, AppError> {
    let Some(viewer) = viewer() else {
        answer_status(http::StatusCode::UNAUTHORIZED);
        return Err(AppError::Refused(
            "sign in as a maintainer to see a promotion plan".into(),
        ));
    };
    if !viewer.may_promote(&target) {
        answer_status(http::StatusCode::FORBIDDEN);
        return Err(AppError::Refused(format!(
            "{} may not promote to {target}",
            viewer.name
        )));
    }
    crate::backend::backend()?
        .promotion_plan(&viewer, &target, &stream, &release)
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

/// Every promotion target; for an admin with webhooks masked, and the webhook they just set
/// in full, once (its cookie is removed by this answer, which is not to be stored).
#[server(endpoint = "targets")]
pub async fn list_targets() -> Result<TargetList, AppError> {
    let backend = crate::backend::backend()?;
    if !viewer().is_some_and(|v| v.is_admin()) {
        return Ok(TargetList {
            targets: backend.targets().await?,
            new_webhook: None,
        });
    }
    let cookie = crate::auth::api::request_cookie(NEW_WEBHOOK_COOKIE);
    let list = backend.targets_for_admin(cookie.as_deref()).await?;
    if cookie.is_some() {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            // no Secure flag: removing a cookie must work on plain-http installs too
            if let Ok(value) = http::HeaderValue::from_str(&format!(
                "{NEW_WEBHOOK_COOKIE}=; HttpOnly; SameSite=Strict; Path=/admin/targets; Max-Age=0"
            )) {
                response.append_header(http::header::SET_COOKIE, value);
            }
            response.insert_header(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
        }
    }
    Ok(list)
}
