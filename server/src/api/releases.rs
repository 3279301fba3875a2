//! `/api/v1/streams/{stream}/releases` (a stream's releases, newest first, in cursor pages)
//! and `/api/v1/releases/{tag}` (one release with its gates, upgrade edges and changelog).

use app::model::{JobState, Phase};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::{phase_names, Changelog, Gate, UpgradeEdge};
use crate::edge::error::{method_not_allowed, ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::store::api_queries::ReleaseKey;
use crate::store::queries::ReleaseListRow;
use crate::AppState;

/// Releases per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 200;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/streams/{stream}/releases",
            get(list_stream_releases).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/releases/{tag}",
            get(get_release).fallback(method_not_allowed),
        )
}

/// Filter and position of a page of releases.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleasePageQuery {
    /// Only releases of this phase: `Accepted`, `Rejected`, `Ready`, `Pending` or `Failed`.
    #[param(example = "Accepted")]
    pub phase: Option<String>,
    /// Releases per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// One row of a stream's release list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReleaseItem {
    /// Tag name.
    pub name: String,
    /// Phase.
    #[schema(example = "Accepted")]
    pub phase: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the controller stopped listing it, if it has.
    pub expired_at: Option<DateTime<Utc>>,
    /// Blocking gates that succeeded.
    pub blocking_passed: u32,
    /// Blocking gates known.
    pub blocking_total: u32,
}

impl From<ReleaseListRow> for ReleaseItem {
    fn from(r: ReleaseListRow) -> Self {
        ReleaseItem {
            phase: r.phase.as_str().to_string(),
            name: r.name,
            created_at: r.created_at,
            expired_at: r.expired_at,
            blocking_passed: u32::try_from(r.blocking_passed).unwrap_or(0),
            blocking_total: u32::try_from(r.blocking_total).unwrap_or(0),
        }
    }
}

/// A page of a stream's releases, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasePage {
    /// The stream.
    pub stream: String,
    /// The phase filter applied, if any.
    pub phase: Option<String>,
    /// The page size asked for.
    pub limit: u32,
    /// This page's releases.
    pub releases: Vec<ReleaseItem>,
    /// Opaque: pass it as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Lists a stream's releases newest first (by creation time, then name), a page at a time.
///
/// Pages are keyed by the last release returned, not by an offset, so walking a stream
/// while new releases arrive neither repeats nor skips a release.
#[utoipa::path(
    get,
    path = "/api/v1/streams/{stream}/releases",
    tag = "releases",
    params(
        ("stream" = String, Path, description = "stream name", example = "4.21.0-0.okd-scos"),
        ReleasePageQuery,
    ),
    responses(
        (status = 200, description = "one page of releases", body = ReleasePage),
        (status = 400, description = "malformed cursor, limit out of 1..=200 or unknown phase", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody),
    )
)]
pub async fn list_stream_releases(
    State(state): State<AppState>,
    ApiPath(stream): ApiPath<String>,
    ApiQuery(query): ApiQuery<ReleasePageQuery>,
) -> ApiResult<ReleasePage> {
    let phase = query.phase.as_deref().map(parse_phase).transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    if state.store.stream(&stream).await?.is_none() {
        return Err(ApiError::NotFound(format!("stream {stream}")));
    }
    let mut rows = state
        .store
        .stream_releases_after(
            &stream,
            phase.map(Phase::as_str),
            after.as_ref(),
            i64::from(limit) + 1,
        )
        .await?;
    // one row more than asked says whether another page follows
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| {
            encode_cursor(&ReleaseKey {
                created_at: r.created_at,
                name: r.name.clone(),
            })
        })
    } else {
        None
    };
    Ok(Json(ReleasePage {
        stream,
        phase: phase.map(|p| p.as_str().to_string()),
        limit,
        releases: rows.into_iter().map(ReleaseItem::from).collect(),
        next_cursor,
    }))
}

