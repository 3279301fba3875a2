//! Status badges for READMEs: SVG in shields.io's styles with real Verdana metrics, and the
//! shields.io *endpoint* JSON, for a stream's latest accepted release, one release's phase,
//! and the latest release's blocking gates.
//!
//! Badges are hot (every README view through GitHub's image proxy), so answers are kept in
//! memory for a few seconds: a badge costs the same for a stream of ten releases or of ten
//! thousand. Every answer carries an `ETag` (304 on `If-None-Match`), a short
//! `Cache-Control` so proxies refresh it, and CORS for embedding anywhere. A badge whose
//! data is stale (no successful poll for `stale_after`) says so instead of showing green.

pub mod metrics;
pub mod render;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::store::StoreError;
use crate::AppState;
use app::model::{GateKind, JobState, Phase};
use render::{Badge, Style};

/// How long a rendered badge is reused before the store is asked again.
const FRESH_FOR: Duration = Duration::from_secs(5);
/// Most badges kept in memory (arbitrary `label` values must not grow it without bound).
const MAX_CACHED: usize = 2048;
/// `Cache-Control` for badges: short, so image proxies do not show yesterday's release.
const CACHE_CONTROL: &str = "public, max-age=120, stale-while-revalidate=60";

/// A rendered answer.
#[derive(Clone)]
struct Rendered {
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
    etag: HeaderValue,
    at: Instant,
}

/// Recently rendered badges, by request path and query.
#[derive(Clone, Default)]
pub struct BadgeCache(Arc<RwLock<HashMap<String, Rendered>>>);

impl BadgeCache {
    fn get(&self, key: &str) -> Option<Rendered> {
        let map = self.0.read().ok()?;
        map.get(key).filter(|r| r.at.elapsed() < FRESH_FOR).cloned()
    }

    fn put(&self, key: String, value: Rendered) {
        if let Ok(mut map) = self.0.write() {
            if map.len() >= MAX_CACHED {
                map.retain(|_, r| r.at.elapsed() < FRESH_FOR);
                if map.len() >= MAX_CACHED {
                    map.clear();
                }
            }
            map.insert(key, value);
        }
    }
}

/// The badge routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/badges/{file}", get(stream_badge))
        .route("/badges/{stream}/{file}", get(release_badge))
        .route("/badges/{stream}/jobs/{file}", get(job_badge))
}

/// Query options of every badge.
#[derive(Debug, Default, Deserialize)]
pub struct BadgeQuery {
    /// Replaces the left-hand text.
    pub label: Option<String>,
    /// `flat` (default), `flat-square` or `for-the-badge`.
    pub style: Option<String>,
}

/// What a badge says, before it is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct BadgeText {
    /// Left-hand text.
    pub label: String,
    /// Right-hand text.
    pub message: String,
    /// Shields colour name.
    pub color: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Svg,
    Json,
}

fn split_format(file: &str) -> Option<(&str, Format)> {
    if let Some(stem) = file.strip_suffix(".svg") {
        Some((stem, Format::Svg))
    } else {
        file.strip_suffix(".json").map(|stem| (stem, Format::Json))
    }
}

fn phase_color(phase: Phase) -> &'static str {
    match phase {
        Phase::Accepted => "brightgreen",
        Phase::Rejected | Phase::Failed => "red",
        Phase::Ready | Phase::Pending => "grey",
        Phase::Published => "blue",
        Phase::Unknown => "lightgrey",
    }
}

/// Why a badge cannot be drawn as asked.
enum Refusal {
    BadRequest(String),
    NotFound(String),
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidText(why) => Refusal::BadRequest(why),
            e => Refusal::Store(e),
        }
    }
}

fn is_stale(state: &AppState, controller: &str) -> bool {
    let Some(poll) = state.polls.get(controller) else {
        return false;
    };
    match poll.last_success_at {
        Some(t) => (Utc::now() - t)
            .to_std()
            .is_ok_and(|age| age > state.settings.stale_after),
        None => poll.consecutive_failures > 0,
    }
}

async fn stream_text(state: &AppState, stream: &str) -> Result<BadgeText, Refusal> {
    let row = state
        .store
        .stream(stream)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("stream {stream} not found")))?;
    let label = crate::backend::badge_label(&row.controller, stream);
    let stale = is_stale(state, &row.controller);
    let accepted = state.store.latest_release(stream, Some("Accepted")).await?;
    let broken = match &accepted {
        Some(r) => state
            .store
            .mirror_check(stream, &r.name)
            .await?
            .is_some_and(|c| !c.ok),
        None => false,
    };
    let text = match accepted {
        Some(r) if broken => BadgeText {
            label,
            message: format!("{} · mirror broken", r.name),
            color: "red",
        },
        Some(r) if stale => BadgeText {
            label,
            message: format!("{} · data stale", r.name),
            color: "lightgrey",
        },
        Some(r) => BadgeText {
            label,
            message: r.name,
            color: "brightgreen",
        },
        None => match state.store.latest_release(stream, None).await? {
            Some(r) => {
                let phase = r.phase;
                BadgeText {
                    label,
                    message: format!("none accepted · latest {}", phase.as_str().to_lowercase()),
                    color: phase_color(phase),
                }
            }
            None => BadgeText {
                label,
                message: "no data".into(),
                color: "lightgrey",
            },
        },
    };
    Ok(text)
}

