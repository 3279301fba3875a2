//! Absolute links come from `--public-url`, never from a header an attacker sets: with it,
//! a forged `Host` or `X-Forwarded-Proto` changes no link; without it, the feed's links
//! follow the request and the answer varies by those headers, so a shared cache never
//! serves one host's links to another.

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use leptos::prelude::LeptosOptions;
use server::events::{self, RC_TAGS};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::AppState;

use crate::support::http::send;
use crate::support::stores;

const STREAM: &str = "4-scos-next";

async fn app(public_url: Option<&str>) -> (axum::Router, tempfile::TempDir) {
    let (store, dir) = stores::sqlite().await;
    let tags = serde_json::json!({"name": STREAM, "tags": [{"name": "4.21.0-okd-scos.ec.1",
        "phase": "Accepted", "pullSpec": "quay.io/okd/scos-release:4.21.0-okd-scos.ec.1",
        "downloadURL": ""}]});
    events::ingest(
        &store,
        NewEvent {
            source: "origin".into(),
            kind: RC_TAGS.into(),
            subject: STREAM.into(),
            payload: tags.to_string(),
            received_at: Utc::now(),
            external_id: None,
        },
    )
    .await
    .expect("ingests");
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store, PollRegistry::default(), leptos);
    state.settings.public_url = public_url.map(str::to_string);
    (server::router(state), dir)
}

async fn feed(app: &axum::Router, host: &str) -> (axum::http::HeaderMap, String) {
    let request = Request::get(format!("/streams/{STREAM}/feed.atom"))
        .header("host", host)
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send(app, request).await;
    assert_eq!(status, 200);
    (headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn with_a_public_url_a_forged_host_changes_no_link() {
    let (app, _dir) = app(Some("https://streamgate.okd.io/")).await;
    let (headers, xml) = feed(&app, "attacker.example").await;
    assert!(!xml.contains("attacker.example"), "{xml}");
    assert!(
        xml.contains("https://streamgate.okd.io/releases/4.21.0-okd-scos.ec.1"),
        "{xml}"
    );
    assert!(
        !headers.contains_key("vary") || !headers["vary"].to_str().unwrap_or("").contains("host")
    );
}

#[tokio::test]
async fn without_a_public_url_feeds_vary_by_the_headers_their_links_come_from() {
    let (app, _dir) = app(None).await;
    let (headers, xml) = feed(&app, "streamgate.example:8443").await;
    assert!(xml.contains("https://streamgate.example:8443/"), "{xml}");
    let vary: Vec<String> = headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    assert!(vary.iter().any(|v| v == "host"), "{vary:?}");
    assert!(vary.iter().any(|v| v == "x-forwarded-proto"), "{vary:?}");
}
