//! The HTML forms behind the promotion pages, so they work without JavaScript: confirming a
//! plan (`POST /promotions`) and managing targets (`POST /admin/targets`,
//! `POST /admin/targets/{name}/delete`). Each needs a signed-in user and the form's CSRF
//! token ([`Write`]), and answers with a redirect to the page that shows the result or the
//! refusal.

use crate::percent::encode as q;
use app::model::promotion::PromotionTarget;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::request::PromotionRequest;
use crate::api::promotions::checked_target;
use crate::auth::extract::{NoFields, Write};
use crate::auth::require_admin;
use crate::AppState;

/// The form routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/promotions", post(confirm_promotion))
        .route("/admin/targets", post(save_target))
        .route("/admin/targets/{name}/delete", post(remove_target))
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The confirm form of the plan page.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    /// Target.
    pub target: String,
    /// CI stream.
    pub stream: String,
    /// CI release.
    pub release: String,
    /// The name the plan showed.
    #[serde(default)]
    pub expected_name: String,
    /// Admin override reason.
    #[serde(default)]
    pub override_reason: String,
}

async fn confirm_promotion(
    State(state): State<AppState>,
    Write { user, body: form }: Write<ConfirmForm>,
) -> Response {
    let viewer = user.viewer();
    let Some(promotions) = state.promotions.as_ref() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "promotion is not enabled on this server",
        );
    };
    let req = PromotionRequest {
        target: form.target.clone(),
        stream: form.stream.clone(),
        release: form.release.clone(),
        override_reason: Some(form.override_reason.clone()),
        expected_name: Some(form.expected_name.clone()),
    };
    match promotions.request(&viewer, &req).await {
        Ok((id, _)) => Redirect::to(&format!("/promotions/{id}")).into_response(),
        Err(e) => {
            let status = e.status();
            if status == StatusCode::FORBIDDEN
                && !matches!(e, super::PromoteError::GatesNotPassed(_))
            {
                return refuse(status, e.public_message());
            }
            Redirect::to(&format!(
                "/promote/{}?stream={}&target={}&error={}",
                q(&form.release),
                q(&form.stream),
                q(&form.target),
                q(&e.public_message())
            ))
            .into_response()
        }
    }
}

/// The target form of `/admin/targets`.
#[derive(Debug, Deserialize)]
pub struct TargetForm {
    /// Target stream name.
    pub name: String,
    /// CI stream it takes.
    pub source_stream: String,
    /// Content repository.
    pub content_repo: String,
    /// Release repository.
    pub release_repo: String,
    /// Name template.
    pub name_template: String,
    /// Webhook URL (empty: none).
    #[serde(default)]
    pub webhook_url: String,
}

async fn save_target(
    State(state): State<AppState>,
    Write { user, body: form }: Write<TargetForm>,
) -> Response {
    if let Err(e) = require_admin(&user) {
        return refuse(StatusCode::FORBIDDEN, e.to_string());
    }
    let target = match checked_target(PromotionTarget {
        name: form.name,
        source_stream: form.source_stream,
        content_repo: form.content_repo,
        release_repo: form.release_repo,
        name_template: form.name_template,
        webhook_url: Some(form.webhook_url),
    }) {
        Ok(target) => target,
        Err(reason) => {
            return Redirect::to(&format!("/admin/targets?error={}", q(&reason))).into_response()
        }
    };
    match state.store.upsert_target(&target, chrono::Utc::now()).await {
        Ok(()) => {
            tracing::info!(target = %target.name, by = %user.name, "promotion target saved");
            Redirect::to(&format!("/admin/targets?saved={}", q(&target.name))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "saving a promotion target failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the target could not be saved",
            )
        }
    }
}

async fn remove_target(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Write { user, .. }: Write<NoFields>,
) -> Response {
    if let Err(e) = require_admin(&user) {
        return refuse(StatusCode::FORBIDDEN, e.to_string());
    }
    match state.store.delete_target(&name).await {
        Ok(()) => {
            tracing::info!(target = %name, by = %user.name, "promotion target removed");
            Redirect::to(&format!("/admin/targets?removed={}", q(&name))).into_response()
        }
        Err(crate::store::StoreError::NotFound(what)) => {
            refuse(StatusCode::NOT_FOUND, format!("{what} not found"))
        }
        Err(e) => {
            tracing::error!(error = %e, "removing a promotion target failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the target could not be removed",
            )
        }
    }
}