async fn release_text(state: &AppState, stream: &str, tag: &str) -> Result<BadgeText, Refusal> {
    let row = state
        .store
        .releases_named(tag)
        .await?
        .into_iter()
        .find(|r| r.stream == stream)
        .ok_or_else(|| Refusal::NotFound(format!("release {tag} not found in stream {stream}")))?;
    let phase = row.phase;
    Ok(BadgeText {
        label: tag.to_string(),
        message: phase.as_str().to_lowercase(),
        color: phase_color(phase),
    })
}

async fn gates_text(state: &AppState, stream: &str) -> Result<BadgeText, Refusal> {
    let row = state
        .store
        .stream(stream)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("stream {stream} not found")))?;
    let label = format!(
        "{} gates",
        crate::backend::badge_label(&row.controller, stream)
    );
    let Some(latest) = state.store.latest_release(stream, None).await? else {
        return Ok(BadgeText {
            label,
            message: "no data".into(),
            color: "lightgrey",
        });
    };
    let gates = state.store.gates(stream, &latest.name).await?;
    let blocking: Vec<_> = gates
        .iter()
        .filter(|g| g.kind == GateKind::Blocking)
        .collect();
    let passed = blocking
        .iter()
        .filter(|g| g.state == JobState::Succeeded)
        .count();
    let failed = blocking.iter().any(|g| g.state == JobState::Failed);
    let (message, color) = if blocking.is_empty() {
        ("no blocking jobs".to_string(), "lightgrey")
    } else if failed {
        (format!("{passed}/{} passed", blocking.len()), "red")
    } else if passed == blocking.len() {
        (format!("{passed}/{} passed", blocking.len()), "brightgreen")
    } else {
        (
            format!("{passed}/{} passed · running", blocking.len()),
            "grey",
        )
    };
    let color = if is_stale(state, &row.controller) && color == "brightgreen" {
        "lightgrey"
    } else {
        color
    };
    Ok(BadgeText {
        label,
        message,
        color,
    })
}

/// Job `job`'s pass rate in `stream` over the ranking window: green from 90 %, yellow from
/// 70 %, red below.
async fn job_text(state: &AppState, stream: &str, job: &str) -> Result<BadgeText, Refusal> {
    let ranking = match crate::api::backend(state).job_ranking(stream).await {
        Err(StoreError::NotFound(what)) => {
            return Err(Refusal::NotFound(format!("{what} not found")))
        }
        ranking => ranking?,
    };
    let days = ranking.days;
    let Some(j) = ranking.jobs.into_iter().find(|j| j.name == job) else {
        if state.store.job_known(stream, job).await? {
            return Ok(BadgeText {
                label: job.to_string(),
                message: format!("no runs in {days}d"),
                color: "lightgrey",
            });
        }
        return Err(Refusal::NotFound(format!(
            "job {job} not found in stream {stream}"
        )));
    };
    // the rate the job's page shows
    let (message, color) = match j.stats.pass_rate() {
        None => ("running".to_string(), "grey"),
        Some(rate) => (
            format!("{rate}% passed ({days}d)"),
            if rate >= 90 {
                "brightgreen"
            } else if rate >= 70 {
                "yellow"
            } else {
                "red"
            },
        ),
    };
    Ok(BadgeText {
        label: job.to_string(),
        message,
        color,
    })
}

fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = hex::encode(Sha256::digest(body));
    HeaderValue::from_str(&format!("\"{}\"", &digest[..32]))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

fn draw(
    text: &BadgeText,
    query: &BadgeQuery,
    format: Format,
    status: StatusCode,
) -> Result<Rendered, Refusal> {
    let style = match query.style.as_deref().filter(|s| !s.is_empty()) {
        None => Style::Flat,
        Some(s) => Style::parse(s).ok_or_else(|| {
            Refusal::BadRequest(format!(
                "unknown style {s:?}: use flat, flat-square or for-the-badge"
            ))
        })?,
    };
    let label = query.label.clone().unwrap_or_else(|| text.label.clone());
    let (content_type, body) = match format {
        Format::Svg => {
            let color = render::color(text.color)
                .unwrap_or_else(|| render::DEFAULT_MESSAGE_COLOR.to_string());
            let mut badge = Badge::new(label, text.message.clone(), color);
            badge.style = style;
            (
                "image/svg+xml;charset=utf-8",
                Bytes::from(render::render(&badge)),
            )
        }
        Format::Json => {
            let json = serde_json::json!({
                "schemaVersion": 1,
                "label": label,
                "message": text.message,
                "color": text.color,
                "style": style.as_str(),
                "cacheSeconds": 120,
            });
            ("application/json", Bytes::from(json.to_string()))
        }
    };
    Ok(Rendered {
        status,
        content_type,
        etag: etag_of(&body),
        body,
        at: Instant::now(),
    })
}

