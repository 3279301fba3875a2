//! After a promotion publishes its payload: adoption into an OpenShift image stream and the
//! release notes as a GitHub release, end to end. A real promotion runs against the real
//! registry on loopback; the OpenShift API server and GitHub, which cannot run here, are
//! small fakes on loopback that record every request and answer as the real APIs do
//! (`201` with the object, `409 AlreadyExists` and `404 NotFound` as Kubernetes `Status`
//! objects, `401` for a wrong token, GitHub's `422` validation error with
//! `already_exists`, `503` before a success). The tests check the requests' exact bodies
//! and headers, that a step which fails leaves the promotion published saying why, that
//! a repeated run finds its tag and release and moves nothing, and that the tokens appear
//! in no answer, page or stored event.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::promote::{GOOD, STREAM, TARGET};
use crate::support::http;
use crate::support::payloads::sqlite;
use crate::support::promotion;
use crate::support::registry::Registry;
use app::model::promotion::{PromotionState, PublishStep};
use app::viewer::{Role, SignedInWith, Viewer};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use leptos::prelude::LeptosOptions;
use serde_json::{json, Value};
use server::backend::StoreBackend;
use server::ingest::release_controller::PollRegistry;
use server::promote::copy::{Copier, CopyConfig};
use server::promote::notify::Notifier;
use server::promote::plan::Planner;
use server::promote::publishing::{PublishArgs, Publishing};
use server::promote::request::PromotionRequest;
use server::promote::worker::{PromotionWorker, WorkerConfig};
use server::promote::Promotions;
use server::store::Store;
use server::AppState;
use tokio::sync::{watch, Notify};

const NAME: &str = "4.21.0-okd-scos.ec.0";
const OPENSHIFT_TOKEN: &str = "sha256~openshift-token-that-must-not-leak";
const GITHUB_TOKEN: &str = "ghp_github-token-that-must-not-leak";

/// One request a fake received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Value,
}

/// The state of both fakes: what they hold, what they were sent, and how many requests
/// they fail with `503` first.
#[derive(Default)]
struct Fake {
    token: String,
    seen: Vec<Seen>,
    /// `namespace/imagestream:tag` → the ImageStreamTag created.
    tags: BTreeMap<String, Value>,
    /// `owner/repo/tag` → the release created.
    releases: BTreeMap<String, Value>,
    unavailable: u32,
}

type Shared = Arc<Mutex<Fake>>;

fn lock(fake: &Shared) -> std::sync::MutexGuard<'_, Fake> {
    fake.lock().expect("fake state")
}

fn k8s_status(code: StatusCode, reason: &str, message: String) -> Response {
    (
        code,
        Json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "details": {"group": "image.openshift.io", "kind": "imagestreamtags"},
            "code": code.as_u16()})),
    )
        .into_response()
}

/// Records the request; answers for a wrong token or a planned outage, if either applies.
fn admit(
    fake: &Shared,
    method: Method,
    path: String,
    headers: &HeaderMap,
    body: Value,
) -> Option<(StatusCode, bool)> {
    let mut f = lock(fake);
    f.seen.push(Seen {
        method,
        path,
        headers: headers.clone(),
        body,
    });
    let bearer = format!("Bearer {}", f.token);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(bearer.as_str())
    {
        return Some((StatusCode::UNAUTHORIZED, false));
    }
    if f.unavailable > 0 {
        f.unavailable -= 1;
        return Some((StatusCode::SERVICE_UNAVAILABLE, true));
    }
    None
}

