//! The promotion copy engine against real registries on loopback: component images (OCI,
//! Docker schema 2, a multi-arch index) sharing a base layer and a release payload naming
//! them, copied across registries and within one, into a registry with basic auth, then the
//! payload rebuilt under its release name and read back by our own payload reader; and
//! release signatures made with `gpg`, served by a small HTTP server and checked with `gpgv`.

use crate::support::payloads;
use crate::support::registry;

use crate::support::gpg::Gpg;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::payloads::{
    image_references, payload_config, payload_layers, release_metadata, Spec,
};
use crate::support::registry::{Layer, Pushed, Pusher, Registry};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use server::ingest::payload::{Limits, PayloadReader, ReaderConfig};
use server::oci::credentials::{Credential, Credentials};
use server::promote::copy::{Copier, CopyConfig, CopyItem, Progress};
use server::promote::rebuild::{publish, Rewrite};
use server::promote::signature::{verify, SignatureStore};

const CONTENT: &str = "ocp/4.21-art-dev";
const CI_NAME: &str = "4.21.0-0.okd-scos-2026-02-10-101010";
const NAME: &str = "4.21.0-okd-scos.1";

/// The source registry and what it holds.
struct Source {
    registry: Registry,
    base: Vec<u8>,
    /// Component tag name → pushed image (the index last).
    components: Vec<(String, Pushed)>,
    /// The CI payload, an OCI image manifest, by digest.
    payload: String,
    /// The same payload as an OCI index of amd64 and arm64, by digest.
    payload_index: String,
}

impl Source {
    fn host(&self) -> &str {
        self.registry.host()
    }

    fn items(&self, target_repo: &str) -> Vec<CopyItem> {
        self.components
            .iter()
            .map(|(_, p)| CopyItem {
                source: format!("{}/{CONTENT}@{}", self.host(), p.digest),
                target_repo: target_repo.to_string(),
            })
            .collect()
    }
}

fn spec(name: &'static str) -> Spec<'static> {
    Spec {
        name,
        commit: "4ddd828c588c1277361d89e03933a97595795b48",
        source: "https://github.com/openshift/oc",
        versions: "",
    }
}

fn config(name: &str, arch: &str) -> serde_json::Value {
    serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Labels": {"io.openshift.build.commit.id": "4ddd828c588c1277361d89e03933a97595795b48",
            "io.openshift.build.source-location": "https://github.com/openshift/oc", "name": name}},
        "rootfs": {"type": "layers", "diff_ids": []},
    })
}

