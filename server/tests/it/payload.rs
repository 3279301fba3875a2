//! The payload reader against a real registry on loopback: OCP CI and OKD payloads built in
//! Rust (Docker schema 2, OCI manifest, OCI index), read end to end into SQLite and
//! PostgreSQL, cached by digest, and every kind of bad payload failing precisely without
//! touching what is stored.

use crate::support::registry;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::payloads::{
    image_references, payload_config, payload_layers, postgres, push_component, reader,
    release_metadata, sqlite, Spec, NEW_INSTALLER, OKD_COMPONENTS,
};
use crate::support::registry::{Layer, Pushed, Pusher, Registry};
use server::ingest::payload::{
    Limits, PayloadError, PayloadReader, PayloadRequest, ReadOutcome, ReaderConfig,
};
use server::store::Store;

/// What the fixture registry holds.
struct Fixture {
    registry: Registry,
    pusher: Pusher,
    base: Vec<u8>,
    ocp_ci: String,
    okd1: String,
    okd2: String,
    okd1_components: Vec<String>,
    okd2_components: Vec<String>,
    /// The arm64 image of each OKD2 component, by name.
    okd2_arm64: BTreeMap<String, String>,
}

const OCP_CI_TAG: &str = "4.21.0-0.ci-2026-02-10-101010";
const OKD1: &str = "4.21.0-okd-scos.1";
const OKD2: &str = "4.21.0-okd-scos.2";
const OKD_STREAM: &str = "4-scos-stable";

