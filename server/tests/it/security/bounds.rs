//! Hostile upstreams: a registry and two release-controllers on loopback that answer without
//! end, announce a 100 MB manifest, hide a 60 MiB name in a tar header or stall a token realm.
//! The real `server` process polls them and reads the payloads their releases name; every
//! trap ends in a precise failure recorded on its release (or on the controller's poll
//! status), each endless answer is cut at its cap and its connection closed, and the
//! process's peak RSS grows by less than [`RSS_GROWTH`] while it is attacked. The registry
//! hooks read no byte of an unauthorized body and stop an endless authorized one at 1 MiB.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use leptos::prelude::LeptosOptions;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::support::process::ServerProcess;
use server::ingest::release_controller::PollRegistry;
use server::store::Store;
use server::AppState;

/// How much the attacked process's peak RSS may grow over its RSS before the attack.
const RSS_GROWTH: u64 = 64 << 20;
/// The release-controller answer cap the process runs with (`--max-upstream-body`).
const MAX_UPSTREAM_BODY: u64 = 4 << 20;
/// Distribution's manifest limit, the reader's cap.
const MANIFEST_LIMIT: u64 = 4 << 20;
/// The name hidden in a tar header: within the payload reader's 64 MiB layer limit, so it
/// is the name cap that has to stop it.
const LONG_NAME: u64 = 60 << 20;
const STREAM: &str = "4-hostile";
const TOKEN: &str = "let-me-in";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Bytes a hostile answer sent, and whether its body was dropped (the connection closed).
#[derive(Debug, Default)]
struct Meter {
    sent: AtomicU64,
    closed: AtomicBool,
}

/// Marks its meter closed when the body holding it is dropped.
struct Closer(Arc<Meter>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::SeqCst);
    }
}

/// A body of `chunk` repeated `times` times (without end when `None`), produced as it is
/// sent and counted into `meter`.
fn metered(meter: Arc<Meter>, chunk: Bytes, times: Option<usize>) -> Body {
    let closer = Closer(meter.clone());
    let chunks = futures_util::stream::repeat(chunk).take(times.unwrap_or(usize::MAX));
    Body::from_stream(chunks.map(move |c| {
        let _ = &closer;
        meter.sent.fetch_add(c.len() as u64, Ordering::SeqCst);
        Ok::<_, Infallible>(c)
    }))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A tar header block of `kind` for `path`, `size` bytes of content.
fn tar_header(kind: tar::EntryType, path: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_path(path).expect("short path");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// A tar layer whose first entry is a `LONG_NAME`-byte GNU long name (or a PAX `path`
/// record of that length), produced while it is sent. Its digest is never reached: a reader
/// that reads it to the end has already lost.
fn long_name_layer(meter: Arc<Meter>, pax: bool) -> (Body, u64) {
    let (head, body_len) = if pax {
        // "<len> path=<value>\n", the length counting itself
        let len = 8 + " path=".len() as u64 + LONG_NAME + 1;
        assert_eq!(len.to_string().len(), 8);
        let mut head = tar_header(tar::EntryType::XHeader, "PaxHeaders/x", len);
        head.extend_from_slice(format!("{len} path=").as_bytes());
        (head, len)
    } else {
        let head = tar_header(tar::EntryType::GNULongName, "././@LongLink", LONG_NAME + 1);
        (head, LONG_NAME + 1)
    };
    let padded = body_len.div_ceil(512) * 512;
    // header, the name, its padding, the entry it names, two zero blocks
    let total = 512 + padded + 512 + 1024;
    let closer = Closer(meter.clone());
    let name_chunks = (LONG_NAME / (1 << 20)) as usize;
    let stream = futures_util::stream::iter(std::iter::once(Bytes::from(head)))
        .chain(futures_util::stream::repeat(Bytes::from(vec![b'a'; 1 << 20])).take(name_chunks))
        .chain(futures_util::stream::iter(std::iter::once({
            // the rest of the record (a PAX record ends in a newline), its padding, the
            // entry it names and the end of the archive
            let mut tail = vec![0u8; (padded - (body_len - 1)) as usize];
            tail[0] = if pax { b'\n' } else { 0 };
            tail.extend(tar_header(tar::EntryType::Regular, "x", 0));
            tail.extend(vec![0u8; 1024]);
            Bytes::from(tail)
        })))
        .map(move |c| {
            let _ = &closer;
            meter.sent.fetch_add(c.len() as u64, Ordering::SeqCst);
            Ok::<_, Infallible>(c)
        });
    (Body::from_stream(stream), total)
}

/// An uncompressed tar of `files`.
fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, path, *body).expect("append");
    }
    builder.into_inner().expect("tar")
}