async fn source() -> Source {
    let registry = Registry::start().await;
    let p = Pusher::new(registry.host()).await;
    let base = registry::tar_gz(&[
        (
            "etc/os-release",
            b"NAME=\"CentOS Stream\"\nVERSION_ID=\"9\"\n",
        ),
        ("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
    ]);
    let own = |name: &str| Layer::oci(&[(&format!("usr/bin/{name}"), name.as_bytes())]);
    let base_layer = |media_type: &str| Layer {
        media_type: media_type.to_string(),
        bytes: base.clone(),
    };
    let mut components = Vec::new();
    // the release's operator names every component, so none is left out of it
    let names = [
        "cluster-version-operator",
        "cli",
        "hyperkube",
        "installer",
        "machine-os-content",
    ];
    let cvo = payloads::push_operator(&p, CONTENT, &spec(names[0]), &base, &names).await;
    components.push((names[0].to_string(), cvo));
    for name in ["cli", "hyperkube"] {
        let pushed = payloads::push_component(&p, CONTENT, &spec(name), &base).await;
        components.push((name.to_string(), pushed));
    }
    // Docker schema 2 media types throughout
    let mut installer = own("installer");
    installer.media_type = registry::DOCKER_LAYER_GZIP.into();
    let docker = p
        .image(
            CONTENT,
            None,
            &config("installer", "amd64"),
            &[base_layer(registry::DOCKER_LAYER_GZIP), installer],
            true,
        )
        .await;
    components.push(("installer".to_string(), docker));
    // a multi-arch component
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        children.push(
            p.image(
                CONTENT,
                None,
                &config("machine-os", arch),
                &[
                    base_layer(registry::OCI_LAYER_GZIP),
                    own(&format!("machine-os-{arch}")),
                ],
                false,
            )
            .await,
        );
    }
    let index = p
        .index(
            CONTENT,
            None,
            &[
                (&children[0], "linux", "amd64", None),
                (&children[1], "linux", "arm64", Some("v8")),
            ],
        )
        .await;
    components.push(("machine-os-content".to_string(), index));

    let specs: Vec<Spec> = components
        .iter()
        .map(|(n, _)| Spec {
            name: n,
            ..spec("x")
        })
        .collect();
    let refs: Vec<(&Spec, &Pushed)> = specs
        .iter()
        .zip(components.iter().map(|(_, p)| p))
        .collect();
    let references = image_references(CI_NAME, &format!("{}/{CONTENT}", registry.host()), &refs);
    let layers = payload_layers(&base, &references, Some(&release_metadata(CI_NAME, &[])));
    let cvo = &components[0].1;
    let payload = p
        .image(
            "ocp/release",
            Some(CI_NAME),
            &payload_config(CI_NAME, "amd64", cvo),
            &layers,
            false,
        )
        .await;
    // the index payload has no release-metadata: publishing creates it
    let layers = payload_layers(&base, &references, None);
    let amd64 = p
        .image(
            "ocp/release",
            None,
            &payload_config(CI_NAME, "amd64", cvo),
            &layers,
            false,
        )
        .await;
    let arm64 = p
        .image(
            "ocp/release",
            None,
            &payload_config(CI_NAME, "arm64", cvo),
            &layers,
            false,
        )
        .await;
    let index_payload = p
        .index(
            "ocp/release",
            Some(&format!("{CI_NAME}-multi")),
            &[
                (&amd64, "linux", "amd64", None),
                (&arm64, "linux", "arm64", Some("v8")),
            ],
        )
        .await;
    Source {
        payload: format!("{}/ocp/release@{}", registry.host(), payload.digest),
        payload_index: format!("{}/ocp/release@{}", registry.host(), index_payload.digest),
        registry,
        base,
        components,
    }
}

fn copier(registries: &[&Registry], credentials: Credentials) -> Copier {
    Copier::new(CopyConfig {
        credentials,
        insecure_hosts: registries.iter().map(|r| r.host().to_string()).collect(),
        jobs: 4,
        timeout: Duration::from_secs(10),
    })
}

fn basic(registry: &Registry) -> Credentials {
    let mut c = Credentials::default();
    c.insert(
        registry.host(),
        Credential::Basic {
            username: registry::USER.into(),
            password: registry::PASSWORD.into(),
        },
    );
    c
}

/// The raw bytes of a manifest, as a client that is not the copier sees them.
async fn raw_manifest(spec: &str, auth: &RegistryAuth) -> (Vec<u8>, String) {
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let reference: Reference = spec.parse().expect("reference");
    let (bytes, digest) = client
        .pull_manifest_raw(
            &reference,
            auth,
            &[
                registry::OCI_MANIFEST,
                registry::OCI_INDEX,
                registry::DOCKER_MANIFEST,
                "application/vnd.docker.distribution.manifest.list.v2+json",
            ],
        )
        .await
        .expect("manifest pulled");
    (bytes.to_vec(), digest)
}

/// Blob uploads (`PUT …/blobs/uploads/…?digest=…`) the registry completed for `digest`.
fn uploads_of(registry: &Registry, digest: &str) -> usize {
    registry
        .log()
        .lines()
        .filter(|l| l.contains("response completed") && l.contains("http.request.method=PUT"))
        .filter(|l| {
            l.contains("/blobs/uploads/") && l.contains(digest.trim_start_matches("sha256:"))
        })
        .count()
}

