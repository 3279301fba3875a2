//! Anonymous pages from memory: every page an anonymous visitor sees is a function of its
//! path, its query and the event log, so a rendered page is kept and served again until the
//! log advances.
//!
//! - **What is kept**: `GET`/`HEAD` answers `200 text/html` to visitors who are not signed in
//!   (no user resolved, no `Authorization`), for the read-only pages ([`cacheable`]), without
//!   `Set-Cookie`; keyed by path and query; at most [`ENTRY_BYTES`] each and
//!   [`PageCache::limit`] together (the oldest go first); gzip'd once when kept.
//! - **Until when**: a page is served while the log's generation is the one it was rendered
//!   at ([`log_advanced`]: every event stored by this process, and every new event another
//!   replica stored, which [`crate::live`] sees; and the polling status' generation, since
//!   pages say whether a controller answers) and for at most [`PageCache::max_age`], which
//!   bounds how old a relative time ("3 min ago") and anything kept outside the log can get.
//!   A page rendered while the log advanced is not kept.
//! - **Its nonce**: the page's inline scripts carry the nonce of the request that rendered
//!   it; an answer from memory carries [`PageNonce`], and [`crate::headers::secure`] writes
//!   that nonce into the Content-Security-Policy. The nonce stays unpredictable where it
//!   matters: a page is rendered from data stored before its nonce existed.
//!   Signed-in visitors always get a fresh render with a fresh nonce.
//! - **One render at a time**: while a page is being rendered, other anonymous requests for it
//!   wait for that render (at most [`FLIGHT_WAIT`]) and are answered from memory, rather than
//!   each rendering it too — the moment the log advances on a busy page, or the first
//!   visitors of a page, would otherwise render it once per request at the same time.
//! - `X-Page-Cache: hit|miss` says which it was.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE,
    VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::viewer::Viewer;

use crate::generation::Generation;
use crate::store::Store;
use crate::AppState;

/// Each database's log generation: advanced whenever its log is.
static LOG: Generation = Generation::new();

/// Largest page kept.
pub const ENTRY_BYTES: usize = 4 << 20;
/// How much all kept pages may take by default.
pub const DEFAULT_LIMIT: usize = 64 << 20;
/// How long a page is kept by default, however still the log is.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30);
/// How long a request waits for another request's render of the same page before it renders
/// the page itself.
pub const FLIGHT_WAIT: Duration = Duration::from_secs(5);
/// The header saying whether an answer came from memory.
pub const CACHE_HEADER: &str = "x-page-cache";

/// `store`'s log advanced: every page kept from it is stale from now on.
pub fn log_advanced(store: &Store) {
    LOG.advance(store);
}

/// The generation of `store`'s log.
fn log_generation(store: &Store) -> u64 {
    LOG.get(store)
}

/// The generation of what the pages of `state` show: its log's and its polling status'.
fn generation(state: &AppState) -> u64 {
    log_generation(&state.store).wrapping_add(state.polls.changes())
}

/// The nonce the inline scripts of an answer from memory carry, for the
/// Content-Security-Policy (a response extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageNonce(pub String);

/// Whether the page at `path` is the same for every anonymous visitor and kept.
pub fn cacheable(path: &str) -> bool {
    matches!(path, "/" | "/upgrade" | "/jobs" | "/search" | "/badges")
        || [
            "/streams/",
            "/releases/",
            "/compare/",
            "/components/",
            "/jobs/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
}

/// A kept page.
#[derive(Debug)]
struct Entry {
    generation: u64,
    stored: Instant,
    nonce: String,
    content_type: HeaderValue,
    identity: Bytes,
    gzip: Bytes,
}

impl Entry {
    fn size(&self) -> usize {
        self.identity.len() + self.gzip.len()
    }
}

#[derive(Debug, Default)]
struct Kept {
    entries: HashMap<String, Arc<Entry>>,
    /// Keys, oldest first (a key appears once per time it was stored).
    order: VecDeque<String>,
    bytes: usize,
}

/// The kept pages of one server.
#[derive(Debug)]
pub struct PageCache {
    kept: Mutex<Kept>,
    /// Pages being rendered, by key: told when the render is over (kept or not).
    flights: Mutex<HashMap<String, tokio::sync::watch::Receiver<bool>>>,
    /// How much all kept pages may take.
    pub limit: usize,
    /// How long a page is kept.
    pub max_age: Duration,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new(DEFAULT_LIMIT, DEFAULT_MAX_AGE)
    }
}