/// What one trap repository (`trap/<name>`) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trap {
    /// The manifest never ends (chunked).
    EndlessManifest,
    /// A 100 MB manifest, announced by `Content-Length`.
    HugeManifest,
    /// A 100 MB manifest, chunked.
    HugeChunkedManifest,
    /// `500` with a body that never ends.
    EndlessError,
    /// A layer whose tar starts with a 60 MiB GNU long name.
    LongName,
    /// A layer whose tar starts with a 60 MiB PAX path.
    PaxName,
    /// A config that does not stop at its declared 1 kB.
    EndlessConfig,
    /// Bearer auth whose token realm answers without end.
    EndlessToken,
    /// Bearer auth that works: a good payload behind it.
    TokenOk,
}

const TRAPS: &[(&str, Trap)] = &[
    ("endless-manifest", Trap::EndlessManifest),
    ("huge-manifest", Trap::HugeManifest),
    ("huge-chunked-manifest", Trap::HugeChunkedManifest),
    ("endless-error", Trap::EndlessError),
    ("long-name", Trap::LongName),
    ("pax-name", Trap::PaxName),
    ("endless-config", Trap::EndlessConfig),
    ("endless-token", Trap::EndlessToken),
    ("token-ok", Trap::TokenOk),
];

/// An image served by a trap: manifest, config and (for a good payload) its layer.
struct Image {
    manifest: Vec<u8>,
    config: Vec<u8>,
    layer: Option<Vec<u8>>,
    layer_digest: String,
    layer_size: u64,
}

/// The hostile upstreams.
struct Hostile {
    host: String,
    armed: AtomicBool,
    images: BTreeMap<&'static str, Image>,
    meters: Mutex<BTreeMap<String, Arc<Meter>>>,
}

impl Hostile {
    /// A fresh meter for `what`, replacing an earlier one.
    fn meter(&self, what: &str) -> Arc<Meter> {
        let meter = Arc::new(Meter::default());
        if let Ok(mut m) = self.meters.lock() {
            m.insert(what.to_string(), meter.clone());
        }
        meter
    }

    fn meters(&self) -> BTreeMap<String, Arc<Meter>> {
        self.meters.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

fn image(host: &str, name: &str, trap: Trap) -> Option<Image> {
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"io.openshift.release": name}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .expect("json");
    let (layer, layer_digest, layer_size) = match trap {
        Trap::LongName | Trap::PaxName => {
            let (_, size) = long_name_layer(Arc::default(), trap == Trap::PaxName);
            (None, sha256(name.as_bytes()), size)
        }
        Trap::EndlessConfig | Trap::TokenOk => {
            let references = serde_json::json!({
                "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                "metadata": {"name": name},
                "spec": {"tags": [{"name": "cli", "from": {"kind": "DockerImage",
                    "name": format!("{host}/trap/{name}@sha256:{}", "c".repeat(64))}}]},
            });
            let layer = tar(&[(
                "release-manifests/image-references",
                references.to_string().as_bytes(),
            )]);
            let digest = sha256(&layer);
            let size = layer.len() as u64;
            (Some(layer), digest, size)
        }
        _ => return None,
    };
    let config_size = if trap == Trap::EndlessConfig {
        1000
    } else {
        config.len()
    };
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(&config), "size": config_size},
        "layers": [{"mediaType": OCI_TAR, "digest": layer_digest, "size": layer_size}],
    }))
    .expect("json");
    Some(Image {
        manifest,
        config,
        layer,
        layer_digest,
        layer_size,
    })
}

