//! The demo with a real registry on loopback: seeding pushes payloads our reader reads with
//! the data set's components and digests, a second seeding pushes nothing, and a demo
//! loaded in-process with the registry ends up with release pages whose components are
//! mirrored from OCP CI, built for OKD, and the machine OS.

use crate::support::http;
use crate::support::stores;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::registry::Registry;
use app::model::upgrade::{EdgeState, UpgradeVerdict};
use app::model::{PayloadView, Provenance};
use axum::http::StatusCode;
use clap::Parser;
use server::backend::StoreBackend;
use server::config::{Cli, Command};
use server::demo::registry::Seed;
use server::ingest::payload::{PayloadReader, ReaderConfig};
use server::ingest::payload_worker::{PayloadWorker, WorkerConfig};
use server::ingest::release_controller::PollRegistry;
use server::promote::copy::{Copier, CopyConfig, CopyItem, Progress};
use server::promote::rebuild::{publish, Rewrite};
use server::replay::dataset::{Dataset, TagData, PHASE_FAILED};

const OKD: &str = "4.21.0-0.okd-scos";

fn newest<'a>(dataset: &'a Dataset, controller: &str, stream: &str) -> (&'a str, &'a TagData) {
    let s = dataset.stream(controller, stream).expect("stream");
    let tag = s
        .tags
        .iter()
        .filter(|t| t.final_phase != PHASE_FAILED)
        .max_by_key(|t| t.created)
        .expect("tag");
    (&s.pull_repo, tag)
}

fn reader(host: &str) -> PayloadReader {
    PayloadReader::new(ReaderConfig {
        insecure_hosts: vec![host.to_string()],
        timeout: Duration::from_secs(5),
        ..ReaderConfig::default()
    })
}

