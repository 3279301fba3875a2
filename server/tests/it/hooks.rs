//! Registry webhooks end to end: a real `docker-registry` on loopback posting its own
//! notifications to the real server on an ephemeral port, the payload worker woken by them
//! and reading the pushed release payload; and every way a delivery can be refused, the
//! duplicates and the Quay forms, through the real router on SQLite and PostgreSQL.

use crate::support::stores::{postgres, sqlite};
use std::time::{Duration, Instant};

use crate::support::registry::{Layer, Pusher, Registry};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use server::events::{self, RC_TAGS};
use server::ingest::payload::{PayloadReader, ReaderConfig};
use server::ingest::payload_worker::{PayloadWorker, WorkerConfig};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::store::Store;
use server::{router, AppState};
use tower::ServiceExt;

const SECRET: &str = "registry-hook-s3cret";
const QUAY_SECRET: &str = "quay-hook-s3cret";
const V1: &str = "application/vnd.docker.distribution.events.v1+json";
const V2: &str = "application/vnd.docker.distribution.events.v2+json";
const STREAM: &str = "4-scos-stable";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/registry/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn state(store: Store, with_secrets: bool) -> AppState {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store, PollRegistry::default(), leptos);
    if with_secrets {
        state.settings.hooks.insert("registry", SECRET);
        state.settings.hooks.insert("quay", QUAY_SECRET);
    }
    state
}

/// Records release `name` of [`STREAM`] with `pull_spec`, as the poller would.
async fn known_release(store: &Store, name: &str, pull_spec: &str) {
    let body = serde_json::json!({"name": STREAM, "tags": [
        {"name": name, "phase": "Accepted", "pullSpec": pull_spec, "downloadURL": ""}]});
    events::ingest(
        store,
        NewEvent {
            source: "origin".into(),
            kind: RC_TAGS.into(),
            subject: STREAM.into(),
            payload: body.to_string(),
            received_at: Utc::now(),
            external_id: None,
        },
    )
    .await
    .expect("release recorded");
}

async fn post(
    app: &axum::Router,
    uri: &str,
    content_type: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::post(uri).header("content-type", content_type);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body)).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn summary(accepted: u64, duplicates: u64, ignored: u64) -> serde_json::Value {
    serde_json::json!({"accepted": accepted, "duplicates": duplicates, "ignored": ignored})
}

