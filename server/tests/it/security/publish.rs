//! Publishing never moves a tag, and a name that may have been pushed is never given to
//! another release: against a real registry on loopback, a tag pushed by someone else under
//! the planned name fails the promotion with nothing pushed and the tag as it was; tags the
//! database does not know push the next name past them; and a promotion that failed after
//! its tag was pushed keeps its name spent even once the tag is gone.

use std::time::Duration;

use app::model::promotion::PromotionState;
use app::viewer::{Role, SignedInWith, Viewer};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::Utc;
use tokio::sync::{watch, Notify};

use crate::support::registry::{self, Layer, Pushed, Pusher, Registry};

use crate::support::promotion;

use crate::support::payloads::{
    image_references, payload_config, payload_layers, push_components, release_metadata, sqlite,
    OKD_COMPONENTS,
};
use server::promote::copy::{Copier, CopyConfig};
use server::promote::notify::Notifier;
use server::promote::plan::Planner;
use server::promote::request::PromotionRequest;
use server::promote::worker::{PromotionWorker, WorkerConfig};
use server::promote::Promotions;
use server::store::Store;

const STREAM: &str = "4.21.0-0.okd-scos";
const RELEASE: &str = "4.21.0-0.okd-scos-2026-11-20-010203";
const TARGET: &str = "4-scos-next";
const RELEASE_REPO: &str = "okd/scos-release";

/// A CI release with its payload read, in `registry`, and a target whose repositories are
/// at `target_host`.
async fn world(store: &Store, registry: &Registry, target_host: &str) -> Pusher {
    let host = registry.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let specs = &OKD_COMPONENTS[..2];
    let images = push_components(&p, "origin/scos-content", specs, &base).await;
    let pushed: Vec<_> = specs.iter().zip(images.iter()).collect();
    let components: Vec<_> = pushed.iter().map(|(s, d)| (*s, *d)).collect();
    let references = image_references(RELEASE, &format!("{host}/origin/scos-content"), &components);
    p.image(
        "origin/release-scos",
        Some(RELEASE),
        &payload_config(RELEASE, "amd64", components[0].1),
        &payload_layers(&base, &references, Some(&release_metadata(RELEASE, &[]))),
        false,
    )
    .await;
    let spec = format!("{host}/origin/release-scos:{RELEASE}");
    promotion::record_releases(store, registry, STREAM, &[(RELEASE, &spec, "Succeeded")]).await;
    promotion::add_target(store, TARGET, STREAM, target_host).await;
    p
}