impl PageCache {
    /// A cache of at most `limit` bytes whose pages live at most `max_age`.
    pub fn new(limit: usize, max_age: Duration) -> PageCache {
        PageCache {
            kept: Mutex::new(Kept::default()),
            flights: Mutex::default(),
            limit,
            max_age,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The page kept for `key`, if it was rendered at generation `at` and is young enough.
    fn get(&self, key: &str, at: u64) -> Option<Arc<Entry>> {
        let kept = self.lock();
        let entry = kept.entries.get(key)?;
        (entry.generation == at && entry.stored.elapsed() < self.max_age).then(|| entry.clone())
    }

    /// Keeps `entry` under `key`, dropping the oldest pages beyond the limit.
    fn put(&self, key: String, entry: Arc<Entry>) {
        if entry.size() > self.limit {
            return;
        }
        let mut kept = self.lock();
        if let Some(old) = kept.entries.insert(key.clone(), entry.clone()) {
            kept.bytes -= old.size();
        }
        kept.bytes += entry.size();
        kept.order.push_back(key);
        while kept.bytes > self.limit {
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            // a key stored again later is still in the queue; drop it only at its last place
            if kept.order.contains(&oldest) {
                continue;
            }
            if let Some(old) = kept.entries.remove(&oldest) {
                kept.bytes -= old.size();
            }
        }
    }

    /// Joins the render of `key` under way, or starts one: `Err` holds what tells when the
    /// render under way is over; `Ok` is this request's own render, over when dropped.
    fn flight(&self, key: &str) -> Result<Flight<'_>, tokio::sync::watch::Receiver<bool>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(under_way) = flights.get(key) {
            return Err(under_way.clone());
        }
        let (done, over) = tokio::sync::watch::channel(false);
        flights.insert(key.to_string(), over);
        Ok(Flight {
            cache: self,
            key: key.to_string(),
            done,
        })
    }

    /// How many pages are kept and how many bytes they take.
    pub fn usage(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.entries.len(), kept.bytes)
    }
}

/// A render of a page under way; dropped when it is over (answered, failed or abandoned),
/// which lets the requests waiting for it go on.
struct Flight<'a> {
    cache: &'a PageCache,
    key: String,
    done: tokio::sync::watch::Sender<bool>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.cache
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
        self.done.send_replace(true);
    }
}

/// Middleware: answers anonymous page requests from memory, keeping what it renders.
pub async fn serve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cache = &state.pages;
    let anonymous = request.extensions().get::<Viewer>().is_none()
        && !request.headers().contains_key(AUTHORIZATION);
    if !matches!(*request.method(), Method::GET | Method::HEAD)
        || !anonymous
        || !cacheable(request.uri().path())
    {
        return next.run(request).await;
    }
    let key = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_string(),
        |p| p.as_str().to_string(),
    );
    let gzip = accepts_gzip(&request);
    let head = request.method() == Method::HEAD;
    if let Some(entry) = cache.get(&key, generation(&state)) {
        return answer(&entry, gzip, head, "hit");
    }
    // another request is rendering this page: its render is this answer, if it is kept
    let _flight = match cache.flight(&key) {
        Ok(flight) => Some(flight),
        Err(mut over) => {
            let _ = tokio::time::timeout(FLIGHT_WAIT, over.wait_for(|done| *done)).await;
            if let Some(entry) = cache.get(&key, generation(&state)) {
                return answer(&entry, gzip, head, "hit");
            }
            None
        }
    };
    let at = generation(&state);
    let nonce = request
        .extensions()
        .get::<leptos::nonce::Nonce>()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let response = next.run(request).await;
    // a HEAD answer has no body to keep
    let keepable = !head
        && response.status() == StatusCode::OK
        && !response.headers().contains_key(SET_COOKIE)
        && !response.headers().contains_key(CONTENT_ENCODING)
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
    if !keepable || nonce.is_empty() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let identity = match axum::body::to_bytes(body, ENTRY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(%key, error = %e, "a page too large to keep failed to render");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("text/html; charset=utf-8"));
    let entry = Arc::new(Entry {
        generation: at,
        stored: Instant::now(),
        nonce,
        content_type,
        gzip: gzipped(&identity),
        identity,
    });
    // rendered while the log advanced: answered, not kept
    if generation(&state) == at {
        cache.put(key, entry.clone());
    }
    answer(&entry, gzip, head, "miss")
}

