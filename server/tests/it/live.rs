//! Live updates and operating endpoints over real HTTP on loopback, on SQLite and PostgreSQL:
//! a follower of a page scope hears what concerns it and nothing else, promotion progress
//! reaches its page, a reconnecting client gets what it missed (or `reset` when that is too
//! much), bad scopes are refused, streams end at shutdown, `/readyz` turns 503 while
//! shutting down, `/metrics` counts by route, and request ids are kept or made.

use crate::support::stores;

use std::time::Duration;

use crate::support::sse::Follower;
use chrono::Utc;
use leptos::prelude::LeptosOptions;
use server::events::{self, RC_RELEASE, RC_TAGS};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::store::Store;
use server::AppState;
use tokio::sync::watch;

struct Running {
    url: String,
    state: AppState,
    stop: watch::Sender<bool>,
}

async fn start(store: Store) -> Running {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let (stop, stopped) = watch::channel(false);
    let mut state = AppState::new(store, PollRegistry::default(), leptos);
    state.shutting_down = stopped.clone();
    tokio::spawn(state.live.clone().run(stopped));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = server::router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    Running { url, state, stop }
}

async fn tags(store: &Store, stream: &str, release: &str) -> i64 {
    let body = serde_json::json!({"name": stream, "tags": [
        {"name": release, "phase": "Ready", "pullSpec": format!("quay.io/okd/scos-release:{release}"), "downloadURL": ""}]});
    ingest(store, RC_TAGS, stream, body.to_string()).await
}

async fn ingest(store: &Store, kind: &str, subject: &str, payload: String) -> i64 {
    events::ingest(
        store,
        NewEvent {
            source: "origin".into(),
            kind: kind.into(),
            subject: subject.into(),
            payload,
            received_at: Utc::now(),
            external_id: None,
        },
    )
    .await
    .expect("ingests")
    .expect("new")
}

async fn greeted(f: &mut Follower) -> i64 {
    let (event, id, _) = f.next(Duration::from_secs(5)).await.expect("greeting");
    assert_eq!(event, "ready");
    id.expect("the greeting carries the log position")
}

async fn followers_hear_their_scope(store: Store) {
    let s = start(store.clone()).await;
    let mut everything = Follower::open(&s.url, "").await;
    let mut next = Follower::open(&s.url, "?stream=4-scos-next").await;
    let mut stable = Follower::open(&s.url, "?stream=4-scos-stable").await;
    let mut one = Follower::open(&s.url, "?stream=4-scos-next&release=4.21.0-okd-scos.ec.2").await;
    for f in [&mut everything, &mut next, &mut stable, &mut one] {
        greeted(f).await;
    }

    let listed = tags(&store, "4-scos-next", "4.21.0-okd-scos.ec.1").await;
    let release = serde_json::json!({
        "name": "4.21.0-okd-scos.ec.1", "phase": "Ready",
        "pullSpec": "quay.io/okd/scos-release:4.21.0-okd-scos.ec.1",
        "results": {"blockingJobs": {"e2e-aws": {"state": "Pending", "url": "https://prow.ci.openshift.org/1"}}},
        "changeLogJson": {}, "upgradesTo": []
    });
    let gate = ingest(
        &store,
        RC_RELEASE,
        "4-scos-next/4.21.0-okd-scos.ec.1",
        release.to_string(),
    )
    .await;
    let other = tags(&store, "4-scos-stable", "4.20.0-okd-scos.9").await;

    let window = Duration::from_secs(2);
    assert_eq!(everything.changes(window).await, vec![listed, gate, other]);
    assert_eq!(next.changes(window).await, vec![listed, gate]);
    assert_eq!(stable.changes(window).await, vec![other]);
    // another release's gates are not this page's business; its stream's list is
    assert_eq!(one.changes(window).await, vec![listed]);

    // promotion progress reaches its page only, without an id
    let mut promotion = Follower::open(&s.url, "?promotion=41").await;
    greeted(&mut promotion).await;
    s.state.live.progress(41).await;
    s.state.live.progress(42).await;
    let (event, id, data) = promotion
        .next(Duration::from_secs(5))
        .await
        .expect("progress");
    assert_eq!((event.as_str(), id), ("change", None));
    let data: serde_json::Value = serde_json::from_str(&data).expect("json");
    assert_eq!(data["kind"], "promotion.progress");
    assert_eq!(data["promotion"], 41);
    assert!(promotion.next(Duration::from_millis(500)).await.is_none());

    // a client that comes back says where it was and gets what it missed, in order
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/live?stream=4-scos-next", s.url))
        .header("last-event-id", (listed - 1).to_string())
        .send()
        .await
        .expect("resumes");
    let mut back = Follower::from(response);
    assert_eq!(greeted(&mut back).await, other);
    assert_eq!(back.changes(window).await, vec![listed, gate]);

    // shutdown: readiness fails first, and every stream ends
    s.stop.send(true).expect("stops");
    let ready = reqwest::get(format!("{}/readyz", s.url))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "shutting down");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while everything.next(Duration::from_secs(5)).await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ends at shutdown");
}