/// A phase a client may filter by, in any letter case.
fn parse_phase(s: &str) -> Result<Phase, ApiError> {
    match Phase::parse(s) {
        Phase::Unknown => Err(ApiError::BadRequest(format!(
            "unknown phase {s:?} (expected one of {})",
            phase_names()
        ))),
        p => Ok(p),
    }
}

/// The cursor: base64url (no padding) of the JSON pair `[created_at, name]`.
pub fn encode_cursor(key: &ReleaseKey) -> String {
    let pair = serde_json::json!([key.created_at, key.name]);
    URL_SAFE_NO_PAD.encode(pair.to_string())
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<ReleaseKey, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| ApiError::BadRequest("malformed cursor: not base64url".to_string()))?;
    let (created_at, name): (DateTime<Utc>, String) =
        serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::BadRequest(
                "malformed cursor: not a next_cursor value from this api".to_string(),
            )
        })?;
    Ok(ReleaseKey { created_at, name })
}

/// Which of the streams sharing a tag name to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseQuery {
    /// The release's stream, when a promoted release shares its name with a CI one
    /// (default: the CI or nightly stream, which has the gates).
    pub stream: Option<String>,
}

/// One release: where it stands, why, and what changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Release {
    /// Tag name.
    pub name: String,
    /// Stream name.
    pub stream: String,
    /// `okd-scos`, `okd-fcos` or `ocp`.
    pub variant: String,
    /// `stable`, `next`, `ci` or `nightly`.
    pub kind: String,
    /// Phase.
    #[schema(example = "Rejected")]
    pub phase: String,
    /// Payload pull spec.
    pub pull_spec: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When Streamgate first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// When the controller stopped listing it.
    pub expired_at: Option<DateTime<Utc>>,
    /// Whether details (gates, changelog) have been fetched.
    pub has_details: bool,
    /// Blocking gates that succeeded.
    pub blocking_passed: u32,
    /// Blocking gates known.
    pub blocking_total: u32,
    /// Verification jobs: blocking first, then by name.
    pub gates: Vec<Gate>,
    /// Upgrades tested into this release.
    pub upgrades_into: Vec<UpgradeEdge>,
    /// Upgrades tested out of this release.
    pub upgrades_out: Vec<UpgradeEdge>,
    /// The changelog, when the controller produced one.
    pub changelog: Option<Changelog>,
    /// What changed since the stream's previous accepted release, when there is one.
    pub since_accepted: Option<SinceAccepted>,
    /// Other streams carrying a release of the same name.
    pub also_in: Vec<String>,
    /// The previous release of the same stream.
    pub previous: Option<String>,
    /// The next release of the same stream.
    pub next: Option<String>,
    /// The payload image and its components, or why they are not known.
    pub payload: Payload,
}

/// A release's payload as read from its registry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Payload {
    /// `read`, `not_read` (not yet) or `failed`.
    #[schema(example = "read")]
    pub state: String,
    /// The payload's digest, once read.
    pub digest: Option<String>,
    /// Why the read failed.
    pub failure: Option<String>,
    /// The platforms of a multi-arch payload (`linux/amd64` first when it has it); empty
    /// for a single image.
    pub platforms: Vec<String>,
    /// Its component images, by name.
    pub components: Vec<PayloadComponent>,
    /// The era its components' evidence puts it in: `mirrored` (most are OCP CI's
    /// images), `okd` (most are built for OKD); `null` when unread or too little is known.
    pub era: Option<String>,
}

/// Where one image came from, as the API says it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Origin {
    /// `mirrored` (the same digest was in an OCP CI payload), `okd` (built for OKD: an OCP
    /// CI payload of the same minor from the same days has another image, or none, for this
    /// component on this platform), `os` (the machine OS) or `unknown` (no such evidence was
    /// read).
    #[schema(example = "mirrored")]
    pub provenance: String,
    /// For `mirrored`: the first OCP CI release that carried the image.
    pub mirrored_from: Option<String>,
    /// For `okd`: the OCP CI release compared with.
    pub compared_with: Option<String>,
    /// For `unknown`: what evidence is missing.
    pub unknown_reason: Option<String>,
    /// For `os`: the machine OS version.
    pub os_version: Option<String>,
}

