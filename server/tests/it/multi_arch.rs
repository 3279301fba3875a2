//! Multi-arch payloads, as the reader records them: an OCP CI index for `linux/amd64` and
//! `linux/arm64`, and an OKD/SCOS index for those and `linux/s390x`. Each platform's
//! component image is judged on that platform's own evidence, on SQLite and PostgreSQL,
//! and the release page and API say so.

use crate::support::http::get;
use crate::support::payloads::{postgres, sqlite};
use crate::support::registry;
use app::model::{ComponentInfo, PayloadView, Provenance};
use axum::http::StatusCode;
use server::backend::StoreBackend;
use server::events::{ingest, PAYLOAD_READ, PAYLOAD_RELEASE, RC_TAGS};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::store::Store;

const OCP_STREAM: &str = "4.21.0-0.ci";
const OCP: &str = "4.21.0-0.ci-2026-02-10-101010";
const OKD_STREAM: &str = "4.21.0-0.okd-scos";
const OKD: &str = "4.21.0-0.okd-scos-2026-02-11-071519";

fn digest(seed: &str) -> String {
    registry::sha256(seed.as_bytes())
}

fn event(kind: &str, subject: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        source: "example.invalid".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload: payload.to_string(),
        received_at: chrono::Utc::now(),
        external_id: None,
    }
}

/// A payload index read: `platforms` of (platform, [(component, image seed)]); the first
/// platform's components are the kept ones.
fn index_read(name: &str, platforms: &[(&str, &[(&str, &str)])]) -> serde_json::Value {
    let (_, kept) = platforms[0];
    serde_json::json!({
        "digest": digest(name), "pull_spec": format!("example.invalid/release:{name}"),
        "media_type": registry::OCI_INDEX, "image_digest": digest(&format!("{name}/0")),
        "platforms": platforms.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        "platform_images": platforms.iter().enumerate().map(|(i, (p, components))| serde_json::json!({
            "platform": p, "digest": digest(&format!("{name}/{i}")),
            "components": components.iter().map(|(c, seed)| (c.to_string(), serde_json::Value::from(digest(seed))))
                .collect::<serde_json::Map<String, serde_json::Value>>(),
        })).collect::<Vec<_>>(),
        "labels": {}, "name": name, "created": null, "annotations": {}, "release_metadata": null,
        "components": kept.iter().map(|(c, seed)| serde_json::json!({
            "name": c, "image": format!("example.invalid/c@{}", digest(seed)),
            "image_digest": digest(seed), "source_location": format!("https://github.com/openshift/{c}"),
            "commit_id": "", "commit_ref": "", "versions": "",
        })).collect::<Vec<_>>(),
    })
}

/// The OCP CI index, and the OKD index a day later:
/// - `cli`: amd64 mirrored, arm64 built for OKD, s390x unknown (OCP CI has no s390x);
/// - `hyperkube`: amd64 built for OKD, arm64 mirrored;
/// - `installer`: built for OKD on both, and only on those two.
async fn fill(store: &Store) {
    let ocp_amd: &[(&str, &str)] = &[("cli", "ocp-cli-amd"), ("hyperkube", "ocp-hk-amd")];
    let ocp_arm: &[(&str, &str)] = &[("cli", "ocp-cli-arm"), ("hyperkube", "ocp-hk-arm")];
    let okd_amd: &[(&str, &str)] = &[
        ("cli", "ocp-cli-amd"),
        ("hyperkube", "okd-hk-amd"),
        ("installer", "okd-inst-amd"),
    ];
    let okd_arm: &[(&str, &str)] = &[
        ("cli", "okd-cli-arm"),
        ("hyperkube", "ocp-hk-arm"),
        ("installer", "okd-inst-arm"),
    ];
    let okd_s390x: &[(&str, &str)] = &[("cli", "okd-cli-s390x"), ("hyperkube", "okd-hk-s390x")];
    let reads = [
        (
            "ocp",
            OCP_STREAM,
            OCP,
            index_read(OCP, &[("linux/amd64", ocp_amd), ("linux/arm64", ocp_arm)]),
        ),
        (
            "origin",
            OKD_STREAM,
            OKD,
            index_read(
                OKD,
                &[
                    ("linux/amd64", okd_amd),
                    ("linux/arm64", okd_arm),
                    ("linux/s390x", okd_s390x),
                ],
            ),
        ),
    ];
    for (controller, stream, name, read) in reads {
        let mut tags = event(
            RC_TAGS,
            stream,
            serde_json::json!({"name": stream, "tags": [{"name": name, "phase": "Accepted",
                "pullSpec": read["pull_spec"], "downloadURL": ""}]}),
        );
        tags.source = controller.into();
        ingest(store, tags).await.expect("tags");
        ingest(store, event(PAYLOAD_READ, &digest(name), read.clone()))
            .await
            .expect("read");
        ingest(
            store,
            event(
                PAYLOAD_RELEASE,
                &format!("{stream}/{name}"),
                serde_json::json!({"digest": digest(name), "pull_spec": read["pull_spec"]}),
            ),
        )
        .await
        .expect("bound");
    }
}