/// The OpenShift image API's `imagestreamtags`, as far as adoption uses it.
fn openshift(fake: Shared) -> axum::Router {
    async fn create(
        State(fake): State<Shared>,
        Path(ns): Path<String>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Response {
        let path = format!("/apis/image.openshift.io/v1/namespaces/{ns}/imagestreamtags");
        match admit(&fake, Method::POST, path, &headers, body.clone()) {
            Some((StatusCode::UNAUTHORIZED, _)) => {
                return k8s_status(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "Unauthorized".into(),
                )
            }
            Some((code, _)) => {
                return k8s_status(
                    code,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request".into(),
                )
            }
            None => {}
        }
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = format!("{ns}/{name}");
        let mut f = lock(&fake);
        if f.tags.contains_key(&key) {
            return k8s_status(
                StatusCode::CONFLICT,
                "AlreadyExists",
                format!("imagestreamtags.image.openshift.io \"{name}\" already exists"),
            );
        }
        let from = body["tag"]["from"]["name"].as_str().unwrap_or_default();
        let digest = from.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        let mut created = body.clone();
        created["metadata"]["uid"] = json!("0b6d1f1e-2c4f-4c1a-9a5e-1d2f3a4b5c6d");
        created["metadata"]["resourceVersion"] = json!("12345");
        created["generation"] = json!(1);
        created["lookupPolicy"] = json!({"local": false});
        created["image"] = json!({"metadata": {"name": digest}, "dockerImageReference": from});
        f.tags.insert(key, created.clone());
        (StatusCode::CREATED, Json(created)).into_response()
    }
    async fn read(
        State(fake): State<Shared>,
        Path((ns, name)): Path<(String, String)>,
        headers: HeaderMap,
    ) -> Response {
        let path = format!("/apis/image.openshift.io/v1/namespaces/{ns}/imagestreamtags/{name}");
        if admit(&fake, Method::GET, path, &headers, Value::Null).is_some() {
            return k8s_status(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Unauthorized".into(),
            );
        }
        match lock(&fake).tags.get(&format!("{ns}/{name}")) {
            Some(tag) => (StatusCode::OK, Json(tag.clone())).into_response(),
            None => k8s_status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("imagestreamtags.image.openshift.io \"{name}\" not found"),
            ),
        }
    }
    axum::Router::new()
        .route(
            "/apis/image.openshift.io/v1/namespaces/{ns}/imagestreamtags",
            post(create),
        )
        .route(
            "/apis/image.openshift.io/v1/namespaces/{ns}/imagestreamtags/{name}",
            get(read),
        )
        .with_state(fake)
}

fn github_error(code: StatusCode, message: &str) -> Response {
    (
        code,
        Json(json!({"message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": code.as_u16().to_string()})),
    )
        .into_response()
}

/// GitHub's releases API, as far as publishing uses it.
fn github(fake: Shared) -> axum::Router {
    async fn create(
        State(fake): State<Shared>,
        Path((owner, repo)): Path<(String, String)>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Response {
        let path = format!("/repos/{owner}/{repo}/releases");
        match admit(&fake, Method::POST, path, &headers, body.clone()) {
            Some((StatusCode::UNAUTHORIZED, _)) => {
                return github_error(StatusCode::UNAUTHORIZED, "Bad credentials")
            }
            Some((code, _)) => return github_error(code, "Service Unavailable"),
            None => {}
        }
        let tag = body["tag_name"].as_str().unwrap_or_default().to_string();
        let mut f = lock(&fake);
        let key = format!("{owner}/{repo}/{tag}");
        if f.releases.contains_key(&key) {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": "Validation Failed",
                    "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}],
                    "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
                    "status": "422"})),
            )
                .into_response();
        }
        let release = json!({
            "url": format!("https://api.github.com/repos/{owner}/{repo}/releases/1"),
            "html_url": format!("https://github.com/{owner}/{repo}/releases/tag/{tag}"),
            "id": 1, "tag_name": tag, "name": body["name"], "body": body["body"],
            "draft": false, "prerelease": body["prerelease"],
            "created_at": "2026-12-04T10:00:00Z", "published_at": "2026-12-04T10:00:00Z"
        });
        f.releases.insert(key, release.clone());
        (StatusCode::CREATED, Json(release)).into_response()
    }
    async fn by_tag(
        State(fake): State<Shared>,
        Path((owner, repo, tag)): Path<(String, String, String)>,
        headers: HeaderMap,
    ) -> Response {
        let path = format!("/repos/{owner}/{repo}/releases/tags/{tag}");
        if admit(&fake, Method::GET, path, &headers, Value::Null).is_some() {
            return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
        }
        match lock(&fake).releases.get(&format!("{owner}/{repo}/{tag}")) {
            Some(r) => (StatusCode::OK, Json(r.clone())).into_response(),
            None => github_error(StatusCode::NOT_FOUND, "Not Found"),
        }
    }
    axum::Router::new()
        .route("/repos/{owner}/{repo}/releases", post(create))
        .route("/repos/{owner}/{repo}/releases/tags/{tag}", get(by_tag))
        .with_state(fake)
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn fake(token: &str) -> Shared {
    Arc::new(Mutex::new(Fake {
        token: token.to_string(),
        ..Fake::default()
    }))
}

