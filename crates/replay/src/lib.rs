//! The replay server: a real HTTP server (normally on loopback) that answers the
//! release-controller JSON API from a [`Dataset`] at a settable virtual time, so the poller,
//! tests and the demo can play OKD/OCP history forward without the real controllers.
//!
//! Upstream routes live under a controller prefix, so a poller's base URL is
//! `http://<addr>/<controller>` (e.g. `/origin` for OKD, `/ocp` for OCP) followed by the usual
//! `/api/v1/releasestreams/{accepted|rejected|ready|all}`,
//! `/api/v1/releasestream/{stream}/tags[?phase=…]`, `…/latest[?prefix=&rel=&in=&format=]` and
//! `…/release/{tag}[?format=short]`. Test/demo controls live under `/_replay/`: the clock
//! (`GET`/`PUT /_replay/clock`, RFC 3339), fault injection (`POST /_replay/faults`) and the log
//! of upstream requests served (`GET`/`DELETE /_replay/requests`). In-process callers drive
//! the same state through [`ReplayState`].

mod data;
pub mod dataset;
mod generate;
pub mod hostile;
mod render;
mod version;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use data::DataError;
pub use dataset::{Dataset, StreamsFilter};
pub use generate::mirrored_in_scos;

/// One queued fault: the next `times` upstream requests whose path and query contain
/// `path_contains` are delayed by `delay_ms` and, when `status` or `body` is set, answered
/// with that instead of the real response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Substring matched against the request's path and query.
    pub path_contains: String,
    /// Status to answer with (e.g. 500, 429); 200 when only `body` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds; a 429 without it sends 60 like upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Body to answer with (e.g. malformed JSON with status 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Delay before answering; with neither `status` nor `body` the real response follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// How many matching requests this fault applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// Shared state of a replay server: the data set, the virtual clock, the fault queue and the
/// request log. Cheap to clone; all clones share the same state.
#[derive(Clone)]
pub struct ReplayState {
    inner: Arc<Inner>,
}

struct Inner {
    dataset: Dataset,
    now: Mutex<DateTime<Utc>>,
    faults: Mutex<Vec<Fault>>,
    requests: Mutex<Vec<String>>,
    rate_limit: Mutex<Option<RateLimit>>,
}

/// The controller's own rate limit, as upstream's front answers it: more than `per_second`
/// requests within one second get `429` with `Retry-After: 60`.
#[derive(Debug, Clone, Copy)]
struct RateLimit {
    per_second: u32,
    window_start: std::time::Instant,
    in_window: u32,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for ReplayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayState")
            .field("now", &self.now())
            .field("tags", &self.inner.dataset.tag_count())
            .field("faults", &lock(&self.inner.faults).len())
            .field("requests", &lock(&self.inner.requests).len())
            .finish()
    }
}

impl ReplayState {
    /// Serves `dataset` with the virtual clock at `now`.
    pub fn new(dataset: Dataset, now: DateTime<Utc>) -> Self {
        ReplayState {
            inner: Arc::new(Inner {
                dataset,
                now: Mutex::new(now),
                faults: Mutex::new(Vec::new()),
                requests: Mutex::new(Vec::new()),
                rate_limit: Mutex::new(None),
            }),
        }
    }

    /// The data set being served.
    pub fn dataset(&self) -> &Dataset {
        &self.inner.dataset
    }

    /// The virtual time the server answers at.
    pub fn now(&self) -> DateTime<Utc> {
        *lock(&self.inner.now)
    }

    /// Moves the virtual clock (forward or back).
    pub fn set_now(&self, now: DateTime<Utc>) {
        *lock(&self.inner.now) = now;
    }

    /// Answers `429` (with `Retry-After: 60`, as upstream does) to every upstream request
    /// beyond `per_second` within one second; `None` lifts the limit.
    pub fn limit_rate(&self, per_second: Option<u32>) {
        *lock(&self.inner.rate_limit) = per_second.map(|per_second| RateLimit {
            per_second,
            window_start: std::time::Instant::now(),
            in_window: 0,
        });
    }

