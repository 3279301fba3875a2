//! Mirror integrity against a real docker-registry on loopback: a promoted release whose
//! digests all resolve is fine; once the registry loses one, the release page, the stream's
//! badge and `/readyz` say so; a registry that cannot be asked is not reported as missing.

use crate::support::registry;

use crate::support::http::get;
use crate::support::payloads::{
    image_references, payload_config, payload_layers, push_component, reader, release_metadata,
    sqlite, Spec,
};
use crate::support::registry::{Pushed, Pusher, Registry};
use axum::http::StatusCode;
use leptos::prelude::LeptosOptions;
use server::events::{ingest, RC_TAGS};
use server::ingest::integrity::check_all;
use server::ingest::payload::{Limits, PayloadRequest};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::{router, AppState};

const STREAM: &str = "4-scos-stable";
const TAG: &str = "4.20.0-okd-scos.6";

#[tokio::test]
async fn a_lost_digest_shows_on_the_release_badge_and_readyz() {
    let mut registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let specs = [
        Spec {
            name: "cluster-version-operator",
            commit: "1111111111111111111111111111111111111111",
            source: "https://github.com/openshift/cluster-version-operator",
            versions: "",
        },
        Spec {
            name: "installer",
            commit: "2222222222222222222222222222222222222222",
            source: "https://github.com/openshift/installer",
            versions: "",
        },
        Spec {
            name: "console",
            commit: "3333333333333333333333333333333333333333",
            source: "https://github.com/openshift/console",
            versions: "",
        },
    ];
    let mut pushed: Vec<Pushed> = Vec::new();
    for s in &specs {
        pushed.push(push_component(&p, "okd/scos-content", s, &base).await);
    }
    let refs: Vec<(&Spec, &Pushed)> = specs.iter().zip(pushed.iter()).collect();
    let references = image_references(TAG, &format!("{host}/okd/scos-content"), &refs);
    let layers = payload_layers(
        &base,
        &references,
        Some(&release_metadata(TAG, &["4.20.0-okd-scos.5"])),
    );
    p.image(
        "okd/scos-release",
        Some(TAG),
        &payload_config(TAG, "amd64", &pushed[0]),
        &layers,
        false,
    )
    .await;

    let (store, _dir) = sqlite().await;
    let pull_spec = format!("{host}/okd/scos-release:{TAG}");
    ingest(
        &store,
        NewEvent {
            source: "origin".into(),
            kind: RC_TAGS.into(),
            subject: STREAM.into(),
            payload: serde_json::json!({"name": STREAM, "tags": [
                {"name": TAG, "phase": "Accepted", "pullSpec": pull_spec, "downloadURL": ""}]})
            .to_string(),
            received_at: chrono::Utc::now(),
            external_id: None,
        },
    )
    .await
    .expect("tags");
    let r = reader(&registry, Limits::default());
    r.read_into(
        &store,
        &PayloadRequest {
            pull_spec: pull_spec.clone(),
            release: Some((STREAM.into(), TAG.into())),
        },
    )
    .await
    .expect("payload read");

    // everything resolves
    assert_eq!(check_all(&r, &store).await.expect("check"), 0);
    let check = store
        .mirror_check(STREAM, TAG)
        .await
        .expect("query")
        .expect("recorded");
    assert!(check.ok);
    assert_eq!(check.checked, 4, "the payload and its three components");
    let events = store.event_count().await.expect("count");
    check_all(&r, &store).await.expect("check again");
    assert_eq!(
        store.event_count().await.expect("count"),
        events,
        "an unchanged result is not stored again"
    );

    // the registry loses the installer image
    let lost = format!("{host}/okd/scos-content@{}", pushed[1].digest);
    let deleted = reqwest::Client::new()
        .delete(format!(
            "http://{host}/v2/okd/scos-content/manifests/{}",
            pushed[1].digest
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), reqwest::StatusCode::ACCEPTED);
    assert_eq!(check_all(&r, &store).await.expect("check"), 1);
    let check = store
        .mirror_check(STREAM, TAG)
        .await
        .expect("query")
        .expect("recorded");
    assert!(!check.ok);
    let missing: Vec<String> = serde_json::from_str(&check.missing).expect("json");
    assert_eq!(missing, vec![lost.clone()]);

    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let app = router(AppState::new(
        store.clone(),
        PollRegistry::default(),
        leptos,
    ));
    let (status, page) = get(&app, &format!("/releases/{TAG}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Mirror integrity failing") && page.contains(&lost),
        "the release page says which digest is gone"
    );
    let (_, badge) = get(&app, &format!("/badges/{STREAM}.json")).await;
    let badge: serde_json::Value = serde_json::from_str(&badge).expect("json");
    assert_eq!(badge["color"], "red");
    assert_eq!(badge["message"], format!("{TAG} · mirror broken"));
    let (_, ready) = get(&app, "/readyz").await;
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("json");
    assert_eq!(ready["mirror_integrity"]["failing"][0]["release"], TAG);
    assert_eq!(ready["status"], "ready", "stored data is still served");

    // a registry that cannot be asked is reported as such, not as missing
    registry.stop();
    check_all(&r, &store).await.expect("check");
    let check = store
        .mirror_check(STREAM, TAG)
        .await
        .expect("query")
        .expect("recorded");
    let missing: Vec<String> = serde_json::from_str(&check.missing).expect("json");
    let unreachable: Vec<String> = serde_json::from_str(&check.unreachable).expect("json");
    assert!(missing.is_empty());
    assert_eq!(unreachable.len(), 4);

    // replaying the log rebuilds the same result
    let dump = store.projection_dump().await.expect("dump");
    server::events::reproject(&store).await.expect("reproject");
    assert_eq!(store.projection_dump().await.expect("dump"), dump);
}
