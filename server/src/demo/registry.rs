//! The demo's registry: release payloads and component images for the demo's releases,
//! built from the data set and pushed to a real registry on loopback, so the payload worker
//! reads them as it reads production payloads and demo releases can be promoted.
//!
//! [`Seed::plan`] builds every image in memory (deterministic bytes, so deterministic
//! digests): one image per distinct component build — OCP CI's go to
//! `<host>/ocp/4.N-art-latest`, OKD's own to `<host>/origin/scos-content` (or
//! `origin/okd-content` for Fedora CoreOS) — and one payload per release worth showing: the
//! newest [`CI_PAYLOADS`] tags of each CI stream that are not `Failed`, and every tag of the
//! stable streams. A payload carries `release-manifests/image-references` naming its
//! components by `repo@digest` with their build annotations, and `release-metadata`.
//! [`Seed::apply`] then points the data set at the registry (pull specs under `<host>/`, the
//! seeded tags' digests the payloads' real ones), and [`Seed::push`] pushes what the
//! registry does not hold yet, manifests byte for byte.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::image::{self, Arch, Blob, Image, ImageError, Layer, OCI_INDEX, OCI_MANIFEST};
use super::operators;
use crate::formats::payload::{COMMIT_ID, COMMIT_REF, SOURCE_LOCATION, VERSIONS};
use crate::promote::payload::{
    self,
    operators::{Component, FileBody, ManifestFile, OPERATOR_LABEL},
};
use crate::replay::dataset::{rfc3339, BuiltBy, ComponentData, Dataset, TagData, PHASE_FAILED};

/// How many of the newest tags of each CI stream get a payload.
pub const CI_PAYLOADS: usize = 6;
/// The minor whose payloads (OCP CI's and OKD/SCOS's) are multi-arch indexes for
/// `linux/amd64` and `linux/arm64`; every other payload is a single `linux/amd64` image.
pub const MULTI_ARCH_MINOR: u32 = 21;
/// Components OKD/SCOS mirrors from OCP CI on amd64 but builds as OKD variants on arm64:
/// the demo's case of a provenance that differs by platform.
pub const OKD_BUILT_ON_ARM64: &[&str] = &["haproxy-router"];
/// Pushes in flight at once.
const JOBS: usize = 8;
/// Registry hosts of the upstream pull specs the demo data set names.
const UPSTREAM_HOSTS: &[&str] = &["registry.ci.openshift.org", "quay.io"];

/// Why the demo registry could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// An image could not be built.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The registry refused or failed a request.
    #[error("demo registry: {what}: {source}")]
    Registry {
        /// What was being pushed.
        what: String,
        /// The error.
        source: OciDistributionError,
    },
    /// A pull spec or media type that does not parse.
    #[error("demo registry: invalid {0}")]
    Invalid(String),
}

/// An image to push by digest into a repository.
#[derive(Debug, Clone)]
struct ComponentImage {
    repo: String,
    image: Image,
}

/// A payload (one image per architecture, amd64 first, and their index when there are
/// more than one) and the `repo:tag`s it is pushed under.
#[derive(Debug, Clone)]
struct PayloadImage {
    images: Vec<(Arch, Image)>,
    index: Option<Blob>,
    /// The component images its platforms name (indexes into [`Seed::components`]).
    components: Vec<usize>,
    /// `(repository, tag)`.
    tags: Vec<(String, String)>,
}

impl PayloadImage {
    /// The digest its tags point at: the index's, else the single image's.
    fn digest(&self) -> &str {
        match (&self.index, self.images.first()) {
            (Some(index), _) => &index.digest,
            (None, Some((_, image))) => image.digest(),
            (None, None) => "",
        }
    }
}

/// Everything the demo pushes to its registry, built from a data set.
#[derive(Debug, Clone)]
pub struct Seed {
    host: String,
    components: Vec<ComponentImage>,
    payloads: Vec<PayloadImage>,
    /// Data-set digest → the seeded payload's digest.
    digests: BTreeMap<String, String>,
}

/// What [`Seed::push`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Component images pushed.
    pub components_pushed: usize,
    /// Payload tags pushed.
    pub payloads_pushed: usize,
    /// Images and tags the registry already held.
    pub skipped: usize,
    /// How long it took.
    pub elapsed: Duration,
}

