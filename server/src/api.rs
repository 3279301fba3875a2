//! The public JSON API under `/api/v1`: streams, their releases (cursor-paginated), one
//! release, the comparison of two releases and the upgrade question, described by an
//! OpenAPI document generated from this code ([`docs`]).
//!
//! Each resource has its own file and `router()`; this module merges them. Failures are
//! [`ApiError`]s (in [`crate::edge::error`]); every read goes through [`cache`] (strong
//! `ETag`, `304`, `Cache-Control`) and carries CORS headers for any origin. The only writes are the
//! registry webhooks ([`hooks`]), outside that layer.

pub mod compare;
pub mod docs;
pub mod hooks;
pub mod jobs;
pub mod live;
pub mod promotions;
pub mod releases;
pub mod schema;
pub mod search;
pub mod streams;
pub mod upgrade;

use axum::http::Method;
use axum::routing::any;
use axum::Router;

use crate::backend::StoreBackend;
use crate::edge::cache;
use crate::edge::error::ApiError;
use crate::AppState;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// Every `/api/v1` route: the public reads with caching and CORS, the webhooks without, and
/// a JSON 404 for unknown paths below it.
pub fn router() -> Router<AppState> {
    // the hooks are writes: no caching, no CORS
    hooks::router()
        .merge(promotions::write_router())
        // an endless stream: neither buffered for an ETag nor compressed
        .merge(live::router())
        .merge(cache::public_reads(
            Router::new()
                .merge(streams::router())
                .merge(promotions::router())
                .merge(releases::router())
                .merge(compare::router())
                .merge(upgrade::router())
                .merge(jobs::router())
                .merge(search::router())
                .merge(docs::router())
                .route("/api/v1", any(unknown_path))
                .route("/api/v1/", any(unknown_path))
                .route("/api/v1/{*rest}", any(unknown_path)),
        ))
}

/// The page backend over the request's store: the API reuses its row-to-model mapping.
pub(crate) fn backend(state: &AppState) -> StoreBackend {
    StoreBackend::new(state.store.clone(), state.polls.clone())
}

async fn unknown_path(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("api route {method} {}", uri.path()))
}