/// Blob uploads into `repo`, of any digest.
fn uploads_into(registry: &Registry, repo: &str) -> usize {
    registry
        .log()
        .lines()
        .filter(|l| l.contains("response completed") && l.contains("http.request.method=PUT"))
        .filter(|l| l.contains(&format!("/v2/{repo}/blobs/uploads/")))
        .count()
}

#[tokio::test]
async fn cross_registry_copy_is_byte_exact_and_idempotent() {
    let src = source().await;
    let target = Registry::start().await;
    let c = copier(&[&src.registry, &target], Credentials::default());
    let repo = format!("{}/okd/scos-content", target.host());
    let items = src.items(&repo);

    // the dry-run plan: everything is missing at the target
    let mut blobs = BTreeMap::new();
    let mut manifests = 0;
    for item in &items {
        let inventory = c.inventory(&item.source).await.expect("inventory");
        manifests += inventory.manifests.len();
        for b in inventory.blobs {
            blobs.insert(b.digest.clone(), b.size);
        }
    }
    let index = c
        .inventory(&items[items.len() - 1].source)
        .await
        .expect("index inventory");
    assert_eq!(index.manifests.len(), 3, "two children, then the index");
    assert_eq!(index.manifests[2].digest, index.digest);
    assert_eq!(
        index.blobs.len(),
        5,
        "shared base, two configs, two own layers"
    );
    let digests: Vec<String> = blobs.keys().cloned().collect();
    assert!(c
        .present(&repo, &digests)
        .await
        .expect("present")
        .is_empty());

    let progress = Progress::new();
    let stats = c.copy_images(&items, &progress).await.expect("copied");
    assert_eq!(stats.blobs_copied, blobs.len() as u64, "{stats:?}");
    assert_eq!(stats.bytes_copied, blobs.values().sum::<u64>());
    assert_eq!(stats.blobs_mounted, 0);
    assert_eq!(stats.manifests_pushed, manifests as u64);
    let base = registry::sha256(&src.base);
    assert_eq!(uploads_of(&target, &base), 1, "the shared base layer once");
    let snapshot = progress.snapshot();
    assert_eq!(snapshot.images_done, items.len() as u64);
    assert_eq!(snapshot.images_total, items.len() as u64);
    assert_eq!(snapshot.blobs_done, snapshot.blobs_total);
    assert_eq!(snapshot.bytes_copied, stats.bytes_copied);

    // every manifest resolves at the target, byte for byte
    assert_eq!(
        c.present(&repo, &digests).await.expect("present").len(),
        digests.len()
    );
    for item in &items {
        let inventory = c.inventory(&item.source).await.expect("inventory");
        for m in &inventory.manifests {
            let copied = format!("{repo}@{}", m.digest);
            assert!(c.resolves(&copied).await.expect("resolves"), "{copied}");
            let (theirs, _) = raw_manifest(&copied, &RegistryAuth::Anonymous).await;
            let (ours, _) = raw_manifest(
                &format!("{}/{CONTENT}@{}", src.host(), m.digest),
                &RegistryAuth::Anonymous,
            )
            .await;
            assert_eq!(theirs, ours, "{copied} byte-identical");
        }
    }
    // and as skopeo sees them
    let (_, index_pushed) = &src.components[src.components.len() - 1];
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{repo}@{}", index_pushed.digest))
        .output()
        .expect("skopeo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(registry::sha256(&out.stdout), index_pushed.digest);
    assert!(!c
        .resolves(&format!("{repo}@sha256:{}", "0".repeat(64)))
        .await
        .expect("asked"));

    // a second run transfers nothing
    let again = c
        .copy_images(&items, &Progress::new())
        .await
        .expect("again");
    assert_eq!(again.blobs_copied, 0, "{again:?}");
    assert_eq!(again.bytes_copied, 0);
    assert_eq!(again.manifests_pushed, 0);
    assert_eq!(again.images_skipped, items.len() as u64);
    assert_eq!(again.blobs_skipped, blobs.len() as u64);
    assert_eq!(uploads_of(&target, &base), 1);
}

#[tokio::test]
async fn same_registry_promotion_mounts() {
    let src = source().await;
    let c = copier(&[&src.registry], Credentials::default());
    let repo = format!("{}/okd/scos-content", src.host());
    let items = src.items(&repo);
    let stats = c
        .copy_images(&items, &Progress::new())
        .await
        .expect("copied");
    assert!(stats.blobs_mounted > 0, "{stats:?}");
    assert_eq!(stats.blobs_copied, 0, "{stats:?}");
    assert_eq!(stats.bytes_copied, 0);
    assert_eq!(uploads_into(&src.registry, "okd/scos-content"), 0);
    for item in &items {
        let digest = item.source.rsplit_once('@').expect("digest").1;
        assert!(c
            .resolves(&format!("{repo}@{digest}"))
            .await
            .expect("resolves"));
    }
    let again = c
        .copy_images(&items, &Progress::new())
        .await
        .expect("again");
    assert_eq!(again.blobs_mounted + again.blobs_copied, 0, "{again:?}");
}

#[tokio::test]
async fn basic_auth_registry_works() {
    let src = source().await;
    let target = Registry::start_with_basic_auth().await;
    let repo = format!("{}/okd/scos-content", target.host());
    let items = src.items(&repo);

    let anonymous = copier(&[&src.registry, &target], Credentials::default());
    let err = anonymous
        .copy_images(&items[..1], &Progress::new())
        .await
        .expect_err("no credentials");
    assert_eq!(err.kind(), "denied", "{err}");
    assert!(err.to_string().contains(target.host()), "{err}");

    let c = copier(&[&src.registry, &target], basic(&target));
    let stats = c
        .copy_images(&items, &Progress::new())
        .await
        .expect("copied");
    assert!(stats.blobs_copied > 0);
    for item in &items {
        let digest = item.source.rsplit_once('@').expect("digest").1;
        let spec = format!("{repo}@{digest}");
        assert!(c.resolves(&spec).await.expect("resolves"));
        let (_, pulled) = raw_manifest(
            &spec,
            &RegistryAuth::Basic(registry::USER.into(), registry::PASSWORD.into()),
        )
        .await;
        assert_eq!(pulled, digest);
    }
    // within the authenticated registry: mounted
    let mounted = c
        .copy_images(
            &src.items(&format!("{}/okd/other", target.host()))
                .iter()
                .map(|i| CopyItem {
                    source: format!("{repo}@{}", i.source.rsplit_once('@').expect("digest").1),
                    target_repo: i.target_repo.clone(),
                })
                .collect::<Vec<_>>(),
            &Progress::new(),
        )
        .await
        .expect("mounted");
    assert!(mounted.blobs_mounted > 0, "{mounted:?}");
    assert_eq!(mounted.blobs_copied, 0, "{mounted:?}");
}

/// The rewrite of `src`'s payload onto the copies in `repo`.
fn rewrite(src: &Source, repo: &str) -> Rewrite {
    Rewrite {
        name: NAME.into(),
        previous: vec!["4.20.0-okd-scos.6".into(), "4.20.0-okd-scos.7".into()],
        images: src
            .components
            .iter()
            .map(|(n, p)| (n.clone(), format!("{repo}@{}", p.digest)))
            .collect(),
        from_release: src.payload.clone(),
        created: "2026-03-02T08:00:00Z".parse().expect("time"),
    }
}

/// The files of the last layer (`release-manifests/`) of the payload image at `spec`.
async fn release_manifests(spec: &str) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let (manifest, _) = raw_manifest(spec, &RegistryAuth::Anonymous).await;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).expect("json");
    let digest = manifest["layers"]
        .as_array()
        .and_then(|l| l.last())
        .and_then(|l| l["digest"].as_str())
        .expect("a layer")
        .to_string();
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let reference: Reference = spec.parse().expect("reference");
    let mut blob = Vec::new();
    client
        .pull_blob(&reference, digest.as_str(), &mut blob)
        .await
        .expect("blob pulled");
    let mut files = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").display().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("text");
        files.insert(path, text);
    }
    files
}

