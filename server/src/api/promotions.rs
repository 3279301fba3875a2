//! `/api/v1/promotions` and `/api/v1/targets`: promotion jobs and where releases may be
//! promoted. Reads are public, but a target's webhook address is a credential: everyone sees
//! only whether there is one, an admin reading one target sees it masked, and the admin who
//! sets it gets it in full with its signing secret in that one answer. `POST
//! /api/v1/promotions` (with `"dry_run": true` for the plan only) needs a maintainer of the
//! target, by API token or session, checked before any registry is asked; targets are
//! changed by admins.

use app::model::promotion::{Promotion, PromotionPlan, PromotionTarget};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::extract::{no_store, MaybeUser, Write, Writer};
use crate::edge::error::{ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::promote::request::PromotionRequest;
use crate::promote::target_publishing::{checked_publishing, save_publishing, PublishingChange};
use crate::promote::targets::{
    apply_pipeline, checked_target, pipeline_change, save_target, webhook_change,
};
use crate::promote::{webhook, Promotions};
use crate::store::promotions::NewTarget;
use crate::AppState;

/// Most promotions one page lists.
const MAX_LIMIT: u32 = 200;

/// Public reads.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/promotions/{id}", get(get_promotion))
        .route("/api/v1/promotions/{id}/notes.md", get(get_notes))
        .route(
            "/api/v1/promotions/{id}/signature-message.json",
            get(get_signature_message),
        )
        .route("/api/v1/targets", get(list_targets))
}

/// Writes, outside the public read layer (no caching, no CORS).
pub fn write_router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/promotions",
            post(create_promotion).get(list_promotions),
        )
        .route(
            "/api/v1/targets/{name}",
            put(put_target).delete(delete_target).get(get_target),
        )
}

/// A page of promotions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionPageBody {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub promotions: Vec<Promotion>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<i64>,
}

/// Paging of the list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only promotions with a smaller id.
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// `POST /api/v1/promotions` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePromotion {
    /// What to promote where.
    #[serde(flatten)]
    pub request: PromotionRequest,
    /// Only make the plan; record nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The answer to a created promotion.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPromotion {
    /// Its id.
    pub id: i64,
    /// Where to follow it.
    pub url: String,
    /// The plan it runs by.
    #[schema(value_type = Object)]
    pub plan: PromotionPlan,
}

fn promotions_of(state: &AppState) -> Result<&Promotions, ApiError> {
    state
        .promotions
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("promotion is not enabled on this server".to_string()))
}

/// Promotions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/promotions",
    tag = "promotions",
    params(ListQuery),
    responses(
        (status = 200, description = "a page of promotions", body = PromotionPageBody),
        (status = 400, description = "a bad limit", body = ErrorBody),
    )
)]
pub async fn list_promotions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<PromotionPageBody> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let rows = state.store.promotions(q.before, limit + 1).await?;
    let next = (rows.len() > limit as usize).then(|| rows[limit as usize - 1].id);
    Ok(Json(PromotionPageBody {
        promotions: rows
            .iter()
            .take(limit as usize)
            .map(|r| r.to_model())
            .collect(),
        next,
    }))
}

/// One promotion: its state, progress, plan and result.
#[utoipa::path(
    get,
    path = "/api/v1/promotions/{id}",
    tag = "promotions",
    params(("id" = i64, Path, description = "the promotion's number")),
    responses(
        (status = 200, description = "the promotion", body = Object),
        (status = 404, description = "no such promotion", body = ErrorBody),
    )
)]
pub async fn get_promotion(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Promotion> {
    let row = state
        .store
        .promotion(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("promotion {id}")))?;
    let mut promotion = row.to_model();
    promotion.publish_steps = state.store.publish_steps(id).await?;
    Ok(Json(promotion))
}

