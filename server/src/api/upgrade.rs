//! `/api/v1/upgrade?from=A&to=B`: whether a cluster on A is offered B, why not, and the
//! shortest chain of offered updates — the answer of the `/upgrade` page.

use app::model::upgrade::{self as model, check_version};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::UpgradeEdge;
use crate::edge::error::{method_not_allowed, ApiError, ApiQuery, ApiResult, ErrorBody};
use crate::AppState;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/upgrade",
        get(upgrade_question).fallback(method_not_allowed),
    )
}

/// The two versions asked about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpgradeQuery {
    /// The version the cluster runs.
    #[param(example = "4.20.0-okd-scos.6")]
    pub from: Option<String>,
    /// The version it expects to be offered.
    #[param(example = "4.21.0-okd-scos.1")]
    pub to: Option<String>,
}

/// One end of the question.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpgradeEnd {
    /// The version.
    pub name: String,
    /// The stream Streamgate shows it in; `null` when Streamgate does not know it.
    pub stream: Option<String>,
    /// Its phase there (`Accepted`, …).
    pub phase: Option<String>,
    /// That stream's kind: `stable`, `next`, `ci` or `nightly`.
    pub kind: Option<String>,
}

impl From<model::UpgradeEnd> for UpgradeEnd {
    fn from(e: model::UpgradeEnd) -> Self {
        UpgradeEnd {
            name: e.name,
            stream: e.stream,
            phase: e.phase.map(|p| p.as_str().to_string()),
            kind: e.kind.map(|k| k.as_str().to_string()),
        }
    }
}

/// Whether a cluster on `from` is offered `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpgradeAnswer {
    /// The version the cluster runs.
    pub from: UpgradeEnd,
    /// The version asked about.
    pub to: UpgradeEnd,
    /// Whether clusters on `from` are offered `to`.
    pub offered: bool,
    /// Why: `offered`, `not_promoted`, `tested_failed`, `test_pending`, `declared_untested`,
    /// `not_declared` or `untested`.
    #[schema(example = "declared_untested")]
    pub verdict: String,
    /// The verdict in a few words.
    pub headline: String,
    /// The verdict explained.
    pub explanation: String,
    /// Promoted streams listing `to`; empty when it is not promoted.
    pub promoted_in: Vec<String>,
    /// Whether `to`'s payload declares `from` in `previous`; `null` when the payload was
    /// not read.
    pub declared: Option<bool>,
    /// How many versions `to` declares; `null` when the payload was not read.
    pub declared_count: Option<u32>,
    /// The tested edge `from → to`; `null` when the controller never reported it.
    pub edge: Option<UpgradeEdge>,
    /// The shortest chain of offered updates from `from` to `to`, both included, when the
    /// direct update is not offered and such a chain exists.
    pub path: Option<Vec<String>>,
}

impl From<model::UpgradeAnswer> for UpgradeAnswer {
    fn from(a: model::UpgradeAnswer) -> Self {
        UpgradeAnswer {
            from: a.from.into(),
            to: a.to.into(),
            offered: a.verdict.offered(),
            verdict: a.verdict.as_str().to_string(),
            headline: a.verdict.headline().to_string(),
            explanation: a.verdict.explanation().to_string(),
            promoted_in: a.promoted_in,
            declared: a.declared,
            declared_count: a.declared_count,
            edge: a.edge.map(UpgradeEdge::from),
            path: a.path,
        }
    }
}

/// Answers "why does my cluster on `from` see no update to `to`?".
#[utoipa::path(
    get,
    path = "/api/v1/upgrade",
    tag = "releases",
    params(UpgradeQuery),
    responses(
        (status = 200, description = "the answer", body = UpgradeAnswer),
        (status = 400, description = "a version is missing or malformed", body = ErrorBody),
        (status = 404, description = "`to` is not a release Streamgate knows", body = ErrorBody),
    )
)]
pub async fn upgrade_question(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UpgradeQuery>,
) -> ApiResult<UpgradeAnswer> {
    let from = query.from.unwrap_or_default();
    let to = query.to.unwrap_or_default();
    check_version("from", &from).map_err(ApiError::BadRequest)?;
    check_version("to", &to).map_err(ApiError::BadRequest)?;
    let answer = super::backend(&state).upgrade_answer(&from, &to).await?;
    Ok(Json(answer.into()))
}