    /// Whether one more request is over the rate limit.
    fn over_rate(&self) -> bool {
        let mut limit = lock(&self.inner.rate_limit);
        let Some(limit) = limit.as_mut() else {
            return false;
        };
        if limit.window_start.elapsed() >= std::time::Duration::from_secs(1) {
            limit.window_start = std::time::Instant::now();
            limit.in_window = 0;
        }
        limit.in_window += 1;
        limit.in_window > limit.per_second
    }

    /// Queues a fault (ignored when `times` is 0).
    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            lock(&self.inner.faults).push(fault);
        }
    }

    /// The faults still queued.
    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.inner.faults).clone()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Paths (with query) of the upstream requests served so far, oldest first.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.inner.requests).clone()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    fn record(&self, target: &str) {
        lock(&self.inner.requests).push(target.to_string());
    }

    fn take_fault(&self, target: &str) -> Option<Fault> {
        let mut faults = lock(&self.inner.faults);
        let index = faults
            .iter()
            .position(|fault| target.contains(&fault.path_contains))?;
        let fault = faults[index].clone();
        if faults[index].times <= 1 {
            faults.remove(index);
        } else {
            faults[index].times -= 1;
        }
        Some(fault)
    }
}

/// The replay router: upstream routes under `/{controller}/api/v1/…` plus `/_replay/…`.
pub fn router(state: ReplayState) -> Router {
    Router::new()
        .route(
            "/{controller}/api/v1/releasestreams/{which}",
            get(release_streams),
        )
        .route(
            "/{controller}/api/v1/releasestream/{stream}/tags",
            get(stream_tags),
        )
        .route(
            "/{controller}/api/v1/releasestream/{stream}/latest",
            get(stream_latest),
        )
        .route(
            "/{controller}/api/v1/releasestream/{stream}/release/{tag}",
            get(release_info),
        )
        .route("/_replay/clock", get(get_clock).put(put_clock))
        .route(
            "/_replay/faults",
            get(list_faults).post(add_fault).delete(delete_faults),
        )
        .route(
            "/_replay/requests",
            get(list_requests).delete(delete_requests),
        )
        .fallback(page_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), intercept))
        .with_state(state)
}

/// Serves the replay router on `listener` until the task is dropped or fails.
pub async fn serve(listener: tokio::net::TcpListener, state: ReplayState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// Binds `127.0.0.1:0`, spawns [`serve`] on it and returns the bound address (the poller's
/// base URL is then `http://<addr>/origin`) and the server task.
pub async fn start(
    state: ReplayState,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    Ok((addr, tokio::spawn(serve(listener, state))))
}

/// Logs upstream requests and applies queued faults; control routes pass straight through.
async fn intercept(State(state): State<ReplayState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_replay/") {
        return next.run(request).await;
    }
    let target = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    state.record(&target);
    if state.over_rate() {
        return fault_response(&Fault {
            path_contains: String::new(),
            status: Some(429),
            retry_after: Some(60),
            body: None,
            delay_ms: None,
            times: 1,
        });
    }
    if let Some(fault) = state.take_fault(&target) {
        tracing::debug!(%target, ?fault, "replay: injecting fault");
        if let Some(ms) = fault.delay_ms.filter(|ms| *ms > 0) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        if fault.status.is_some() || fault.body.is_some() {
            return fault_response(&fault);
        }
    }
    next.run(request).await
}

fn fault_response(fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(200))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = fault.body.clone().unwrap_or_else(|| {
        format!(
            "{}\n",
            status.canonical_reason().unwrap_or("injected failure")
        )
    });
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    let retry_after = match (status, fault.retry_after) {
        (_, Some(seconds)) => Some(seconds),
        (StatusCode::TOO_MANY_REQUESTS, None) => Some(60),
        _ => None,
    };
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// `http.Error`: plain text with a trailing newline.
fn text(status: StatusCode, message: impl Into<String>) -> Response {
    let mut body = message.into();
    body.push('\n');
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// Go's `json.MarshalIndent(v, "", indent)` followed by a newline.
fn json<T: Serialize>(value: &T, indent: &[u8]) -> Response {
    let mut body = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut body, formatter);
    if let Err(error) = value.serialize(&mut serializer) {
        return text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string());
    }
    body.push(b'\n');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Go's mux answer for an unknown route (also used for an unknown controller).
async fn page_not_found() -> Response {
    text(StatusCode::NOT_FOUND, "404 page not found")
}