fn by_name<'a>(components: &'a [ComponentInfo], name: &str) -> &'a ComponentInfo {
    components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("component {name}"))
}

/// `(platform, provenance kind)` of each platform image of a component.
fn kinds(c: &ComponentInfo) -> Vec<(&str, &str)> {
    c.architectures
        .iter()
        .map(|a| (a.platform.as_str(), a.provenance.kind().as_str()))
        .collect()
}

async fn per_platform_story(store: Store) {
    fill(&store).await;
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());
    let detail = backend
        .release_detail(OKD, Some(OKD_STREAM))
        .await
        .expect("release");
    let PayloadView::Read { components, .. } = &detail.payload else {
        panic!("read: {:?}", detail.payload)
    };
    assert_eq!(components.len(), 3);

    let cli = by_name(components, "cli");
    assert_eq!(
        cli.provenance,
        Provenance::Mirrored {
            release: OCP.into(),
            stream: OCP_STREAM.into()
        }
    );
    assert_eq!(
        kinds(cli),
        [
            ("linux/amd64", "mirrored"),
            ("linux/arm64", "okd"),
            ("linux/s390x", "unknown")
        ]
    );
    assert_eq!(cli.architectures[1].digest, digest("okd-cli-arm"));
    let Provenance::Unknown { reason } = &cli.architectures[2].provenance else {
        panic!("s390x unknown")
    };
    assert_eq!(
        reason,
        "no OCP CI payload with a linux/s390x image from within 7 days read"
    );
    assert_eq!(cli.differing().len(), 2);

    let hyperkube = by_name(components, "hyperkube");
    assert_eq!(
        kinds(hyperkube),
        [
            ("linux/amd64", "okd"),
            ("linux/arm64", "mirrored"),
            ("linux/s390x", "unknown")
        ]
    );
    let installer = by_name(components, "installer");
    assert_eq!(
        kinds(installer),
        [("linux/amd64", "okd"), ("linux/arm64", "okd")],
        "only the platforms that have it"
    );
    assert!(installer.differing().is_empty());

    // the OCP CI payload's own images, on both platforms
    let ocp = backend
        .release_detail(OCP, Some(OCP_STREAM))
        .await
        .expect("release");
    let PayloadView::Read { components, .. } = &ocp.payload else {
        panic!("read: {:?}", ocp.payload)
    };
    assert!(components
        .iter()
        .flat_map(|c| &c.architectures)
        .all(|a| a.provenance.kind().as_str() == "mirrored"));
}

#[tokio::test]
async fn provenance_is_judged_per_platform_on_sqlite() {
    let (store, _dir) = sqlite().await;
    per_platform_story(store).await;
}

#[tokio::test]
async fn provenance_is_judged_per_platform_on_postgres() {
    per_platform_story(postgres().await).await;
}

#[tokio::test]
async fn the_release_page_and_api_list_each_platform() {
    let (store, _dir) = sqlite().await;
    fill(&store).await;
    let app = crate::support::http::site(&store);

    let (status, html) = get(&app, &format!("/releases/{OKD}?stream={OKD_STREAM}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("A multi-arch payload for linux/amd64, linux/arm64, linux/s390x."),
        "{html}"
    );
    assert!(html.contains("2 components differ on another platform"));
    assert!(html.contains("<th scope=\"col\">Architectures</th>"));
    assert!(html.contains("amd64 · arm64 · s390x"));
    assert!(html.contains("<span class=\"arches\">amd64 · arm64</span>"));
    assert!(html.contains("data-platform=\"linux/arm64\""));

    let (status, body) = get(&app, &format!("/api/v1/releases/{OKD}?stream={OKD_STREAM}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    let payload = &json["payload"];
    assert_eq!(
        payload["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64", "linux/s390x"])
    );
    let cli = payload["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "cli")
        .expect("cli");
    assert_eq!(cli["provenance"], "mirrored");
    assert_eq!(cli["mirrored_from"], OCP);
    assert_eq!(cli["architectures"][1]["platform"], "linux/arm64");
    assert_eq!(cli["architectures"][1]["provenance"], "okd");
    assert_eq!(cli["architectures"][1]["compared_with"], OCP);
    assert_eq!(cli["architectures"][2]["provenance"], "unknown");

    // the OCP CI payload's components list both of its platforms; the fields are documented
    let (_, body) = get(&app, &format!("/api/v1/releases/{OCP}?stream={OCP_STREAM}")).await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        json["payload"]["components"][0]["architectures"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let (_, body) = get(&app, "/api/v1/openapi.json").await;
    assert!(body.contains("\"architectures\""), "documented");
    assert!(body.contains("\"ArchComponent\""), "documented");
}
