//! The default configuration against release-controllers (on loopback, in the upstream
//! format) that list exactly the stream names OKD's and OCP's controllers list: every OKD
//! stream, promoted ones included, and OCP's CI streams of any major are polled, stored and
//! shown; OCP's other streams are not.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use leptos::prelude::LeptosOptions;
use serde_json::{json, Value};
use server::config::{Cli, Command};
use server::ingest::release_controller::{PollRegistry, PollTiming, Poller};
use server::{router, AppState};

use crate::support::http::get as get_page;
use crate::support::stores::sqlite;

/// What `amd64.origin.releases.ci.openshift.org` lists: CI, nightly and FCOS streams of
/// each minor and major, and the promoted streams.
const ORIGIN: [&str; 11] = [
    "4.21.0-0.okd-scos",
    "4.21.0-0.okd-scos-nightly",
    "4.22.0-0.okd-scos",
    "5.0.0-0.okd-scos",
    "5.0.0-0.okd-scos-nightly",
    "4.15.0-0.okd",
    "4.14.0-0.okd",
    "4-scos-next",
    "4-scos-stable",
    "5-scos-next",
    "4-stable",
];

/// OCP's CI streams, which OKD's components are compared with.
const OCP_CI: [&str; 3] = ["4.21.0-0.ci", "4.14.0-0.ci", "5.0.0-0.ci"];

/// OCP's streams that are not OKD's business.
const OCP_OTHER: [&str; 4] = [
    "4.21.0-0.nightly",
    "4-stable-multi",
    "4.21.0-0.nightly-arm64",
    "4-dev-preview",
];

/// A controller listing `streams`, each with one accepted release.
async fn controller(streams: Vec<&'static str>) -> SocketAddr {
    let listing: BTreeMap<String, Option<Vec<String>>> = streams
        .iter()
        .map(|s| (s.to_string(), Some(Vec::new())))
        .collect();
    let app = Router::new()
        .route(
            "/api/v1/releasestreams/all",
            get(move || {
                let listing = listing.clone();
                async move { Json(listing) }
            }),
        )
        .route(
            "/api/v1/releasestream/{stream}/tags",
            get(|Path(stream): Path<String>| async move {
                Json(json!({
                    "name": stream,
                    "tags": [{
                        "name": tag_of(&stream),
                        "phase": "Accepted",
                        "pullSpec": format!("quay.io/okd/scos-release:{}", tag_of(&stream)),
                        "downloadURL": ""
                    }]
                }))
            }),
        )
        .route(
            "/api/v1/releasestream/{stream}/release/{tag}",
            get(|Path((_, tag)): Path<(String, String)>| async move {
                Json(json!({"name": tag, "phase": "Accepted"}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn tag_of(stream: &str) -> String {
    format!("{stream}-2026-11-20-120000")
}

#[tokio::test]
async fn the_default_configuration_polls_and_shows_every_okd_stream() {
    let origin = controller(ORIGIN.to_vec()).await;
    let ocp = controller(OCP_CI.iter().chain(&OCP_OTHER).copied().collect()).await;
    // only the controllers' addresses are given: every filter is the default one
    let cli = Cli::parse_from([
        "server".to_string(),
        "poll".to_string(),
        "--controller".to_string(),
        format!("origin=http://{origin},ocp=http://{ocp}"),
    ]);
    let Some(Command::Poll(args)) = cli.command else {
        panic!("poll")
    };
    let (store, _dir) = sqlite().await;
    let polls = PollRegistry::default();
    for controller in args.controllers().expect("the defaults are valid") {
        let poller = Poller::new(
            store.clone(),
            controller,
            PollTiming::default(),
            polls.clone(),
        )
        .expect("poller");
        poller.poll_and_record().await.expect("polled");
    }

    let mut stored: Vec<String> = store
        .streams()
        .await
        .expect("streams")
        .into_iter()
        .map(|s| s.name)
        .collect();
    stored.sort();
    let mut expected: Vec<String> = ORIGIN
        .iter()
        .chain(&OCP_CI)
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        stored, expected,
        "every OKD stream and OCP's CI streams, nothing else"
    );

    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = router(AppState::new(store.clone(), polls, leptos));
    let (status, overview) = get_page(&app, "/").await;
    assert_eq!(status, 200);
    for stream in ORIGIN.iter().chain(&OCP_CI) {
        assert!(
            overview.contains(&format!("/streams/{stream}")),
            "{stream} is shown on the overview"
        );
        let (status, page) = get_page(&app, &format!("/streams/{stream}")).await;
        assert_eq!(status, 200, "{stream}");
        assert!(page.contains(&tag_of(stream)), "{stream} lists its release");
    }
    for stream in OCP_OTHER {
        assert!(
            !overview.contains(&format!("/streams/{stream}\"")),
            "{stream}"
        );
    }
    let api: Value =
        serde_json::from_str(&get_page(&app, "/api/v1/streams").await.1).expect("json");
    let listed = api["streams"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, ORIGIN.len() + OCP_CI.len(), "{api}");
}