/// Decoded query parameters in order, keys may repeat.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(raw: Option<&str>) -> Self {
        QueryParams(
            raw.unwrap_or_default()
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(key), decode(value))
                })
                .collect(),
        )
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Percent-decoding for query components (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn release_streams(
    State(state): State<ReplayState>,
    Path((controller, which)): Path<(String, String)>,
) -> Response {
    let Some(filter) = StreamsFilter::parse(&which) else {
        return page_not_found().await;
    };
    match state.dataset().streams(&controller, filter, state.now()) {
        Some(streams) => json(&streams, b" "),
        None => page_not_found().await,
    }
}

async fn stream_tags(
    State(state): State<ReplayState>,
    Path((controller, stream)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    if state.dataset().controller(&controller).is_none() {
        return page_not_found().await;
    }
    let query = QueryParams::parse(query.as_deref());
    match query.first("format") {
        None | Some("") | Some("json") => {}
        Some(other) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("error: unrecognized format {other:?}"),
            )
        }
    }
    let phases = query.all("phase");
    match state
        .dataset()
        .tags(&controller, &stream, state.now(), &phases)
    {
        Some(release) => json(&release, b"  "),
        None => text(
            StatusCode::NOT_FOUND,
            format!("Unable to find release {stream}"),
        ),
    }
}

async fn stream_latest(
    State(state): State<ReplayState>,
    Path((controller, stream)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    if state.dataset().controller(&controller).is_none() {
        return page_not_found().await;
    }
    let query = QueryParams::parse(query.as_deref());
    let range = match query.first("in").filter(|v| !v.is_empty()) {
        Some(text_range) => match version::Range::parse(text_range) {
            Ok(range) => Some(range),
            Err(error) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("error: ?in must be a valid semantic version range: {error}"),
                )
            }
        },
        None => None,
    };
    let rel = match query.first("rel").filter(|v| !v.is_empty()) {
        Some(value) => match value.parse::<usize>() {
            Ok(rel) => rel,
            Err(error) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("error: ?rel must be non-negative integer: {error}"),
                )
            }
        },
        None => 0,
    };
    let format = query.first("format").unwrap_or_default().to_string();
    if !matches!(
        format.as_str(),
        "" | "json" | "pullSpec" | "name" | "downloadURL"
    ) {
        return text(
            StatusCode::BAD_REQUEST,
            format!("error: unrecognized format {format:?}"),
        );
    }
    let prefix = query.first("prefix").filter(|v| !v.is_empty());
    let Some(accepted) = state.dataset().accepted(&controller, &stream, state.now()) else {
        return text(
            StatusCode::NOT_FOUND,
            "no release configuration exists with the requested name",
        );
    };
    let latest = accepted
        .into_iter()
        .filter(|tag| prefix.is_none_or(|prefix| tag.name.starts_with(prefix)))
        .filter(|tag| range.as_ref().is_none_or(|range| range.contains(&tag.name)))
        .nth(rel);
    let Some(latest) = latest else {
        return text(
            StatusCode::NOT_FOUND,
            "no tags exist within the release that satisfy the request",
        );
    };
    let line = |value: &str| {
        ([(header::CONTENT_TYPE, "text/plain")], format!("{value}\n")).into_response()
    };
    match format.as_str() {
        "pullSpec" => line(&latest.pull_spec),
        "name" => line(&latest.name),
        "downloadURL" => line(&latest.download_url),
        _ => json(&latest, b"  "),
    }
}

async fn release_info(
    State(state): State<ReplayState>,
    Path((controller, stream, tag)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let dataset = state.dataset();
    if dataset.controller(&controller).is_none() {
        return page_not_found().await;
    }
    let query = QueryParams::parse(query.as_deref());
    let format = query
        .first("format")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let short = match format.as_str() {
        "" | "json" => false,
        "short" => true,
        other => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("error: unrecognized format {other:?}"),
            )
        }
    };
    if dataset.stream(&controller, &stream).is_none() {
        return text(
            StatusCode::NOT_FOUND,
            format!("Unable to find release {stream}"),
        );
    }
    let now = state.now();
    let info = if short {
        dataset.release_info_short(&controller, &stream, &tag, now)
    } else {
        dataset.release_info(&controller, &stream, &tag, now)
    };
    match info {
        Some(info) => json(&info, b"  "),
        None => text(
            StatusCode::NOT_FOUND,
            format!("unable to find release tag {tag}, it may have been deleted"),
        ),
    }
}