fn json(body: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The listing controller: one stream whose releases are the traps, once armed.
async fn controller(State(h): State<Arc<Hostile>>, Path(rest): Path<String>) -> Response {
    let armed = h.armed.load(Ordering::SeqCst);
    let names: Vec<&str> = TRAPS.iter().map(|(n, _)| *n).collect();
    if rest == "api/v1/releasestreams/all" {
        return json(if armed {
            serde_json::json!({ STREAM: names })
        } else {
            serde_json::json!({})
        });
    }
    if rest == format!("api/v1/releasestream/{STREAM}/tags") {
        let tags: Vec<serde_json::Value> = names
            .iter()
            .map(|n| {
                serde_json::json!({"name": n, "phase": "Accepted",
                    "pullSpec": format!("{}/trap/{n}:latest", h.host), "downloadURL": ""})
            })
            .collect();
        return json(serde_json::json!({"name": STREAM, "tags": tags}));
    }
    if let Some(tag) = rest.strip_prefix(&format!("api/v1/releasestream/{STREAM}/release/")) {
        return json(serde_json::json!({"name": tag, "phase": "Accepted"}));
    }
    StatusCode::NOT_FOUND.into_response()
}

/// The other controller: once armed, a stream list that never ends.
async fn endless_controller(State(h): State<Arc<Hostile>>) -> Response {
    if !h.armed.load(Ordering::SeqCst) {
        return json(serde_json::json!({}));
    }
    let meter = h.meter("controller");
    let chunk = Bytes::from("\"4.21.0-0.okd-scos-2026-01-01-000000\",".repeat(1700));
    (
        [(header::CONTENT_TYPE, "application/json")],
        metered(meter, chunk, None),
    )
        .into_response()
}

async fn token(State(h): State<Arc<Hostile>>, Path(kind): Path<String>) -> Response {
    if kind == "ok" {
        return json(serde_json::json!({"token": TOKEN, "expires_in": 300}));
    }
    let meter = h.meter("token");
    let chunk = Bytes::from(vec![b'7'; 64 << 10]);
    json_stream(metered(meter, chunk, None))
}

fn json_stream(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `/v2/trap/<name>/manifests/<ref>` and `/v2/trap/<name>/blobs/<digest>`.
async fn registry(
    State(h): State<Arc<Hostile>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Response {
    let mut parts = rest.splitn(4, '/');
    let (Some("trap"), Some(name), Some(kind), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((name, trap)) = TRAPS.iter().find(|(n, _)| *n == name).copied() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if matches!(trap, Trap::EndlessToken | Trap::TokenOk) {
        let authorized = headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
        if trap == Trap::EndlessToken || !authorized {
            let realm = if trap == Trap::TokenOk {
                "ok"
            } else {
                "endless"
            };
            let challenge = format!(
                "Bearer realm=\"http://{}/token/{realm}\",service=\"hostile\",scope=\"repository:trap/{name}:pull\"",
                h.host
            );
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, challenge)],
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
            )
                .into_response();
        }
    }
    let image = h.images.get(name);
    match kind {
        "manifests" => {
            let digest = match image {
                Some(i) => sha256(&i.manifest),
                None => sha256(name.as_bytes()),
            };
            if method == Method::HEAD || id == "latest" {
                return (
                    [
                        ("docker-content-digest", digest.as_str()),
                        (header::CONTENT_TYPE.as_str(), OCI_MANIFEST),
                    ],
                    "",
                )
                    .into_response();
            }
            let meter = h.meter(name);
            let mib = Bytes::from(vec![b' '; 1 << 20]);
            match (trap, image) {
                (Trap::EndlessManifest, _) => json_stream(metered(meter, mib, None)),
                (Trap::HugeChunkedManifest, _) => json_stream(metered(meter, mib, Some(100))),
                (Trap::HugeManifest, _) => {
                    let hundred_mb = Bytes::from(vec![b' '; 1_000_000]);
                    (
                        [
                            (header::CONTENT_TYPE, OCI_MANIFEST.to_string()),
                            (header::CONTENT_LENGTH, "100000000".to_string()),
                        ],
                        metered(meter, hundred_mb, Some(100)),
                    )
                        .into_response()
                }
                (Trap::EndlessError, _) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    metered(meter, Bytes::from("oops ".repeat(1000)), None),
                )
                    .into_response(),
                (_, Some(i)) => {
                    ([(header::CONTENT_TYPE, OCI_MANIFEST)], i.manifest.clone()).into_response()
                }
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
        "blobs" => {
            let Some(i) = image else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let meter = h.meter(&format!("{name} blob"));
            if id == i.layer_digest {
                return match &i.layer {
                    Some(layer) => layer.clone().into_response(),
                    None => {
                        let (body, size) = long_name_layer(meter, trap == Trap::PaxName);
                        assert_eq!(size, i.layer_size);
                        ([(header::CONTENT_LENGTH, size.to_string())], body).into_response()
                    }
                };
            }
            if id == sha256(&i.config) {
                if trap == Trap::EndlessConfig {
                    return metered(meter, Bytes::from(vec![b'{'; 4096]), None).into_response();
                }
                return i.config.clone().into_response();
            }
            StatusCode::NOT_FOUND.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the hostile upstreams on loopback.
async fn hostile() -> Arc<Hostile> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let images = TRAPS
        .iter()
        .filter_map(|(name, trap)| Some((*name, image(&host, name, *trap)?)))
        .collect();
    let hostile = Arc::new(Hostile {
        host,
        armed: AtomicBool::new(false),
        images,
        meters: Mutex::default(),
    });
    let app = Router::new()
        .route("/v2/", get(|| async { json(serde_json::json!({})) }))
        .route("/v2/{*rest}", get(registry))
        .route("/token/{kind}", get(token))
        .route("/rc/{*rest}", get(controller))
        .route(
            "/endless/api/v1/releasestreams/all",
            get(endless_controller),
        )
        .with_state(hostile.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    hostile
}

/// `VmRSS` or `VmHWM` of process `pid`, in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("field")
        * 1024
}

#[tokio::test]
async fn hostile_upstreams_fail_precisely_and_the_process_stays_small() {
    let h = hostile().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/streamgate.db", dir.path().display());
    let log = dir.path().join("server.log");
    let controllers = format!("listing=http://{0}/rc,endless=http://{0}/endless", h.host);
    let server = ServerProcess::start(
        &[
            "--database-url",
            &db,
            "--controller",
            &controllers,
            "--insecure-registry",
            &h.host,
            "--poll-interval",
            "1s",
            "--payload-interval",
            "1s",
            "--max-upstream-body",
            "4MiB",
            "--no-promotions",
        ],
        &log,
    );
    server.ready().await;
    let store = Store::connect(&db).await.expect("db");
    let server_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // both controllers polled once, harmlessly
    let deadline = Instant::now() + Duration::from_secs(30);
    for controller in ["listing", "endless"] {
        loop {
            let status = store.poll_status(controller).await.expect("status");
            if status.is_some_and(|(s, _)| s.last_success_at.is_some()) {
                break;
            }
            assert!(Instant::now() < deadline, "not polled: {}", server_log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // the peak from here on, against the size now
    let pid = server.pid();
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("peak RSS reset");
    let before = memory(pid, "VmRSS");
    h.armed.store(true, Ordering::SeqCst);

    let expected: &[(&str, &str, &[&str])] = &[
        (
            "endless-manifest",
            "too_large",
            &["manifest", "limit 4194304"],
        ),
        (
            "huge-manifest",
            "too_large",
            &["is too large: 100000000 bytes, limit 4194304"],
        ),
        ("huge-chunked-manifest", "too_large", &["limit 4194304"]),
        ("endless-error", "registry", &["http 500: oops oops"]),
        (
            "long-name",
            "too_large",
            &["tar entry name in layer sha256:", "limit 4096"],
        ),
        (
            "pax-name",
            "too_large",
            &["tar extended header in layer sha256:", "limit 65536"],
        ),
        (
            "endless-config",
            "too_large",
            &["config sha256:", "limit 1000"],
        ),
        (
            "endless-token",
            "too_large",
            &["token for manifest", "limit 65536"],
        ),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let poll_error = loop {
        let mut done = true;
        for (release, _, _) in expected {
            done &= store
                .release_payload_failure(STREAM, release)
                .await
                .expect("failure")
                .is_some();
        }
        done &= store
            .release_payload_digest(STREAM, "token-ok")
            .await
            .expect("payload")
            .is_some();
        let status = store.poll_status("endless").await.expect("status");
        let error = status.and_then(|(s, _)| s.last_error);
        if let Some(error) = error.filter(|_| done) {
            break error;
        }
        assert!(
            Instant::now() < deadline,
            "traps not all sprung: {}",
            server_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // each trap failed its release precisely; the good payload behind a token was read
    for (release, kind, parts) in expected {
        let failure = store
            .release_payload_failure(STREAM, release)
            .await
            .expect("failure")
            .expect("recorded");
        assert_eq!(failure.kind, *kind, "{release}: {}", failure.message);
        for part in *parts {
            assert!(
                failure.message.contains(part),
                "{release}: {:?} lacks {part:?}",
                failure.message
            );
        }
    }
    assert!(
        poll_error.contains(&format!(
            "answered more than {MAX_UPSTREAM_BODY} bytes (the limit is set by --max-upstream-body)"
        )),
        "{poll_error}"
    );

    // every endless or oversized answer was cut off: its connection closed, little sent
    tokio::time::sleep(Duration::from_millis(500)).await;
    let meters = h.meters();
    for what in [
        "controller",
        "token",
        "endless-manifest",
        "huge-manifest",
        "huge-chunked-manifest",
        "endless-error",
        "long-name blob",
        "pax-name blob",
        "endless-config blob",
    ] {
        let meter = meters.get(what).unwrap_or_else(|| panic!("{what} served"));
        assert!(
            meter.closed.load(Ordering::SeqCst),
            "{what}: the connection stays open"
        );
        let sent = meter.sent.load(Ordering::SeqCst);
        // the cap, plus what the loopback socket buffers hold
        assert!(
            sent < MANIFEST_LIMIT + (32 << 20),
            "{what}: {sent} bytes sent"
        );
    }

    // and the process stayed healthy and small
    let peak = memory(pid, "VmHWM");
    assert!(
        peak < before + RSS_GROWTH,
        "peak RSS {peak} grew more than {RSS_GROWTH} over {before}"
    );
    let health = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    println!(
        "RSS before the attack {} MiB, peak during it {} MiB",
        before >> 20,
        peak >> 20
    );
}

/// The router of a server whose registry hook has a secret.
fn hook_app(store: Store) -> Router {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store, PollRegistry::default(), leptos);
    state.settings.hooks.insert("registry", "hook-s3cret");
    server::router(state)
}

#[tokio::test]
async fn hooks_read_no_unauthorized_body_and_stop_an_endless_one_at_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}/h.db", dir.path().display()))
        .await
        .expect("db");
    store.migrate().await.expect("migrate");
    let app = hook_app(store);
    let post = |bearer: Option<&str>, meter: Arc<Meter>| {
        let mut request = Request::post("/api/v1/hooks/registry").header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        );
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = metered(meter, Bytes::from(vec![b' '; 64 << 10]), None);
        app.clone().oneshot(request.body(body).expect("request"))
    };

    for bearer in [None, Some("wrong")] {
        let meter = Arc::new(Meter::default());
        let response = post(bearer, meter.clone()).await.expect("answer");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bearer:?}");
        assert_eq!(
            meter.sent.load(Ordering::SeqCst),
            0,
            "{bearer:?}: body read before the secret was checked"
        );
        assert!(meter.closed.load(Ordering::SeqCst));
    }

    let meter = Arc::new(Meter::default());
    let response = post(Some("hook-s3cret"), meter.clone())
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let sent = meter.sent.load(Ordering::SeqCst);
    assert!(
        (1 << 20..(1 << 20) + (64 << 10) + 1).contains(&sent),
        "{sent} bytes read for a 1 MiB limit"
    );
    assert!(meter.closed.load(Ordering::SeqCst));
}