fn promotions(store: &Store, hosts: &[&str]) -> (Promotions, PromotionWorker) {
    let copier = Copier::new(CopyConfig {
        insecure_hosts: hosts.iter().map(|h| h.to_string()).collect(),
        jobs: 4,
        timeout: Duration::from_secs(10),
        ..CopyConfig::default()
    });
    let wake = std::sync::Arc::new(Notify::new());
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

fn admin() -> Viewer {
    Viewer {
        name: "root".into(),
        role: Some(Role::Admin),
        targets: None,
        csrf: String::new(),
        with: SignedInWith::Token,
    }
}

fn request() -> PromotionRequest {
    PromotionRequest {
        target: TARGET.into(),
        stream: STREAM.into(),
        release: RELEASE.into(),
        override_reason: None,
        expected_name: None,
    }
}

async fn run_all(worker: &PromotionWorker) {
    let (_stop, mut stopped) = watch::channel(false);
    while worker.run_next(&mut stopped).await.expect("worker") {}
}

async fn next_name(promotions: &Promotions) -> String {
    promotions
        .planner
        .plan(TARGET, STREAM, RELEASE, Utc::now())
        .await
        .expect("plan")
        .name
}

/// Another image pushed under `tag` of the release repository.
async fn push_other(p: &Pusher, tag: &str) -> Pushed {
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Labels": {"pushed-by": "someone else"}}});
    let layer = Layer::oci(&[("etc/motd", tag.as_bytes())]);
    p.image(RELEASE_REPO, Some(tag), &config, &[layer], false)
        .await
}

/// The digest `tag` of the release repository has in the registry at `host`.
async fn tag_digest(host: &str, tag: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .head(format!("http://{host}/v2/{RELEASE_REPO}/manifests/{tag}"))
        .header("accept", registry::OCI_MANIFEST)
        .send()
        .await
        .expect("head");
    response
        .status()
        .is_success()
        .then(|| response.headers().get("docker-content-digest").cloned())
        .flatten()
        .and_then(|v| v.to_str().ok().map(str::to_string))
}

/// Writes (`PUT`, `PATCH`, `POST`, `DELETE`) the registry answered for the release repository.
fn writes_to_release_repo(registry: &Registry) -> usize {
    registry
        .log()
        .lines()
        .filter(|l| l.contains("response completed"))
        .filter(|l| {
            !l.contains("http.request.method=GET") && !l.contains("http.request.method=HEAD")
        })
        .filter(|l| l.contains(&format!("/v2/{RELEASE_REPO}/")))
        .count()
}

#[tokio::test]
async fn a_tag_pushed_by_someone_else_is_never_moved() {
    let (store, _dir) = sqlite().await;
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = world(&store, &registry, &host).await;
    let (promotions, worker) = promotions(&store, &[&host]);
    let (id, plan) = promotions
        .request(&admin(), &request())
        .await
        .expect("requested");
    assert_eq!(plan.name, "4.21.0-okd-scos.ec.0");

    // between the plan and the publish, someone pushes another image under that name
    let other = push_other(&p, &plan.name).await;
    let writes = writes_to_release_repo(&registry);
    run_all(&worker).await;

    let row = store.promotion(id).await.expect("row").expect("stored");
    assert_eq!(row.state(), PromotionState::Failed);
    let reference = format!("{host}/{RELEASE_REPO}:{}", plan.name);
    assert!(
        row.detail.contains(&format!(
            "{reference} already exists with digest {}; refusing to move it",
            other.digest
        )),
        "{}",
        row.detail
    );
    assert_eq!(tag_digest(&host, &plan.name).await, Some(other.digest));
    assert_eq!(
        writes_to_release_repo(&registry),
        writes,
        "nothing was pushed to the release repository"
    );
    assert!(row.result_digest.is_none());

    // the name is not ours, so the next plan goes past it
    assert_eq!(next_name(&promotions).await, "4.21.0-okd-scos.ec.1");
}

#[tokio::test]
async fn tags_the_database_does_not_know_count_when_naming() {
    let (store, _dir) = sqlite().await;
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = world(&store, &registry, &host).await;
    let (promotions, _) = promotions(&store, &[&host]);
    assert_eq!(next_name(&promotions).await, "4.21.0-okd-scos.ec.0");

    for tag in [
        "4.21.0-okd-scos.ec.0",
        "4.21.0-okd-scos.ec.3",
        "4.20.0-okd-scos.ec.9",
        "latest",
    ] {
        push_other(&p, tag).await;
    }
    assert_eq!(next_name(&promotions).await, "4.21.0-okd-scos.ec.4");
}

/// A proxy to the registry at `registry` that passes everything through, but answers `500`
/// to a tag push into the release repository after the registry took it.
async fn breaking_proxy(registry: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let app = Router::new().fallback(move |request: Request<Body>| {
        let (client, registry) = (client.clone(), registry.clone());
        async move { forward(&client, &registry, request).await }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    host
}

async fn forward(client: &reqwest::Client, registry: &str, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 256 << 20)
        .await
        .expect("request body");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = client
        .request(parts.method.clone(), format!("http://{registry}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST {
            out = out.header(name, value);
        }
    }
    let answer = out.send().await.expect("registry answers");
    let tag_push = parts.method == Method::PUT
        && parts
            .uri
            .path()
            .strip_prefix(&format!("/v2/{RELEASE_REPO}/manifests/"))
            .is_some_and(|reference| !reference.starts_with("sha256:"));
    if tag_push && answer.status().is_success() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored, but the answer was lost",
        )
            .into_response();
    }
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::TRANSFER_ENCODING
        {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.expect("registry body");
    response.body(Body::from(bytes)).expect("response")
}

#[tokio::test]
async fn a_name_whose_tag_was_pushed_is_never_reused_after_a_failure() {
    let (store, _dir) = sqlite().await;
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let proxy = breaking_proxy(host.clone()).await;
    world(&store, &registry, &proxy).await;
    let (promotions, worker) = promotions(&store, &[&host, &proxy]);
    let (id, plan) = promotions
        .request(&admin(), &request())
        .await
        .expect("requested");
    assert_eq!(plan.name, "4.21.0-okd-scos.ec.0");

    // the tag is pushed, but the promotion fails
    run_all(&worker).await;
    let row = store.promotion(id).await.expect("row").expect("stored");
    assert_eq!(row.state(), PromotionState::Failed);
    assert!(row.detail.contains("http 500"), "{}", row.detail);
    let pushed = tag_digest(&host, &plan.name).await.expect("tag pushed");
    assert_eq!(row.result_digest.as_deref(), Some(pushed.as_str()));

    // even with the tag deleted at the registry, the name stays spent
    let deleted = reqwest::Client::new()
        .delete(format!(
            "http://{host}/v2/{RELEASE_REPO}/manifests/{pushed}"
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), reqwest::StatusCode::ACCEPTED);
    assert_eq!(tag_digest(&host, &plan.name).await, None);
    assert_eq!(next_name(&promotions).await, "4.21.0-okd-scos.ec.1");
}
