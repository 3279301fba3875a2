//! `/api/v1/compare/{from}/{to}`: how two releases differ, job by job and component by
//! component (versions from each release's changelog). Later comparisons (payload images,
//! RPMs) join as further fields of [`Comparison`].

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::ReleaseRef;
use crate::edge::error::{method_not_allowed, ApiPath, ApiResult, ErrorBody};
use crate::AppState;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/compare/{from}/{to}",
        get(compare_releases).fallback(method_not_allowed),
    )
}

/// One verification job in either release.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GateDiff {
    /// Job name.
    pub name: String,
    /// `blocking`, `informing` or `async` (as in `to`, else as in `from`).
    pub kind: String,
    /// Its state in `from`; `null` when `from` did not run it.
    pub from: Option<String>,
    /// Its state in `to`; `null` when `to` did not run it.
    pub to: Option<String>,
    /// Whether the two differ.
    pub changed: bool,
}

/// One versioned component in either release's changelog.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ComponentDiff {
    /// Component name.
    pub name: String,
    /// Its version in `from`; `null` when `from` has no changelog entry for it.
    pub from: Option<String>,
    /// Its version in `to`; `null` when `to` has no changelog entry for it.
    pub to: Option<String>,
    /// Whether the two differ.
    pub changed: bool,
}

/// How two releases differ.
#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison {
    /// The first release.
    pub from: ReleaseRef,
    /// The second release.
    pub to: ReleaseRef,
    /// Every job either release ran, blocking first, then by name.
    pub gates: Vec<GateDiff>,
    /// Every component either changelog names, by name.
    pub components: Vec<ComponentDiff>,
}

/// Compares two releases: each job's state in each, and each component's version in each.
#[utoipa::path(
    get,
    path = "/api/v1/compare/{from}/{to}",
    tag = "releases",
    params(
        ("from" = String, Path, description = "tag name of the first release"),
        ("to" = String, Path, description = "tag name of the second release"),
    ),
    responses(
        (status = 200, description = "the differences", body = Comparison),
        (status = 404, description = "either release is unknown", body = ErrorBody),
    )
)]
pub async fn compare_releases(
    State(state): State<AppState>,
    ApiPath((from, to)): ApiPath<(String, String)>,
) -> ApiResult<Comparison> {
    let backend = super::backend(&state);
    let a = backend.release_detail(&from, None).await?;
    let b = backend.release_detail(&to, None).await?;
    Ok(Json(compare(&a, &b)))
}

fn compare(a: &app::model::ReleaseDetail, b: &app::model::ReleaseDetail) -> Comparison {
    let mut gates: BTreeMap<(u8, String), GateDiff> = BTreeMap::new();
    let rank = |k: app::model::GateKind| k as u8;
    for (g, in_to) in a
        .gates
        .iter()
        .map(|g| (g, false))
        .chain(b.gates.iter().map(|g| (g, true)))
    {
        let entry = gates
            .entry((rank(g.kind), g.name.clone()))
            .or_insert_with(|| GateDiff {
                name: g.name.clone(),
                kind: g.kind.as_str().to_string(),
                from: None,
                to: None,
                changed: false,
            });
        if in_to {
            entry.to = Some(g.state.to_string());
        } else {
            entry.from = Some(g.state.to_string());
        }
    }
    let mut components: BTreeMap<String, ComponentDiff> = BTreeMap::new();
    let versions = |d: &app::model::ReleaseDetail| {
        d.changelog
            .iter()
            .flat_map(|c| c.components.iter())
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect::<Vec<_>>()
    };
    for (name, version, in_to) in versions(a)
        .into_iter()
        .map(|(n, v)| (n, v, false))
        .chain(versions(b).into_iter().map(|(n, v)| (n, v, true)))
    {
        let entry = components
            .entry(name.clone())
            .or_insert_with(|| ComponentDiff {
                name,
                from: None,
                to: None,
                changed: false,
            });
        if in_to {
            entry.to = Some(version);
        } else {
            entry.from = Some(version);
        }
    }
    let release_ref = |d: &app::model::ReleaseDetail| ReleaseRef {
        name: d.name.clone(),
        stream: d.stream.clone(),
        phase: d.phase.as_str().to_string(),
        created_at: d.created_at,
    };
    Comparison {
        from: release_ref(a),
        to: release_ref(b),
        gates: gates
            .into_values()
            .map(|g| GateDiff {
                changed: g.from != g.to,
                ..g
            })
            .collect(),
        components: components
            .into_values()
            .map(|c| ComponentDiff {
                changed: c.from != c.to,
                ..c
            })
            .collect(),
    }
}