/// One OCP CI payload (Docker schema 2) and two OKD payloads (OCI manifest; OCI index with
/// amd64 and arm64) sharing all component digests but the installer.
async fn fixture() -> Fixture {
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let pusher = Pusher::new(&host).await;
    let base = registry::tar_gz(&[
        (
            "etc/os-release",
            b"NAME=\"CentOS Stream\"\nVERSION_ID=\"9\"\n",
        ),
        ("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
    ]);

    // OCP CI: components of its own, Docker schema 2 payload, no previous
    let ci_repo = format!("{host}/ocp/4.21-art-dev");
    let mut ci = Vec::new();
    for s in &OKD_COMPONENTS[..5] {
        let ocp = Spec {
            commit: "0123456789abcdef0123456789abcdef01234567",
            ..*s
        };
        ci.push((
            ocp,
            push_component(&pusher, "ocp/4.21-art-dev", s, &base).await,
        ));
    }
    let refs: Vec<(&Spec, &Pushed)> = ci.iter().map(|(s, p)| (s, p)).collect();
    let references = image_references(OCP_CI_TAG, &ci_repo, &refs);
    let mut layers = payload_layers(&base, &references, Some(&release_metadata(OCP_CI_TAG, &[])));
    for l in &mut layers {
        l.media_type = registry::DOCKER_LAYER_GZIP.into();
    }
    let cvo = &ci[0].1;
    pusher
        .image(
            "ocp/release",
            Some(OCP_CI_TAG),
            &payload_config(OCP_CI_TAG, "amd64", cvo),
            &layers,
            true,
        )
        .await;

    // OKD: shared components, one new installer in the second payload
    let okd_repo = format!("{host}/okd/scos-content");
    let mut okd = Vec::new();
    for s in OKD_COMPONENTS {
        okd.push(push_component(&pusher, "okd/scos-content", s, &base).await);
    }
    let new_installer = push_component(&pusher, "okd/scos-content", &NEW_INSTALLER, &base).await;
    let okd1: Vec<(&Spec, &Pushed)> = OKD_COMPONENTS.iter().zip(okd.iter()).collect();
    let okd2: Vec<(&Spec, &Pushed)> = okd1
        .iter()
        .map(|&(s, p)| {
            if s.name == "installer" {
                (&NEW_INSTALLER, &new_installer)
            } else {
                (s, p)
            }
        })
        .collect();
    let cvo = &okd[0];
    let layers = payload_layers(
        &base,
        &image_references(OKD1, &okd_repo, &okd1),
        Some(&release_metadata(
            "4.21.0-okd-scos.1",
            &["4.20.0-okd-scos.6", "4.20.0-okd-scos.7"],
        )),
    );
    pusher
        .image(
            "okd/scos-release",
            Some(OKD1),
            &payload_config(OKD1, "amd64", cvo),
            &layers,
            false,
        )
        .await;
    let layers = payload_layers(
        &base,
        &image_references(OKD2, &okd_repo, &okd2),
        Some(&release_metadata(
            "4.21.0-okd-scos.2",
            &["4.20.0-okd-scos.7", "4.21.0-okd-scos.1"],
        )),
    );
    let amd64 = pusher
        .image(
            "okd/scos-release",
            None,
            &payload_config(OKD2, "amd64", cvo),
            &layers,
            false,
        )
        .await;
    // arm64 names images of its own (another base layer), as a multi-arch build does
    let arm_base =
        registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\nARCH=aarch64\n")]);
    let mut arm = Vec::new();
    for (s, _) in &okd2 {
        arm.push(push_component(&pusher, "okd/scos-content", s, &arm_base).await);
    }
    let okd2_arm: Vec<(&Spec, &Pushed)> = okd2.iter().map(|(s, _)| *s).zip(arm.iter()).collect();
    let arm_layers = payload_layers(
        &base,
        &image_references(OKD2, &okd_repo, &okd2_arm),
        Some(&release_metadata(
            "4.21.0-okd-scos.2",
            &["4.20.0-okd-scos.7", "4.21.0-okd-scos.1"],
        )),
    );
    let arm64 = pusher
        .image(
            "okd/scos-release",
            None,
            &payload_config(OKD2, "arm64", cvo),
            &arm_layers,
            false,
        )
        .await;
    pusher
        .index(
            "okd/scos-release",
            Some(OKD2),
            &[
                (&arm64, "linux", "arm64", Some("v8")),
                (&amd64, "linux", "amd64", None),
                // as buildx writes attestations: not a platform
                (&arm64, "unknown", "unknown", None),
            ],
        )
        .await;
    Fixture {
        ocp_ci: format!("{host}/ocp/release:{OCP_CI_TAG}"),
        okd1: format!("{host}/okd/scos-release:{OKD1}"),
        okd2: format!("{host}/okd/scos-release:{OKD2}"),
        okd1_components: okd1.iter().map(|(_, p)| p.digest.clone()).collect(),
        okd2_components: okd2.iter().map(|(_, p)| p.digest.clone()).collect(),
        okd2_arm64: okd2_arm
            .iter()
            .map(|(s, p)| (s.name.to_string(), p.digest.clone()))
            .collect(),
        registry,
        pusher,
        base,
    }
}

fn request(pull_spec: &str, release: Option<(&str, &str)>) -> PayloadRequest {
    PayloadRequest {
        pull_spec: pull_spec.to_string(),
        release: release.map(|(s, n)| (s.to_string(), n.to_string())),
    }
}

/// Reads all three payloads into `store` and checks what was stored.
async fn payloads_are_read_end_to_end(store: Store) {
    let f = fixture().await;
    let reader = reader(&f.registry, Limits::default());

    let started = Instant::now();
    let outcome = reader
        .read_into(&store, &request(&f.okd1, Some((OKD_STREAM, OKD1))))
        .await
        .expect("okd.1 read");
    eprintln!(
        "payload read ({} backend, 6 components): {:?}",
        store.backend(),
        started.elapsed()
    );
    let ReadOutcome::Read { digest } = outcome else {
        panic!("first read fetches: {outcome:?}")
    };
    let got = store
        .release_payload(OKD_STREAM, OKD1)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(got.payload.digest, digest);
    assert_eq!(got.payload.pull_spec, f.okd1);
    assert_eq!(got.payload.name, OKD1);
    assert_eq!(got.payload.version.as_deref(), Some("4.21.0-okd-scos.1"));
    assert_eq!(
        store
            .declared_previous(OKD_STREAM, OKD1)
            .await
            .expect("query"),
        Some(vec![
            "4.20.0-okd-scos.6".to_string(),
            "4.20.0-okd-scos.7".to_string()
        ])
    );
    assert_eq!(got.payload.platforms, r#"["linux/amd64"]"#);
    let labels: serde_json::Value = serde_json::from_str(&got.payload.labels).expect("labels");
    assert_eq!(labels["io.openshift.release"], OKD1);
    assert_eq!(
        labels["vcs-url"],
        "https://github.com/openshift/cluster-version-operator"
    );
    let names: Vec<&str> = got.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cli",
            "cluster-version-operator",
            "hyperkube",
            "installer",
            "machine-config-operator",
            "stream-coreos"
        ]
    );
    let hyperkube = &got.components[2];
    assert_eq!(
        hyperkube.commit_id,
        "f773b8b2b47b6f908236a76f4cafcb04bb2a43fe"
    );
    assert_eq!(
        hyperkube.source_location,
        "https://github.com/openshift/kubernetes"
    );
    assert_eq!(hyperkube.versions, "kubernetes=1.34.2");
    assert_eq!(
        hyperkube.image,
        format!(
            "{}/okd/scos-content@{}",
            f.registry.host(),
            hyperkube.image_digest
        )
    );
    let coreos = &got.components[5];
    assert_eq!(
        (coreos.commit_id.as_str(), coreos.source_location.as_str()),
        ("", "")
    );
    assert_eq!(coreos.versions, "machine-os=9.0.20260210-0");
    let stored: BTreeSet<&str> = got
        .components
        .iter()
        .map(|c| c.image_digest.as_str())
        .collect();
    let pushed: BTreeSet<&str> = f.okd1_components.iter().map(String::as_str).collect();
    assert_eq!(stored, pushed);

    // the OKD index: every platform is read, linux/amd64 first and kept
    reader
        .read_into(&store, &request(&f.okd2, Some((OKD_STREAM, OKD2))))
        .await
        .expect("okd.2 read");
    let okd2 = store
        .release_payload(OKD_STREAM, OKD2)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(
        okd2.payload.media_type,
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        okd2.payload.platforms,
        r#"["linux/amd64","linux/arm64/v8"]"#
    );
    assert_eq!(okd2.payload.primary_platform, "linux/amd64");
    assert_eq!(okd2.platform_names(), ["linux/amd64", "linux/arm64/v8"]);
    let on = |platform: &str| -> BTreeMap<String, String> {
        okd2.platforms
            .iter()
            .filter(|p| p.platform == platform)
            .map(|p| (p.name.clone(), p.image_digest.clone()))
            .collect()
    };
    assert_eq!(on("linux/arm64/v8"), f.okd2_arm64);
    let amd64: BTreeMap<String, String> = okd2
        .components
        .iter()
        .map(|c| (c.name.clone(), c.image_digest.clone()))
        .collect();
    assert_eq!(on("linux/amd64"), amd64);
    assert!(
        f.okd2_arm64
            .values()
            .all(|d| !amd64.values().any(|a| a == d)),
        "arm64 images are its own"
    );
    let labels: serde_json::Value = serde_json::from_str(&okd2.payload.labels).expect("labels");
    assert_eq!(labels["io.openshift.release"], OKD2);
    let shared = okd2
        .components
        .iter()
        .filter(|c| f.okd1_components.contains(&c.image_digest))
        .count();
    assert_eq!(shared, 5, "all but the installer are shared");
    let installer = okd2
        .components
        .iter()
        .find(|c| c.name == "installer")
        .expect("installer");
    assert_eq!(installer.commit_id, NEW_INSTALLER.commit);
    assert!(f.okd2_components.contains(&installer.image_digest));

    // OCP CI: Docker schema 2, no declared previous
    reader
        .read_into(
            &store,
            &request(&f.ocp_ci, Some(("4.21.0-0.ci", OCP_CI_TAG))),
        )
        .await
        .expect("ocp ci read");
    let ci = store
        .release_payload("4.21.0-0.ci", OCP_CI_TAG)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(
        ci.payload.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(ci.components.len(), 5);
    assert!(ci
        .components
        .iter()
        .all(|c| c.commit_id == "0123456789abcdef0123456789abcdef01234567"));
    assert_eq!(
        store
            .declared_previous("4.21.0-0.ci", OCP_CI_TAG)
            .await
            .expect("query"),
        Some(vec![])
    );

    // replaying the log rebuilds the same rows
    let projected = store.projection_dump().await.expect("dump");
    server::events::reproject(&store).await.expect("reproject");
    assert_eq!(store.projection_dump().await.expect("dump"), projected);
}

#[tokio::test]
async fn payloads_are_read_end_to_end_on_sqlite() {
    let (store, _dir) = sqlite().await;
    payloads_are_read_end_to_end(store).await;
}

#[tokio::test]
async fn payloads_are_read_end_to_end_on_postgres() {
    payloads_are_read_end_to_end(postgres().await).await;
}

#[tokio::test]
async fn a_digest_read_once_is_never_fetched_again() {
    let (store, _dir) = sqlite().await;
    let mut f = fixture().await;
    let reader = reader(&f.registry, Limits::default());
    let ReadOutcome::Read { digest } = reader
        .read_into(&store, &request(&f.okd1, Some((OKD_STREAM, OKD1))))
        .await
        .expect("first read")
    else {
        panic!("first read fetches")
    };
    let events = store.event_count().await.expect("count");
    let dump = store.projection_dump().await.expect("dump");

    // the same release again: no manifest or blob request at all
    let requests = f.registry.content_requests();
    assert!(requests > 0, "the first read was logged");
    let again = reader
        .read_into(&store, &request(&f.okd1, Some((OKD_STREAM, OKD1))))
        .await
        .expect("second read");
    assert_eq!(
        again,
        ReadOutcome::Cached {
            digest: digest.clone()
        }
    );
    assert_eq!(f.registry.content_requests(), requests);

    // the same payload under another release name, by tag: one HEAD to resolve the tag
    let other = reader
        .read_into(&store, &request(&f.okd1, Some(("4-scos-next", OKD1))))
        .await
        .expect("other release");
    assert_eq!(
        other,
        ReadOutcome::Cached {
            digest: digest.clone()
        }
    );
    assert_eq!(f.registry.content_requests(), requests + 1);
    assert_eq!(
        store
            .release_payload_digest("4-scos-next", OKD1)
            .await
            .expect("query"),
        Some(digest.clone())
    );

    // with the registry gone, stored digests and bound releases still answer from the store
    f.registry.stop();
    let by_digest = format!("{}/okd/scos-release@{digest}", f.registry.host());
    assert_eq!(
        reader
            .read_into(&store, &request(&by_digest, None))
            .await
            .expect("by digest"),
        ReadOutcome::Cached {
            digest: digest.clone()
        }
    );
    assert_eq!(
        reader
            .read_into(&store, &request(&f.okd1, Some((OKD_STREAM, OKD1))))
            .await
            .expect("bound release"),
        ReadOutcome::Cached { digest }
    );
    assert_eq!(store.event_count().await.expect("count"), events + 1);
    let after = store.projection_dump().await.expect("dump");
    assert!(dump.iter().all(|row| after.contains(row)));
}

/// Pushes a payload whose top layer is `top` (all else as a good payload) and returns its
/// pull spec.
async fn bad_payload(f: &Fixture, tag: &str, top: Layer) -> String {
    let references = image_references(tag, "quay.io/okd/scos-content", &[]);
    let mut layers = payload_layers(&f.base, &references, None);
    layers.pop();
    layers.push(top);
    let cvo = Pushed {
        digest: registry::sha256(b"cvo"),
        size: 3,
        media_type: registry::OCI_MANIFEST.into(),
    };
    f.pusher
        .image(
            "okd/broken",
            Some(tag),
            &payload_config(tag, "amd64", &cvo),
            &layers,
            false,
        )
        .await;
    format!("{}/okd/broken:{tag}", f.registry.host())
}

#[tokio::test]
async fn bad_payloads_fail_precisely_and_store_nothing() {
    let (store, _dir) = sqlite().await;
    let f = fixture().await;
    let limits = Limits {
        layer_bytes: 8 << 20,
        unpacked_bytes: 16 << 20,
        ..Limits::default()
    };
    let reader = reader(&f.registry, limits);
    reader
        .read_into(&store, &request(&f.okd1, Some((OKD_STREAM, OKD1))))
        .await
        .expect("good payload");
    let good = store.payload_dump().await.expect("dump");

    let mut corrupt = registry::tar_gz(&[(
        "release-manifests/image-references",
        "{\"kind\": \"ImageStream\", \"spec\": {\"tags\": []}} "
            .repeat(200)
            .as_bytes(),
    )]);
    // keep the 10-byte gzip header, garble the deflate stream behind it
    corrupt[10..40].iter_mut().for_each(|b| *b ^= 0x5a);
    let mut noise = vec![0u8; 50 << 20];
    let mut x: u32 = 0x9e37_79b9;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    // small on the wire, 24 MiB unpacked: stopped by the unpacked cap while streaming
    let zeros = vec![0u8; 24 << 20];
    let bomb = Layer::oci(&[
        ("usr/share/zeros", &zeros),
        ("release-manifests/image-references", b"{}"),
    ]);
    let cases: Vec<(&str, Layer, &str, &str)> = vec![
        (
            "corrupt-gzip",
            Layer {
                media_type: registry::OCI_LAYER_GZIP.into(),
                bytes: corrupt,
            },
            "corrupt_layer",
            "corrupt deflate stream",
        ),
        (
            "no-image-references",
            Layer::oci(&[("release-manifests/release-metadata", b"{}")]),
            "missing_file",
            "release-manifests/image-references not found in the payload",
        ),
        (
            "malformed-json",
            Layer::oci(&[(
                "release-manifests/image-references",
                b"{\"kind\": \"ImageStream\", ",
            )]),
            "malformed",
            "malformed release-manifests/image-references: EOF while parsing",
        ),
        (
            "zstd-layer",
            Layer {
                media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
                bytes: b"(\xb5/\xfd not really zstd".to_vec(),
            },
            "unknown_media_type",
            "unknown media type \"application/vnd.oci.image.layer.v1.tar+zstd\" of layer sha256:",
        ),
        (
            "oversized-layer",
            Layer {
                media_type: registry::OCI_LAYER_GZIP.into(),
                bytes: noise,
            },
            "too_large",
            "is too large: 52428800 bytes, limit 8388608",
        ),
        ("gzip-bomb", bomb, "too_large", "unpacked layer sha256:"),
    ];
    for (tag, top, kind, message) in cases {
        let spec = bad_payload(&f, tag, top).await;
        let started = Instant::now();
        let err = reader
            .read_into(&store, &request(&spec, Some(("4-scos-next", tag))))
            .await
            .expect_err(tag);
        assert_eq!(err.kind(), kind, "{tag}: {err}");
        assert!(err.to_string().contains(message), "{tag}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{tag} fails fast"
        );
        let failure = store
            .release_payload_failure("4-scos-next", tag)
            .await
            .expect("query")
            .expect("failure recorded");
        assert_eq!(failure.kind, kind);
        assert_eq!(failure.message, err.to_string());
        assert_eq!(failure.pull_spec, spec);
        // the same failure again adds no event
        let events = store.event_count().await.expect("count");
        reader
            .read_into(&store, &request(&spec, Some(("4-scos-next", tag))))
            .await
            .expect_err("fails again");
        assert_eq!(store.event_count().await.expect("count"), events);
    }

    // an index whose arm64 image has no release-manifests: nothing of it is stored
    let arm = f
        .pusher
        .image(
            "okd/broken",
            None,
            &serde_json::json!({"architecture": "arm64", "os": "linux", "config": {}}),
            &[Layer::oci(&[("etc/os-release", b"x")])],
            false,
        )
        .await;
    let amd = f
        .pusher
        .image(
            "okd/broken",
            None,
            &payload_config("4.21.0-okd-scos.9", "amd64", &arm),
            &payload_layers(
                &f.base,
                &image_references("4.21.0-okd-scos.9", "okd/scos-content", &[]),
                None,
            ),
            false,
        )
        .await;
    f.pusher
        .index(
            "okd/broken",
            Some("arm-broken"),
            &[
                (&amd, "linux", "amd64", None),
                (&arm, "linux", "arm64", None),
            ],
        )
        .await;
    let err = reader
        .read_into(
            &store,
            &request(
                &format!("{}/okd/broken:arm-broken", f.registry.host()),
                None,
            ),
        )
        .await
        .expect_err("arm64 image without release-manifests");
    assert_eq!(err.kind(), "missing_file", "{err}");
    assert!(
        err.to_string()
            .contains("release-manifests/image-references (in the linux/arm64 image)"),
        "{err}"
    );

    // an index of attestations only lists no platform
    f.pusher
        .index(
            "okd/broken",
            Some("attestations"),
            &[(&arm, "unknown", "unknown", None)],
        )
        .await;
    let err = reader
        .read_into(
            &store,
            &request(
                &format!("{}/okd/broken:attestations", f.registry.host()),
                None,
            ),
        )
        .await
        .expect_err("no platform");
    assert!(matches!(err, PayloadError::NoPlatform { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("lists no platform image (1 entries"),
        "{err}"
    );

    // a tag that does not exist
    let err = reader
        .read_into(
            &store,
            &request(&format!("{}/okd/broken:missing", f.registry.host()), None),
        )
        .await
        .expect_err("missing tag");
    assert_eq!(err.kind(), "registry", "{err}");

    // nothing stored before was lost or altered
    let after = store.payload_dump().await.expect("dump");
    let payload_rows: Vec<&String> = after
        .iter()
        .filter(|r| !r.starts_with("PayloadFailureRow"))
        .collect();
    assert_eq!(payload_rows, good.iter().collect::<Vec<_>>());
}

/// A payload the size of a real OCP one (190 components): read time, network and store.
#[tokio::test]
async fn a_payload_of_realistic_size_reads_quickly() {
    let (store, _dir) = sqlite().await;
    let f = fixture().await;
    let names: Vec<String> = (0..190).map(|i| format!("component-{i:03}")).collect();
    let specs: Vec<Spec> = names
        .iter()
        .map(|n| Spec {
            name: n.as_str(),
            commit: "4ddd828c588c1277361d89e03933a97595795b48",
            source: "https://github.com/openshift/origin",
            versions: "",
        })
        .collect();
    let pushed: Vec<Pushed> = (0..190)
        .map(|i| Pushed {
            digest: registry::sha256(format!("component {i}").as_bytes()),
            size: 0,
            media_type: registry::OCI_MANIFEST.into(),
        })
        .collect();
    let refs: Vec<(&Spec, &Pushed)> = specs.iter().zip(pushed.iter()).collect();
    let references = image_references("4.21.0-okd-scos.3", "quay.io/okd/scos-content", &refs);
    let layers = payload_layers(
        &f.base,
        &references,
        Some(&release_metadata(
            "4.21.0-okd-scos.3",
            &["4.21.0-okd-scos.2"],
        )),
    );
    f.pusher
        .image(
            "okd/scos-release",
            Some("4.21.0-okd-scos.3"),
            &payload_config("4.21.0-okd-scos.3", "amd64", &pushed[0]),
            &layers,
            false,
        )
        .await;
    let spec = format!("{}/okd/scos-release:4.21.0-okd-scos.3", f.registry.host());
    let reader = reader(&f.registry, Limits::default());
    // warm the connection and token, as a long-running reader has them
    reader.resolve_digest(&f.okd1).await.expect("warm");

    let started = Instant::now();
    let read = reader.read(&spec).await.expect("network read");
    let network = started.elapsed();
    assert_eq!(read.components.len(), 190);
    let started = Instant::now();
    reader
        .read_into(
            &store,
            &request(&spec, Some((OKD_STREAM, "4.21.0-okd-scos.3"))),
        )
        .await
        .expect("read and stored");
    let total = started.elapsed();
    eprintln!(
        "190-component payload ({} kB image-references): network read {network:?}, \
         read + store {total:?}",
        references.len() / 1000
    );
    assert!(total < Duration::from_secs(5), "{total:?}");
    let stored = store
        .release_payload(OKD_STREAM, "4.21.0-okd-scos.3")
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.components.len(), 190);
}

/// Credentials from a Podman `auth.json` open a registry that wants Basic auth; without
/// them the read fails as a recorded registry error, which a later success clears.
#[tokio::test]
async fn credentials_from_an_auth_file_open_a_protected_registry() {
    use base64::Engine;
    use oci_client::secrets::RegistryAuth;
    use server::oci::credentials::Credentials;

    let (store, dir) = sqlite().await;
    let registry = Registry::start_with_basic_auth().await;
    let pusher = Pusher::with_auth(
        registry.host(),
        RegistryAuth::Basic(registry::USER.into(), registry::PASSWORD.into()),
    )
    .await;
    let component = Pushed {
        digest: registry::sha256(b"cli"),
        size: 0,
        media_type: registry::OCI_MANIFEST.into(),
    };
    let references = image_references(
        OKD1,
        "quay.io/okd/scos-content",
        &[(&OKD_COMPONENTS[1], &component)],
    );
    let layers = payload_layers(&[], &references, Some(&release_metadata(OKD1, &[])));
    pusher
        .image(
            "okd/scos-release",
            Some(OKD1),
            &payload_config(OKD1, "amd64", &component),
            &layers[1..],
            false,
        )
        .await;
    let spec = format!("{}/okd/scos-release:{OKD1}", registry.host());

    let anonymous = reader(&registry, Limits::default());
    let err = anonymous
        .read_into(&store, &request(&spec, Some((OKD_STREAM, OKD1))))
        .await
        .expect_err("anonymous is refused");
    assert_eq!(err.kind(), "registry", "{err}");
    assert!(store
        .release_payload_failure(OKD_STREAM, OKD1)
        .await
        .expect("query")
        .is_some());

    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        registry::USER,
        registry::PASSWORD
    ));
    let auth_file = dir.path().join("auth.json");
    std::fs::write(
        &auth_file,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{basic}"}}}}}}"#,
            registry.host()
        ),
    )
    .expect("auth.json written");
    let reader = PayloadReader::new(ReaderConfig {
        credentials: Credentials::from_auth_file(&auth_file).expect("auth file"),
        insecure_hosts: vec![registry.host().to_string()],
        ..ReaderConfig::default()
    });
    let outcome = reader
        .read_into(&store, &request(&spec, Some((OKD_STREAM, OKD1))))
        .await
        .expect("authenticated read");
    assert!(matches!(outcome, ReadOutcome::Read { .. }), "{outcome:?}");
    let stored = store
        .release_payload(OKD_STREAM, OKD1)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.components.len(), 1);
    assert_eq!(
        store
            .release_payload_failure(OKD_STREAM, OKD1)
            .await
            .expect("query"),
        None
    );
}