impl From<&app::model::Provenance> for Origin {
    fn from(p: &app::model::Provenance) -> Self {
        use app::model::Provenance;
        Origin {
            provenance: p.kind().as_str().to_string(),
            mirrored_from: match p {
                Provenance::Mirrored { release, .. } => Some(release.clone()),
                _ => None,
            },
            compared_with: match p {
                Provenance::BuiltForOkd { compared_with, .. } => Some(compared_with.clone()),
                _ => None,
            },
            unknown_reason: match p {
                Provenance::Unknown { reason } => Some(reason.clone()),
                _ => None,
            },
            os_version: match p {
                Provenance::MachineOs { version } => version.clone(),
                _ => None,
            },
        }
    }
}

/// One component image of a payload, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PayloadComponent {
    /// Component (payload tag) name.
    pub name: String,
    /// Image pull spec.
    pub image: String,
    /// Image digest.
    pub digest: String,
    /// Source repository URL (may be empty).
    pub source: String,
    /// Source commit (may be empty).
    pub commit: String,
    /// Where the image (of the payload's kept platform) came from.
    #[serde(flatten)]
    pub origin: Origin,
    /// Whether the image differs from the previous release of the stream (unknown when that
    /// payload was not read).
    pub changed: Option<bool>,
    /// Its image on each platform of a multi-arch payload, the kept platform first, each
    /// judged on that platform's own evidence; empty for a single image.
    pub architectures: Vec<ArchComponent>,
}

/// A component's image on one platform of a multi-arch payload.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ArchComponent {
    /// `os/arch[/variant]`.
    #[schema(example = "linux/arm64")]
    pub platform: String,
    /// Image digest.
    pub digest: String,
    /// Where it came from.
    #[serde(flatten)]
    pub origin: Origin,
}

impl From<app::model::PayloadView> for Payload {
    fn from(view: app::model::PayloadView) -> Self {
        use app::model::PayloadView;
        match view {
            PayloadView::NotRead => Payload {
                state: "not_read".into(),
                digest: None,
                failure: None,
                platforms: Vec::new(),
                components: Vec::new(),
                era: None,
            },
            PayloadView::Failed { message, .. } => Payload {
                state: "failed".into(),
                digest: None,
                failure: Some(message),
                platforms: Vec::new(),
                components: Vec::new(),
                era: None,
            },
            PayloadView::Read {
                digest, components, ..
            } => Payload {
                state: "read".into(),
                digest: Some(digest),
                failure: None,
                platforms: app::model::payload_platforms(&components),
                era: app::model::EraEvidence::of(&components).era.map(|e| {
                    match e {
                        app::model::Era::Mirrored => "mirrored",
                        app::model::Era::BuiltForOkd => "okd",
                    }
                    .to_string()
                }),
                components: components
                    .into_iter()
                    .map(|c| PayloadComponent {
                        origin: Origin::from(&c.provenance),
                        architectures: c
                            .architectures
                            .iter()
                            .map(|a| ArchComponent {
                                platform: a.platform.clone(),
                                digest: a.digest.clone(),
                                origin: Origin::from(&a.provenance),
                            })
                            .collect(),
                        name: c.name,
                        image: c.image,
                        digest: c.digest,
                        source: c.source,
                        commit: c.commit,
                        changed: c.changed,
                    })
                    .collect(),
            },
        }
    }
}

