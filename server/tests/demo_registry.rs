//! The demo with a real registry on loopback: seeding pushes payloads our reader reads with
//! the data set's components and digests, a second seeding pushes nothing, and a demo
//! loaded in-process with the registry ends up with release pages whose components are
//! mirrored from OCP CI, built for OKD, and the machine OS.

#![expect(
    clippy::expect_used,
    reason = "a test fails loudly when its set-up fails"
)]

#[path = "support/http.rs"]
mod http;
#[path = "support/registry.rs"]
mod registry;
#[path = "support/stores.rs"]
mod stores;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{PayloadView, Provenance};
use axum::http::StatusCode;
use clap::Parser;
use registry::Registry;
use server::backend::StoreBackend;
use server::config::{Cli, Command};
use server::demo::registry::Seed;
use server::ingest::payload::{PayloadReader, ReaderConfig};
use server::ingest::payload_worker::{PayloadWorker, WorkerConfig};
use server::ingest::release_controller::PollRegistry;
use server::replay::dataset::{BuiltBy, Dataset, TagData, PHASE_FAILED};

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

#[tokio::test]
async fn seeded_payloads_read_back_with_their_components_and_digests() {
    let registry = Registry::start().await;
    let host = registry.host();
    let anchor = chrono::Utc::now();
    let mut dataset = Dataset::demo(anchor);
    let seed = Seed::plan(&dataset, host).expect("plan");
    seed.apply(&mut dataset);
    let first = seed.push().await.expect("seeded");
    let (images, tags) = seed.counts();
    assert_eq!(first.components_pushed, images, "{first:?}");
    assert_eq!(first.payloads_pushed, tags, "{first:?}");
    assert!(tags >= 30 && images >= 100, "{images} images, {tags} tags");
    assert!(first.elapsed < Duration::from_secs(20), "{first:?}");

    let reader = reader(host);
    for (controller, stream) in [
        ("origin", OKD),
        ("ocp", "4.21.0-0.ci"),
        ("origin", "4-scos-stable"),
    ] {
        let (repo, tag) = newest(&dataset, controller, stream);
        assert!(repo.starts_with(&format!("{host}/")), "{repo}");
        let read = reader
            .read(&format!("{repo}:{}", tag.name))
            .await
            .expect("payload read");
        assert_eq!(
            read.digest, tag.digest,
            "{stream}: the digest the data set shows"
        );
        assert_eq!(read.labels.get("io.openshift.release"), Some(&read.name));
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
            // the component image itself is there
            let spec = &got.image;
            assert_eq!(
                reader.resolve_digest(spec).await.expect("digest"),
                got.image_digest
            );
            assert!(reader
                .manifest_resolves(spec)
                .await
                .expect("registry answers"));
        }
    }
    // an OKD payload names OCP CI's images for what it mirrors
    let (okd_repo, okd_tag) = newest(&dataset, "origin", OKD);
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
    assert!(mirrored >= 12 && own == 3, "{mirrored} mirrored, {own} own");

    // the same data set again: everything is there already
    let again = Seed::plan(&Dataset::demo(anchor), host)
        .expect("plan")
        .push()
        .await
        .expect("seeded again");
    assert_eq!(again.pushed(), 0, "{again:?}");
    assert_eq!(again.skipped, tags);
}

#[tokio::test]
async fn demo_with_a_registry_shows_mirrored_and_okd_built_components() {
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let (store, _dir) = stores::sqlite().await;
    let Some(Command::Poll(args)) = Cli::parse_from(["server", "poll"]).command else {
        panic!("poll arguments")
    };
    let polls = PollRegistry::default();
    let started = Instant::now();
    let loaded = server::demo::load(&store, &polls, &args, Some(&host))
        .await
        .expect("demo loaded");
    let loading = started.elapsed();

    let worker = PayloadWorker::new(
        store.clone(),
        reader(&host),
        Arc::new(tokio::sync::Notify::new()),
        WorkerConfig {
            concurrency: 8,
            batch: 400,
            ..WorkerConfig::default()
        },
    );
    let round = worker.run_once().await.expect("payload round");
    assert!(round.read >= 30, "{round:?}");

    let dataset = loaded.replay.dataset();
    let (_, tag) = newest(dataset, "origin", OKD);
    let backend = StoreBackend::new(store.clone(), polls.clone());
    let detail = backend
        .release_detail(&tag.name, Some(OKD))
        .await
        .expect("release");
    let PayloadView::Read { components, .. } = &detail.payload else {
        panic!("read payload: {:?}", detail.payload)
    };
    let mirrored = components
        .iter()
        .filter(|c| matches!(c.provenance, Provenance::Mirrored { .. }))
        .count();
    let okd: Vec<&str> = components
        .iter()
        .filter(|c| c.provenance == Provenance::BuiltForOkd)
        .map(|c| c.name.as_str())
        .collect();
    let os = components
        .iter()
        .find(|c| matches!(c.provenance, Provenance::MachineOs { .. }))
        .expect("machine OS");
    assert!(mirrored >= 10, "{mirrored} mirrored: {components:?}");
    assert!(
        okd.contains(&"installer") && okd.contains(&"machine-config-operator"),
        "{okd:?}"
    );
    assert_eq!(os.name, "centos-stream-coreos-9");
    let own = tag
        .components
        .iter()
        .filter(|c| c.built_by == BuiltBy::Okd)
        .count();
    assert!(okd.len() + 1 >= own);

    let leptos = leptos::prelude::LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = server::router(server::AppState::new(store.clone(), polls, leptos));
    let (status, html) = http::get(&app, &format!("/releases/{}", tag.name)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("mirrored from OCP CI"), "mirrored components");
    assert!(html.contains("built for OKD"), "OKD's own builds");
    assert!(html.contains(&tag.digest), "the payload's digest");
    assert!(html.contains(&format!("{host}/origin/release-scos:{}", tag.name)));
    eprintln!("demo loaded in {loading:?}, payload round {round:?}");
}