/// One registry for the whole story: seeding it costs most of the test's time.
#[tokio::test]
async fn demo_registry_story() {
    // the demo logs what seeding took
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("server::demo=info"))
        .with_test_writer()
        .try_init();
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let (store, _dir) = stores::sqlite().await;
    let Some(Command::Poll(args)) = Cli::parse_from(["server", "poll"]).command else {
        panic!("poll arguments")
    };
    // the anchor the demo will take from the store
    let anchor = chrono::Utc::now().to_rfc3339();
    store
        .set_setting("demo_anchor", &anchor)
        .await
        .expect("anchor");
    let anchor = chrono::DateTime::parse_from_rfc3339(&anchor)
        .expect("time")
        .with_timezone(&chrono::Utc);

    // the demo seeds the registry while it plays the history
    let polls = PollRegistry::default();
    let loading = Instant::now();
    let mut loaded = server::demo::load(&store, &polls, &args, Some(&host))
        .await
        .expect("demo loaded");
    let played = loading.elapsed();
    let first = loaded
        .seeding
        .take()
        .expect("seeding")
        .finished()
        .await
        .expect("seeded");
    let loading = loading.elapsed();
    let seed = Seed::plan(&Dataset::demo(anchor).expect("demo data"), &host).expect("plan");
    let (images, tags) = seed.counts();
    assert!(tags >= 30 && images >= 100, "{images} images, {tags} tags");
    assert_eq!(
        (first.components_pushed, first.payloads_pushed),
        (images, tags)
    );
    // a restart finds everything there
    let again = seed.push().await.expect("seeded again");
    eprintln!(
        "demo history played in {played:?}, {images} images and {tags} payload tags seeded in \
         {:?} (all loaded after {loading:?}), again: {again:?}",
        first.elapsed
    );
    assert_eq!(again.pushed(), 0, "{again:?}");
    assert_eq!(again.skipped, tags);
    let dataset = loaded.replay.dataset();

    // the payloads read back as the data set describes them
    let reader = reader(&host);
    for (controller, stream) in [
        ("origin", OKD),
        ("ocp", "4.21.0-0.ci"),
        ("origin", "4-scos-stable"),
    ] {
        let (repo, tag) = newest(dataset, controller, stream);
        assert!(repo.starts_with(&format!("{host}/")), "{repo}");
        let read = reader
            .read(&format!("{repo}:{}", tag.name))
            .await
            .expect("payload read");
        assert_eq!(
            read.digest, tag.digest,
            "{stream}: the digest the data set shows"
        );
        assert!(read.labels.contains_key("io.openshift.release"));
        assert!(read.release_metadata.is_some());
        assert_eq!(read.components.len(), tag.components.len());
        for (got, want) in read.components.iter().zip(&tag.components) {
            assert_eq!(
                (
                    &got.name,
                    &got.commit_id,
                    &got.source_location,
                    &got.versions
                ),
                (&want.name, &want.commit, &want.source, &want.versions)
            );
            assert!(got.image.starts_with(&format!("{host}/")), "{}", got.image);
        }
        // component images are there by digest
        let cvo = read
            .components
            .iter()
            .find(|c| c.name == "cluster-version-operator")
            .expect("CVO");
        assert!(reader
            .manifest_resolves(&cvo.image)
            .await
            .expect("registry answers"));
    }
    let (okd_repo, okd_tag) = newest(dataset, "origin", OKD);
    let okd = reader
        .read(&format!("{okd_repo}:{}", okd_tag.name))
        .await
        .expect("read");
    let mirrored = okd
        .components
        .iter()
        .filter(|c| c.image.contains("/ocp/4.21-art-latest@"))
        .count();
    let own = okd
        .components
        .iter()
        .filter(|c| c.image.contains("/origin/scos-content@"))
        .count();
    // the OKD-built era: every component an OKD variant but a handful OCP CI's own
    assert!(mirrored == 4 && own >= 12, "{mirrored} mirrored, {own} own");

    // the payload worker reads them; the release page shows where components come from
    let worker = PayloadWorker::new(
        store.clone(),
        reader.clone(),
        Arc::new(tokio::sync::Notify::new()),
        WorkerConfig {
            concurrency: 8,
            ..WorkerConfig::default()
        },
    );
    // one round reads the newest releases, OKD's and OCP's
    let round = worker.run_once().await.expect("payload round");
    assert!(round.read >= 20, "{round:?}");
    eprintln!("payload round {round:?}");

    // then every other payload
    for _ in 0..20 {
        let round = worker.run_once().await.expect("payload round");
        if round.read + round.cached == 0 {
            break;
        }
    }

    let backend = StoreBackend::new(store.clone(), polls.clone());
    let detail = backend
        .release_detail(&okd_tag.name, Some(OKD))
        .await
        .expect("release");
    let PayloadView::Read { components, .. } = &detail.payload else {
        panic!("read payload: {:?}", detail.payload)
    };
    let mirrored = components
        .iter()
        .filter(|c| matches!(c.provenance, Provenance::Mirrored { .. }))
        .count();
    let built: Vec<&str> = components
        .iter()
        .filter(|c| matches!(c.provenance, Provenance::BuiltForOkd { .. }))
        .map(|c| c.name.as_str())
        .collect();
    let os = components
        .iter()
        .find(|c| matches!(c.provenance, Provenance::MachineOs { .. }))
        .expect("machine OS");
    assert!(mirrored <= 4, "{mirrored} mirrored: {components:?}");
    assert!(
        built.len() >= 12
            && built.contains(&"installer")
            && built.contains(&"machine-config-operator"),
        "{built:?}"
    );
    assert_eq!(os.name, "centos-stream-coreos-9");
    let era = app::model::EraEvidence::of(components);
    assert_eq!(era.era, Some(app::model::Era::BuiltForOkd), "{era:?}");
    // 4.21 payloads are multi-arch: every component on both platforms, judged on each;
    // haproxy-router is mirrored on amd64 and built for OKD on arm64
    for c in components.iter() {
        let platforms: Vec<&str> = c
            .architectures
            .iter()
            .map(|a| a.platform.as_str())
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"], "{}", c.name);
        assert_eq!(c.architectures[0].provenance, c.provenance, "{}", c.name);
    }
    let differing: Vec<(&str, &str)> = components
        .iter()
        .flat_map(|c| {
            c.differing()
                .into_iter()
                .map(move |a| (c.name.as_str(), a.provenance.kind().as_str()))
        })
        .collect();
    assert_eq!(differing, [("haproxy-router", "okd")]);
    // 4.20 has no OCP CI payload to compare with: unknown, and it says why
    let (_, scos_20) = newest(dataset, "origin", "4.20.0-0.okd-scos");
    let detail_20 = backend
        .release_detail(&scos_20.name, Some("4.20.0-0.okd-scos"))
        .await
        .expect("release");
    let PayloadView::Read {
        components: components_20,
        ..
    } = &detail_20.payload
    else {
        panic!("read payload: {:?}", detail_20.payload)
    };
    let unknown: Vec<&str> = components_20
        .iter()
        .filter_map(|c| match &c.provenance {
            Provenance::Unknown { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        unknown.len() >= 12 && unknown.iter().all(|r| *r == "no OCP CI 4.20 payload read"),
        "{unknown:?}"
    );

    // the mirrored era: OKD/FCOS 4.15 took every image it did not build from OCP CI 4.15
    let (_, fcos) = newest(dataset, "origin", "4.15.0-0.okd");
    let detail_fcos = backend
        .release_detail(&fcos.name, Some("4.15.0-0.okd"))
        .await
        .expect("release");
    let PayloadView::Read {
        components: components_fcos,
        ..
    } = &detail_fcos.payload
    else {
        panic!("read payload: {:?}", detail_fcos.payload)
    };
    let era = app::model::EraEvidence::of(components_fcos);
    assert_eq!(era.era, Some(app::model::Era::Mirrored), "{era:?}");
    assert_eq!(era.mirrored as usize, components_fcos.len() - 3, "{era:?}");

    let stable: Vec<&TagData> = dataset
        .stream("origin", "4-scos-stable")
        .expect("stable stream")
        .tags
        .iter()
        .filter(|t| t.created < anchor - chrono::Duration::days(1))
        .collect();
    let (from, to) = stable
        .iter()
        .rev()
        .find_map(|t| {
            let from = t
                .previous
                .iter()
                .find(|p| !t.upgrades_to.iter().any(|e| &&e.from == p))?;
            Some((from.clone(), t.name.clone()))
        })
        .expect("a declared version the controller did not sample");
    let answer = backend.upgrade_answer(&from, &to).await.expect("answer");
    assert_eq!(
        answer.verdict,
        UpgradeVerdict::DeclaredUntested,
        "{answer:?}"
    );
    assert_eq!(answer.declared, Some(true));
    assert!(answer.declared_count.is_some_and(|n| n > 3), "{answer:?}");
    assert!(
        answer.path.as_ref().is_some_and(|p| p.len() >= 3),
        "a two-hop way round: {answer:?}"
    );
    // an older release never declares a newer one
    let (newest, older) = (stable[stable.len() - 1], stable[stable.len() / 2]);
    assert!(!older.previous.is_empty());
    let answer = backend
        .upgrade_answer(&newest.name, &older.name)
        .await
        .expect("answer");
    assert_eq!(answer.verdict, UpgradeVerdict::NotDeclared, "{answer:?}");
    assert_eq!(answer.declared, Some(false));
    // the drawn graph shows the declared edges never tested
    let graph = backend.upgrade_graph("4-scos-stable").await.expect("graph");
    assert!(graph
        .edges
        .iter()
        .any(|e| e.from == from && e.to == to && e.state == EdgeState::Untested));

    promoted_demo_release_is_what_oc_builds(&host, dataset).await;

    let leptos = leptos::prelude::LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = server::router(server::AppState::new(store.clone(), polls, leptos));
    let (status, html) = http::get(&app, &format!("/releases/{}", okd_tag.name)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("mirrored from OCP CI"), "mirrored components");
    assert!(html.contains("built for OKD"), "OKD's own builds");
    assert!(html.contains(&okd_tag.digest), "the payload's digest");
    assert!(html.contains(&format!("{host}/origin/release-scos:{}", okd_tag.name)));
    assert!(html.contains("OKD-built era: most components are built as OKD variants"));
    assert!(
        html.contains("A multi-arch payload for linux/amd64, linux/arm64/v8.")
            && html.contains("1 component differs on another platform"),
        "{html}"
    );
    assert!(
        html.contains("data-platform=\"linux/arm64/v8\""),
        "haproxy-router's arm64"
    );
    // each era on its rendered page, with its proportions
    let (status, html) = http::get(
        &app,
        &format!("/releases/{}?stream=4.15.0-0.okd", fcos.name),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mirrored = components_fcos.len() - 3;
    assert!(
        html.contains(&format!(
            "Mirrored era: most components are OCP CI&#x27;s own images ({mirrored} mirrored from OCP CI"
        )) || html.contains(&format!(
            "Mirrored era: most components are OCP CI's own images ({mirrored} mirrored from OCP CI"
        )),
        "{html}"
    );
    let (_, html) = http::get(
        &app,
        &format!("/releases/{}?stream=4.20.0-0.okd-scos", scos_20.name),
    )
    .await;
    assert!(html.contains("Era unknown: too little evidence"), "{html}");
    assert!(html.contains("no OCP CI 4.20 payload read"), "{html}");
    // the overview says each stream's era, the component pages each component's
    let (_, html) = http::get(&app, "/").await;
    assert!(html.contains("Mirrored era") && html.contains("OKD-built era"));
    let (_, html) = http::get(&app, "/components/cli?stream=4.15.0-0.okd").await;
    assert!(html.contains("Mirrored from OCP CI in"), "{html}");
    let (_, html) = http::get(&app, "/components/console").await;
    assert!(html.contains("Built for OKD in"), "{html}");
}

/// The files of `release-manifests/` of the payload at `spec` (its `linux/amd64` image), as
/// `skopeo` copies it out of the registry.
fn release_manifests_via_skopeo(spec: &str) -> BTreeMap<String, String> {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            "--override-os=linux",
        ])
        .args(["--override-arch=amd64"])
        .arg(format!("docker://{spec}"))
        .arg(format!("dir:{}", dir.path().display()))
        .output()
        .expect("skopeo runs (./dev setup installs it)");
    assert!(
        out.status.success(),
        "skopeo copy {spec}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).expect("manifest"))
            .expect("json");
    let top = manifest["layers"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|l| l["digest"].as_str())
        .expect("a top layer");
    let blob = std::fs::read(dir.path().join(top.trim_start_matches("sha256:"))).expect("layer");
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").display().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("text");
        if let Some(name) = path
            .strip_prefix("release-manifests/")
            .filter(|n| !n.is_empty())
        {
            files.insert(name.to_string(), text);
        }
    }
    files
}