/// Whether the request accepts gzip.
fn accepts_gzip(request: &Request) -> bool {
    request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn gzipped(bytes: &[u8]) -> Bytes {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match gz.write_all(bytes).and_then(|()| gz.finish()) {
        Ok(out) => Bytes::from(out),
        // an in-memory writer does not fail; without a gzip copy, identity is sent
        Err(_) => Bytes::new(),
    }
}

/// The answer from `entry`: gzip'd when the client takes it, no body for `HEAD`.
fn answer(entry: &Entry, gzip: bool, head: bool, how: &'static str) -> Response {
    let gzip = gzip && !entry.gzip.is_empty();
    let body = if gzip { &entry.gzip } else { &entry.identity };
    let mut response = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body.clone()))
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, entry.content_type.clone());
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(CACHE_HEADER, HeaderValue::from_static(how));
    if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
        .extensions_mut()
        .insert(PageNonce(entry.nonce.clone()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generation of the tests' own: other tests advance the process's log meanwhile.
    const AT: u64 = u64::MAX;

    fn entry(size: usize) -> Arc<Entry> {
        Arc::new(Entry {
            generation: AT,
            stored: Instant::now(),
            nonce: "n".into(),
            content_type: HeaderValue::from_static("text/html"),
            identity: Bytes::from(vec![b'x'; size]),
            gzip: Bytes::new(),
        })
    }

    #[test]
    fn only_the_read_only_pages_are_kept() {
        for path in [
            "/",
            "/streams/4-scos-stable",
            "/releases/x",
            "/compare/a/b",
            "/jobs",
            "/jobs/e2e",
            "/search",
            "/upgrade",
            "/components/cli",
            "/badges",
        ] {
            assert!(cacheable(path), "{path}");
        }
        for path in [
            "/promotions",
            "/promotions/3",
            "/promote/x",
            "/admin/targets",
            "/sign-in",
            "/account",
            "/api/v1/streams",
            "/badges/4-scos-stable.svg",
            "/feeds/x",
            "/pkg/streamgate.js",
        ] {
            assert!(!cacheable(path), "{path}");
        }
    }

    #[test]
    fn pages_are_bounded_and_the_oldest_go_first() {
        let cache = PageCache::new(250, Duration::from_secs(60));
        cache.put("a".into(), entry(100));
        cache.put("b".into(), entry(100));
        cache.put("a".into(), entry(100));
        assert_eq!(cache.usage(), (2, 200));
        cache.put("c".into(), entry(100));
        // b is the oldest now: a was stored again after it
        assert!(cache.get("b", AT).is_none());
        assert!(cache.get("a", AT).is_some() && cache.get("c", AT).is_some());
        assert!(
            cache.get("a", AT - 1).is_none(),
            "rendered at another generation"
        );
        assert_eq!(cache.usage(), (2, 200));
        cache.put("huge".into(), entry(300));
        assert!(
            cache.get("huge", AT).is_none(),
            "larger than the whole cache"
        );
    }

    #[test]
    fn pages_expire() {
        let cache = PageCache::new(1 << 20, Duration::from_millis(0));
        cache.put("a".into(), entry(10));
        assert!(cache.get("a", AT).is_none(), "older than the age allowed");
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        let with = |v: &'static str| {
            let request = Request::builder()
                .header(ACCEPT_ENCODING, v)
                .body(Body::empty())
                .expect("request");
            accepts_gzip(&request)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
    }
}