/// The release notes of a succeeded promotion, as Markdown.
#[utoipa::path(
    get,
    path = "/api/v1/promotions/{id}/notes.md",
    tag = "promotions",
    params(("id" = i64, Path, description = "the promotion's number")),
    responses(
        (status = 200, description = "release notes", content_type = "text/markdown", body = String),
        (status = 404, description = "no such promotion", body = ErrorBody),
        (status = 409, description = "the promotion has not succeeded", body = ErrorBody),
    )
)]
pub async fn get_notes(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let row = state
        .store
        .promotion(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("promotion {id}")))?;
    if row.state() != app::model::promotion::PromotionState::Succeeded {
        return Err(ApiError::Conflict(format!(
            "promotion {id} is {}; release notes are written once it succeeds",
            row.state().as_str()
        )));
    }
    let base =
        crate::edge::links::LinkBase::of(state.settings.public_url.as_deref(), &headers, &uri)?;
    let notes = crate::promote::notes::release_notes(
        &state.store,
        &super::backend(&state),
        &row,
        &base.url,
    )
    .await?;
    Ok(base.mark(
        (
            [
                (
                    header::CONTENT_TYPE,
                    "text/markdown; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}.md\"", row.name),
                ),
            ],
            notes,
        )
            .into_response(),
    ))
}

/// The release signature message of a promotion's published payload, byte for byte as it
/// was (or would be) signed: sign it with `gpg --sign` to add a signature by hand.
#[utoipa::path(
    get,
    path = "/api/v1/promotions/{id}/signature-message.json",
    tag = "promotions",
    params(("id" = i64, Path, description = "the promotion's number")),
    responses(
        (status = 200, description = "the signed document", content_type = "application/json", body = Object),
        (status = 404, description = "no such promotion", body = ErrorBody),
        (status = 409, description = "the promotion has not written it yet", body = ErrorBody),
    )
)]
pub async fn get_signature_message(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let row = state
        .store
        .promotion(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("promotion {id}")))?;
    let signature = row
        .release_signature()
        .filter(|s| !s.message.is_empty())
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "promotion {id} is {} and has no signature message; it is written once the \
                 published release is checked",
                row.state().as_str()
            ))
        })?;
    let hex = signature.digest.trim_start_matches("sha256:");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"sha256={hex}.json\""),
            ),
        ],
        signature.message,
    )
        .into_response())
}

/// Plans (`dry_run`) or requests a promotion. Needs a maintainer of the target, by API
/// token (`Authorization: Bearer sg_…`) or by session with the `X-CSRF-Token` header.
#[utoipa::path(
    post,
    path = "/api/v1/promotions",
    tag = "promotions",
    request_body = CreatePromotion,
    responses(
        (status = 200, description = "the plan (dry run)", body = Object),
        (status = 202, description = "recorded; the worker runs it", body = CreatedPromotion),
        (status = 401, description = "not signed in", body = ErrorBody),
        (status = 403, description = "not a maintainer of the target, gates failed, or the signature is invalid", body = ErrorBody),
        (status = 404, description = "no such target or release", body = ErrorBody),
        (status = 409, description = "payload not read, name taken, or the plan changed", body = ErrorBody),
        (status = 502, description = "a registry failed", body = ErrorBody),
    )
)]
pub async fn create_promotion(
    State(state): State<AppState>,
    Write { user, body }: Write<CreatePromotion>,
) -> Result<Response, ApiError> {
    let viewer = user.viewer();
    let promotions = promotions_of(&state)?;
    let req = &body.request;
    for (field, value) in [
        ("target", &req.target),
        ("stream", &req.stream),
        ("release", &req.release),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::BadRequest(format!("{field} is required")));
        }
    }
    crate::auth::require_promoter(&user, &req.target)?;
    if body.dry_run {
        let plan = promotions
            .planner
            .review(
                &viewer,
                &req.target,
                &req.stream,
                &req.release,
                chrono::Utc::now(),
            )
            .await?;
        return Ok(Json(plan).into_response());
    }
    let (id, plan) = promotions.request(&viewer, req).await?;
    let url = format!("/api/v1/promotions/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, url.clone())],
        Json(CreatedPromotion { id, url, plan }),
    )
        .into_response())
}

/// Every promotion target: whether it has a webhook, never where.
#[utoipa::path(
    get,
    path = "/api/v1/targets",
    tag = "promotions",
    responses((status = 200, description = "the targets", body = Vec<Object>))
)]
pub async fn list_targets(State(state): State<AppState>) -> ApiResult<Vec<PromotionTarget>> {
    Ok(Json(state.store.targets().await?))
}

/// One target; an admin also sees its webhook, masked to scheme and host.
async fn get_target(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    MaybeUser(user): MaybeUser,
) -> Result<Response, ApiError> {
    let mut target = state
        .store
        .target(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("promotion target {name}")))?;
    if user.is_some_and(|u| u.is_admin()) {
        target.webhook_masked = state
            .store
            .target_webhook(&name)
            .await?
            .map(|w| webhook::mask(&w.webhook_url));
    }
    Ok(no_store(Json(target).into_response()))
}

