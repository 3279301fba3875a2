//! `/api/v1/streams` and `/api/v1/streams/{stream}`: every release stream with its latest
//! releases and health.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::Stream;
use crate::edge::error::{method_not_allowed, ApiError, ApiPath, ApiResult, ErrorBody};
use crate::AppState;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/streams",
            get(list_streams).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/streams/{stream}",
            get(get_stream).fallback(method_not_allowed),
        )
}

/// Every stream Streamgate knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamList {
    /// The streams, by name.
    pub streams: Vec<Stream>,
}

/// Lists every stream with its latest and latest accepted release and its health.
#[utoipa::path(
    get,
    path = "/api/v1/streams",
    tag = "streams",
    responses(
        (status = 200, description = "every stream, by name", body = StreamList),
        (status = 500, description = "the store did not answer", body = ErrorBody),
    )
)]
pub async fn list_streams(State(state): State<AppState>) -> ApiResult<StreamList> {
    let now = Utc::now();
    let backend = super::backend(&state);
    let mut streams = Vec::new();
    for row in state.store.streams().await? {
        streams.push(Stream::from(backend.summary(&row, now).await?));
    }
    Ok(Json(StreamList { streams }))
}

/// One stream with its latest and latest accepted release and its health.
#[utoipa::path(
    get,
    path = "/api/v1/streams/{stream}",
    tag = "streams",
    params(("stream" = String, Path, description = "stream name", example = "4.21.0-0.okd-scos")),
    responses(
        (status = 200, description = "the stream", body = Stream),
        (status = 404, description = "no such stream", body = ErrorBody),
    )
)]
pub async fn get_stream(
    State(state): State<AppState>,
    ApiPath(stream): ApiPath<String>,
) -> ApiResult<Stream> {
    let row = state
        .store
        .stream(&stream)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("stream {stream}")))?;
    let summary = super::backend(&state).summary(&row, Utc::now()).await?;
    Ok(Json(Stream::from(summary)))
}