/// A token file readable by its owner only.
fn token_file(dir: &std::path::Path, name: &str, token: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{token}\n")).expect("token file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("mode");
    path
}

/// A CI release with an accepted payload in the real registry, and the target taking it,
/// adopting into `origin/release-scos` and publishing to `okd-project/okd-scos`.
async fn world(store: &Store) -> Registry {
    // the promotion story's world: the accepted release (and a rejected one) and the target
    let registry = crate::promote::world(store).await.registry;
    store
        .set_target_publishing(
            TARGET,
            &app::model::promotion::TargetPublishing {
                adopt_namespace: Some("origin".into()),
                adopt_imagestream: Some("release-scos".into()),
                github_repo: Some("okd-project/okd-scos".into()),
            },
            chrono::Utc::now(),
        )
        .await
        .expect("publishing settings");
    registry
}

struct Run {
    promotions: Promotions,
    worker: PromotionWorker,
    publishing: Publishing,
}

fn run_with(store: &Store, registry: &Registry, args: &PublishArgs) -> Run {
    let copier = Copier::new(CopyConfig {
        credentials: Default::default(),
        insecure_hosts: vec![registry.host().to_string()],
        jobs: 4,
        timeout: Duration::from_secs(10),
    });
    let wake = Arc::new(Notify::new());
    let planner = Planner::new(store.clone(), copier.clone(), None);
    let publishing = Publishing::new(
        store.clone(),
        StoreBackend::new(store.clone(), PollRegistry::default()),
        args,
        Some("https://streamgate.example.org"),
    )
    .expect("publishing settings");
    let worker = PromotionWorker::new(
        store.clone(),
        copier,
        None,
        Notifier::new(store.clone(), None),
        wake.clone(),
        WorkerConfig::default(),
    )
    .with_publishing(publishing.clone());
    Run {
        promotions: Promotions { planner, wake },
        worker,
        publishing,
    }
}

async fn promote(run: &Run) -> i64 {
    let viewer = Viewer {
        name: "mia".into(),
        role: Some(Role::Maintainer),
        targets: None,
        csrf: String::new(),
        with: SignedInWith::Token,
    };
    let (id, _) = run
        .promotions
        .request(
            &viewer,
            &PromotionRequest {
                target: TARGET.into(),
                stream: STREAM.into(),
                release: GOOD.into(),
                override_reason: None,
                expected_name: None,
            },
        )
        .await
        .expect("requested");
    let (_stop, mut stopped) = watch::channel(false);
    while run.worker.run_next(&mut stopped).await.expect("worker") {}
    id
}

fn args(
    openshift: &str,
    openshift_token: PathBuf,
    github: &str,
    github_token: PathBuf,
) -> PublishArgs {
    PublishArgs {
        openshift_api_url: Some(openshift.to_string()),
        openshift_token_file: Some(openshift_token),
        openshift_ca_file: None,
        github_api_url: github.to_string(),
        github_token_file: Some(github_token),
    }
}

/// The promotion as the API answers it, and its page, through the real router.
async fn api_and_page(store: &Store, id: i64) -> (Value, String) {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = server::router(AppState::new(
        store.clone(),
        PollRegistry::default(),
        leptos,
    ));
    let get = |uri: String| {
        Request::get(uri)
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request")
    };
    let (status, _, body) = http::send(&app, get(format!("/api/v1/promotions/{id}"))).await;
    let body = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, StatusCode::OK, "{body}");
    let api: Value = serde_json::from_str(&body).expect("json");
    let (status, _, page) = http::send(&app, get(format!("/promotions/{id}"))).await;
    let page = String::from_utf8_lossy(&page).into_owned();
    assert_eq!(status, StatusCode::OK, "{page}");
    (api, page)
}