async fn get_clock(State(state): State<ReplayState>) -> Response {
    text(StatusCode::OK, dataset::rfc3339(state.now()))
}

async fn put_clock(State(state): State<ReplayState>, body: String) -> Response {
    let value = body.trim().trim_matches('"');
    match DateTime::parse_from_rfc3339(value) {
        Ok(now) => {
            let now = now.with_timezone(&Utc);
            state.set_now(now);
            text(StatusCode::OK, dataset::rfc3339(now))
        }
        Err(error) => text(
            StatusCode::BAD_REQUEST,
            format!("error: the body must be an RFC 3339 time: {error}"),
        ),
    }
}

async fn list_faults(State(state): State<ReplayState>) -> Response {
    json(&state.faults(), b"  ")
}

async fn add_fault(State(state): State<ReplayState>, body: String) -> Response {
    match serde_json::from_str::<Fault>(&body) {
        Ok(fault) if fault.times == 0 => text(StatusCode::BAD_REQUEST, "error: times must be > 0"),
        Ok(fault) => {
            state.inject(fault.clone());
            let mut response = json(&fault, b"  ");
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(error) => text(
            StatusCode::BAD_REQUEST,
            format!("error: invalid fault: {error}"),
        ),
    }
}

async fn delete_faults(State(state): State<ReplayState>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn list_requests(State(state): State<ReplayState>) -> Response {
    json(&state.requests(), b"  ")
}

async fn delete_requests(State(state): State<ReplayState>) -> StatusCode {
    state.clear_requests();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use dataset::{PHASE_ACCEPTED, PHASE_PENDING};
    use streamgate_formats::release_controller::{
        ApiRelease, ApiReleaseInfo, ApiTag, ReleaseStreams,
    };

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 11, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    async fn server() -> (
        ReplayState,
        String,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let state = ReplayState::new(Dataset::demo(anchor()).expect("demo data"), anchor());
        let (addr, handle) = start(state.clone()).await.expect("bind loopback");
        (state, format!("http://{addr}"), handle)
    }

    async fn get_text(url: &str) -> (u16, String, String) {
        let response = reqwest::Client::new()
            .get(url)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, content_type, response.text().await.expect("body"))
    }

    #[tokio::test]
    async fn serves_upstream_tags_over_http() {
        let (_state, base, handle) = server().await;
        let (status, content_type, body) = get_text(&format!(
            "{base}/origin/api/v1/releasestream/4.21.0-0.okd-scos/tags"
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(content_type, "application/json");
        assert!(body.starts_with("{\n  \"name\""), "{body}");
        let release: ApiRelease = serde_json::from_str(&body).expect("APIRelease");
        assert_eq!(release.name, "4.21.0-0.okd-scos");
        assert!(release.tags.len() >= 5);
        assert!(release.tags.windows(2).all(|w| w[0].name > w[1].name));
        assert!(release.tags[0]
            .name
            .starts_with("4.21.0-0.okd-scos-2026-02-11-"));

        let (status, _, body) = get_text(&format!(
            "{base}/origin/api/v1/releasestream/4.21.0-0.okd-scos/tags?phase=Accepted&phase=Rejected"
        ))
        .await;
        assert_eq!(status, 200);
        let filtered: ApiRelease = serde_json::from_str(&body).expect("APIRelease");
        assert!(filtered
            .tags
            .iter()
            .all(|t| t.phase == "Accepted" || t.phase == "Rejected"));
        assert!(filtered.tags.len() < release.tags.len());

        let (status, _, body) =
            get_text(&format!("{base}/origin/api/v1/releasestreams/accepted")).await;
        assert_eq!(status, 200);
        assert!(body.starts_with("{\n \""), "one-space indent: {body}");
        let streams: ReleaseStreams = serde_json::from_str(&body).expect("streams");
        assert!(streams.contains_key("4-scos-next"));
        assert!(!streams.contains_key("4.14.0-0.okd"));

        let (status, _, body) = get_text(&format!(
            "{base}/ocp/api/v1/releasestream/4.21.0-0.ci/latest"
        ))
        .await;
        assert_eq!(status, 200);
        let latest: ApiTag = serde_json::from_str(&body).expect("tag");
        assert_eq!(latest.phase, PHASE_ACCEPTED);
        let (_, content_type, name) = get_text(&format!(
            "{base}/origin/api/v1/releasestream/4-scos-stable/latest?format=name&in=%3C4.21.0-0"
        ))
        .await;
        assert_eq!(content_type, "text/plain");
        assert!(name.starts_with("4.20.0-okd-scos."), "{name}");
        handle.abort();
    }

    #[tokio::test]
    async fn release_info_matches_the_wire_shape() {
        let (state, base, handle) = server().await;
        let accepted = state
            .dataset()
            .latest("origin", "4.21.0-0.okd-scos", anchor(), None)
            .expect("accepted tag");
        let url = format!(
            "{base}/origin/api/v1/releasestream/4.21.0-0.okd-scos/release/{}",
            accepted.name
        );
        let (status, _, body) = get_text(&url).await;
        assert_eq!(status, 200);
        let value: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(value["phase"], "Accepted");
        assert_eq!(
            value["results"]["blockingJobs"]["aws"]["state"],
            "Succeeded"
        );
        assert!(value["upgradesTo"][0]["From"].is_string());
        assert!(value["upgradesTo"][0]["History"].is_object());
        assert!(value["changeLog"].is_string());
        assert_eq!(value["changeLogJson"]["to"]["name"], accepted.name.as_str());
        let info: ApiReleaseInfo = serde_json::from_str(&body).expect("APIReleaseInfo");
        assert!(info
            .change_log_json
            .expect("changelog")
            .updated_images
            .is_some());

        let (status, _, body) = get_text(&format!("{url}?format=short")).await;
        assert_eq!(status, 200);
        let short: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            short["changeLogJson"]["from"]["created"],
            "0001-01-01T00:00:00Z"
        );
        assert!(short.get("changeLog").is_none());
        handle.abort();
    }

    #[tokio::test]
    async fn errors_are_plain_text_like_upstream() {
        let (_state, base, handle) = server().await;
        let api = format!("{base}/origin/api/v1");
        let (status, content_type, body) =
            get_text(&format!("{api}/releasestream/nope/tags")).await;
        assert_eq!(
            (status, body.as_str()),
            (404, "Unable to find release nope\n")
        );
        assert!(content_type.starts_with("text/plain"));
        let (status, _, body) = get_text(&format!(
            "{api}/releasestream/4.21.0-0.okd-scos/release/4.21.0-0.okd-scos-2000-01-01-000000"
        ))
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            "unable to find release tag 4.21.0-0.okd-scos-2000-01-01-000000, it may have been deleted\n"
        );
        let (status, _, _) = get_text(&format!(
            "{api}/releasestream/4.21.0-0.okd-scos/tags?format=xml"
        ))
        .await;
        assert_eq!(status, 400);
        let (status, _, _) = get_text(&format!(
            "{api}/releasestream/4-scos-stable/release/4.21.0-okd-scos.0?format=yaml"
        ))
        .await;
        assert_eq!(status, 400);
        let (status, _, _) = get_text(&format!("{base}/nope/api/v1/releasestreams/all")).await;
        assert_eq!(status, 404);
        let (status, _, _) =
            get_text(&format!("{api}/releasestream/4-scos-next/latest?prefix=9.")).await;
        assert_eq!(status, 404);
        let (status, _, _) =
            get_text(&format!("{api}/releasestream/4-scos-next/latest?rel=-1")).await;
        assert_eq!(status, 400);
        handle.abort();
    }

    #[tokio::test]
    async fn clock_moves_history_and_prunes() {
        let (state, base, handle) = server().await;
        let (status, _, body) = get_text(&format!("{base}/_replay/clock")).await;
        assert_eq!((status, body.as_str()), (200, "2026-02-11T12:00:00Z\n"));
        let tags_url = format!("{base}/ocp/api/v1/releasestream/4.21.0-0.ci/tags");
        let (_, _, body) = get_text(&tags_url).await;
        let before: ApiRelease = serde_json::from_str(&body).expect("tags");
        assert_eq!(before.tags[0].phase, PHASE_PENDING);

        // Back in time: the newest tag does not exist yet.
        let earlier = anchor() - Duration::hours(1);
        let response = reqwest::Client::new()
            .put(format!("{base}/_replay/clock"))
            .body(dataset::rfc3339(earlier))
            .send()
            .await
            .expect("put");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(state.now(), earlier);
        let (_, _, body) = get_text(&tags_url).await;
        let past: ApiRelease = serde_json::from_str(&body).expect("tags");
        assert!(past.tags.iter().all(|t| t.name != before.tags[0].name));

        // Far forward: everything decided, old tags pruned.
        state.set_now(anchor() + Duration::days(30));
        let (_, _, body) = get_text(&tags_url).await;
        let future: ApiRelease = serde_json::from_str(&body).expect("tags");
        assert!(future.tags.len() <= 3 * dataset::KEEP_PER_PHASE);
        assert!(future.tags.iter().all(|t| t.phase != PHASE_PENDING));

        let bad = reqwest::Client::new()
            .put(format!("{base}/_replay/clock"))
            .body("yesterday")
            .send()
            .await
            .expect("put");
        assert_eq!(bad.status().as_u16(), 400);
        handle.abort();
    }

    #[tokio::test]
    async fn faults_and_request_log() {
        let (state, base, handle) = server().await;
        let client = reqwest::Client::new();
        let add = |fault: serde_json::Value| {
            let client = client.clone();
            let url = format!("{base}/_replay/faults");
            async move {
                client
                    .post(url)
                    .body(fault.to_string())
                    .send()
                    .await
                    .expect("post")
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(
            add(serde_json::json!({"path_contains": "/tags", "status": 429, "retry_after": 7}))
                .await,
            201
        );
        let url = format!("{base}/origin/api/v1/releasestream/4-scos-stable/tags?phase=Accepted");
        let limited = client.get(&url).send().await.expect("get");
        assert_eq!(limited.status().as_u16(), 429);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
        assert_eq!(get_text(&url).await.0, 200);

        add(serde_json::json!({"path_contains": "4-scos-next", "body": "{\"name\": ", "times": 2}))
            .await;
        let next = format!("{base}/origin/api/v1/releasestream/4-scos-next/tags");
        for _ in 0..2 {
            let (status, _, body) = get_text(&next).await;
            assert_eq!((status, body.as_str()), (200, "{\"name\": "));
        }
        assert!(serde_json::from_str::<ApiRelease>(&get_text(&next).await.2).is_ok());

        add(serde_json::json!({"path_contains": "releasestreams/all", "status": 500})).await;
        assert_eq!(
            get_text(&format!("{base}/origin/api/v1/releasestreams/all"))
                .await
                .0,
            500
        );

        add(serde_json::json!({"path_contains": "/latest", "delay_ms": 300})).await;
        let started = std::time::Instant::now();
        let (status, _, _) = get_text(&format!(
            "{base}/origin/api/v1/releasestream/4-stable/latest"
        ))
        .await;
        assert_eq!(status, 200);
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));
        assert!(state.faults().is_empty());

        let (_, _, body) = get_text(&format!("{base}/_replay/requests")).await;
        let log: Vec<String> = serde_json::from_str(&body).expect("log");
        assert_eq!(
            log.first().map(String::as_str),
            Some("/origin/api/v1/releasestream/4-scos-stable/tags?phase=Accepted")
        );
        assert_eq!(log.len(), 7);
        assert!(log.iter().all(|entry| !entry.starts_with("/_replay")));
        let cleared = client
            .delete(format!("{base}/_replay/requests"))
            .send()
            .await
            .expect("delete");
        assert_eq!(cleared.status().as_u16(), 204);
        assert!(state.requests().is_empty());
        assert_eq!(add(serde_json::json!({"status": 500})).await, 400);
        handle.abort();
    }

    #[test]
    fn query_decoding() {
        let query = QueryParams::parse(Some(
            "phase=Accepted&phase=Rejected&in=%3E4.20.0-0+%3C4.21.0-0&x",
        ));
        assert_eq!(query.all("phase"), vec!["Accepted", "Rejected"]);
        assert_eq!(query.first("in"), Some(">4.20.0-0 <4.21.0-0"));
        assert_eq!(query.first("x"), Some(""));
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}
