//! Promotion end to end over a real registry on loopback: an OKD CI stream with an accepted
//! release and one whose blocking job failed, their payloads read from the registry, and a
//! target within the same registry. The story (plan, refusals, override, the worker's run,
//! the new payload read back, the release in its target stream, a second promotion that
//! copies nothing, the unsigned signature message, reprojection) runs on SQLite and
//! PostgreSQL; the HTTP surface (token and anonymous requests, a maintainer limited to
//! another target) on SQLite.

use crate::support::gpg;
use crate::support::http;
use crate::support::promotion;
use crate::support::registry;

use std::sync::Arc;
use std::time::Duration;

use crate::support::payloads::{
    image_references, payload_config, payload_layers, postgres, push_components, reader,
    release_metadata, sqlite, OKD_COMPONENTS,
};
use crate::support::registry::{Pusher, Registry};
use app::model::promotion::{PromotionState, SignatureStatus, SigningStatus};
use app::model::Phase;
use app::viewer::{Role, SignedInWith, Viewer};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::Utc;
use leptos::prelude::LeptosOptions;
use server::events::{ingest, RC_TAGS};
use server::ingest::payload::Limits;
use server::ingest::release_controller::PollRegistry;
use server::promote::copy::{Copier, CopyConfig};
use server::promote::notify::Notifier;
use server::promote::plan::Planner;
use server::promote::request::PromotionRequest;
use server::promote::worker::{PromotionWorker, WorkerConfig};
use server::promote::{PromoteError, Promotions};
use server::store::Store;
use server::AppState;
use tokio::sync::{watch, Notify};

pub(crate) const STREAM: &str = "4.21.0-0.okd-scos";
pub(crate) const GOOD: &str = "4.21.0-0.okd-scos-2026-11-20-010203";
const BAD: &str = "4.21.0-0.okd-scos-2026-11-21-010203";
pub(crate) const TARGET: &str = "4-scos-next";

pub(crate) struct World {
    pub(crate) registry: Registry,
}

/// Components in the CI content repository and two payloads naming them.
pub(crate) async fn world(store: &Store) -> World {
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let content = "origin/scos-content";
    let specs = &OKD_COMPONENTS[..4];
    let images = push_components(&p, content, specs, &base).await;
    let pushed: Vec<_> = specs.iter().zip(images.iter()).collect();
    let components: Vec<_> = pushed.iter().map(|(s, d)| (*s, *d)).collect();
    let references = image_references(GOOD, &format!("{host}/{content}"), &components);
    let layers = payload_layers(&base, &references, Some(&release_metadata(GOOD, &[])));
    for tag in [GOOD, BAD] {
        p.image(
            "origin/release-scos",
            Some(tag),
            &payload_config(tag, "amd64", components[0].1),
            &layers,
            false,
        )
        .await;
    }
    let spec = |tag: &str| format!("{host}/origin/release-scos:{tag}");
    let (good, bad) = (spec(GOOD), spec(BAD));
    promotion::record_releases(
        store,
        &registry,
        STREAM,
        &[(GOOD, &good, "Succeeded"), (BAD, &bad, "Failed")],
    )
    .await;
    promotion::add_target(store, TARGET, STREAM, &host).await;
    World { registry }
}

pub(crate) fn copier(w: &World) -> Copier {
    Copier::new(CopyConfig {
        credentials: Default::default(),
        insecure_hosts: vec![w.registry.host().to_string()],
        jobs: 4,
        timeout: Duration::from_secs(10),
    })
}

pub(crate) fn promotions(store: &Store, w: &World) -> (Promotions, PromotionWorker) {
    let copier = copier(w);
    let wake = Arc::new(Notify::new());
    let planner = Planner::new(store.clone(), copier.clone(), None);
    let worker = PromotionWorker::new(
        store.clone(),
        copier,
        None,
        Notifier::new(store.clone(), None),
        wake.clone(),
        WorkerConfig::default(),
    );
    (Promotions { planner, wake }, worker)
}

pub(crate) fn viewer(name: &str, role: Role, targets: Option<&[&str]>) -> Viewer {
    Viewer {
        name: name.into(),
        role: Some(role),
        targets: targets.map(|t| t.iter().map(|s| s.to_string()).collect()),
        csrf: String::new(),
        with: SignedInWith::Token,
    }
}

pub(crate) fn request(release: &str, reason: Option<&str>) -> PromotionRequest {
    PromotionRequest {
        target: TARGET.into(),
        stream: STREAM.into(),
        release: release.into(),
        override_reason: reason.map(str::to_string),
        expected_name: None,
    }
}