fn reader(registries: &[&Registry]) -> PayloadReader {
    PayloadReader::new(ReaderConfig {
        insecure_hosts: registries.iter().map(|r| r.host().to_string()).collect(),
        limits: Limits::default(),
        timeout: Duration::from_secs(5),
        ..ReaderConfig::default()
    })
}

#[tokio::test]
async fn published_payload_points_at_the_mirror() {
    let src = source().await;
    let target = Registry::start().await;
    let c = copier(&[&src.registry, &target], Credentials::default());
    let content = format!("{}/okd/scos-content", target.host());
    c.copy_images(&src.items(&content), &Progress::new())
        .await
        .expect("copied");
    let rw = rewrite(&src, &content);
    let release = format!("{}/okd/scos-release:{NAME}", target.host());

    let published = publish(&c, &src.payload, &rw, &release)
        .await
        .expect("published");
    assert_eq!(published.media_type, registry::OCI_MANIFEST);
    assert!(c.resolves(&release).await.expect("tagged"));
    let read = reader(&[&target]).read(&release).await.expect("readable");
    assert_eq!(read.digest, published.digest);
    assert_eq!(read.name, NAME);
    assert_eq!(
        read.labels.get("io.openshift.release").map(String::as_str),
        Some(NAME)
    );
    assert_eq!(read.components.len(), src.components.len());
    for component in &read.components {
        assert!(
            component.image.starts_with(&format!("{content}@sha256:")),
            "{component:?}"
        );
        assert!(c.resolves(&component.image).await.expect("resolves"));
    }
    let metadata = read.release_metadata.expect("release-metadata");
    assert_eq!(metadata.version, NAME);
    assert_eq!(metadata.previous, rw.previous);
    assert_eq!(
        metadata.metadata.get("url").and_then(|u| u.as_str()),
        Some("https://github.com/okd-project/okd/releases"),
        "other fields kept"
    );
    // the operator manifests name the mirror and the new release, nothing of the source
    let files = release_manifests(&release).await;
    let deployment = &files[payloads::CVO_DEPLOYMENT];
    let cvo = &src
        .components
        .iter()
        .find(|(n, _)| n == "cluster-version-operator")
        .expect("cvo")
        .1;
    assert!(
        deployment.contains(&format!("image: {content}@{}\n", cvo.digest)),
        "{deployment}"
    );
    assert!(
        deployment.contains(&format!("value: \"{NAME}\"")),
        "{deployment}"
    );
    let cli = &src
        .components
        .iter()
        .find(|(n, _)| n == "cli")
        .expect("cli")
        .1;
    assert!(
        deployment.contains(&format!("value: {content}@{}\n", cli.digest)),
        "the operator's other images map too: {deployment}"
    );
    let operator = &files[payloads::PROMOTED_CVO_CLUSTER_OPERATOR];
    assert!(
        operator.contains(&format!("version: \"{NAME}\"")),
        "{operator}"
    );
    assert!(
        !files.contains_key("release-manifests/clusteroperator.yaml")
            && !files.contains_key("release-manifests/image-references.yaml"),
        "{:?}",
        files.keys()
    );
    for (path, text) in &files {
        assert!(
            !text.contains("quay.io/openshift/"),
            "{path} names upstream: {text}"
        );
        assert!(
            !text.contains("0.0.1-snapshot"),
            "{path} keeps a placeholder"
        );
    }
    let references: serde_json::Value =
        serde_json::from_str(&files["release-manifests/image-references"]).expect("json");
    // only the record of where the release came from names the source
    assert!(!references["spec"].to_string().contains(src.host()));
    for (path, text) in files
        .iter()
        .filter(|(p, _)| !p.ends_with("/image-references"))
    {
        assert!(
            !text.contains(src.host()),
            "{path} names the source registry: {text}"
        );
    }
    assert_eq!(
        references["metadata"]["annotations"]["release.openshift.io/from-release"],
        src.payload.as_str()
    );
    // the same inputs give the same digest, here or elsewhere
    let again = publish(&c, &src.payload, &rw, &release)
        .await
        .expect("again");
    assert_eq!(again, published);
    let elsewhere = publish(&c, &src.payload, &rw, &format!("{}/okd/x:y", src.host()))
        .await
        .expect("elsewhere");
    assert_eq!(elsewhere.digest, published.digest);

    // an index payload: every platform rebuilt, release-metadata created
    let multi = format!("{}/okd/scos-release:{NAME}-multi", target.host());
    let published = publish(&c, &src.payload_index, &rw, &multi)
        .await
        .expect("index published");
    assert_eq!(published.media_type, registry::OCI_INDEX);
    let read = reader(&[&target]).read(&multi).await.expect("readable");
    assert_eq!(read.name, NAME);
    assert_eq!(read.platforms.len(), 2, "{:?}", read.platforms);
    assert_eq!(
        read.release_metadata.expect("created").previous,
        rw.previous
    );
    let inventory = c.inventory(&multi).await.expect("inventory");
    assert_eq!(inventory.manifests.len(), 3);
    let (index, _) = raw_manifest(&multi, &RegistryAuth::Anonymous).await;
    let index: serde_json::Value = serde_json::from_slice(&index).expect("json");
    assert_eq!(
        index["manifests"][1]["platform"]["variant"], "v8",
        "index entries keep their platforms"
    );
}

