//! `/api/v1/search?q=`: which releases have a pull request, bug, commit, component or
//! digest, and where each first appeared per stream — the answers of the `/search` page.

use app::model::search::{self as model, FoundKind, Query};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::edge::error::{method_not_allowed, ApiError, ApiQuery, ApiResult, ErrorBody};
use crate::AppState;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search).fallback(method_not_allowed))
}

/// What to search for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A pull request (`org/repo#N` or its URL), a bug key (or its Jira URL), a commit
    /// (7–40 hex digits), a digest (`sha256:…`, or a pull spec ending in one), a release
    /// name or its start, a component name, or words of a change's title.
    #[param(example = "OCPBUGS-12345")]
    pub q: Option<String>,
}

/// A release whose name starts with the query.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseHit {
    /// Its stream.
    pub stream: String,
    /// Its name.
    pub name: String,
    /// Its phase.
    pub phase: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Where something first appeared in one stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct Appearance {
    /// The stream.
    pub stream: String,
    /// `stable`, `next`, `ci` or `nightly`.
    pub stream_kind: String,
    /// The stream's first release that has it.
    pub release: String,
    /// That release's phase.
    pub phase: String,
    /// When that release was created.
    pub created_at: DateTime<Utc>,
    /// The stream's first accepted release since (the release itself when accepted); for
    /// CI and nightly streams, whose releases build on the ones before.
    pub first_accepted: Option<String>,
}

/// One thing found.
#[derive(Debug, Serialize, ToSchema)]
pub struct Found {
    /// `pull`, `bug`, `commit`, `component`, `image` or `payload`.
    pub kind: String,
    /// `org/repo#N`, the bug key, the full commit, the component name or the digest.
    pub key: String,
    /// The change's subject, the images built from a commit, the payload's pull spec.
    pub title: String,
    /// The pull request's or bug's URL, when known.
    pub url: Option<String>,
    /// The first release of a stable or next stream that has it.
    pub first_promoted: Option<String>,
    /// Where it first appeared, one per stream, oldest first.
    pub appearances: Vec<Appearance>,
}

/// The answer to a search; finding nothing is an empty answer, not an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    /// The query, trimmed.
    pub q: String,
    /// What it was read as: `pull`, `bug`, `commit`, `digest` or `words`.
    pub read_as: String,
    /// What was searched for, in words.
    pub searched_for: String,
    /// Releases whose name starts with the query (for `words`), greatest name first.
    pub releases: Vec<ReleaseHit>,
    /// Things found.
    pub found: Vec<Found>,
    /// Whether the lists were cut at their limits.
    pub more: bool,
}

fn kind_name(kind: FoundKind) -> &'static str {
    match kind {
        FoundKind::Pull => "pull",
        FoundKind::Bug => "bug",
        FoundKind::Commit => "commit",
        FoundKind::Component => "component",
        FoundKind::Image => "image",
        FoundKind::Payload => "payload",
    }
}

impl From<model::SearchResults> for SearchAnswer {
    fn from(r: model::SearchResults) -> Self {
        let read_as = match r.query {
            Query::Pull { .. } => "pull",
            Query::Bug(_) => "bug",
            Query::Commit(_) => "commit",
            Query::Digest(_) => "digest",
            Query::Words(_) => "words",
        };
        SearchAnswer {
            searched_for: r.query.describe(),
            read_as: read_as.to_string(),
            q: r.q,
            more: r.more,
            releases: r
                .releases
                .into_iter()
                .map(|h| ReleaseHit {
                    phase: h.phase.as_str().to_string(),
                    stream: h.stream,
                    name: h.name,
                    created_at: h.created_at,
                })
                .collect(),
            found: r
                .found
                .into_iter()
                .map(|f| Found {
                    kind: kind_name(f.kind).to_string(),
                    first_promoted: f.first_promoted().map(|a| a.release.clone()),
                    appearances: f
                        .appearances
                        .into_iter()
                        .map(|a| Appearance {
                            stream_kind: a.stream_kind.as_str().to_string(),
                            phase: a.phase.as_str().to_string(),
                            stream: a.stream,
                            release: a.release,
                            created_at: a.created_at,
                            first_accepted: a.accepted,
                        })
                        .collect(),
                    key: f.key,
                    title: f.title,
                    url: f.url,
                })
                .collect(),
        }
    }
}

/// Which releases have a pull request, bug, commit, component, image or payload, and
/// where each first appeared per stream; or which releases' names start with the query.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "releases",
    params(SearchQuery),
    responses(
        (status = 200, description = "what was found (possibly nothing)", body = SearchAnswer),
        (status = 400, description = "the query is missing, longer than 256 characters or has control characters", body = ErrorBody),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<SearchAnswer> {
    let q = query.q.unwrap_or_default();
    let read = Query::parse(&q).map_err(ApiError::BadRequest)?;
    let results = super::backend(&state).search(&q, read).await?;
    Ok(Json(results.into()))
}
