//! Prometheus metrics at `GET /metrics`: HTTP latency by route, polls, events ingested,
//! promotions, live followers, poll locks and the database pool.
//!
//! The metrics live in one process-wide set ([`get`]) that the parts of the server update
//! where things happen; the pool gauges are read when scraped. Labels are bounded: routes
//! are the router's patterns (`/releases/{tag}`), never raw paths.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::Store;
use crate::AppState;

/// An HTTP answer's labels. Every value comes from a closed set, so no request can add
/// a series: a made-up method is `other`, a path no route matched is `unmatched`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Request method: one of [`METHODS`], or `other`.
    pub method: String,
    /// Route pattern, or `unmatched` (static files and 404s).
    pub route: String,
    /// Status class (`1xx` to `5xx`), or `other`.
    pub status: String,
}

/// The methods counted under their own name; any other is counted as `other`.
pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// The label for a request's method: its name when standard, else `other`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// The label for a response's status: its class, `1xx` to `5xx`.
pub fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "other",
    }
}

/// A poll's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    /// Controller name.
    pub controller: String,
    /// `ok` or `error`.
    pub result: String,
}

/// One controller.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    /// Controller name.
    pub controller: String,
}

/// An ingested event's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// Where it came from (a controller, a webhook, the payload reader).
    pub source: String,
    /// Its kind.
    pub kind: String,
}

/// A finished promotion's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PromotionLabels {
    /// Target name.
    pub target: String,
    /// `succeeded` or `failed`.
    pub result: String,
}

/// Bytes moved for a promotion, by how.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BytesLabels {
    /// Target name.
    pub target: String,
    /// `copied` (streamed between registries) or `present` (already at the target, or
    /// mounted within it).
    pub how: String,
}

/// A pool gauge's label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    /// `idle` or `in_use`.
    pub state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    /// Seconds to answer, by method, route and status class.
    pub http: HistogramFamily<HttpLabels>,
    /// Polls by controller and result.
    pub polls: Family<PollLabels, Counter>,
    /// Seconds a poll took.
    pub poll_seconds: HistogramFamily<ControllerLabel>,
    /// 1 while this process holds the controller's poll lock.
    pub poll_lock: Family<ControllerLabel, Gauge>,
    /// Events appended to the log, by source and kind.
    pub events: Family<EventLabels, Counter>,
    /// Promotions finished, by target and result.
    pub promotions: Family<PromotionLabels, Counter>,
    /// Seconds from a promotion's request to its end.
    pub promotion_seconds: HistogramFamily<PromotionLabels>,
    /// Bytes of promoted images.
    pub promotion_bytes: Family<BytesLabels, Counter>,
    /// Server-sent-event followers connected.
    pub live_followers: Gauge,
    /// Database connections.
    pub pool: Family<PoolLabel, Gauge>,
    /// The pool's most connections.
    pub pool_max: Gauge,
}