#[tokio::test]
async fn a_component_missing_from_the_rewrite_fails_and_tags_nothing() {
    let src = source().await;
    let c = copier(&[&src.registry], Credentials::default());
    let content = format!("{}/okd/scos-content", src.host());
    let mut rw = rewrite(&src, &content);
    rw.images.remove("hyperkube");
    let release = format!("{}/okd/scos-release:{NAME}", src.host());
    let err = publish(&c, &src.payload, &rw, &release)
        .await
        .expect_err("missing image");
    assert_eq!(err.kind(), "missing_image", "{err}");
    assert!(err.to_string().contains("\"hyperkube\""), "{err}");
    assert!(!c.resolves(&release).await.expect("asked"));
    let err = publish(&c, &src.payload_index, &rw, &release)
        .await
        .expect_err("missing image");
    assert_eq!(err.kind(), "missing_image", "{err}");
    assert!(!c.resolves(&release).await.expect("asked"));
}

#[tokio::test]
async fn a_missing_source_blob_is_named() {
    let src = source().await;
    let target = Registry::start().await;
    let c = copier(&[&src.registry, &target], Credentials::default());
    let (_, cli) = &src.components[1];
    let inventory = c
        .inventory(&format!("{}/{CONTENT}@{}", src.host(), cli.digest))
        .await
        .expect("inventory");
    let own_layer = inventory.blobs.last().expect("a layer").digest.clone();
    let deleted = reqwest::Client::new()
        .delete(format!(
            "http://{}/v2/{CONTENT}/blobs/{own_layer}",
            src.host()
        ))
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let err = c
        .copy_images(
            &src.items(&format!("{}/okd/scos-content", target.host()))[1..2],
            &Progress::new(),
        )
        .await
        .expect_err("blob missing");
    assert_eq!(err.kind(), "not_found", "{err}");
    let message = err.to_string();
    assert!(message.contains(&own_layer), "{message}");
    assert!(message.contains(CONTENT), "{message}");
    assert!(message.contains(src.host()), "{message}");
}

