//! Pages, server functions and health endpoints through the real router (`oneshot`), over a
//! store filled by the real poller from the replay release-controller.

#![expect(
    clippy::expect_used,
    reason = "a test fails loudly when its set-up fails"
)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use server::ingest::release_controller::{Controller, PollRegistry, PollTiming, Poller};
use server::replay::{self, dataset::Dataset, ReplayState};
use server::store::Store;
use server::{router, AppState};
use tower::ServiceExt;

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .expect("valid time")
}

struct Fixture {
    app: axum::Router,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}/p.db", dir.path().display()))
        .await
        .expect("db");
    store.migrate().await.expect("migrate");
    let state = ReplayState::new(Dataset::demo(anchor()), anchor());
    let (addr, _task) = replay::start(state.clone()).await.expect("replay");
    let polls = PollRegistry::default();
    let controller = Controller {
        name: "origin".into(),
        base_url: format!("http://{addr}/origin"),
        include: regex::Regex::new("^4\\.21\\.0-0\\.okd-scos$|^4-scos-stable$").ok(),
        exclude: None,
    };
    let poller = Poller::new(
        store.clone(),
        controller,
        PollTiming::default(),
        polls.clone(),
    )
    .expect("poller");
    for t in state
        .dataset()
        .event_times(chrono::Duration::hours(12))
        .into_iter()
        .filter(|t| *t <= anchor())
        .chain([anchor()])
    {
        state.set_now(t);
        poller.poll_and_record().await.expect("poll");
    }
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = router(AppState::new(store.clone(), polls, leptos));
    Fixture {
        app,
        store,
        _dir: dir,
    }
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn pages_render_real_data_and_unknowns_are_404() {
    let f = fixture().await;

    let (status, html) = get(&f.app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("OKD/SCOS")
            && html.contains("4.21.0-0.okd-scos")
            && html.contains("4-scos-stable")
    );
    assert!(html.contains("Accepted, 14 days"));
    assert!(html.contains("last successful poll"));

    let (status, html) = get(&f.app, "/streams/4.21.0-0.okd-scos").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<table class=\"releases\""));
    assert!(
        html.contains("expired upstream"),
        "pruned releases are kept and marked"
    );

    let (status, html) = get(&f.app, "/streams/4.21.0-0.okd-scos?phase=Rejected").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("phase-rejected"));
    assert!(
        !html.contains("<span class=\"phase phase-accepted\">"),
        "only rejected rows"
    );

    let rejected = f
        .store
        .latest_release("4.21.0-0.okd-scos", Some("Rejected"))
        .await
        .expect("query")
        .expect("a rejected release");
    let (status, html) = get(&f.app, &format!("/releases/{}", rejected.name)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Rejected because blocking job"),
        "the page says why"
    );
    assert!(html.contains("https://prow.ci.openshift.org/view/gs/"));
    assert!(html.contains("registry.ci.openshift.org/origin/release-scos:"));

    for uri in [
        "/releases/4.99.0-0.okd-scos-2099-01-01-000000",
        "/streams/no-such-stream",
        "/no/such/page",
        "/streams/4.21.0-0.okd-scos?page=999",
    ] {
        let (status, html) = get(&f.app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(html.contains("Not found"), "{uri}");
    }
    let (status, html) = get(&f.app, "/streams/4.21.0-0.okd-scos?phase=Sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown phase"));
}

#[tokio::test]
async fn server_function_and_health_endpoints_answer() {
    let f = fixture().await;
    let latest = f
        .store
        .latest_release("4.21.0-0.okd-scos", Some("Accepted"))
        .await
        .expect("query")
        .expect("an accepted release");
    let response = f
        .app
        .clone()
        .oneshot(
            Request::post("/api/release")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("tag={}", latest.name)))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["name"], latest.name.as_str());
    assert_eq!(json["phase"], "Accepted");

    let (status, body) = get(&f.app, "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body) = get(&f.app, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "ready");
    assert_eq!(json["store"]["backend"], "sqlite");
    assert_eq!(json["controllers"][0]["controller"], "origin");
    assert!(json["controllers"][0]["last_success_age_seconds"].is_number());
}