/// A page through the real router.
async fn page(store: &Store, uri: String) -> String {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = server::router(AppState::new(
        store.clone(),
        PollRegistry::default(),
        leptos,
    ));
    let request = Request::get(uri)
        .header(header::HOST, "streamgate.test")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = http::send(&app, request).await;
    let body = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// No answer, page or stored event holds either token.
async fn assert_no_token_anywhere(store: &Store, api: &Value, page: &str) {
    let mut tx = store.begin().await.expect("tx");
    let events: Vec<String> = tx
        .events_after(0, 10_000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.payload)
        .collect();
    drop(tx);
    assert!(
        events.iter().any(|e| e.contains("adoption")),
        "the steps are events"
    );
    for token in [OPENSHIFT_TOKEN, GITHUB_TOKEN] {
        assert!(
            !api.to_string().contains(token),
            "the API answer shows a token"
        );
        assert!(!page.contains(token), "the page shows a token");
        assert!(
            events.iter().all(|e| !e.contains(token)),
            "an event holds a token"
        );
    }
}

/// Everything logged, at every level, on this thread (a `#[tokio::test]` runs its tasks on
/// its own thread) while the guard lives.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || logs.clone())
                .finish(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

#[tokio::test]
async fn a_promotion_adopts_its_release_and_publishes_its_notes_as_a_github_release() {
    let logs = Logs::default();
    let _logging = logs.capture();
    let (store, dir) = sqlite().await;
    let registry = world(&store).await;
    let cluster = fake(OPENSHIFT_TOKEN);
    let hub = fake(GITHUB_TOKEN);
    let cluster_url = serve(openshift(cluster.clone())).await;
    let hub_url = serve(github(hub.clone())).await;
    // the first request to each fails as an overloaded server does: it is tried again
    lock(&cluster).unavailable = 1;
    lock(&hub).unavailable = 1;
    let run = run_with(
        &store,
        &registry,
        &args(
            &cluster_url,
            token_file(dir.path(), "openshift", OPENSHIFT_TOKEN),
            &hub_url,
            token_file(dir.path(), "github", GITHUB_TOKEN),
        ),
    );
    let id = promote(&run).await;

    let row = store
        .promotion(id)
        .await
        .expect("query")
        .expect("promotion");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    assert_eq!(row.name, NAME);
    let digest = row.result_digest.clone().expect("published digest");
    let release_repo = format!("{}/okd/scos-release", registry.host());

    // the cluster was asked twice to create exactly this ImageStreamTag, with the token
    let seen = lock(&cluster).seen.clone();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    for s in &seen {
        assert_eq!(s.method, Method::POST);
        assert_eq!(
            s.path,
            "/apis/image.openshift.io/v1/namespaces/origin/imagestreamtags"
        );
        assert_eq!(
            s.headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            Some(format!("Bearer {OPENSHIFT_TOKEN}").as_str())
        );
        assert_eq!(
            s.body,
            json!({
                "apiVersion": "image.openshift.io/v1",
                "kind": "ImageStreamTag",
                "metadata": {"name": format!("release-scos:{NAME}"), "namespace": "origin"},
                "tag": {
                    "name": NAME,
                    "from": {"kind": "DockerImage", "name": format!("{release_repo}@{digest}")},
                    "referencePolicy": {"type": "Source"}
                }
            })
        );
    }

    // GitHub was asked twice to publish the notes, with its headers and the token
    let seen = lock(&hub).seen.clone();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let sent = &seen[1];
    assert_eq!(sent.path, "/repos/okd-project/okd-scos/releases");
    let h = |name: &str| {
        sent.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(h("authorization"), Some(format!("Bearer {GITHUB_TOKEN}")));
    assert_eq!(h("accept").as_deref(), Some("application/vnd.github+json"));
    assert_eq!(h("x-github-api-version").as_deref(), Some("2022-11-28"));
    assert!(h("user-agent").is_some_and(|ua| ua.starts_with("streamgate/")));
    assert_eq!(sent.body["tag_name"], NAME);
    assert_eq!(sent.body["name"], NAME);
    assert_eq!(sent.body["prerelease"], true);
    assert_eq!(sent.body["draft"], false);
    let notes = sent.body["body"].as_str().expect("notes");
    assert!(notes.starts_with(&format!("# {NAME}\n")), "{notes}");
    assert!(
        notes.contains(&format!("- Pull From: `{release_repo}@{digest}`")),
        "{notes}"
    );
    assert!(
        notes.contains("## Component Versions\n\n- kubernetes 1.34.2\n"),
        "{notes}"
    );
    assert!(notes.contains("## Upgrades\n"), "{notes}");
    assert!(notes.contains(&format!("## Gates of {GOOD}")), "{notes}");

    // the promotion says where the release went, and links to the GitHub release
    let html_url = format!("https://github.com/okd-project/okd-scos/releases/tag/{NAME}");
    let steps = store.publish_steps(id).await.expect("steps");
    assert_eq!(
        steps
            .iter()
            .map(|s| (s.step, s.done, s.reference.clone()))
            .collect::<Vec<_>>(),
        [
            (
                PublishStep::Adoption,
                true,
                Some(format!("origin/release-scos:{NAME}"))
            ),
            (PublishStep::GithubRelease, true, Some(html_url.clone())),
        ],
        "{steps:#?}"
    );
    let (api, page) = api_and_page(&store, id).await;
    assert_eq!(api["state"], "succeeded");
    assert_eq!(api["publish_steps"][1]["reference"], html_url.as_str());
    assert!(
        page.contains(&format!(
            "adopted as the ImageStreamTag origin/release-scos:{NAME}"
        )),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"{html_url}\"")), "{page}");
    // published, awaiting the release-controller: adoption does not accept it
    let promoted = store.releases_named(NAME).await.expect("query");
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0].stream, TARGET);
    assert_eq!(promoted[0].phase, app::model::Phase::Published);
    assert_no_token_anywhere(&store, &api, &page).await;
    // the release's own page links to its GitHub release too
    let release_page = self::page(&store, format!("/releases/{NAME}?stream={TARGET}")).await;
    assert!(
        release_page.contains(&format!("Published on GitHub: <a href=\"{html_url}\"")),
        "{release_page}"
    );

    // done again (a resumed promotion): the tag and the release are found, nothing moves
    run.publishing
        .after_publish(&row, &row.plan().expect("plan").target.publishing, &digest)
        .await
        .expect("recorded");
    let seen = lock(&cluster).seen.clone();
    assert_eq!(
        seen.iter().map(|s| (s.method.clone(), s.path.clone())).collect::<Vec<_>>()[2..],
        [
            (Method::POST, "/apis/image.openshift.io/v1/namespaces/origin/imagestreamtags".to_string()),
            (Method::GET, format!("/apis/image.openshift.io/v1/namespaces/origin/imagestreamtags/release-scos:{NAME}")),
        ]
    );
    let seen = lock(&hub).seen.clone();
    assert_eq!(
        seen.last().map(|s| s.path.clone()),
        Some(format!("/repos/okd-project/okd-scos/releases/tags/{NAME}"))
    );
    assert_eq!(lock(&hub).releases.len(), 1);
    server::events::reproject(&store)
        .await
        .expect("reprojected");
    let again = store.publish_steps(id).await.expect("steps");
    assert_eq!(
        again
            .iter()
            .map(|s| (s.done, s.reference.clone()))
            .collect::<Vec<_>>(),
        steps
            .iter()
            .map(|s| (s.done, s.reference.clone()))
            .collect::<Vec<_>>()
    );

    // the logs tell what happened, retries too, and never a token
    let logs = logs.text();
    assert!(logs.contains("published release step done"), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    assert!(
        !logs.contains(OPENSHIFT_TOKEN) && !logs.contains(GITHUB_TOKEN),
        "a token was logged"
    );
}