impl From<app::model::ReleaseDetail> for Release {
    fn from(d: app::model::ReleaseDetail) -> Self {
        let blocking = d
            .gates
            .iter()
            .filter(|g| g.kind == app::model::GateKind::Blocking);
        let blocking_total = u32::try_from(blocking.clone().count()).unwrap_or(u32::MAX);
        let blocking_passed =
            u32::try_from(blocking.filter(|g| g.state == JobState::Succeeded).count()).unwrap_or(0);
        Release {
            name: d.name,
            stream: d.stream,
            variant: d.variant.as_str().to_string(),
            kind: d.kind.as_str().to_string(),
            phase: d.phase.as_str().to_string(),
            pull_spec: d.pull_spec,
            created_at: d.created_at,
            first_seen_at: d.first_seen_at,
            expired_at: d.expired_at,
            has_details: d.has_details,
            blocking_passed,
            blocking_total,
            gates: d.gates.into_iter().map(Gate::from).collect(),
            upgrades_into: d.upgrades_into.into_iter().map(UpgradeEdge::from).collect(),
            upgrades_out: d.upgrades_out.into_iter().map(UpgradeEdge::from).collect(),
            changelog: d.changelog.map(Changelog::from),
            since_accepted: d.since_accepted.map(SinceAccepted::from),
            also_in: d.also_in,
            previous: d.neighbours.0,
            next: d.neighbours.1,
            payload: Payload::from(d.payload),
        }
    }
}

/// What changed in a stream since its previous accepted release, up to this release.
#[derive(Debug, Serialize, ToSchema)]
pub struct SinceAccepted {
    /// The previous accepted release.
    pub release: String,
    /// Releases after it up to this one.
    pub releases: u32,
    /// Distinct pull requests their changelogs name (at least, when `unread` > 0).
    pub pulls: u32,
    /// Of those releases, the ones whose changelog has not been read.
    pub unread: u32,
    /// Components whose image is not the previous accepted release's; `null` until both
    /// payloads are read.
    pub new_images: Option<u32>,
    /// The machine OS version then, when both changelogs name it.
    pub machine_os_was: Option<String>,
    /// The machine OS version now, when both changelogs name it.
    pub machine_os: Option<String>,
    /// The same, in one line.
    pub sentence: String,
}

impl From<app::model::SinceAccepted> for SinceAccepted {
    fn from(s: app::model::SinceAccepted) -> Self {
        SinceAccepted {
            sentence: s.sentence(),
            machine_os_was: s.os.as_ref().map(|(_, was, _)| was.clone()),
            machine_os: s.os.map(|(_, _, now)| now),
            release: s.release,
            releases: s.releases,
            pulls: s.pulls,
            unread: s.unread,
            new_images: s.new_images,
        }
    }
}

/// One release with its gates, the upgrades tested into and out of it, and its changelog.
#[utoipa::path(
    get,
    path = "/api/v1/releases/{tag}",
    tag = "releases",
    params(
        ("tag" = String, Path, description = "release tag name", example = "4.21.0-0.okd-scos-2026-11-20-101500"),
        ReleaseQuery,
    ),
    responses(
        (status = 200, description = "the release", body = Release),
        (status = 404, description = "no such release (in that stream)", body = ErrorBody),
    )
)]
pub async fn get_release(
    State(state): State<AppState>,
    ApiPath(tag): ApiPath<String>,
    ApiQuery(query): ApiQuery<ReleaseQuery>,
) -> ApiResult<Release> {
    let stream = query.stream.as_deref().filter(|s| !s.is_empty());
    let detail = super::backend(&state).release_detail(&tag, stream).await?;
    Ok(Json(Release::from(detail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let key = ReleaseKey {
            created_at: DateTime::parse_from_rfc3339("2026-11-20T10:15:00.123456Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            name: "4.21.0-0.okd-scos-2026-11-20-101500".to_string(),
        };
        let cursor = encode_cursor(&key);
        assert!(cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_cursor(&cursor).ok(), Some(key));
        for bad in ["%%%", "bm90IGpzb24", ""] {
            assert!(matches!(
                decode_cursor(bad),
                Err(ApiError::BadRequest(m)) if m.starts_with("malformed cursor")
            ));
        }
    }
}

#[cfg(test)]
mod properties;