pub(crate) async fn run_all(worker: &PromotionWorker) {
    let (_stop, mut stopped) = watch::channel(false);
    while worker.run_next(&mut stopped).await.expect("worker") {}
}

/// Every promotion's id, state, name and published digest.
async fn outcomes(store: &Store) -> Vec<(i64, String, String, Option<String>)> {
    store
        .promotions(None, 10)
        .await
        .expect("list")
        .into_iter()
        .map(|r| (r.id, r.state.to_string(), r.name, r.result_digest))
        .collect()
}

async fn promotion_story(store: Store) {
    let w = world(&store).await;
    let (promotions, worker) = promotions(&store, &w);
    let maintainer = viewer("mia", Role::Maintainer, None);
    let admin = viewer("root", Role::Admin, None);

    // the plan says what will happen
    let plan = promotions
        .planner
        .plan(TARGET, STREAM, GOOD, Utc::now())
        .await
        .expect("plan");
    assert_eq!(plan.name, "4.21.0-okd-scos.ec.0");
    assert_eq!(plan.images.len(), 4);
    assert!(plan.gates.passed(), "{:?}", plan.gates);
    assert_eq!(plan.signature, SignatureStatus::Unchecked);
    assert_eq!(plan.blobs_present, 0);
    // four images share one base layer: distinct blobs, not a sum per image
    assert_eq!(
        plan.blobs,
        4 + 4 + 1 + 1,
        "configs, own layers, the shared base, the operator's manifests"
    );
    assert!(plan
        .images
        .iter()
        .all(|i| i.destination.starts_with(&plan.target.content_repo)));

    // refusals, and nothing recorded for them
    let err = promotions
        .request(&maintainer, &request(BAD, None))
        .await
        .expect_err("gates failed");
    assert!(matches!(err, PromoteError::GatesNotPassed(_)), "{err}");
    assert!(err.to_string().contains("aws: Failed"), "{err}");
    let err = promotions
        .request(&maintainer, &request(BAD, Some("known flake")))
        .await
        .expect_err("maintainers do not override");
    assert!(matches!(err, PromoteError::Forbidden(_)), "{err}");
    let limited = viewer("lu", Role::Maintainer, Some(&["4-scos-stable"]));
    let err = promotions
        .request(&limited, &request(GOOD, None))
        .await
        .expect_err("other target");
    assert_eq!(err.to_string(), "lu may not promote to 4-scos-next");
    let mut changed = request(GOOD, None);
    changed.expected_name = Some("4.21.0-okd-scos.ec.7".into());
    let err = promotions
        .request(&maintainer, &changed)
        .await
        .expect_err("plan changed");
    assert!(matches!(err, PromoteError::PlanChanged(_)), "{err}");
    assert!(store.promotions(None, 10).await.expect("list").is_empty());

    // a maintainer promotes the accepted release; an admin overrides the failed one
    let mut confirmed = request(GOOD, None);
    confirmed.expected_name = Some(plan.name.clone());
    let (first, _) = promotions
        .request(&maintainer, &confirmed)
        .await
        .expect("requested");
    let (overridden, second_plan) = promotions
        .request(
            &admin,
            &request(BAD, Some("aws quota outage, job re-run by hand")),
        )
        .await
        .expect("override");
    assert_eq!(second_plan.name, "4.21.0-okd-scos.ec.1");
    let row = store.promotion(first).await.expect("row").expect("stored");
    assert_eq!(row.state(), PromotionState::Planned);
    assert_eq!(row.requested_by, "mia");

    run_all(&worker).await;
    let done = store.promotion(first).await.expect("row").expect("stored");
    assert_eq!(done.state(), PromotionState::Succeeded, "{}", done.detail);
    let model = done.to_model();
    assert!(model.started_at.is_some() && model.finished_at.is_some());
    assert_eq!(model.progress.images_done, 4);
    assert_eq!(model.progress.blobs_done, model.progress.blobs_total);
    let result = done.result_pull_spec.clone().expect("published");
    // without a signing key, the signature message is written and kept, unsigned
    let signature = done.release_signature().expect("signature message written");
    assert_eq!(signature.status, SigningStatus::Unsigned);
    assert_eq!(Some(&signature.digest), done.result_digest.as_ref());
    let message: serde_json::Value = serde_json::from_str(&signature.message).expect("json");
    assert_eq!(
        message["critical"]["image"]["docker-manifest-digest"],
        signature.digest
    );
    assert_eq!(message["critical"]["identity"]["docker-reference"], result);
    assert_eq!(message["critical"]["type"], "atomic container signature");
    let over = store
        .promotion(overridden)
        .await
        .expect("row")
        .expect("stored");
    assert_eq!(over.state(), PromotionState::Succeeded, "{}", over.detail);
    assert_eq!(
        over.override_reason.as_deref(),
        Some("aws quota outage, job re-run by hand")
    );

    // the new payload names the mirror, the new name and the releases it updates from
    let read = reader(&w.registry, Limits::default())
        .read(&result)
        .await
        .expect("new payload reads");
    assert_eq!(read.name, "4.21.0-okd-scos.ec.0");
    let content = &plan.target.content_repo;
    assert_eq!(read.components.len(), 4);
    for c in &read.components {
        assert!(
            c.image.starts_with(&format!("{content}@sha256:")),
            "{}",
            c.image
        );
        let source = plan
            .images
            .iter()
            .find(|i| i.name == c.name)
            .expect("planned");
        assert!(source.source.ends_with(&c.image_digest));
    }
    let copier = copier(&w);
    for image in &plan.images {
        assert!(copier.resolves(&image.destination).await.expect("asks"));
    }
    let tag = format!("{}:{}", plan.target.release_repo, plan.name);
    assert!(copier.resolves(&tag).await.expect("tagged"));
    let over_read = reader(&w.registry, Limits::default())
        .read(&over.result_pull_spec.clone().expect("published"))
        .await
        .expect("second payload reads");
    assert_eq!(over_read.name, "4.21.0-okd-scos.ec.1");

    // the release is in its target stream, and an upstream listing without it keeps it
    let promoted = store
        .releases_named("4.21.0-okd-scos.ec.0")
        .await
        .expect("query");
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0].stream, TARGET);
    assert_eq!(
        promoted[0].phase,
        Phase::Published,
        "awaiting the release-controller, which decides acceptance"
    );
    ingest(
        &store,
        promotion::event(
            RC_TAGS,
            TARGET,
            serde_json::json!({"name": TARGET, "tags": []}),
        ),
    )
    .await
    .expect("empty listing");
    let promoted = store
        .releases_named("4.21.0-okd-scos.ec.0")
        .await
        .expect("query");
    assert!(promoted[0].expired_at.is_none());
    let from = store
        .promotion_of_promoted(TARGET, "4.21.0-okd-scos.ec.0")
        .await
        .expect("query")
        .expect("promoted by us");
    assert_eq!(from.source_release, GOOD);

    // promoting the same release again copies nothing
    let (again, again_plan) = promotions
        .request(&maintainer, &request(GOOD, None))
        .await
        .expect("again");
    assert_eq!(again_plan.name, "4.21.0-okd-scos.ec.2");
    assert_eq!(
        again_plan.previous,
        ["4.21.0-okd-scos.ec.0", "4.21.0-okd-scos.ec.1"],
        "clusters update from the releases promoted before"
    );
    assert_eq!(again_plan.blobs_present, again_plan.blobs);
    assert_eq!(again_plan.bytes_to_copy(), 0);
    run_all(&worker).await;
    let again = store.promotion(again).await.expect("row").expect("stored");
    assert_eq!(again.state(), PromotionState::Succeeded, "{}", again.detail);
    assert_eq!(
        again.to_model().progress.bytes_done,
        0,
        "nothing transferred"
    );

    // the log rebuilds the same promotions
    let before = outcomes(&store).await;
    server::events::reproject(&store).await.expect("reproject");
    let after = outcomes(&store).await;
    assert_eq!(before, after);
    assert_eq!(before.len(), 3);
    let rebuilt = store.promotion(first).await.expect("row").expect("stored");
    assert_eq!(rebuilt.release_signature(), Some(signature));
    assert!(store
        .promotion_of_promoted(TARGET, "4.21.0-okd-scos.ec.1")
        .await
        .expect("query")
        .is_some());
}