fn signed_content(digest: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {"identity": {"docker-reference": format!("quay.io/okd/scos-release:{NAME}")},
            "image": {"docker-manifest-digest": digest}, "type": "atomic container signature"},
        "optional": {"creator": "Streamgate test", "timestamp": 1_770_000_000},
    }))
    .expect("json")
}

#[tokio::test]
async fn release_signatures_are_fetched_and_verified() {
    let signer = Gpg::new("Streamgate Test <test@example.com>");
    let stranger = Gpg::new("Someone Else <else@example.com>");
    let keys = tempfile::tempdir().expect("keys");
    let keyring = signer.export(&keys.path().join("trusted.gpg"));
    let other_keyring = stranger.export(&keys.path().join("other.gpg"));

    let digest = format!("sha256:{}", "ab".repeat(32));
    let other_digest = format!("sha256:{}", "cd".repeat(32));
    let good = signer.sign(&signed_content(&digest));
    let for_other = signer.sign(&signed_content(&other_digest));
    let hex = digest.trim_start_matches("sha256:").to_string();
    let served = std::sync::Arc::new(vec![good.clone(), for_other.clone()]);
    let app = axum::Router::new().route(
        "/{dir}/{file}",
        axum::routing::get(
            move |axum::extract::Path((dir, file)): axum::extract::Path<(String, String)>| {
                let served = served.clone();
                let hex = hex.clone();
                async move {
                    let n: Option<usize> =
                        file.strip_prefix("signature-").and_then(|n| n.parse().ok());
                    match n {
                        Some(n) if dir == format!("sha256={hex}") && n >= 1 => served
                            .get(n - 1)
                            .map(|s| Ok(s.clone()))
                            .unwrap_or(Err(axum::http::StatusCode::NOT_FOUND)),
                        _ => Err(axum::http::StatusCode::NOT_FOUND),
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let store =
        SignatureStore::new(format!("http://{addr}/"), Duration::from_secs(5)).expect("store");
    let fetched = store.fetch(&digest).await.expect("fetched");
    assert_eq!(fetched, vec![good.clone(), for_other.clone()]);
    assert!(store.fetch(&other_digest).await.expect("none").is_empty());
    assert_eq!(
        store.fetch("sha256:nope").await.expect_err("bad").kind(),
        "invalid_digest"
    );

    let verified = verify(&fetched[0], &keyring, &digest)
        .await
        .expect("good signature");
    assert_eq!(verified.digest, digest);
    assert_eq!(
        verified.identity,
        format!("quay.io/okd/scos-release:{NAME}")
    );
    assert_eq!(verified.creator.as_deref(), Some("Streamgate test"));
    assert_eq!(verified.timestamp, Some(1_770_000_000));
    assert_eq!(verified.fingerprint.len(), 40, "{}", verified.fingerprint);

    let mut tampered = good.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x55;
    let err = verify(&tampered, &keyring, &digest)
        .await
        .expect_err("tampered");
    assert_eq!(err.kind(), "bad_signature", "{err}");

    let err = verify(&fetched[1], &keyring, &digest)
        .await
        .expect_err("another digest");
    assert_eq!(err.kind(), "digest_mismatch", "{err}");
    assert!(err.to_string().contains(&other_digest), "{err}");

    let err = verify(&good, &other_keyring, &digest)
        .await
        .expect_err("unknown key");
    assert_eq!(err.kind(), "unknown_key", "{err}");

    let wrong_type = signer.sign(
        &serde_json::to_vec(&serde_json::json!({
            "critical": {"identity": {"docker-reference": "x"},
                "image": {"docker-manifest-digest": digest}, "type": "something else"}
        }))
        .expect("json"),
    );
    let err = verify(&wrong_type, &keyring, &digest)
        .await
        .expect_err("wrong type");
    assert_eq!(err.kind(), "wrong_type", "{err}");
}
