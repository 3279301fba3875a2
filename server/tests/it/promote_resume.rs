//! A promotion survives the death of its server: the real `server` binary is killed (or
//! stopped with SIGTERM, and then it frees the job's lease and exits within its grace period)
//! while it copies images between two real registries, started again on the same SQLite
//! file, and the job resumes and ends as it would have — every image at the target, the new
//! payload published and readable — with each state recorded once.

use crate::support::promotion;
use crate::support::registry;

use std::time::{Duration, Instant};

use crate::support::payloads::{
    image_references, operator_manifests, payload_config, payload_layers, reader, release_metadata,
    spec, Spec,
};
use crate::support::process::ServerProcess;
use crate::support::registry::{Layer, Pusher, Registry};
use app::viewer::Role;
use server::ingest::payload::Limits;
use server::store::Store;

const STREAM: &str = "4.21.0-0.okd-scos";
const RELEASE: &str = "4.21.0-0.okd-scos-2026-11-20-010203";
/// Component images, each with an incompressible layer of [`LAYER`] bytes.
const IMAGES: usize = 60;
const LAYER: usize = 2 << 20;

/// Pseudo-random bytes (xorshift): a layer that does not compress.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `server serve` without polling or payload reading, promoting between `registries`.
fn server(db: &str, registries: &[&str], log: &std::path::Path) -> ServerProcess {
    let registries = registries.join(",");
    ServerProcess::start(
        &[
            "--no-poll",
            "--no-payloads",
            "--database-url",
            db,
            "--insecure-registry",
            &registries,
            "--shutdown-grace",
            "1s",
        ],
        log,
    )
}

/// How the first server ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// SIGKILL: nothing is released.
    Killed,
    /// SIGTERM: the running step is cut at the grace period and the lease freed.
    Stopped,
}

