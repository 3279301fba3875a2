//! Builders of release payloads for the registry tests: components pushed by digest,
//! `image-references`, `release-metadata` and payload images as the release tooling writes
//! them, plus the stores and reader the tests use.

use super::stores;
pub use super::stores::sqlite;

use std::time::Duration;

use super::registry::{self, Layer, Pushed, Pusher, Registry};
use server::ingest::payload::{Limits, PayloadReader, ReaderConfig};
use server::store::Store;

/// A fresh PostgreSQL store for the payload tests.
pub async fn postgres() -> Store {
    stores::postgres("payload").await
}

pub fn reader(registry: &Registry, limits: Limits) -> PayloadReader {
    PayloadReader::new(ReaderConfig {
        insecure_hosts: vec![registry.host().to_string()],
        limits,
        timeout: Duration::from_secs(5),
        ..ReaderConfig::default()
    })
}

/// One component as built: name, commit, source repository, versions label.
pub struct Spec<'a> {
    pub name: &'a str,
    pub commit: &'a str,
    pub source: &'a str,
    pub versions: &'a str,
}

pub const fn spec(
    name: &'static str,
    commit: &'static str,
    source: &'static str,
    versions: &'static str,
) -> Spec<'static> {
    Spec {
        name,
        commit,
        source,
        versions,
    }
}

pub const OKD_COMPONENTS: &[Spec<'static>] = &[
    spec(
        "cluster-version-operator",
        "5b0f1c3d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b",
        "https://github.com/openshift/cluster-version-operator",
        "",
    ),
    spec(
        "cli",
        "4ddd828c588c1277361d89e03933a97595795b48",
        "https://github.com/openshift/oc",
        "",
    ),
    spec(
        "hyperkube",
        "f773b8b2b47b6f908236a76f4cafcb04bb2a43fe",
        "https://github.com/openshift/kubernetes",
        "kubernetes=1.34.2",
    ),
    spec(
        "installer",
        "1f666fd6a58bbb6a6e57d02cb4c1e2d029eb0f20",
        "https://github.com/openshift/installer",
        "",
    ),
    spec(
        "machine-config-operator",
        "8741c5f4c53d527996fa876e5744c7f409fc63e8",
        "https://github.com/openshift/machine-config-operator",
        "",
    ),
    spec("stream-coreos", "", "", "machine-os=9.0.20260210-0"),
];

/// The component that differs between the two OKD payloads.
pub const NEW_INSTALLER: Spec<'static> = spec(
    "installer",
    "9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b5b0f1c3d",
    "https://github.com/openshift/installer",
    "",
);

/// Pushes one component image by digest (as `oc adm release mirror` does) and returns its
/// manifest digest.
pub async fn push_component(p: &Pusher, repo: &str, s: &Spec<'_>, base: &[u8]) -> Pushed {
    push_image(p, repo, s, base, None).await
}

/// Pushes the component images of a release, [`push_component`] for each but the
/// cluster-version-operator, which is the release's operator image ([`operator_manifests`]):
/// its manifests name every component of `specs`, so a promotion has every image to map
/// and leaves none out of the release.
pub async fn push_components(
    p: &Pusher,
    repo: &str,
    specs: &[Spec<'_>],
    base: &[u8],
) -> Vec<Pushed> {
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    let mut pushed = Vec::with_capacity(specs.len());
    for s in specs {
        let manifests = (s.name == "cluster-version-operator")
            .then(|| operator_manifests("cluster-version-operator", &names));
        pushed.push(push_image(p, repo, s, base, manifests).await);
    }
    pushed
}

/// The pull spec the operator's manifests name component `name` by, as built upstream.
pub fn upstream_image(name: &str) -> String {
    format!("quay.io/openshift/origin-{name}:latest")
}

/// The `manifests/` of an operator image (the cluster-version-operator's in most tests):
/// its Deployment (its own image, the `cli` image when the release has one, the
/// `0.0.1-snapshot` placeholder for the release's version), a ClusterOperator, and
/// `image-references` naming `names`.
pub fn operator_manifests(operator: &str, names: &[&str]) -> Vec<(String, Vec<u8>)> {
    let tags: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({"name": n, "from": {"kind": "DockerImage", "name": upstream_image(n)}}))
        .collect();
    let references = serde_json::json!({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "spec": {"tags": tags}});
    let cli = if names.contains(&"cli") {
        format!(
            "        - name: CLI_IMAGE\n          value: {}\n",
            upstream_image("cli")
        )
    } else {
        String::new()
    };
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {operator}\n  \
         namespace: openshift-cluster-version\nspec:\n  template:\n    spec:\n      containers:\n      \
         - name: {operator}\n        image: {}\n        env:\n        \
         - name: RELEASE_VERSION\n          value: \"0.0.1-snapshot\"\n{cli}",
        upstream_image(operator)
    );
    vec![
        (
            format!("manifests/0000_00_{operator}_03_deployment.yaml"),
            deployment.into_bytes(),
        ),
        (
            "manifests/clusteroperator.yaml".to_string(),
            b"apiVersion: config.openshift.io/v1\nkind: ClusterOperator\nmetadata:\n  name: version\nstatus:\n  versions:\n  - name: operator\n    version: \"0.0.1-snapshot\"\n".to_vec(),
        ),
        (
            "manifests/image-references".to_string(),
            serde_json::to_vec_pretty(&references).expect("json"),
        ),
    ]
}

/// Path the CVO's ClusterOperator gets in a promoted payload: `clusteroperator.yaml` of
/// the cluster-version-operator's `manifests/`, given the default run level.
pub const PROMOTED_CVO_CLUSTER_OPERATOR: &str =
    "release-manifests/0000_50_cluster-version-operator_clusteroperator.yaml";