impl SeedReport {
    /// Images and tags pushed.
    pub fn pushed(&self) -> usize {
        self.components_pushed + self.payloads_pushed
    }
}

/// The minor version of a release name (`4.21.0-…` → 21).
fn minor(name: &str) -> u32 {
    name.split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_default()
}

/// `upstream-host/path` → `path`, for the demo registry to serve under its own host.
fn repo_path(pull_repo: &str) -> &str {
    match pull_repo.split_once('/') {
        Some((host, path)) if UPSTREAM_HOSTS.contains(&host) => path,
        _ => pull_repo,
    }
}

/// Who built component `c`'s image for `arch` in a payload of OKD/SCOS (`scos`) or not.
fn built_by(c: &ComponentData, arch: Arch, scos: bool) -> BuiltBy {
    if scos && arch == Arch::Arm64 && OKD_BUILT_ON_ARM64.contains(&c.name.as_str()) {
        BuiltBy::Okd
    } else {
        c.built_by
    }
}

/// The repository a component image built by `built_by` lives in.
fn component_repo(built_by: BuiltBy, minor: u32, fedora: bool) -> String {
    match (built_by, fedora) {
        (BuiltBy::Ocp, _) => format!("ocp/4.{minor}-art-latest"),
        (BuiltBy::Okd, false) => "origin/scos-content".to_string(),
        (BuiltBy::Okd, true) => "origin/okd-content".to_string(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
        .collect()
}

/// The layer of component `name`'s binary, the same at every commit (the build labels tell
/// the images apart), so each repository holds it once.
fn binary_layer(name: &str) -> Result<Layer, ImageError> {
    let binary = format!("#!/bin/sh\nexec echo '{name}'\n");
    Layer::of(&[(&format!("usr/bin/{name}"), binary.as_bytes())])
}

/// A component image for `arch`: the shared base layer, the component's binary, for an
/// operator its `manifests/` ([`operators`]), build labels.
fn component_image(
    c: &ComponentData,
    arch: Arch,
    built_by: BuiltBy,
    layers: (&Layer, &Layer, Option<&Layer>),
) -> Result<Image, ImageError> {
    let (base, own, manifests) = layers;
    let built_by = match built_by {
        BuiltBy::Ocp => "ocp",
        BuiltBy::Okd => "okd",
    };
    let commit_url = format!("{}/commit/{}", c.source, c.commit);
    let operator = if manifests.is_some() { "true" } else { "" };
    let mut layers = vec![base.clone(), own.clone()];
    layers.extend(manifests.cloned());
    Image::build_for(
        arch,
        &labels(&[
            ("name", &c.name),
            ("io.k8s.display-name", &c.name),
            (COMMIT_ID, &c.commit),
            (COMMIT_REF, "main"),
            ("io.openshift.build.commit.url", &commit_url),
            (SOURCE_LOCATION, &c.source),
            (VERSIONS, &c.versions),
            (OPERATOR_LABEL, operator),
            ("vcs-ref", &c.commit),
            ("vcs-type", "git"),
            ("vcs-url", &c.source),
        ]),
        &format!("built by {built_by} CI from {}", c.source),
        layers,
    )
}

/// The layer of `manifests/` of component `tag` in a payload of `tags` whose machine OS
/// image is `os_tag`; `None` when it is not an operator.
fn manifests_layer(tag: &str, tags: &[&str], os_tag: &str) -> Result<Option<Layer>, ImageError> {
    let files = operators::manifests(tag, tags, os_tag);
    if files.is_empty() {
        return Ok(None);
    }
    let paths: Vec<(String, &[u8])> = files
        .iter()
        .map(|(name, body)| (format!("manifests/{name}"), body.as_slice()))
        .collect();
    let entries: Vec<(&str, &[u8])> = paths.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    Layer::of(&entries).map(Some)
}

/// The files of an operator's `manifests/`: name and content.
type OperatorFiles = Vec<(String, Vec<u8>)>;

/// The payload's `release-manifests/` layer as `oc adm release new` builds it from the
/// payload's `image-references` (`references`), `release-metadata` and its operator images
/// (`operators`: tag and `manifests/` files).
fn release_manifests(
    name: &str,
    references: &[u8],
    metadata: &[u8],
    operators: Vec<(String, OperatorFiles)>,
) -> Result<Layer, SeedError> {
    let invalid = |e: String| SeedError::Invalid(format!("release manifests of {name}: {e}"));
    let stream: serde_json::Value =
        serde_json::from_slice(references).map_err(|e| invalid(e.to_string()))?;
    let operators: Vec<(String, Arc<Component>)> = operators
        .into_iter()
        .map(|(tag, files)| {
            let manifests = files
                .into_iter()
                .map(|(name, body)| ManifestFile {
                    name,
                    mtime: 0,
                    body: FileBody::Inline(body.into()),
                })
                .collect();
            let component = Component {
                labels: BTreeMap::from([(OPERATOR_LABEL.to_string(), "true".to_string())]),
                manifests: Some(manifests),
            };
            (tag, Arc::new(component))
        })
        .collect();
    let dir = tempfile::tempdir().map_err(|e| invalid(e.to_string()))?;
    let dst = dir.path().join("release-manifests.tar.gz");
    let written = payload::assemble(stream, metadata, &operators, name, &dst)
        .map_err(|e| invalid(e.to_string()))?;
    let bytes = std::fs::read(&written.path).map_err(|e| invalid(e.to_string()))?;
    Ok(Layer {
        blob: Blob::new(bytes),
        diff_id: written.diff_id,
    })
}

/// `release-manifests/image-references`: an ImageStream of the components.
fn image_references(
    tag: &TagData,
    from_stream: &str,
    components: &[(&ComponentData, String)],
) -> Result<Vec<u8>, ImageError> {
    let tags: Vec<serde_json::Value> = components
        .iter()
        .map(|(c, image)| {
            let mut annotations = serde_json::json!({
                COMMIT_ID: c.commit,
                COMMIT_REF: "",
                SOURCE_LOCATION: c.source,
            });
            if !c.versions.is_empty() {
                annotations[VERSIONS] = serde_json::json!(c.versions);
            }
            serde_json::json!({
                "name": c.name,
                "annotations": annotations,
                "from": {"kind": "DockerImage", "name": image},
                "generation": null,
                "importPolicy": {},
                "referencePolicy": {"type": ""},
            })
        })
        .collect();
    Ok(serde_json::to_vec_pretty(&serde_json::json!({
        "kind": "ImageStream",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {
            "name": tag.name,
            "creationTimestamp": rfc3339(tag.created),
            "annotations": {"release.openshift.io/from-image-stream": from_stream},
        },
        "spec": {"lookupPolicy": {"local": false}, "tags": tags},
        "status": {"dockerImageRepository": ""},
    }))?)
}

/// `release-manifests/release-metadata`: the version and the declared upgrade sources.
fn release_metadata(tag: &TagData, okd: bool) -> Result<Vec<u8>, ImageError> {
    let previous: BTreeSet<&str> = tag
        .upgrades_to
        .iter()
        .map(|e| e.from.as_str())
        .chain(tag.previous.iter().map(String::as_str))
        .collect();
    let url = if okd {
        "https://github.com/okd-project/okd/releases"
    } else {
        "https://docs.openshift.com/container-platform/latest/release_notes/"
    };
    Ok(serde_json::to_vec(&serde_json::json!({
        "kind": "cincinnati-metadata-v0",
        "version": tag.name,
        "previous": previous,
        "metadata": {"url": url},
    }))?)
}

/// The tags of `stream` that get a payload: every tag of a stable stream, the newest
/// [`CI_PAYLOADS`] of a CI stream that are not `Failed`.
fn wanted(stable: bool, tags: &[TagData]) -> Vec<&TagData> {
    let mut tags: Vec<&TagData> = tags
        .iter()
        .filter(|t| t.final_phase != PHASE_FAILED && !t.components.is_empty())
        .collect();
    if !stable {
        tags.sort_by_key(|t| std::cmp::Reverse(t.created));
        tags.truncate(CI_PAYLOADS);
    }
    tags
}

impl Seed {
    /// Builds every image for `dataset` in a registry at `host` (`127.0.0.1:PORT`).
    pub fn plan(dataset: &Dataset, host: &str) -> Result<Seed, SeedError> {
        let base = Layer::of(&[(
            "etc/os-release",
            b"NAME=\"Streamgate demo\"\nID=streamgate-demo\nVERSION_ID=1\n".as_slice(),
        )])?;
        let streams: Vec<_> = dataset
            .controllers
            .iter()
            .flat_map(|c| &c.streams)
            .collect();
        // the data-set digests worth a payload
        let mut chosen: BTreeSet<&str> = BTreeSet::new();
        for stream in &streams {
            for tag in wanted(stream.stable, &stream.tags) {
                chosen.insert(&tag.digest);
            }
        }
        // a payload is built as its first CI tag (a promotion keeps the CI payload)
        let mut builds: BTreeMap<&str, &TagData> = BTreeMap::new();
        let mut tags_of: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        let ordered = streams
            .iter()
            .filter(|s| !s.stable)
            .chain(streams.iter().filter(|s| s.stable));
        for stream in ordered {
            for tag in stream
                .tags
                .iter()
                .filter(|t| chosen.contains(t.digest.as_str()))
            {
                builds.entry(&tag.digest).or_insert(tag);
                tags_of
                    .entry(&tag.digest)
                    .or_default()
                    .push((repo_path(&stream.pull_repo).to_string(), tag.name.clone()));
            }
        }

        let mut components: Vec<ComponentImage> = Vec::new();
        let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut payloads = Vec::new();
        let mut digests = BTreeMap::new();
        let mut binaries: BTreeMap<&str, Layer> = BTreeMap::new();
        let mut manifest_layers: BTreeMap<(String, String), Option<Layer>> = BTreeMap::new();
        for (digest, tag) in builds {
            let minor = minor(&tag.name);
            let fedora = tag.components.iter().any(|c| c.name == "fedora-coreos");
            let okd = tag.components.iter().any(|c| c.built_by == BuiltBy::Okd);
            let arches: &[Arch] = if minor == MULTI_ARCH_MINOR {
                &[Arch::Amd64, Arch::Arm64]
            } else {
                &[Arch::Amd64]
            };
            let mut images = Vec::with_capacity(arches.len());
            let mut used = Vec::with_capacity(tag.components.len() * arches.len());
            let tags: Vec<&str> = tag.components.iter().map(|c| c.name.as_str()).collect();
            let os_tag = tag
                .components
                .iter()
                .find(|c| c.versions.starts_with("machine-os="))
                .map_or("", |c| c.name.as_str());
            for &arch in arches {
                let mut named = Vec::with_capacity(tag.components.len());
                let mut cvo = None;
                let mut operator_files = Vec::new();
                for c in &tag.components {
                    let by = built_by(c, arch, okd && !fedora);
                    let repo = component_repo(by, minor, fedora);
                    let own = match binaries.entry(c.name.as_str()) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => e.insert(binary_layer(&c.name)?),
                    };
                    let key = (c.name.clone(), os_tag.to_string());
                    let manifests = match manifest_layers.entry(key) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => e.insert(manifests_layer(&c.name, &tags, os_tag)?),
                    };
                    if manifests.is_some() {
                        operator_files
                            .push((c.name.clone(), operators::manifests(&c.name, &tags, os_tag)));
                    }
                    let image = component_image(c, arch, by, (&base, own, manifests.as_ref()))?;
                    let key = (repo.clone(), image.digest().to_string());
                    let i = *index.entry(key).or_insert_with(|| {
                        components.push(ComponentImage {
                            repo: repo.clone(),
                            image: image.clone(),
                        });
                        components.len() - 1
                    });
                    named.push((c, format!("{host}/{repo}@{}", image.digest())));
                    used.push(i);
                    if c.name == "cluster-version-operator" {
                        cvo = Some((i, c));
                    }
                }
                // the payload image is the CVO's with `release-manifests/` on top
                let (cvo, cvo_data) = cvo.ok_or_else(|| {
                    SeedError::Invalid(format!("payload {} without a CVO", tag.name))
                })?;
                let cvo = &components[cvo].image;
                let from_stream = match (okd, fedora) {
                    (false, _) => format!("ocp/4.{minor}-art-latest"),
                    (true, false) => format!("origin/scos-4.{minor}"),
                    (true, true) => format!("origin/4.{minor}"),
                };
                let manifests = release_manifests(
                    &tag.name,
                    &image_references(tag, &from_stream, &named)?,
                    &release_metadata(tag, okd)?,
                    operator_files,
                )?;
                let mut layers = cvo.layers.clone();
                layers.push(manifests);
                let image = Image::build_for(
                    arch,
                    &labels(&[
                        ("io.openshift.release", &tag.name),
                        ("io.openshift.release.base-image-digest", cvo.digest()),
                        (COMMIT_ID, &cvo_data.commit),
                        (SOURCE_LOCATION, &cvo_data.source),
                        ("vcs-ref", &cvo_data.commit),
                        ("vcs-type", "git"),
                        ("vcs-url", &cvo_data.source),
                    ]),
                    &format!("release image {}", tag.name),
                    layers,
                )?;
                images.push((arch, image));
            }
            let index = if images.len() > 1 {
                let entries: Vec<(Arch, &Image)> = images.iter().map(|(a, i)| (*a, i)).collect();
                Some(image::index(&entries)?)
            } else {
                None
            };
            used.sort_unstable();
            used.dedup();
            let payload = PayloadImage {
                images,
                index,
                components: used,
                tags: tags_of.remove(digest).unwrap_or_default(),
            };
            digests.insert(digest.to_string(), payload.digest().to_string());
            payloads.push(payload);
        }
        Ok(Seed {
            host: host.to_string(),
            components,
            payloads,
            digests,
        })
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// How many component images and payload tags the seed holds.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.components.len(),
            self.payloads.iter().map(|p| p.tags.len()).sum(),
        )
    }

    /// The pushed payload's digest for a data-set digest, if it is seeded.
    pub fn payload_digest(&self, dataset_digest: &str) -> Option<&str> {
        self.digests.get(dataset_digest).map(String::as_str)
    }

    /// Points `dataset` at the registry: every stream's pull specs (and promotions' sources)
    /// under `<host>/`, and the seeded tags' digests — in their changelogs too — the real
    /// digests of their payloads. Apply it to the data set the seed was planned from.
    pub fn apply(&self, dataset: &mut Dataset) {
        let rehome = |spec: &str| format!("{}/{}", self.host, repo_path(spec));
        let digest = |d: &mut String| {
            if let Some(real) = self.digests.get(d.as_str()) {
                d.clone_from(real);
            }
        };
        for stream in dataset
            .controllers
            .iter_mut()
            .flat_map(|c| c.streams.iter_mut())
        {
            stream.pull_repo = rehome(&stream.pull_repo);
            for tag in &mut stream.tags {
                digest(&mut tag.digest);
                digest(&mut tag.changelog.to.digest);
                digest(&mut tag.changelog.from.digest);
                if let Some(from) = tag.changelog.to.promoted_from.as_mut() {
                    *from = rehome(from);
                }
            }
        }
    }

    /// Pushes what the registry does not hold yet: first each payload tag is checked
    /// (`HEAD`); for the payloads with a tag missing, the layers they and their components
    /// share are pushed once per repository unless present, then the components by digest
    /// (checked first unless the registry held no payload at all), then the payloads by tag.
    pub async fn push(&self) -> Result<SeedReport, SeedError> {
        let started = Instant::now();
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(vec![self.host.clone()]),
            use_monolithic_push: true,
            max_concurrent_upload: JOBS,
            ..ClientConfig::default()
        });
        client
            .store_auth_if_needed(&self.host, &RegistryAuth::Anonymous)
            .await;
        let mut report = SeedReport::default();

        let targets: Vec<(&PayloadImage, &str, &str)> = self
            .payloads
            .iter()
            .flat_map(|p| {
                p.tags
                    .iter()
                    .map(move |(repo, tag)| (p, repo.as_str(), tag.as_str()))
            })
            .collect();
        let checks: Vec<_> = targets
            .iter()
            .map(|(p, repo, tag)| self.holds(&client, repo, Some(tag), p.digest()))
            .collect();
        let held: Vec<bool> = futures_util::stream::iter(checks)
            .buffered(JOBS)
            .collect()
            .await;
        let fresh = !held.iter().any(|h| *h);
        let missing: Vec<(&PayloadImage, &str, &str)> = targets
            .into_iter()
            .zip(held)
            .filter_map(|(target, held)| (!held).then_some(target))
            .collect();
        report.skipped = self.payloads.iter().map(|p| p.tags.len()).sum::<usize>() - missing.len();
        if missing.is_empty() {
            report.elapsed = started.elapsed();
            return Ok(report);
        }

        // layers: every component layer, and the payloads' all but their own top one
        let needed: BTreeSet<usize> = missing
            .iter()
            .flat_map(|(p, _, _)| p.components.iter().copied())
            .collect();
        let mut layers: BTreeMap<(&str, &str), &Blob> = BTreeMap::new();
        for c in needed.iter().map(|i| &self.components[*i]) {
            for layer in &c.image.layers {
                layers.insert((&c.repo, &layer.blob.digest), &layer.blob);
            }
        }
        for (p, repo, _) in &missing {
            for (_, image) in &p.images {
                let shared = image.layers.len().saturating_sub(1);
                for layer in &image.layers[..shared] {
                    layers.insert((repo, &layer.blob.digest), &layer.blob);
                }
            }
        }
        let uploads: Vec<_> = layers
            .iter()
            .map(|((repo, _), blob)| self.ensure_blob(&client, repo, blob))
            .collect();
        futures_util::stream::iter(uploads)
            .buffer_unordered(JOBS)
            .try_collect::<Vec<()>>()
            .await?;

        let components: Vec<_> = needed
            .iter()
            .map(|i| self.push_component(&client, &self.components[*i], fresh))
            .collect();
        let pushed: Vec<bool> = futures_util::stream::iter(components)
            .buffer_unordered(JOBS)
            .try_collect()
            .await?;
        report.components_pushed = pushed.iter().filter(|p| **p).count();
        report.skipped += pushed.len() - report.components_pushed;

        // config and top layer once per repository and platform image, then those images'
        // manifests by digest, then every tag (of the index, or of the single image)
        let mut tops: BTreeMap<(&str, &str), &Image> = BTreeMap::new();
        for (p, repo, _) in &missing {
            for (_, image) in &p.images {
                tops.insert((*repo, image.digest()), image);
            }
        }
        let uploads: Vec<_> = tops
            .iter()
            .map(|((repo, _), image)| self.push_top(&client, repo, image))
            .collect();
        futures_util::stream::iter(uploads)
            .buffer_unordered(JOBS)
            .try_collect::<Vec<()>>()
            .await?;
        let platform_manifests: Vec<_> = missing
            .iter()
            .filter(|(p, _, _)| p.index.is_some())
            .flat_map(|(p, repo, _)| p.images.iter().map(move |(_, image)| (*repo, image)))
            .map(|(repo, image)| {
                self.push_manifest(&client, repo, None, &image.manifest, OCI_MANIFEST)
            })
            .collect();
        futures_util::stream::iter(platform_manifests)
            .buffer_unordered(JOBS)
            .try_collect::<Vec<()>>()
            .await?;
        let manifests: Vec<_> = missing
            .iter()
            .filter_map(|(p, repo, tag)| {
                let (blob, media_type) = match (&p.index, p.images.first()) {
                    (Some(index), _) => (index, OCI_INDEX),
                    (None, Some((_, image))) => (&image.manifest, OCI_MANIFEST),
                    (None, None) => return None,
                };
                Some(self.push_manifest(&client, repo, Some(tag), blob, media_type))
            })
            .collect();
        futures_util::stream::iter(manifests)
            .buffer_unordered(JOBS)
            .try_collect::<Vec<()>>()
            .await?;
        report.payloads_pushed = missing.len();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Whether the registry holds manifest `digest` under `tag` (or by digest): one `HEAD`.
    async fn holds(&self, client: &Client, repo: &str, tag: Option<&str>, digest: &str) -> bool {
        let reference = self.reference(repo, tag, digest);
        client
            .fetch_manifest_digest(&reference, &RegistryAuth::Anonymous)
            .await
            .is_ok_and(|d| d == digest)
    }

    fn reference(&self, repo: &str, tag: Option<&str>, digest: &str) -> Reference {
        match tag {
            Some(tag) => Reference::with_tag(self.host.clone(), repo.to_string(), tag.to_string()),
            None => Reference::with_digest(self.host.clone(), repo.to_string(), digest.to_string()),
        }
    }

    async fn ensure_blob(&self, client: &Client, repo: &str, blob: &Blob) -> Result<(), SeedError> {
        let reference = self.reference(repo, None, &blob.digest);
        let present = client
            .blob_exists(&reference, &blob.digest)
            .await
            .map_err(|source| SeedError::Registry {
                what: format!("blob {} in {repo}", blob.digest),
                source,
            })?;
        if !present {
            self.push_blob(client, repo, blob).await?;
        }
        Ok(())
    }

    async fn push_blob(&self, client: &Client, repo: &str, blob: &Blob) -> Result<(), SeedError> {
        let reference = self.reference(repo, None, &blob.digest);
        client
            .push_blob(&reference, blob.bytes.clone(), &blob.digest)
            .await
            .map_err(|source| SeedError::Registry {
                what: format!("blob {} to {repo}", blob.digest),
                source,
            })?;
        Ok(())
    }

    /// A payload's config and top layer (its `release-manifests/`).
    async fn push_top(&self, client: &Client, repo: &str, image: &Image) -> Result<(), SeedError> {
        self.ensure_blob(client, repo, &image.config).await?;
        if let Some(top) = image.layers.last() {
            self.ensure_blob(client, repo, &top.blob).await?;
        }
        Ok(())
    }

    /// Pushes manifest (or index) `blob` of `media_type` under `tag`, or by its digest.
    async fn push_manifest(
        &self,
        client: &Client,
        repo: &str,
        tag: Option<&str>,
        blob: &Blob,
        media_type: &str,
    ) -> Result<(), SeedError> {
        let reference = self.reference(repo, tag, &blob.digest);
        let content_type = media_type
            .parse()
            .map_err(|_| SeedError::Invalid(format!("media type {media_type}")))?;
        client
            .push_manifest_raw(&reference, blob.bytes.clone(), content_type)
            .await
            .map_err(|source| SeedError::Registry {
                what: format!("manifest {}", reference.whole()),
                source,
            })?;
        Ok(())
    }

    /// Pushes one component image's config and manifest (its layers are there), unless
    /// the registry has it — not asked of a `fresh` registry; whether it pushed.
    async fn push_component(
        &self,
        client: &Client,
        component: &ComponentImage,
        fresh: bool,
    ) -> Result<bool, SeedError> {
        if !fresh
            && self
                .holds(client, &component.repo, None, component.image.digest())
                .await
        {
            return Ok(false);
        }
        self.push_blob(client, &component.repo, &component.image.config)
            .await?;
        self.push_manifest(
            client,
            &component.repo,
            None,
            &component.image.manifest,
            OCI_MANIFEST,
        )
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HOST: &str = "127.0.0.1:5999";

    fn anchor() -> chrono::DateTime<chrono::Utc> {
        chrono::Utc
            .with_ymd_and_hms(2026, 2, 11, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn plans_are_deterministic_and_point_the_data_set_at_the_registry() {
        let mut data = Dataset::demo(anchor()).expect("demo data");
        let seed = Seed::plan(&data, HOST).expect("plan");
        let again = Seed::plan(&Dataset::demo(anchor()).expect("demo data"), HOST).expect("plan");
        assert_eq!(seed.digests, again.digests);
        let other = Seed::plan(
            &Dataset::demo(anchor()).expect("demo data"),
            "127.0.0.1:6000",
        )
        .expect("plan");
        assert!(
            seed.digests
                .values()
                .all(|d| !other.digests.values().any(|o| o == d)),
            "payloads name their registry"
        );
        seed.apply(&mut data);
        for stream in data.controllers.iter().flat_map(|c| &c.streams) {
            assert!(
                stream.pull_repo.starts_with("127.0.0.1:5999/"),
                "{}",
                stream.pull_repo
            );
            let seeded: Vec<&TagData> = stream
                .tags
                .iter()
                .filter(|t| seed.digests.values().any(|d| *d == t.digest))
                .collect();
            // CI tags promoted to a stable stream get their payload too
            let expected = if stream.stable {
                stream.tags.len()
            } else {
                CI_PAYLOADS
            };
            assert!(seeded.len() >= expected, "{}", stream.name);
            for tag in &stream.tags {
                assert!(tag.changelog.to.name.is_empty() || tag.changelog.to.digest == tag.digest);
                if let Some(from) = &tag.changelog.to.promoted_from {
                    assert!(from.starts_with("127.0.0.1:5999/origin/"), "{from}");
                }
            }
        }
        assert_eq!(
            data.stream("origin", "4-scos-stable")
                .map(|s| s.pull_repo.as_str()),
            Some("127.0.0.1:5999/okd/scos-release")
        );
        assert_eq!(
            data.stream("ocp", "4.21.0-0.ci")
                .map(|s| s.pull_repo.as_str()),
            Some("127.0.0.1:5999/ocp/release")
        );
    }

    #[test]
    fn okd_and_ocp_payloads_share_component_images() {
        let data = Dataset::demo(anchor()).expect("demo data");
        let seed = Seed::plan(&data, HOST).expect("plan");
        let payload = |controller: &str, stream: &str| {
            let tag = data
                .stream(controller, stream)
                .and_then(|s| s.tags.iter().rev().find(|t| t.final_phase != PHASE_FAILED))
                .expect("tag");
            let digest = seed.payload_digest(&tag.digest).expect("seeded");
            seed.payloads
                .iter()
                .find(|p| p.digest() == digest)
                .expect("payload")
        };
        let shared = |a: &PayloadImage, b: &PayloadImage| {
            a.components
                .iter()
                .filter(|i| b.components.contains(i))
                .count()
        };
        let own = |p: &PayloadImage, repo: &str| {
            p.components
                .iter()
                .filter(|i| component(&seed, **i).repo == repo)
                .count()
        };
        // the OKD-built era: OKD/SCOS builds all but a handful, on each of its platforms
        let okd = payload("origin", "4.21.0-0.okd-scos");
        let ocp = payload("ocp", "4.21.0-0.ci");
        let arches: Vec<Arch> = okd.images.iter().map(|(a, _)| *a).collect();
        assert_eq!(arches, [Arch::Amd64, Arch::Arm64]);
        assert!(okd.index.is_some() && ocp.index.is_some());
        let mirrored = crate::replay::mirrored_in_scos().expect("demo data").len();
        assert_eq!(
            shared(okd, ocp),
            2 * mirrored - OKD_BUILT_ON_ARM64.len(),
            "mirrored on both, but for what arm64 builds itself"
        );
        assert!(own(okd, "origin/scos-content") >= 24);
        let haproxy: Vec<&str> = okd
            .components
            .iter()
            .map(|i| component(&seed, *i))
            .filter(|c| {
                c.image
                    .config
                    .bytes
                    .windows(14)
                    .any(|w| w == b"haproxy-router")
            })
            .map(|c| c.repo.as_str())
            .collect();
        assert_eq!(haproxy, ["ocp/4.21-art-latest", "origin/scos-content"]);
        // other minors are single images
        assert!(payload("origin", "4.20.0-0.okd-scos").index.is_none());
        assert!(ocp
            .components
            .iter()
            .all(|i| component(&seed, *i).repo == "ocp/4.21-art-latest"));
        // the mirrored era: OKD/FCOS takes every image it does not build from OCP CI
        let fcos = payload("origin", "4.15.0-0.okd");
        let ocp = payload("ocp", "4.15.0-0.ci");
        assert_eq!(
            own(fcos, "origin/okd-content"),
            3,
            "the OS, installer and MCO"
        );
        assert_eq!(shared(fcos, ocp), fcos.components.len() - 3);
    }

    fn component(seed: &Seed, i: usize) -> &ComponentImage {
        &seed.components[i]
    }
}