#[tokio::test]
async fn failed_steps_leave_the_promotion_published_and_say_why() {
    let (store, dir) = sqlite().await;
    let registry = world(&store).await;
    // the cluster holds the tag already, naming another image; GitHub wants another token
    let cluster = fake(OPENSHIFT_TOKEN);
    let other = format!("sha256:{}", "0f".repeat(32));
    lock(&cluster).tags.insert(
        format!("origin/release-scos:{NAME}"),
        json!({"kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
            "metadata": {"name": format!("release-scos:{NAME}"), "namespace": "origin"},
            "tag": {"name": NAME, "from": {"kind": "DockerImage", "name": format!("quay.io/okd/scos-release@{other}")}},
            "image": {"metadata": {"name": other}}}),
    );
    let hub = fake("ghp_another-token");
    let cluster_url = serve(openshift(cluster.clone())).await;
    let hub_url = serve(github(hub.clone())).await;
    let run = run_with(
        &store,
        &registry,
        &args(
            &cluster_url,
            token_file(dir.path(), "openshift", OPENSHIFT_TOKEN),
            &hub_url,
            token_file(dir.path(), "github", GITHUB_TOKEN),
        ),
    );
    let id = promote(&run).await;
    let row = store
        .promotion(id)
        .await
        .expect("query")
        .expect("promotion");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    let digest = row.result_digest.clone().expect("digest");

    let steps = store.publish_steps(id).await.expect("steps");
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert!(!steps[0].done && !steps[1].done, "{steps:#?}");
    assert_eq!(
        steps[0].detail,
        format!(
            "not adopted into origin/release-scos:{NAME}: origin/release-scos:{NAME} already \
             exists and names {other}, not {digest}; it was left as it is"
        )
    );
    assert_eq!(
        steps[1].detail,
        "not published as a GitHub release of okd-project/okd-scos: GitHub refused the token \
         (401) for releases of okd-project/okd-scos"
    );
    // a refused token is not tried again
    assert_eq!(lock(&hub).seen.len(), 1);
    let tag = lock(&cluster).tags[&format!("origin/release-scos:{NAME}")].clone();
    assert_eq!(
        tag["image"]["metadata"]["name"],
        other.as_str(),
        "the tag was not moved"
    );
    let (api, page) = api_and_page(&store, id).await;
    assert_eq!(api["state"], "succeeded");
    assert!(
        page.contains("GitHub refused the token (401) for releases of okd-project/okd-scos"),
        "{page}"
    );
    assert!(
        page.contains("A step that failed leaves the release published"),
        "{page}"
    );
    assert_no_token_anywhere(&store, &api, &page).await;
}