#[tokio::test]
async fn followers_hear_their_scope_sqlite() {
    let (store, _dir) = stores::sqlite().await;
    followers_hear_their_scope(store).await;
}

#[tokio::test]
async fn followers_hear_their_scope_postgres() {
    followers_hear_their_scope(stores::postgres("live").await).await;
}

#[tokio::test]
async fn bad_scopes_and_positions_are_refused_and_old_ones_reset() {
    let (store, _dir) = stores::sqlite().await;
    let s = start(store.clone()).await;
    let client = reqwest::Client::new();
    for (query, header, needle) in [
        ("?release=x", None, "release needs stream"),
        ("?stream=a&promotion=1", None, "cannot be combined"),
        ("?promotion=zero", None, "promotion"),
        ("?promotion=0", None, "positive"),
        ("?colour=red", None, "unknown field"),
        ("", Some("yesterday"), "last-event-id must be a change id"),
        ("", Some("-4"), "last-event-id must be a change id"),
    ] {
        let mut request = client.get(format!("{}/api/v1/live{query}", s.url));
        if let Some(h) = header {
            request = request.header("last-event-id", h);
        }
        let response = request.send().await.expect("answers");
        assert_eq!(response.status(), 400, "{query} {header:?}");
        let body: serde_json::Value = response.json().await.expect("json");
        let detail = body["errors"][0]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{query} {header:?}: {detail}");
    }
    let posted = client
        .post(format!("{}/api/v1/live", s.url))
        .send()
        .await
        .expect("answers");
    assert_eq!(posted.status(), 405);

    // more missed than is replayed: told to reload everything
    for i in 0..(server::api::live::MAX_REPLAY + 2) {
        tags(&store, "4-scos-next", &format!("4.21.0-okd-scos.ec.{i}")).await;
    }
    let response = client
        .get(format!("{}/api/v1/live", s.url))
        .header("last-event-id", "0")
        .send()
        .await
        .expect("resumes");
    let mut f = Follower::from(response);
    let (event, _, _) = f.next(Duration::from_secs(5)).await.expect("greeting");
    assert_eq!(event, "reset");
}

#[tokio::test]
async fn metrics_count_by_route_and_request_ids_are_kept_or_made() {
    let (store, _dir) = stores::sqlite().await;
    let s = start(store.clone()).await;
    let client = reqwest::Client::new();
    for path in ["/api/v1/streams", "/api/v1/streams", "/healthz"] {
        client
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .expect("answers");
    }
    tags(&store, "4-scos-next", "4.21.0-okd-scos.ec.1").await;
    let made = client
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .expect("answers");
    let id = made
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id is made")
        .to_string();
    assert_eq!(id.len(), 16);
    let kept = client
        .get(format!("{}/healthz", s.url))
        .header("x-request-id", "from-the-router-7")
        .send()
        .await
        .expect("answers");
    assert_eq!(
        kept.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("from-the-router-7")
    );

    let metrics = client
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .expect("answers");
    assert!(metrics
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = metrics.text().await.expect("text");
    let count = |needle: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(
        count("streamgate_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/streams\",status=\"2xx\"}") >= 2.0,
        "{text}"
    );
    assert!(count("streamgate_events_ingested_total{source=\"origin\",kind=\"rc.tags\"}") >= 1.0);
    assert!(text.contains("streamgate_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("# TYPE streamgate_http_request_duration_seconds histogram"));
}
