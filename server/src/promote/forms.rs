//! The HTML forms behind the promotion pages, so they work without JavaScript: confirming a
//! plan (`POST /promotions`) and managing targets (`POST /admin/targets`,
//! `POST /admin/targets/{name}/delete`). Each needs a signed-in user and the form's CSRF
//! token ([`Write`]), and answers with a redirect to the page that shows the result, or
//! with a refusal as the request asked ([`Answer`]). A webhook an admin sets goes to `/admin/targets` in a one-minute cookie, so that
//! page shows its address and signing secret to that admin once.

use crate::percent::encode as q;
use app::model::promotion::NewWebhook;
use app::promotions::api::NEW_WEBHOOK_COOKIE;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::request::PromotionRequest;
use super::target_publishing::{checked_publishing, save_publishing, PublishingChange};
use super::targets::{
    apply_pipeline, checked_target, pipeline_change, save_target, webhook_change,
};
use super::webhook;
use crate::auth::extract::{NoFields, Write};
use crate::auth::require_admin;
use crate::auth::AuthSettings;
use crate::edge::answer::Answer;
use crate::edge::error::ApiError;
use crate::store::promotions::NewTarget;
use crate::AppState;

/// The form routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/promotions", post(confirm_promotion))
        .route("/admin/targets", post(save_target_form))
        .route("/admin/targets/{name}/delete", post(remove_target))
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
    answer: Answer,
    Write { user, body: form }: Write<ConfirmForm>,
) -> Response {
    let viewer = user.viewer();
    let Some(promotions) = state.promotions.as_ref() else {
        return answer.refuse(ApiError::Unavailable(
            "promotion is not enabled on this server".into(),
        ));
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
            if matches!(
                e,
                super::PromoteError::Signature(_) | super::PromoteError::Forbidden(_)
            ) {
                return answer.refuse(e.into());
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
    /// Webhook URL (empty: the target keeps its webhook; an address: a new webhook and
    /// signing secret).
    #[serde(default)]
    pub webhook_url: String,
    /// `on` to remove the webhook.
    #[serde(default)]
    pub remove_webhook: Option<String>,
    /// Namespace releases are adopted into (empty: no adoption).
    #[serde(default)]
    pub adopt_namespace: String,
    /// Image stream releases are adopted into (empty: no adoption).
    #[serde(default)]
    pub adopt_imagestream: String,
    /// GitHub repository release notes are published to (empty: none).
    #[serde(default)]
    pub github_repo: String,
    /// The EventListener of OKD's release pipeline when it promotes into the target (empty:
    /// Streamgate promotes itself).
    #[serde(default)]
    pub pipeline_url: String,
}

/// The cookie carrying `hook` to `/admin/targets`, for one minute.
fn new_webhook_cookie(hook: &NewWebhook, settings: &AuthSettings) -> Option<HeaderValue> {
    let cookie = cookie::Cookie::build((NEW_WEBHOOK_COOKIE, webhook::reveal_cookie(hook)))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/admin/targets")
        .secure(settings.secure_cookies)
        .max_age(cookie::time::Duration::minutes(1))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

async fn save_target_form(
    State(state): State<AppState>,
    answer: Answer,
    Write { user, body: form }: Write<TargetForm>,
) -> Response {
    if let Err(e) = require_admin(&user) {
        return answer.refuse(e.into());
    }
    let webhook = if form
        .remove_webhook
        .as_deref()
        .is_some_and(|v| !v.is_empty())
    {
        webhook_change(Some(String::new()))
    } else {
        webhook_change(Some(form.webhook_url).filter(|u| !u.trim().is_empty()))
    };
    // the form shows every setting, so a blank field removes one
    let change = PublishingChange {
        adopt_namespace: Some(form.adopt_namespace),
        adopt_imagestream: Some(form.adopt_imagestream),
        github_repo: Some(form.github_repo),
    };
    let target = match checked_target(NewTarget {
        name: form.name,
        source_stream: form.source_stream,
        content_repo: form.content_repo,
        release_repo: form.release_repo,
        name_template: form.name_template,
        webhook,
    }) {
        Ok(target) => target,
        Err(reason) => {
            return Redirect::to(&format!("/admin/targets?error={}", q(&reason))).into_response()
        }
    };
    let publishing = match checked_publishing(&state.store, &target.name, &change).await {
        Ok(Ok(publishing)) => publishing,
        Ok(Err(reason)) => {
            return Redirect::to(&format!("/admin/targets?error={}", q(&reason))).into_response()
        }
        Err(e) => return answer.refuse(e.into()),
    };
    // the form says who promotes: an address, or nothing for Streamgate itself
    let pipeline = match pipeline_change(Some(form.pipeline_url)) {
        Ok(change) => change,
        Err(reason) => {
            return Redirect::to(&format!("/admin/targets?error={}", q(&reason))).into_response()
        }
    };
    let saved = match save_target(&state.store, &target).await {
        Ok(mut saved) => match apply_pipeline(&state.store, &mut saved, pipeline).await {
            Ok(()) => save_publishing(&state.store, &target.name, &publishing)
                .await
                .map(|()| saved),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match saved {
        Ok(saved) => {
            tracing::info!(
                target = %target.name,
                by = %user.name,
                webhook_set = saved.webhook_secret.is_some(),
                "promotion target saved"
            );
            let mut response =
                Redirect::to(&format!("/admin/targets?saved={}", q(&target.name))).into_response();
            if let (Some(url), Some(secret)) = (saved.webhook_url, saved.webhook_secret) {
                let hook = NewWebhook {
                    target: target.name.clone(),
                    url,
                    secret,
                };
                if let Some(cookie) = new_webhook_cookie(&hook, &state.auth.settings) {
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                }
            }
            response
        }
        Err(e) => answer.refuse(e.into()),
    }
}

async fn remove_target(
    State(state): State<AppState>,
    Path(name): Path<String>,
    answer: Answer,
    Write { user, .. }: Write<NoFields>,
) -> Response {
    if let Err(e) = require_admin(&user) {
        return answer.refuse(e.into());
    }
    match state.store.delete_target(&name).await {
        Ok(()) => {
            tracing::info!(target = %name, by = %user.name, "promotion target removed");
            Redirect::to(&format!("/admin/targets?removed={}", q(&name))).into_response()
        }
        Err(e) => answer.refuse(e.into()),
    }
}