#[tokio::test]
async fn a_denied_namespace_and_a_missing_github_token_are_named() {
    let (store, dir) = sqlite().await;
    let registry = world(&store).await;
    let cluster = fake("sha256~the-cluster-wants-this-one");
    let cluster_url = serve(openshift(cluster.clone())).await;
    let run = run_with(
        &store,
        &registry,
        &PublishArgs {
            openshift_api_url: Some(cluster_url),
            openshift_token_file: Some(token_file(dir.path(), "openshift", OPENSHIFT_TOKEN)),
            openshift_ca_file: None,
            github_api_url: "https://api.github.com".into(),
            github_token_file: Some(dir.path().join("absent")),
        },
    );
    let id = promote(&run).await;
    let row = store
        .promotion(id)
        .await
        .expect("query")
        .expect("promotion");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    let steps = store.publish_steps(id).await.expect("steps");
    assert_eq!(
        steps[0].detail,
        format!(
            "not adopted into origin/release-scos:{NAME}: the OpenShift API refused the token \
             (401) for image stream tags in namespace origin"
        )
    );
    assert_eq!(
        steps[1].detail,
        format!(
            "not published as a GitHub release of okd-project/okd-scos: the GitHub token file \
             {} cannot be read: entity not found",
            dir.path().join("absent").display()
        )
    );
    assert_eq!(
        lock(&cluster).seen.len(),
        1,
        "a refused token is not tried again"
    );
}

