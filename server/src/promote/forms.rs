//! The HTML forms behind the promotion pages, so they work without JavaScript: confirming a
//! plan (`POST /promotions`) and managing targets (`POST /admin/targets`,
//! `POST /admin/targets/{name}/delete`). Each needs a signed-in user and the form's CSRF
//! token, and answers with a redirect to the page that shows the result or the refusal.

use app::model::promotion::PromotionTarget;
use app::viewer::Viewer;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Form, Router};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::request::PromotionRequest;
use crate::api::promotions::validate_target;
use crate::AppState;

/// The form routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/promotions", post(confirm_promotion))
        .route("/admin/targets", post(save_target))
        .route("/admin/targets/{name}/delete", post(remove_target))
}

fn q(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The signed-in user who sent a same-site form with their token; otherwise the refusal.
fn form_user(
    viewer: Option<Extension<Viewer>>,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Viewer, Response> {
    let Some(Extension(viewer)) = viewer else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "sign in to do this: /sign-in",
        ));
    };
    same_site_with_token(&viewer, headers, csrf)
        .map_err(|reason| refuse(StatusCode::FORBIDDEN, reason))?;
    Ok(viewer)
}

fn same_site_with_token(viewer: &Viewer, headers: &HeaderMap, csrf: &str) -> Result<(), String> {
    use subtle::ConstantTimeEq;
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err("cross-site form posts are refused".to_string());
    }
    let ok = !viewer.csrf.is_empty() && bool::from(viewer.csrf.as_bytes().ct_eq(csrf.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err("the form's CSRF token is missing or wrong; reload the page and try again".to_string())
    }
}

/// The confirm form of the plan page.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
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
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let viewer = match form_user(viewer, &headers, &form.csrf) {
        Ok(v) => v,
        Err(r) => return r,
    };
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
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
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

fn require_admin(viewer: &Viewer) -> Result<(), Response> {
    if viewer.is_admin() {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::FORBIDDEN,
            format!(
                "{} is not an admin; only admins manage promotion targets",
                viewer.name
            ),
        ))
    }
}

async fn save_target(
    State(state): State<AppState>,
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<TargetForm>,
) -> Response {
    let viewer = match form_user(viewer, &headers, &form.csrf) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&viewer) {
        return r;
    }
    let target = PromotionTarget {
        name: form.name.trim().to_string(),
        source_stream: form.source_stream.trim().to_string(),
        content_repo: form.content_repo.trim().to_string(),
        release_repo: form.release_repo.trim().to_string(),
        name_template: form.name_template.trim().to_string(),
        webhook_url: Some(form.webhook_url.trim().to_string()).filter(|u| !u.is_empty()),
    };
    if let Err(reason) = validate_target(&target) {
        return Redirect::to(&format!("/admin/targets?error={}", q(&reason))).into_response();
    }
    match state.store.upsert_target(&target, chrono::Utc::now()).await {
        Ok(()) => {
            tracing::info!(target = %target.name, by = %viewer.name, "promotion target saved");
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

/// A form carrying only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
}

async fn remove_target(
    State(state): State<AppState>,
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let viewer = match form_user(viewer, &headers, &form.csrf) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(&viewer) {
        return r;
    }
    match state.store.delete_target(&name).await {
        Ok(()) => {
            tracing::info!(target = %name, by = %viewer.name, "promotion target removed");
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