/// `PUT /api/v1/targets/{name}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// The CI stream it takes releases of.
    pub source_stream: String,
    /// Where component images go.
    pub content_repo: String,
    /// Where the release payload goes.
    pub release_repo: String,
    /// The new release's name, with `{version}` and `{n}`.
    pub name_template: String,
    /// Where to post a signed notice of each finished promotion. Absent or null: the
    /// target keeps its webhook; `""`: the webhook is removed; an address: the webhook is
    /// set with a new signing secret, answered this once.
    #[serde(default)]
    #[schema(example = "https://hooks.example.com/services/T000/B000/XXXX")]
    pub webhook_url: Option<String>,
    /// The namespace of the image stream each promoted release is adopted into as an
    /// ImageStreamTag (with `adopt_imagestream`). Absent or null: kept; `""`: removed.
    #[serde(default)]
    #[schema(example = "origin")]
    pub adopt_namespace: Option<String>,
    /// The image stream releases are adopted into (`<imagestream>:<name>`). Absent or
    /// null: kept; `""`: removed.
    #[serde(default)]
    #[schema(example = "release-scos")]
    pub adopt_imagestream: Option<String>,
    /// The GitHub repository (`owner/name`) each promoted release's notes are published to
    /// as a release. Absent or null: kept; `""`: removed.
    #[serde(default)]
    #[schema(example = "okd-project/okd-scos")]
    pub github_repo: Option<String>,
    /// The Tekton EventListener of OKD's release pipeline, when the pipeline promotes into
    /// this target (promotions start it and follow its result). Absent or null: kept;
    /// `""`: Streamgate promotes itself.
    #[serde(default)]
    #[schema(example = "http://el-okd-release.okd-team.svc.cluster.local:8080")]
    pub pipeline_url: Option<String>,
}

/// Adds or changes a target (admins).
#[utoipa::path(
    put,
    path = "/api/v1/targets/{name}",
    tag = "promotions",
    params(("name" = String, Path, description = "the target stream")),
    request_body = TargetBody,
    responses(
        (status = 200, description = "saved; a webhook set by this request is answered in full with its signing secret, this once", body = Object),
        (status = 401, description = "not signed in", body = ErrorBody),
        (status = 403, description = "not an admin", body = ErrorBody),
        (status = 422, description = "not a valid target", body = ErrorBody),
    )
)]
pub async fn put_target(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    Write { user, body }: Write<TargetBody>,
) -> Result<Response, ApiError> {
    crate::auth::require_admin(&user)?;
    let target = checked_target(NewTarget {
        name,
        source_stream: body.source_stream,
        content_repo: body.content_repo,
        release_repo: body.release_repo,
        name_template: body.name_template,
        webhook: webhook_change(body.webhook_url),
    })
    .map_err(ApiError::Unprocessable)?;
    let change = PublishingChange {
        adopt_namespace: body.adopt_namespace,
        adopt_imagestream: body.adopt_imagestream,
        github_repo: body.github_repo,
    };
    let publishing = checked_publishing(&state.store, &target.name, &change)
        .await?
        .map_err(ApiError::Unprocessable)?;
    let pipeline = pipeline_change(body.pipeline_url).map_err(ApiError::Unprocessable)?;
    let mut saved = save_target(&state.store, &target).await?;
    apply_pipeline(&state.store, &mut saved, pipeline).await?;
    save_publishing(&state.store, &target.name, &publishing).await?;
    saved.target.publishing = publishing;
    tracing::info!(
        target = %target.name,
        by = %user.name,
        webhook_set = saved.webhook_secret.is_some(),
        "promotion target saved"
    );
    Ok(no_store(Json(saved).into_response()))
}

/// Removes a target (admins); its promotions stay.
#[utoipa::path(
    delete,
    path = "/api/v1/targets/{name}",
    tag = "promotions",
    params(("name" = String, Path, description = "the target stream")),
    responses(
        (status = 204, description = "removed"),
        (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "no such target", body = ErrorBody),
    )
)]
pub async fn delete_target(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    Writer(user): Writer,
) -> Result<StatusCode, ApiError> {
    crate::auth::require_admin(&user)?;
    state.store.delete_target(&name).await?;
    tracing::info!(target = %name, by = %user.name, "promotion target removed");
    Ok(StatusCode::NO_CONTENT)
}
