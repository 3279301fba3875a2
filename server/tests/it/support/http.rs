//! GET requests through the real router (`oneshot`), for the HTTP tests.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

/// The whole site over `store` (pages, API, badges, feeds), with no poller.
pub fn site(store: &server::store::Store) -> axum::Router {
    let leptos = leptos::prelude::LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    server::router(server::AppState::new(
        store.clone(),
        server::ingest::release_controller::PollRegistry::default(),
        leptos,
    ))
}

/// How long one request may take before the test fails instead of waiting forever.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// Sends `request` through the router: status, headers and the whole body, within
/// [`ANSWER_WITHIN`].
pub async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let what = format!("{} {}", request.method(), request.uri());
    let answer = async {
        let response = app.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, body.to_vec())
    };
    tokio::time::timeout(ANSWER_WITHIN, answer)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {ANSWER_WITHIN:?}"))
}

/// Sends `request` and reads only the status and headers (of an endless stream, say),
/// within [`ANSWER_WITHIN`].
pub async fn head(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap) {
    let what = format!("{} {}", request.method(), request.uri());
    let response = tokio::time::timeout(ANSWER_WITHIN, app.clone().oneshot(request))
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {ANSWER_WITHIN:?}"))
        .expect("response");
    (response.status(), response.headers().clone())
}

/// GETs `uri`: status and body.
pub async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let (status, _, body) = send(app, request).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// GETs `uri` with extra headers: the whole response with its body collected.
pub async fn get_with(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    send(app, request.body(Body::empty()).expect("request")).await
}