/// Promotes the newest OKD/SCOS 4.20 release of the demo into another registry as the
/// promotion worker does, copies the new payload out with `skopeo` and checks it file by
/// file against the CI payload it came from: the same operator manifests, every image the
/// mirror's and every version the new release's, nothing naming the source registry.
async fn promoted_demo_release_is_what_oc_builds(host: &str, dataset: &Dataset) {
    let (repo, tag) = newest(dataset, "origin", "4.20.0-0.okd-scos");
    let source = format!("{repo}@{}", tag.digest);
    let read = reader(host).read(&source).await.expect("CI payload read");
    let target = Registry::start().await;
    let copier = Copier::new(CopyConfig {
        insecure_hosts: vec![host.to_string(), target.host().to_string()],
        ..CopyConfig::default()
    });
    let content = format!("{}/okd/scos-content", target.host());
    let items: Vec<CopyItem> = read
        .components
        .iter()
        .map(|c| CopyItem {
            source: c.image.clone(),
            target_repo: content.clone(),
        })
        .collect();
    copier
        .copy_images(&items, &Progress::new())
        .await
        .expect("components copied");
    let mirror = |image: &str| {
        let digest = image.rsplit_once('@').expect("by digest").1;
        format!("{content}@{digest}")
    };
    let name = "4.20.0-okd-scos.99";
    let rewrite = Rewrite {
        name: name.to_string(),
        previous: vec!["4.20.0-okd-scos.98".to_string()],
        images: read
            .components
            .iter()
            .map(|c| (c.name.clone(), mirror(&c.image)))
            .collect(),
        from_release: source.clone(),
        created: chrono::Utc::now(),
    };
    let release = format!("{}/okd/scos-release:{name}", target.host());
    publish(&copier, &source, &rewrite, &release)
        .await
        .expect("published");

    let ci = release_manifests_via_skopeo(&source);
    let promoted = release_manifests_via_skopeo(&release);
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&promoted), names(&ci), "the same manifests");
    for expected in [
        "0000_00_cluster-version-operator_03_deployment.yaml",
        "0000_50_cluster-ingress-operator_deployment.yaml",
        "0000_50_cluster-ingress-operator_00_namespace.yaml",
        "0000_50_console-operator_clusteroperator.yaml",
        "0000_80_machine-config_05_osimageurl.yaml",
        "image-references",
        "release-metadata",
    ] {
        assert!(
            promoted.contains_key(expected),
            "{expected}: {:?}",
            promoted.keys()
        );
    }
    for (file, text) in &promoted {
        if file == "image-references" || file == "release-metadata" {
            continue;
        }
        // the CI payload's file, with the mirror's images and the new release's version
        let mut wanted = ci[file].clone();
        for c in &read.components {
            wanted = wanted.replace(&c.image, &mirror(&c.image));
        }
        wanted = wanted.replace(&tag.name, name);
        assert_eq!(text, &wanted, "{file}");
        assert!(
            !text.contains(host),
            "{file} names the source registry: {text}"
        );
        assert!(!text.contains("0.0.1-snapshot"), "{file}: {text}");
        assert!(!text.contains("quay.io/openshift/"), "{file}: {text}");
    }
    let os = read
        .components
        .iter()
        .find(|c| c.versions.starts_with("machine-os="))
        .expect("machine OS");
    let os_version = os.versions.trim_start_matches("machine-os=");
    assert!(
        promoted["0000_50_machine-config-operator_deployment.yaml"]
            .contains(&format!("value: \"{os_version}\"")),
        "the machine OS version filled in"
    );
    let references: serde_json::Value =
        serde_json::from_str(&promoted["image-references"]).expect("json");
    assert_eq!(references["metadata"]["name"], name);
    assert_eq!(
        references["metadata"]["annotations"]["release.openshift.io/from-release"],
        source.as_str()
    );
    assert!(
        !references["spec"].to_string().contains(host),
        "only the record of the source names it"
    );
    let metadata: serde_json::Value =
        serde_json::from_str(&promoted["release-metadata"]).expect("json");
    assert_eq!(metadata["version"], name);
    assert_eq!(
        metadata["previous"],
        serde_json::json!(["4.20.0-okd-scos.98"])
    );
}