#[tokio::test]
async fn admins_set_keep_and_remove_publishing_settings_through_the_api_and_the_form() {
    let (store, _dir) = sqlite().await;
    let root = promotion::user_with_token(&store, "root", Role::Admin, None).await;
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = server::router(AppState::new(
        store.clone(),
        PollRegistry::default(),
        leptos,
    ));
    let put = |body: Value| {
        Request::put(format!("/api/v1/targets/{TARGET}"))
            .header(header::HOST, "streamgate.test")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {root}"))
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let base = json!({"source_stream": STREAM, "content_repo": "quay.io/okd/scos-content",
        "release_repo": "quay.io/okd/scos-release", "name_template": "{version}-okd-scos.ec.{n}"});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let answer = |(status, _, body): (StatusCode, HeaderMap, Vec<u8>)| {
        let text = String::from_utf8_lossy(&body).into_owned();
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            text,
        )
    };

    let (status, saved, text) = answer(
        http::send(
            &app,
            put(with(
                json!({"adopt_namespace": "origin", "adopt_imagestream": "release-scos",
                "github_repo": "okd-project/okd-scos"}),
            )),
        )
        .await,
    );
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        saved["publishing"],
        json!({"adopt_namespace": "origin", "adopt_imagestream": "release-scos",
            "github_repo": "okd-project/okd-scos"})
    );
    // left out: kept; blank: removed
    let (status, saved, text) =
        answer(http::send(&app, put(with(json!({"github_repo": ""})))).await);
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        saved["publishing"],
        json!({"adopt_namespace": "origin", "adopt_imagestream": "release-scos",
            "github_repo": null})
    );
    // a bad value is refused, saying which and why, and nothing changes
    let (status, refused, text) = answer(
        http::send(
            &app,
            put(with(json!({"adopt_imagestream": "", "github_repo": "okd"}))),
        )
        .await,
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert_eq!(
        refused["errors"][0]["detail"],
        "adopt_namespace needs adopt_imagestream (adoption tags a release into \
         namespace/imagestream)"
    );
    let target = store.target(TARGET).await.expect("query").expect("target");
    assert_eq!(
        target.publishing.adoption(),
        Some(("origin", "release-scos"))
    );
    // everyone sees where releases go: nothing here is a secret
    let (status, _, list) = http::send(
        &app,
        Request::get("/api/v1/targets")
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let list: Value = serde_json::from_slice(&list).expect("json");
    assert_eq!(list[0]["publishing"]["adopt_imagestream"], "release-scos");
    // the admin form (which works without JavaScript) shows every setting, so a blank
    // field there removes one
    let form = |extra: &str| {
        Request::post("/admin/targets")
            .header(header::HOST, "streamgate.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Bearer {root}"))
            .body(Body::from(format!(
                "name={TARGET}&source_stream={STREAM}&content_repo=quay.io%2Fokd%2Fscos-content\
                 &release_repo=quay.io%2Fokd%2Fscos-release\
                 &name_template=%7Bversion%7D-okd-scos.ec.%7Bn%7D{extra}"
            )))
            .expect("request")
    };
    let (status, headers, _) = http::send(
        &app,
        form("&adopt_namespace=okd&adopt_imagestream=release&github_repo=okd-project%2Fokd"),
    )
    .await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("/admin/targets?saved={TARGET}").as_str())
    );
    let (status, _, admin_page) = http::send(
        &app,
        Request::get("/admin/targets")
            .header(header::HOST, "streamgate.test")
            .header(header::AUTHORIZATION, format!("Bearer {root}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    let admin_page = String::from_utf8_lossy(&admin_page);
    assert_eq!(status, StatusCode::OK, "{admin_page}");
    assert!(
        admin_page.contains("adopts into okd/release; GitHub releases of okd-project/okd"),
        "{admin_page}"
    );
    let (status, headers, _) = http::send(
        &app,
        form("&adopt_namespace=okd&github_repo=okd-project%2Fokd"),
    )
    .await;
    assert!(status.is_redirection(), "{status}");
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        location.starts_with("/admin/targets?error=adopt_namespace%20needs%20adopt_imagestream"),
        "{location}"
    );
    let (status, _, _) = http::send(&app, form("")).await;
    assert!(status.is_redirection(), "{status}");
    assert!(store
        .target_publishing(TARGET)
        .await
        .expect("query")
        .is_empty());
    store
        .set_target_publishing(
            TARGET,
            &app::model::promotion::TargetPublishing {
                github_repo: Some("okd-project/okd".into()),
                ..Default::default()
            },
            chrono::Utc::now(),
        )
        .await
        .expect("saved");
    // removing the target removes its settings
    store.delete_target(TARGET).await.expect("removed");
    assert!(store
        .target_publishing(TARGET)
        .await
        .expect("query")
        .is_empty());
}

#[tokio::test]
async fn a_release_the_pipeline_publishes_is_adopted_and_published_too() {
    let (store, dir) = sqlite().await;
    let registry = world(&store).await;
    let (url, received) =
        crate::promote_pipeline::listener(Some(registry.host().to_string())).await;
    assert!(store
        .set_target_pipeline(TARGET, Some(&url), chrono::Utc::now())
        .await
        .expect("set"));
    let cluster = fake(OPENSHIFT_TOKEN);
    let hub = fake(GITHUB_TOKEN);
    let cluster_url = serve(openshift(cluster.clone())).await;
    let hub_url = serve(github(hub.clone())).await;
    let run = run_with(
        &store,
        &registry,
        &args(
            &cluster_url,
            token_file(dir.path(), "openshift", OPENSHIFT_TOKEN),
            &hub_url,
            token_file(dir.path(), "github", GITHUB_TOKEN),
        ),
    );
    let id = promote(&run).await;
    let row = store
        .promotion(id)
        .await
        .expect("query")
        .expect("promotion");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    assert_eq!(
        received.lock().expect("events").len(),
        1,
        "the pipeline ran"
    );
    let digest = row.result_digest.clone().expect("digest");
    let seen = lock(&cluster).seen.clone();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(
        seen[0].body["tag"]["from"]["name"],
        format!("{}/okd/scos-release@{digest}", registry.host()).as_str()
    );
    assert_eq!(lock(&hub).releases.len(), 1);
    let steps = store.publish_steps(id).await.expect("steps");
    assert!(
        steps.len() == 2 && steps.iter().all(|s| s.done),
        "{steps:#?}"
    );
}