#[tokio::test]
async fn promotion_story_on_sqlite() {
    let (store, _dir) = sqlite().await;
    promotion_story(store).await;
}

#[tokio::test]
async fn promotion_story_on_postgres() {
    promotion_story(postgres().await).await;
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = http::send(app, request).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post_json(uri: &str, token: Option<&str>, body: serde_json::Value) -> Request<Body> {
    let mut r = Request::post(uri)
        .header(header::HOST, "streamgate.test")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).expect("request")
}

#[tokio::test]
async fn the_api_promotes_for_maintainers_with_tokens_only() {
    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let (promotions, worker) = promotions(&store, &w);
    let mia = promotion::user_with_token(&store, "mia", Role::Maintainer, None).await;
    let lu =
        promotion::user_with_token(&store, "lu", Role::Maintainer, Some(&["4-scos-stable"])).await;
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store.clone(), PollRegistry::default(), leptos);
    state.promotions = Some(promotions);
    let app = server::router(state);
    let body = serde_json::json!({"target": TARGET, "stream": STREAM, "release": GOOD});

    // the release's payload components are in the public API
    let (status, text) = send(
        &app,
        Request::get(format!("/api/v1/releases/{GOOD}?stream={STREAM}"))
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let release: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(release["payload"]["state"], "read", "{text}");
    let components = release["payload"]["components"].as_array().expect("list");
    assert_eq!(components.len(), 4);
    // no OCP CI payload was read here: nothing says where they came from
    assert!(components.iter().all(|c| c["provenance"] == "unknown"
        && c["unknown_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("no OCP CI"))
        && c["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))));

    // anonymous visitors are told who can promote an accepted release, and why a rejected
    // one is not offered
    let page = |release: &str| {
        Request::get(format!("/releases/{release}?stream={STREAM}"))
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request")
    };
    let (status, text) = send(&app, page(GOOD)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains(&format!("Maintainers can promote this release to {TARGET}")),
        "{text}"
    );
    let (status, text) = send(&app, page(BAD)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(!text.contains("Maintainers can promote"), "{text}");
    assert!(
        text.contains(&format!("Not promoted to {TARGET}: a blocking job failed"))
            && text.contains("only an admin can override"),
        "{text}"
    );

    let (status, text) = send(&app, post_json("/api/v1/promotions", None, body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    let (status, text) = send(
        &app,
        Request::post("/promotions")
            .header(header::HOST, "streamgate.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "target={TARGET}&stream={STREAM}&release={GOOD}&expected_name=x"
            )))
            .expect("request"),
    )
    .await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::SEE_OTHER,
        "{status}: {text}"
    );
    let (status, text) = send(
        &app,
        post_json("/api/v1/promotions", Some(&lu), body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("lu may not promote to 4-scos-next"), "{text}");
    let (status, text) = send(
        &app,
        post_json(
            "/api/v1/promotions",
            Some(&mia),
            serde_json::json!({"target": TARGET, "stream": STREAM, "release": BAD}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("blocking gates"), "{text}");
    let (status, text) = send(
        &app,
        post_json(
            "/api/v1/promotions",
            Some(&mia),
            serde_json::json!({"target": TARGET}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");

    let mut dry = body.clone();
    dry["dry_run"] = serde_json::json!(true);
    let (status, text) = send(&app, post_json("/api/v1/promotions", Some(&mia), dry)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let plan: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(plan["name"], "4.21.0-okd-scos.ec.0");
    assert!(store.promotions(None, 5).await.expect("list").is_empty());

    let (status, text) = send(&app, post_json("/api/v1/promotions", Some(&mia), body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let created: serde_json::Value = serde_json::from_str(&text).expect("json");
    let id = created["id"].as_i64().expect("id");
    run_all(&worker).await;
    let (status, text) = send(
        &app,
        Request::get(format!("/api/v1/promotions/{id}"))
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let promotion: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(promotion["state"], "succeeded", "{text}");
    assert_eq!(promotion["requested_by"], "mia");
    let (status, notes) = send(
        &app,
        Request::get(format!("/api/v1/promotions/{id}/notes.md"))
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{notes}");
    assert!(notes.starts_with("# 4.21.0-okd-scos.ec.0"), "{notes}");
    assert!(notes.contains("| aws | blocking |"), "{notes}");
    let (status, page) = send(
        &app,
        Request::get(format!("/promotions/{id}"))
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Release notes"), "{page}");
}

/// Serves `signatures` for `digest` as an OpenShift signature store; returns its URL.
async fn signature_store(digest: &str, signatures: Arc<std::sync::Mutex<Vec<Vec<u8>>>>) -> String {
    let dir = format!("sha256={}", digest.trim_start_matches("sha256:"));
    let app = axum::Router::new().route(
        "/{dir}/{file}",
        axum::routing::get(
            move |axum::extract::Path((d, file)): axum::extract::Path<(String, String)>| {
                let served = signatures.lock().map(|s| s.clone()).unwrap_or_default();
                let dir = dir.clone();
                async move {
                    let n: Option<usize> =
                        file.strip_prefix("signature-").and_then(|n| n.parse().ok());
                    match n {
                        Some(n) if d == dir && n >= 1 => {
                            served.get(n - 1).cloned().ok_or(StatusCode::NOT_FOUND)
                        }
                        _ => Err(StatusCode::NOT_FOUND),
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_valid_signature_allows_promotion_and_a_tampered_one_blocks_it() {
    use server::promote::signature::SignatureStore;
    use server::promote::verification::SignatureCheck;

    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let digest = store
        .release_payload_digest(STREAM, GOOD)
        .await
        .expect("query")
        .expect("read");
    let signer = gpg::Gpg::new("OKD Release Signing <release@example.com>");
    let keys = tempfile::tempdir().expect("keys");
    let keyring = signer.export(&keys.path().join("trusted.gpg"));
    let content = serde_json::to_vec(&serde_json::json!({
        "critical": {"identity": {"docker-reference": format!("quay.io/okd/scos-release:{GOOD}")},
            "image": {"docker-manifest-digest": digest}, "type": "atomic container signature"},
        "optional": {"creator": "okd release pipeline"},
    }))
    .expect("json");
    let good = signer.sign(&content);
    let served = Arc::new(std::sync::Mutex::new(vec![good.clone()]));
    let url = signature_store(&digest, served.clone()).await;
    let check = SignatureCheck::new(
        SignatureStore::new(url, Duration::from_secs(5)).expect("store"),
        keyring,
    );
    let copier = copier(&w);
    let wake = Arc::new(Notify::new());
    let promotions = Promotions {
        planner: Planner::new(store.clone(), copier.clone(), Some(check.clone())),
        wake: wake.clone(),
    };
    let worker = PromotionWorker::new(
        store.clone(),
        copier,
        Some(check),
        Notifier::new(store.clone(), None),
        wake,
        WorkerConfig::default(),
    );

    let plan = promotions
        .planner
        .plan(TARGET, STREAM, GOOD, Utc::now())
        .await
        .expect("plan");
    let SignatureStatus::Verified { identity, .. } = &plan.signature else {
        panic!("not verified: {:?}", plan.signature)
    };
    assert_eq!(identity, &format!("quay.io/okd/scos-release:{GOOD}"));
    let maintainer = viewer("mia", Role::Maintainer, None);
    let (id, _) = promotions
        .request(&maintainer, &request(GOOD, None))
        .await
        .expect("signed release promotes");

    // the signature is tampered with before the job runs: the worker checks again
    let mut tampered = good.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x55;
    *served.lock().expect("lock") = vec![tampered];
    run_all(&worker).await;
    let row = store.promotion(id).await.expect("row").expect("stored");
    assert_eq!(row.state(), PromotionState::Failed);
    assert!(row.detail.contains("signature"), "{}", row.detail);
    assert!(store
        .releases_named("4.21.0-okd-scos.ec.0")
        .await
        .expect("query")
        .is_empty());

    // and nobody can promote it now, not even an admin overriding
    let plan = promotions
        .planner
        .plan(TARGET, STREAM, GOOD, Utc::now())
        .await
        .expect("plan");
    assert!(matches!(plan.signature, SignatureStatus::Invalid { .. }));
    let admin = viewer("root", Role::Admin, None);
    let err = promotions
        .request(&admin, &request(GOOD, Some("ship it")))
        .await
        .expect_err("blocked");
    assert!(matches!(err, PromoteError::Signature(_)), "{err}");
}

#[tokio::test]
async fn a_finished_promotion_is_announced_to_the_target_webhook() {
    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let sink = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, sink).await });
    let target = store.target(TARGET).await.expect("query").expect("target");
    store
        .upsert_target(
            &server::store::promotions::NewTarget {
                name: target.name,
                source_stream: target.source_stream,
                content_repo: target.content_repo,
                release_repo: target.release_repo,
                name_template: target.name_template,
                webhook: server::store::promotions::WebhookChange::Set {
                    url: format!("http://{addr}/hook"),
                    secret: server::promote::webhook::new_secret(),
                },
            },
            Utc::now(),
        )
        .await
        .expect("saved");

    let (promotions, worker) = promotions(&store, &w);
    let (id, _) = promotions
        .request(&viewer("mia", Role::Maintainer, None), &request(GOOD, None))
        .await
        .expect("requested");
    run_all(&worker).await;
    let notice = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("announced")
        .expect("a body");
    assert_eq!(
        notice["text"],
        format!("4.21.0-okd-scos.ec.0 promoted to {TARGET} from {GOOD} by mia")
    );
    assert_eq!(notice["promotion"]["id"], id);
    assert_eq!(notice["promotion"]["state"], "succeeded");
}