fn respond(r: &Rendered, headers: &HeaderMap) -> Response {
    let not_modified = r.status == StatusCode::OK
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == r.etag));
    let builder = Response::builder()
        .header(header::ETAG, r.etag.clone())
        .header(header::CACHE_CONTROL, CACHE_CONTROL)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        builder
            .status(r.status)
            .header(header::CONTENT_TYPE, r.content_type)
            .body(Body::from(r.body.clone()))
    };
    response.unwrap_or_else(|_| Response::new(Body::empty()))
}

fn plain(status: StatusCode, message: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .body(Body::from(message))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

enum Subject {
    Stream(String),
    Release(String, String),
    Gates(String),
    Job(String, String),
}

async fn answer(
    state: AppState,
    headers: HeaderMap,
    key: String,
    subject: Subject,
    format: Format,
    query: BadgeQuery,
) -> Response {
    if let Some(hit) = state.badges.get(&key) {
        return respond(&hit, &headers);
    }
    let text = match &subject {
        Subject::Stream(s) => stream_text(&state, s).await,
        Subject::Release(s, t) => release_text(&state, s, t).await,
        Subject::Gates(s) => gates_text(&state, s).await,
        Subject::Job(s, j) => job_text(&state, s, j).await,
    };
    let rendered = match text {
        Ok(text) => draw(&text, &query, format, StatusCode::OK),
        // a README shows the image whatever the status, so a 404 still draws one
        Err(Refusal::NotFound(message)) => draw(
            &BadgeText {
                label: "streamgate".into(),
                message: "not found".into(),
                color: "lightgrey",
            },
            &query,
            format,
            StatusCode::NOT_FOUND,
        )
        .map_err(|_| Refusal::NotFound(message)),
        Err(e) => Err(e),
    };
    match rendered {
        Ok(r) => {
            state.badges.put(key, r.clone());
            respond(&r, &headers)
        }
        Err(Refusal::BadRequest(m)) => plain(StatusCode::BAD_REQUEST, m),
        Err(Refusal::NotFound(m)) => plain(StatusCode::NOT_FOUND, m),
        Err(Refusal::Store(e)) => {
            tracing::error!(error = %e, "badge query failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer; try again shortly".into(),
            )
        }
    }
}

fn cache_key(path: &str, query: &BadgeQuery) -> String {
    format!("{path}?label={:?}&style={:?}", query.label, query.style)
}

/// `GET /badges/{stream}.svg` and `.json`.
async fn stream_badge(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Response {
    let Some((stream, format)) = split_format(&file) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("no badge {file:?}: ask for /badges/<stream>.svg or .json"),
        );
    };
    let key = cache_key(&file, &query);
    answer(
        state,
        headers,
        key,
        Subject::Stream(stream.to_string()),
        format,
        query,
    )
    .await
}

/// `GET /badges/{stream}/jobs/{job}.svg` and `.json`: a job's pass rate.
async fn job_badge(
    State(state): State<AppState>,
    Path((stream, file)): Path<(String, String)>,
    Query(query): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Response {
    let Some((job, format)) = split_format(&file) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("no badge {file:?}: ask for /badges/<stream>/jobs/<job>.svg or .json"),
        );
    };
    let key = cache_key(&format!("{stream}/jobs/{file}"), &query);
    let subject = Subject::Job(stream, job.to_string());
    answer(state, headers, key, subject, format, query).await
}

/// `GET /badges/{stream}/gates.svg`, `/badges/{stream}/{tag}.svg` and their `.json`.
async fn release_badge(
    State(state): State<AppState>,
    Path((stream, file)): Path<(String, String)>,
    Query(query): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Response {
    let Some((name, format)) = split_format(&file) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("no badge {file:?}: ask for /badges/<stream>/<tag>.svg or /badges/<stream>/gates.svg"),
        );
    };
    let key = cache_key(&format!("{stream}/{file}"), &query);
    let subject = if name == "gates" {
        Subject::Gates(stream)
    } else {
        Subject::Release(stream, name.to_string())
    };
    answer(state, headers, key, subject, format, query).await
}
