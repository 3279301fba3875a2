//! Streamgate's server: ingests OKD release data into an event log, projects it into
//! SQLite or PostgreSQL, and serves the Leptos pages, health endpoints and, with the `demo`
//! feature, the demo over a replay of the upstream release-controllers. [`router`] builds
//! the whole HTTP surface, for `main` and tests.

pub use streamgate_formats as formats;
/// The replay of the release-controllers the demo, the tests and the benchmarks play.
#[cfg(feature = "demo")]
pub use streamgate_replay as replay;
pub use streamgate_store as store;

pub mod api;
pub mod assets;
pub mod auth;
pub mod backend;
pub mod badges;
pub mod capped;
pub mod config;
pub mod demo;
pub mod edge;
pub mod events;
pub mod example_secrets;
pub mod feeds;
pub mod generation;
pub mod headers;
pub mod health;
pub mod ingest;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod oci;
pub mod percent;
pub mod promote;
pub mod provenance;
pub mod secret;
pub mod serve;
pub mod server_fn_status;
pub mod signatures;
pub mod site;

use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::assets::Assets;
use crate::backend::StoreBackend;
use crate::ingest::release_controller::PollRegistry;
use crate::site::SiteBackend;
use crate::store::Store;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Polling status per controller.
    pub polls: PollRegistry,
    /// Leptos site options (site root, output name).
    pub leptos: LeptosOptions,
    /// The site's static files, in memory.
    pub assets: Assets,
    /// Recently rendered badges.
    pub badges: badges::BadgeCache,
    /// Behaviour settings.
    pub settings: Settings,
    /// Wakes the payload worker (a webhook saw a release's image pushed).
    pub payload_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Planning and requesting promotions; `None` when promotion is off.
    pub promotions: Option<promote::Promotions>,
    /// Sign-in, sessions, tokens and the trusted proxy.
    pub auth: auth::Auth,
    /// What changed, for the pages' server-sent events.
    pub live: live::Live,
    /// Turns true when the server begins to shut down (`/readyz` then answers 503).
    pub shutting_down: tokio::sync::watch::Receiver<bool>,
    /// Pages rendered for anonymous visitors, kept until the log advances.
    pub pages: std::sync::Arc<edge::page_cache::PageCache>,
}

/// Settings the handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data older than this (no successful poll) is shown as stale on badges.
    pub stale_after: std::time::Duration,
    /// The URL users reach Streamgate at, for links and badge snippets; taken from the
    /// request's `Host` when unset.
    pub public_url: Option<String>,
    /// Secrets of the registry webhooks; a hook without one is disabled.
    pub hooks: api::hooks::HookSecrets,
    /// The largest request body any route takes, in bytes.
    pub max_request_body: usize,
    /// The signature store directory served at `/signatures/`, when there is one.
    pub signature_dir: Option<promote::signature_dir::SignatureDir>,
}

/// Default [`Settings::max_request_body`]: 1 MiB, far above any form, API body or
/// registry notification.
pub const DEFAULT_MAX_REQUEST_BODY: usize = 1 << 20;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stale_after: std::time::Duration::from_secs(6 * 3600),
            public_url: None,
            hooks: api::hooks::HookSecrets::default(),
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            signature_dir: None,
        }
    }
}

impl AppState {
    /// State over `store`, loading the static assets from the site root.
    pub fn new(store: Store, polls: PollRegistry, leptos: LeptosOptions) -> AppState {
        let assets = Assets::load(std::path::Path::new(leptos.site_root.as_ref()));
        AppState {
            live: live::Live::new(store.clone(), live::LiveConfig::default()),
            store,
            polls,
            leptos,
            assets,
            badges: badges::BadgeCache::default(),
            settings: Settings::default(),
            payload_wake: std::sync::Arc::new(tokio::sync::Notify::new()),
            promotions: None,
            auth: auth::Auth::default(),
            shutting_down: tokio::sync::watch::channel(false).1,
            pages: std::sync::Arc::new(edge::page_cache::PageCache::default()),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The page routes, found once per process by rendering the app without data. While Leptos
/// does that it holds a process-wide flag that leaves every resource created meanwhile,
/// on any thread, waiting forever; so it must never run while pages render (another
/// router built in the same process would otherwise hang them).
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// The whole HTTP surface: pages (SSR + server functions), health, static assets.
pub fn router(state: AppState) -> Router {
    let reads = StoreBackend::new(state.store.clone(), state.polls.clone())
        .with_public_url(state.settings.public_url.clone());
    let backend =
        SiteBackend::new(reads, state.promotions.as_ref().map(|p| p.planner.clone())).shared();
    let routes = page_routes();
    let options = state.leptos.clone();
    // the fallback renders pages too (a path the Leptos router matches but axum does not,
    // like a trailing slash): they need the backend as much as the routed ones
    let fallback_backend = backend.clone();
    let error_page = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || provide_context(fallback_backend.clone()),
        app::shell,
    );
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::handler))
        .merge(badges::router())
        .merge(auth::router())
        .merge(api::router())
        .merge(feeds::router())
        .merge(signatures::router())
        .merge(promote::forms::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(
            move |State(state): State<AppState>, request: Request<Body>| {
                let error_page = error_page.clone();
                async move {
                    // only GET and HEAD are answered with a rendered page: any other method
                    // on a path no route has gets a plain 404, so a flood of made-up
                    // methods costs no page rendering
                    if !matches!(
                        *request.method(),
                        axum::http::Method::GET | axum::http::Method::HEAD
                    ) {
                        return axum::response::IntoResponse::into_response(
                            edge::error::ApiError::NotFound(
                                "a route for this method and path".into(),
                            ),
                        );
                    }
                    if let Some(asset) = state
                        .assets
                        .respond(request.uri().path(), request.headers())
                    {
                        return asset;
                    }
                    let uri = request.uri().clone();
                    error_page(uri, State(state), request).await
                }
            },
        )
        // inside the sign-in middleware, so that it knows who is anonymous
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::page_cache::serve,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::middleware::resolve,
        ))
        .layer(axum::middleware::map_response(server_fn_status::set_status))
        .layer(axum::middleware::from_fn(metrics::track))
        // every route, whatever reads its body (extractors, server functions, streams)
        .layer(RequestBodyLimitLayer::new(state.settings.max_request_body))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.settings.max_request_body,
        ))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(RequestIds))
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(state)
}

/// This process's name among replicas: the host (the pod's name on Kubernetes) and pid.
pub fn replica_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "streamgate".to_string());
    format!("{host}:{}", std::process::id())
}

/// Gives each request without an `X-Request-Id` a random one; a proxy's id is kept.
#[derive(Clone, Copy)]
struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = hex::encode(rand::random::<[u8; 8]>());
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

/// Every log line while a request is served carries its method, path and request id.
fn request_span(request: &Request<Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}
