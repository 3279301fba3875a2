//! A target promoted by OKD's release pipeline: the promotion starts the pipeline through a
//! Tekton EventListener and follows its result. The EventListener here is a stand-in on
//! loopback (the real one runs in a cluster) that answers as Tekton Triggers does and, like
//! the pipeline, pushes the release with `skopeo` a moment later; a second one accepts the
//! event and never pushes, and the promotion fails when the time allowed is up, saying why.

use crate::promote::{promotions, request, run_all, viewer, world, GOOD, STREAM, TARGET};
use crate::support::payloads::sqlite;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::model::promotion::PromotionState;
use app::viewer::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use server::promote::worker::{PromotionWorker, WorkerConfig};

/// What the stand-in EventListener does with an event.
#[derive(Clone)]
struct Listener {
    received: Arc<Mutex<Vec<serde_json::Value>>>,
    /// The registry host the pipeline pushes to (`None`: it never pushes).
    pushes_from: Option<String>,
}

async fn event(
    State(listener): State<Listener>,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    listener.received.lock().expect("lock").push(body.clone());
    if let Some(host) = listener.pushes_from.clone() {
        // the pipeline runs for a while, then pushes the release under its name
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let from = body["release"].as_str().expect("release").to_string();
            let to = format!(
                "{}:{}",
                body["release-mirror-pushspec"].as_str().expect("pushspec"),
                body["release-name"].as_str().expect("name")
            );
            assert!(to.starts_with(&host), "{to}");
            let out = tokio::process::Command::new("skopeo")
                .args([
                    "copy",
                    "--quiet",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                ])
                .arg(format!("docker://{from}"))
                .arg(format!("docker://{to}"))
                .output()
                .await
                .expect("skopeo runs (./dev setup installs it)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
    }
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "eventListener": "okd-release",
            "namespace": "okd-team",
            "eventListenerUID": "6a1c0d4e-2b1f-4f7e-9a53-0c6c3f1d2e10",
            "eventID": "3f6e9b2c-8d41-4b0e-a1f2-5c7d9e0b4a21",
        })),
    )
}

/// Starts a stand-in EventListener; returns its URL and what it received.
pub(crate) async fn listener(
    pushes_from: Option<String>,
) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().route("/", post(event)).with_state(Listener {
        received: received.clone(),
        pushes_from,
    });
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = socket.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(socket, app).await.expect("serve");
    });
    (format!("http://{address}/"), received)
}

#[tokio::test]
async fn the_release_pipeline_promotes_and_streamgate_follows_it() {
    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let host = w.registry.host().to_string();
    let (url, received) = listener(Some(host.clone())).await;
    assert!(store
        .set_target_pipeline(TARGET, Some(&url), Utc::now())
        .await
        .expect("set"));
    let (promotions, worker) = promotions(&store, &w);
    let plan = promotions
        .planner
        .plan(TARGET, STREAM, GOOD, Utc::now())
        .await
        .expect("plan");
    assert_eq!(plan.target.pipeline_url.as_deref(), Some(url.as_str()));
    let maintainer = viewer("mia", Role::Maintainer, None);
    let (id, _) = promotions
        .request(&maintainer, &request(GOOD, None))
        .await
        .expect("requested");
    run_all(&worker).await;

    let row = store.promotion(id).await.expect("read").expect("row");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    let pushed = server::promote::copy::Copier::new(server::promote::copy::CopyConfig {
        insecure_hosts: vec![host.clone()],
        ..Default::default()
    });
    let destination = format!("{}:{}", row.release_repo, row.name);
    assert!(pushed.resolves(&destination).await.expect("asked"));
    assert_eq!(
        row.result_pull_spec.as_deref(),
        Some(
            format!(
                "{}@{}",
                row.release_repo,
                row.result_digest.clone().expect("digest")
            )
            .as_str()
        )
    );
    // one event, naming what the pipeline needs
    let events = received.lock().expect("lock").clone();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["release-stream"], STREAM);
    assert_eq!(e["target-release-stream"], TARGET);
    assert_eq!(e["release-name"], row.name.as_str());
    assert_eq!(e["content-mirror-pushspec"], row.content_repo.as_str());
    assert_eq!(e["release-mirror-pushspec"], row.release_repo.as_str());
    assert_eq!(e["previous-releases"], row.previous().join(","));
    assert_eq!(e["requested-by"], "mia");
    assert!(e["release"]
        .as_str()
        .is_some_and(|r| r.ends_with(&row.source_digest)));
    // Streamgate itself copied nothing into the content repository: the pipeline does
    for image in &plan.images {
        assert!(
            !pushed.resolves(&image.destination).await.expect("asked"),
            "{}",
            image.destination
        );
    }
    // running the worker again starts nothing twice
    run_all(&worker).await;
    assert_eq!(received.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_pipeline_that_never_pushes_fails_the_promotion_with_the_reason() {
    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let (url, received) = listener(None).await;
    store
        .set_target_pipeline(TARGET, Some(&url), Utc::now())
        .await
        .expect("set");
    let (promotions, _) = promotions(&store, &w);
    let worker = PromotionWorker::new(
        store.clone(),
        crate::promote::copier(&w),
        None,
        server::promote::notify::Notifier::new(store.clone(), None),
        promotions.wake.clone(),
        WorkerConfig {
            pipeline_timeout: Duration::from_secs(3),
            ..WorkerConfig::default()
        },
    );
    let maintainer = viewer("mia", Role::Maintainer, None);
    let (id, _) = promotions
        .request(&maintainer, &request(GOOD, None))
        .await
        .expect("requested");
    run_all(&worker).await;
    let row = store.promotion(id).await.expect("read").expect("row");
    assert_eq!(row.state(), PromotionState::Failed);
    assert_eq!(
        row.detail,
        format!(
            "the pipeline did not push {}:{} within 3s",
            row.release_repo, row.name
        )
    );
    assert_eq!(received.lock().expect("lock").len(), 1);

    // an EventListener that is not there: the promotion fails saying where it knocked
    store
        .set_target_pipeline(TARGET, Some("http://127.0.0.1:9/"), Utc::now())
        .await
        .expect("set");
    let (id, _) = promotions
        .request(&maintainer, &request(GOOD, None))
        .await
        .expect("requested again");
    run_all(&worker).await;
    let row = store.promotion(id).await.expect("read").expect("row");
    assert_eq!(row.state(), PromotionState::Failed);
    assert!(
        row.detail
            .starts_with("the pipeline's EventListener http://127.0.0.1:9/ could not be reached"),
        "{}",
        row.detail
    );
}