/// Pushes operator image `s` whose manifests ([`operator_manifests`]) name `names`.
pub async fn push_operator(
    p: &Pusher,
    repo: &str,
    s: &Spec<'_>,
    base: &[u8],
    names: &[&str],
) -> Pushed {
    push_image(p, repo, s, base, Some(operator_manifests(s.name, names))).await
}

async fn push_image(
    p: &Pusher,
    repo: &str,
    s: &Spec<'_>,
    base: &[u8],
    manifests: Option<Vec<(String, Vec<u8>)>>,
) -> Pushed {
    let mut labels = serde_json::json!({
        "io.openshift.build.commit.id": s.commit,
        "io.openshift.build.commit.ref": "main",
        "io.openshift.build.source-location": s.source,
        "io.openshift.build.versions": s.versions,
        "vcs-ref": s.commit, "vcs-type": "git", "vcs-url": s.source,
        "name": s.name,
    });
    if manifests.is_some() {
        labels["io.openshift.release.operator"] = serde_json::json!("true");
    }
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    let binary = format!("#!/bin/sh\necho {} {}\n", s.name, s.commit);
    let mut layers = vec![
        Layer {
            media_type: registry::OCI_LAYER_GZIP.into(),
            bytes: base.to_vec(),
        },
        Layer::oci(&[(&format!("usr/bin/{}", s.name), binary.as_bytes())]),
    ];
    if let Some(files) = &manifests {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
        layers.push(Layer::oci(&files));
    }
    p.image(repo, None, &config, &layers, false).await
}

pub fn image_references(name: &str, repo: &str, components: &[(&Spec, &Pushed)]) -> String {
    let tags: Vec<serde_json::Value> = components
        .iter()
        .map(|(s, pushed)| {
            let mut annotations = serde_json::json!({
                "io.openshift.build.commit.id": s.commit,
                "io.openshift.build.commit.ref": "",
                "io.openshift.build.source-location": s.source,
            });
            if !s.versions.is_empty() {
                annotations["io.openshift.build.versions"] = serde_json::json!(s.versions);
            }
            serde_json::json!({
                "name": s.name, "annotations": annotations,
                "from": {"kind": "DockerImage", "name": format!("{repo}@{}", pushed.digest)},
                "generation": null, "importPolicy": {}, "referencePolicy": {"type": ""},
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "creationTimestamp": "2026-02-16T05:12:44Z",
            "annotations": {"release.openshift.io/from-image-stream": "origin/4.21-okd-scos-art-latest"}},
        "spec": {"lookupPolicy": {"local": false}, "tags": tags},
        "status": {"dockerImageRepository": ""},
    }))
    .expect("json")
}

pub fn release_metadata(version: &str, previous: &[&str]) -> String {
    serde_json::json!({"kind": "cincinnati-metadata-v0", "version": version,
        "previous": previous, "metadata": {"url": "https://github.com/okd-project/okd/releases"}})
    .to_string()
}

/// A payload image's config.
pub fn payload_config(name: &str, arch: &str, cvo: &Pushed) -> serde_json::Value {
    serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Labels": {
            "io.openshift.release": name,
            "io.openshift.release.base-image-digest": cvo.digest,
            "io.openshift.build.commit.id": "5b0f1c3d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b",
            "io.openshift.build.source-location": "https://github.com/openshift/cluster-version-operator",
            "vcs-ref": "5b0f1c3d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b",
            "vcs-url": "https://github.com/openshift/cluster-version-operator",
        }},
        "history": [{"comment": "Release image for OpenShift"}],
        "rootfs": {"type": "layers", "diff_ids": []},
    })
}

/// Path of the CVO's Deployment in a payload of [`payload_layers`].
pub const CVO_DEPLOYMENT: &str =
    "release-manifests/0000_00_cluster-version-operator_03_deployment.yaml";

/// The CVO's Deployment as a built payload has it: naming the CVO image by the pull spec
/// `references` gives it and the release's version (its name) as the CI build stamped it.
fn cvo_deployment(references: &str) -> String {
    let refs: serde_json::Value = serde_json::from_str(references).unwrap_or_default();
    let image = refs["spec"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == "cluster-version-operator")
        .and_then(|t| t["from"]["name"].as_str())
        .unwrap_or("quay.io/openshift/origin-cluster-version-operator:latest");
    let version = refs["metadata"]["name"]
        .as_str()
        .unwrap_or("0.0.1-snapshot");
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cluster-version-operator\n  \
         namespace: openshift-cluster-version\nspec:\n  template:\n    spec:\n      containers:\n      \
         - name: cluster-version-operator\n        image: {image}\n        env:\n        \
         - name: RELEASE_VERSION\n          value: \"{version}\"\n"
    )
}

/// The layers of a payload: a base, the CVO binary and `release-manifests/`.
pub fn payload_layers(base: &[u8], references: &str, metadata: Option<&str>) -> Vec<Layer> {
    let deployment = cvo_deployment(references);
    let mut files: Vec<(&str, &[u8])> = vec![
        (CVO_DEPLOYMENT, deployment.as_bytes()),
        ("release-manifests/image-references", references.as_bytes()),
    ];
    if let Some(m) = metadata {
        files.push(("release-manifests/release-metadata", m.as_bytes()));
    }
    vec![
        Layer {
            media_type: registry::OCI_LAYER_GZIP.into(),
            bytes: base.to_vec(),
        },
        Layer::oci(&[("usr/bin/cluster-version-operator", b"\x7fELF cvo")]),
        Layer::oci(&files),
    ]
}