fn detail(body: &serde_json::Value) -> String {
    body["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn woken(state: &AppState, within: Duration) -> bool {
    tokio::time::timeout(within, state.payload_wake.notified())
        .await
        .is_ok()
}

/// Every delivery the hooks take or refuse, on one store.
async fn hook_story(store: Store) {
    let state = state(store.clone(), true);
    let app = router(state.clone());
    const REGISTRY: &str = "/api/v1/hooks/registry";
    let push = fixture("manifest-push-tag.json");

    // refused before anything is read or stored
    let (status, body) = post(&app, REGISTRY, V1, None, push.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(detail(&body).contains("missing hook secret"), "{body}");
    let (status, body) = post(&app, REGISTRY, V1, Some("guess"), push.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&body), "wrong secret for the registry hook");
    let (status, _) = post(&app, REGISTRY, V1, Some(QUAY_SECRET), push.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = post(&app, REGISTRY, "text/plain", Some(SECRET), push.clone()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = post(&app, REGISTRY, V1, Some(SECRET), vec![b' '; 2 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    for (bad, says) in [
        (&b"{\"events\": ["[..], "malformed notification envelope"),
        (&b"[]"[..], "malformed notification envelope"),
        (
            &br#"{"events": [{"id": "a", "action": "push", "target": {"repository": "r"}}, {"id": "b", "action": "push"}]}"#[..],
            "events[1]",
        ),
    ] {
        let (status, body) = post(&app, REGISTRY, V1, Some(SECRET), bad.to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(detail(&body).contains(says), "{body}");
    }
    assert_eq!(store.event_count().await.expect("count"), 0);

    // a known release whose image is pushed wakes the payload worker, once
    known_release(&store, "4.15.0", "127.0.0.1:5000/ocp/release:4.15.0").await;
    let events_before = store.event_count().await.expect("count");
    let (status, body) = post(&app, REGISTRY, V1, Some(SECRET), push.clone()).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(1, 0, 0)));
    assert!(woken(&state, Duration::from_secs(1)).await);
    let dump = store.projection_dump().await.expect("dump");
    let (status, body) = post(&app, REGISTRY, V2, Some(SECRET), push).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(0, 1, 0)));
    assert!(!woken(&state, Duration::from_millis(100)).await);
    assert_eq!(store.projection_dump().await.expect("dump"), dump);
    assert_eq!(store.event_count().await.expect("count"), events_before + 1);

    // blob pushes are acknowledged, not stored; a batch keeps its manifest push
    let (status, body) = post(&app, REGISTRY, V1, Some(SECRET), fixture("blob-push.json")).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(0, 0, 1)));
    let batch = fixture("distribution-docs-push-envelope.json");
    let (status, body) = post(&app, REGISTRY, "application/json", Some(SECRET), batch).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(1, 0, 2)));
    assert!(!woken(&state, Duration::from_millis(100)).await);
    for delete in ["delete-manifest.json", "delete-tag.json"] {
        let (status, body) = post(&app, REGISTRY, V1, Some(SECRET), fixture(delete)).await;
        assert_eq!((status, body), (StatusCode::ACCEPTED, summary(1, 0, 0)));
    }

    let pushed = store.registry_events("ocp/release").await.expect("rows");
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].action, "push");
    assert_eq!(pushed[0].tag.as_deref(), Some("4.15.0"));
    assert_eq!(
        pushed[0].digest.as_deref(),
        Some("sha256:9665c665dd8743da976c29ffdb40faadcc061de8e7700d6dfbc249c0233747af")
    );
    assert_eq!(pushed[0].host.as_deref(), Some("127.0.0.1:5000"));
    // the registry's own time (PostgreSQL keeps microseconds)
    assert!(pushed[0]
        .occurred_at
        .to_rfc3339()
        .starts_with("2026-11-24T21:40:36.445706"));
    let deleted = store
        .registry_events("promoted/release")
        .await
        .expect("rows");
    assert_eq!(deleted.len(), 2);
    assert!(deleted.iter().all(|d| d.action == "delete"));
    assert!(deleted
        .iter()
        .any(|d| d.tag.as_deref() == Some("4.15.0-promoted")));
    assert_eq!(
        store
            .registry_events("library/test")
            .await
            .expect("rows")
            .len(),
        1
    );

    // Quay: secret in the query (or a bearer), both body forms, retries collapse
    let quay = "/api/v1/hooks/quay";
    let docs = fixture("quay-repo-push-docs.json");
    let (status, body) = post(&app, quay, "application/json", None, docs.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(detail(&body).contains("?secret="), "{body}");
    let (status, _) = post(
        &app,
        &format!("{quay}?secret={SECRET}"),
        "application/json",
        None,
        docs.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let with_secret = format!("{quay}?secret={QUAY_SECRET}");
    let (status, body) = post(&app, &with_secret, "application/json", None, docs.clone()).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(1, 0, 0)));
    let (status, body) = post(&app, &with_secret, "application/json", None, docs).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(0, 1, 0)));
    let legacy = fixture("quay-repo-push-legacy-2013.json");
    let (status, body) = post(&app, quay, "application/json", Some(QUAY_SECRET), legacy).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, summary(1, 0, 0)));
    let (status, body) = post(
        &app,
        &with_secret,
        "application/json",
        None,
        b"{\"repository\": 1}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        detail(&body).contains("malformed quay repo_push notification"),
        "{body}"
    );
    let quayed = store.registry_events("dgangaia/test").await.expect("rows");
    assert_eq!(quayed.len(), 1);
    assert_eq!(
        (
            quayed[0].tag.as_deref(),
            quayed[0].digest.as_deref(),
            quayed[0].host.as_deref()
        ),
        (Some("latest"), None, Some("quay.io"))
    );

    // methods other than POST, and hooks without a secret
    let response = app
        .clone()
        .oneshot(Request::get(REGISTRY).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let closed = router(self::state(store.clone(), false));
    let (status, body) = post(
        &closed,
        REGISTRY,
        V1,
        Some(SECRET),
        fixture("delete-tag.json"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(detail(&body).contains("--hook-secret registry="), "{body}");

    // replaying the log rebuilds identical rows
    let projected = store.projection_dump().await.expect("dump");
    let stats = events::reproject(&store).await.expect("reproject");
    assert_eq!(stats.skipped, 0);
    assert_eq!(store.projection_dump().await.expect("dump"), projected);
}

#[tokio::test]
async fn hook_story_on_sqlite() {
    let (store, _dir) = sqlite().await;
    hook_story(store).await;
}

#[tokio::test]
async fn hook_story_on_postgres() {
    hook_story(postgres("hooks").await).await;
}

/// A minimal release payload: its config and the `release-manifests/` layer.
fn payload(name: &str) -> (serde_json::Value, Vec<Layer>) {
    let references = serde_json::json!({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "creationTimestamp": "2026-11-25T08:00:00Z"},
        "spec": {"tags": [{"name": "cli",
            "annotations": {"io.openshift.build.commit.id": "4ddd828c588c1277361d89e03933a97595795b48",
                "io.openshift.build.source-location": "https://github.com/openshift/oc"},
            "from": {"kind": "DockerImage",
                "name": format!("quay.io/okd/scos-content@sha256:{}", "ab".repeat(32))}}]},
    })
    .to_string();
    let metadata = serde_json::json!({"kind": "cincinnati-metadata-v0", "version": name,
        "previous": ["4.21.0-okd-scos.0"], "metadata": {}})
    .to_string();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"io.openshift.release": name}},
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    let layer = Layer::oci(&[
        ("release-manifests/image-references", references.as_bytes()),
        ("release-manifests/release-metadata", metadata.as_bytes()),
    ]);
    (config, vec![layer])
}