fn latency() -> Histogram {
    // 1 ms to about 16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn long() -> Histogram {
    // 50 ms to about 3.6 h
    Histogram::new(exponential_buckets(0.05, 3.0, 12))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("streamgate");
        let http =
            HistogramFamily::<HttpLabels>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route pattern and status class",
            http.clone(),
        );
        let polls = Family::<PollLabels, Counter>::default();
        registry.register(
            "polls",
            "Polls of a release-controller, by result",
            polls.clone(),
        );
        let poll_seconds =
            HistogramFamily::<ControllerLabel>::new_with_constructor(long as fn() -> Histogram);
        registry.register(
            "poll_duration_seconds",
            "Time one poll of a release-controller took",
            poll_seconds.clone(),
        );
        let poll_lock = Family::<ControllerLabel, Gauge>::default();
        registry.register(
            "poll_lock_held",
            "1 while this replica polls the controller (holds its lock), 0 on standby",
            poll_lock.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events_ingested",
            "Events appended to the log by this replica, by source and kind",
            events.clone(),
        );
        let promotions = Family::<PromotionLabels, Counter>::default();
        registry.register(
            "promotions",
            "Promotions finished by this replica, by target and result",
            promotions.clone(),
        );
        let promotion_seconds =
            HistogramFamily::<PromotionLabels>::new_with_constructor(long as fn() -> Histogram);
        registry.register(
            "promotion_duration_seconds",
            "Time from a promotion's request to its end",
            promotion_seconds.clone(),
        );
        let promotion_bytes = Family::<BytesLabels, Counter>::default();
        registry.register(
            "promotion_bytes",
            "Bytes of promoted images: copied between registries, or already present or mounted",
            promotion_bytes.clone(),
        );
        let live_followers = Gauge::default();
        registry.register(
            "live_followers",
            "Server-sent-event streams open on this replica",
            live_followers.clone(),
        );
        let pool = Family::<PoolLabel, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of this replica, idle or in use",
            pool.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The most database connections this replica opens",
            pool_max.clone(),
        );
        Metrics {
            registry,
            http,
            polls,
            poll_seconds,
            poll_lock,
            events,
            promotions,
            promotion_seconds,
            promotion_bytes,
            live_followers,
            pool,
            pool_max,
        }
    }

    /// The text exposition of every metric, with the pool read from `store` now.
    pub fn render(&self, store: &Store) -> String {
        let crate::store::replicas::PoolStats { size, idle, max } = store.pool_stats();
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.pool
            .get_or_create(&PoolLabel {
                state: "idle".into(),
            })
            .set(idle);
        self.pool
            .get_or_create(&PoolLabel {
                state: "in_use".into(),
            })
            .set(i64::from(size).saturating_sub(idle).max(0));
        self.pool_max.set(i64::from(max));
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }

    /// Counts one poll of `controller`.
    pub fn poll(&self, controller: &str, ok: bool, started: Instant) {
        self.polls
            .get_or_create(&PollLabels {
                controller: controller.to_string(),
                result: if ok { "ok" } else { "error" }.to_string(),
            })
            .inc();
        self.poll_seconds
            .get_or_create(&ControllerLabel {
                controller: controller.to_string(),
            })
            .observe(started.elapsed().as_secs_f64());
    }

    /// Says whether this process holds `controller`'s poll lock.
    pub fn poll_lock(&self, controller: &str, held: bool) {
        self.poll_lock
            .get_or_create(&ControllerLabel {
                controller: controller.to_string(),
            })
            .set(i64::from(held));
    }

    /// Counts one appended event.
    pub fn event(&self, source: &str, kind: &str) {
        self.events
            .get_or_create(&EventLabels {
                source: source.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Counts a finished promotion: its result, how long since it was requested, and bytes.
    pub fn promotion(
        &self,
        target: &str,
        succeeded: bool,
        seconds: f64,
        copied: u64,
        present: u64,
    ) {
        let labels = PromotionLabels {
            target: target.to_string(),
            result: if succeeded { "succeeded" } else { "failed" }.to_string(),
        };
        self.promotions.get_or_create(&labels).inc();
        self.promotion_seconds
            .get_or_create(&labels)
            .observe(seconds.max(0.0));
        for (how, bytes) in [("copied", copied), ("present", present)] {
            self.promotion_bytes
                .get_or_create(&BytesLabels {
                    target: target.to_string(),
                    how: how.to_string(),
                })
                .inc_by(bytes);
        }
    }
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        get().render(&state.store),
    )
        .into_response()
}

/// Middleware: observes each answer's latency under its route pattern.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(request).await;
    let status = status_label(response.status()).to_string();
    get()
        .http
        .get_or_create(&HttpLabels {
            method,
            route,
            status,
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_the_families_and_the_pool() {
        let (store, _dir) = crate::store::testing::sqlite().await;
        let m = get();
        m.event("origin", "rc.tags");
        m.poll("origin", true, Instant::now());
        m.promotion("4-scos-next", true, 12.5, 1024, 2048);
        m.http
            .get_or_create(&HttpLabels {
                method: "GET".into(),
                route: "/healthz".into(),
                status: "2xx".into(),
            })
            .observe(0.002);
        let text = m.render(&store);
        for needle in [
            "# TYPE streamgate_http_request_duration_seconds histogram",
            "streamgate_events_ingested_total{source=\"origin\",kind=\"rc.tags\"}",
            "streamgate_polls_total{controller=\"origin\",result=\"ok\"}",
            "streamgate_promotion_bytes_total{target=\"4-scos-next\",how=\"copied\"}",
            "streamgate_db_pool_max_connections 8",
            "streamgate_db_pool_connections{state=\"idle\"}",
            "streamgate_live_followers",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn labels_come_from_closed_sets() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(&[b'X'; 8192]).expect("a token method");
        assert_eq!(method_label(&made_up), "other");
        let lower = Method::from_bytes(b"get").expect("a token method");
        assert_eq!(method_label(&lower), "other");
        assert_eq!(status_label(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_label(StatusCode::SWITCHING_PROTOCOLS), "1xx");
        let odd = StatusCode::from_u16(799).expect("a status");
        assert_eq!(status_label(odd), "other");
    }
}