/// The release page's declared upgrade sources come from the payload's `release-metadata`
/// once the payload was read, and stay unknown before.
#[tokio::test]
async fn release_detail_shows_the_declared_previous_of_its_payload() {
    use server::backend::StoreBackend;
    use server::ingest::release_controller::PollRegistry;
    use server::store::events::NewEvent;

    let (store, _dir) = sqlite().await;
    let f = fixture().await;
    let tags = serde_json::json!({"name": OKD_STREAM, "tags": [
        {"name": OKD1, "phase": "Accepted", "pullSpec": f.okd1, "downloadURL": ""}]});
    server::events::ingest(
        &store,
        NewEvent {
            source: "origin".into(),
            kind: server::events::RC_TAGS.into(),
            subject: OKD_STREAM.into(),
            payload: tags.to_string(),
            received_at: chrono::Utc::now(),
            external_id: None,
        },
    )
    .await
    .expect("tags");
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());
    let before = backend
        .release(OKD1, Some(OKD_STREAM))
        .await
        .expect("release detail");
    assert_eq!(before.declared_previous, None);

    reader(&f.registry, Limits::default())
        .read_into(&store, &request(&f.okd1, Some((OKD_STREAM, OKD1))))
        .await
        .expect("read");
    let after = backend
        .release(OKD1, Some(OKD_STREAM))
        .await
        .expect("release detail");
    assert_eq!(
        after.declared_previous,
        Some(vec![
            "4.20.0-okd-scos.6".to_string(),
            "4.20.0-okd-scos.7".to_string()
        ])
    );
}