#[tokio::test]
async fn registry_notification_wakes_the_payload_worker() {
    let (store, _dir) = sqlite().await;
    let state = state(store.clone(), true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let registry =
        Registry::start_notifying(&format!("http://{addr}/api/v1/hooks/registry"), SECRET).await;

    let reader = PayloadReader::new(ReaderConfig {
        insecure_hosts: vec![registry.host().to_string()],
        timeout: Duration::from_secs(5),
        ..ReaderConfig::default()
    });
    let worker = PayloadWorker::new(
        store.clone(),
        reader,
        state.payload_wake.clone(),
        WorkerConfig {
            interval: Duration::from_secs(3600),
            ..WorkerConfig::default()
        },
    );
    // the release is listed before its image is pushed: the first read fails and is
    // recorded, and the worker sleeps; only the push's notification can start the next round
    let name = "4.21.0-okd-scos.1";
    let repo = "okd/scos-release";
    let pull_spec = format!("{}/{repo}:{name}", registry.host());
    known_release(&store, name, &pull_spec).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(worker.run(stopped));
    let deadline = Instant::now() + Duration::from_secs(10);
    while store
        .payload_failure(&pull_spec)
        .await
        .expect("query")
        .is_none()
    {
        assert!(Instant::now() < deadline, "first read did not fail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pusher = Pusher::new(registry.host()).await;
    let (config, layers) = payload(name);
    let pushed = pusher
        .image(repo, Some(name), &config, &layers, false)
        .await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let bound = loop {
        if let Some(d) = store
            .release_payload_digest(STREAM, name)
            .await
            .expect("query")
        {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "payload not read; registry log:\n{}",
            registry.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(bound, pushed.digest);

    // the registry's own notification was stored, its blob uploads were not
    let rows = store.registry_events(repo).await.expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].action, "push");
    assert_eq!(rows[0].tag.as_deref(), Some(name));
    assert_eq!(rows[0].digest.as_deref(), Some(pushed.digest.as_str()));
    assert_eq!(rows[0].host.as_deref(), Some(registry.host()));
    let counts = store.event_counts().await.expect("counts");
    assert!(
        counts.contains(&("registry.event".to_string(), 1)),
        "{counts:?}"
    );
    let read = store
        .release_payload(STREAM, name)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(read.components.len(), 1);
    assert_eq!(
        store.declared_previous(STREAM, name).await.expect("query"),
        Some(vec!["4.21.0-okd-scos.0".to_string()])
    );

    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("worker stops")
        .expect("worker ran");
}