async fn promotion(url: &str, id: i64) -> serde_json::Value {
    reqwest::get(format!("{url}/api/v1/promotions/{id}"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn a_promotion_resumes_after_its_server_is_killed_mid_copy() {
    resumes_after(End::Killed).await;
}

#[tokio::test]
async fn a_promotion_resumes_after_its_server_is_stopped_mid_copy() {
    resumes_after(End::Stopped).await;
}

async fn resumes_after(end: End) {
    let source = Registry::start().await;
    let target = Registry::start().await;
    let host = source.host().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/streamgate.db", dir.path().display());
    let log = dir.path().join("server.log");
    let store = Store::connect(&db).await.expect("db");
    store.migrate().await.expect("migrate");

    // a CI release of IMAGES components, its payload read, a target in another registry
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let names: Vec<String> = (0..IMAGES).map(|i| format!("component-{i:03}")).collect();
    let specs: Vec<Spec<'_>> = names
        .iter()
        .map(|n| {
            spec(
                Box::leak(n.clone().into_boxed_str()),
                "5b0f1c3d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b",
                "https://github.com/openshift/cluster-version-operator",
                "",
            )
        })
        .collect();
    let mut pushed = Vec::new();
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    for (i, s) in specs.iter().enumerate() {
        let mut config = serde_json::json!({"architecture": "amd64", "os": "linux",
            "config": {"Labels": {"io.openshift.build.commit.id": s.commit,
                "io.openshift.build.source-location": s.source}},
            "rootfs": {"type": "layers", "diff_ids": []}});
        let mut layers = vec![
            Layer {
                media_type: registry::OCI_LAYER_GZIP.into(),
                bytes: base.clone(),
            },
            Layer {
                media_type: registry::OCI_LAYER_GZIP.into(),
                bytes: noise(i as u64 + 7, LAYER),
            },
        ];
        // the first is the release's operator, naming every component
        if i == 0 {
            config["config"]["Labels"]["io.openshift.release.operator"] = "true".into();
            let files = operator_manifests(s.name, &all);
            let files: Vec<(&str, &[u8])> =
                files.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
            layers.push(Layer::oci(&files));
        }
        pushed.push(
            p.image("origin/scos-content", None, &config, &layers, false)
                .await,
        );
    }
    let components: Vec<_> = specs.iter().zip(pushed.iter()).collect();
    let references = image_references(RELEASE, &format!("{host}/origin/scos-content"), &components);
    p.image(
        "origin/release-scos",
        Some(RELEASE),
        &payload_config(RELEASE, "amd64", &pushed[0]),
        &payload_layers(&base, &references, Some(&release_metadata(RELEASE, &[]))),
        false,
    )
    .await;
    let pull_spec = format!("{host}/origin/release-scos:{RELEASE}");
    promotion::record_releases(
        &store,
        &source,
        STREAM,
        &[(RELEASE, &pull_spec, "Succeeded")],
    )
    .await;
    let mirror = target.host().to_string();
    promotion::add_target(&store, "4-scos-next", STREAM, &mirror).await;
    let token = promotion::user_with_token(&store, "mia", Role::Maintainer, None).await;
    store.close().await;

    // request it, and kill the server as soon as it copies
    let registries = [host.as_str(), mirror.as_str()];
    let mut first = server(&db, &registries, &log);
    first.ready().await;
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/promotions", first.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"target": "4-scos-next", "stream": STREAM, "release": RELEASE}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let at_kill = loop {
        let p = promotion(&first.url, id).await;
        if p["state"] == "copying" && p["progress"]["blobs_done"].as_u64().unwrap_or(0) > 0 {
            break p;
        }
        assert!(
            p["state"] == "planned" || p["state"] == "copying",
            "the copy ended before the kill: {p}"
        );
        assert!(Instant::now() < deadline, "never started copying: {p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    match end {
        End::Killed => first.kill(),
        End::Stopped => {
            // one second of grace for the copy, then requests and workers wind down
            let status = first.terminate(Duration::from_secs(15));
            assert!(status.success(), "a clean exit: {status:?}");
            let store = Store::connect(&db).await.expect("db");
            let row = store.promotion(id).await.expect("row").expect("stored");
            assert_eq!(row.state.as_str(), "copying", "cut off mid-copy");
            let owner: Option<String> = match &store {
                Store::Sqlite(pool) => {
                    sqlx::query_scalar("select lease_owner from promotions where id = $1")
                        .bind(id)
                        .fetch_one(pool)
                        .await
                        .expect("lease")
                }
                Store::Postgres(_) => unreachable!("a SQLite store"),
            };
            assert_eq!(owner, None, "the lease was freed at shutdown");
            store.close().await;
        }
    }
    let done_at_kill = at_kill["progress"]["blobs_done"].as_u64().unwrap_or(0);
    let total = at_kill["progress"]["blobs_total"].as_u64().unwrap_or(0);
    assert!(done_at_kill < total, "killed mid-copy: {at_kill}");

    // a new server on the same database takes it up and finishes it
    let second = server(&db, &registries, &log);
    second.ready().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let p = promotion(&second.url, id).await;
        if p["state"] == "succeeded" || p["state"] == "failed" {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "not resumed: {p}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished["state"], "succeeded", "{finished}");
    let result = finished["result_pull_spec"]
        .as_str()
        .expect("published")
        .to_string();
    let read = reader(&target, Limits::default())
        .read(&result)
        .await
        .expect("the new payload reads");
    assert_eq!(read.name, "4.21.0-okd-scos.ec.0");
    assert_eq!(read.components.len(), IMAGES);
    let check = reader(&target, Limits::default());
    for c in &read.components {
        assert!(c.image.starts_with(&format!("{mirror}/okd/scos-content@")));
        assert!(check.manifest_resolves(&c.image).await.expect("asks"));
    }

    // each state once in the log, though copying ran twice
    let store = Store::connect(&db).await.expect("db");
    let states = server::events::reproject(&store).await.expect("replays");
    assert!(states.skipped == 0);
    let row = store.promotion(id).await.expect("row").expect("stored");
    assert_eq!(row.state.as_str(), "succeeded");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let expected = match end {
        End::Killed => "resuming promotions of the previous run",
        End::Stopped => "promotion interrupted; its lease is freed",
    };
    assert!(log_text.contains(expected), "{log_text}");
}
