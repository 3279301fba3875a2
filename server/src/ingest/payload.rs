//! Reads release payload images from their registry: the components, commits and declared
//! upgrade sources that provenance is built on.
//!
//! A read fetches the payload's manifest, its config labels, and streams the layer holding
//! `release-manifests/` for `image-references` and `release-metadata` ([`layer`]). From an
//! index it reads every platform image the same way: `linux/amd64` (else the first listed)
//! is the one whose files and labels are kept, and each other platform's own
//! `image-references` gives its component images. It never holds a layer in memory
//! and never reading more than the configured caps: every request goes through
//! [`super::distribution`], which bounds each answer while it streams. What was read goes
//! into the event log as
//! `payload.read` (and `payload.release` for the release it belongs to); a read that fails is
//! recorded as `payload.failed` with a precise reason. A digest read once is never fetched
//! again.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use futures_util::TryStreamExt;
use oci_client::Reference;
use serde::Deserialize;

use crate::events::{self, EventError, PAYLOAD_FAILED, PAYLOAD_READ, PAYLOAD_RELEASE};
use crate::formats::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::formats::payload::{
    Component, DeclaredMetadata, ImageStream, PayloadRead, PlatformImage, ReleaseMetadata,
};
use crate::oci::credentials::Credentials;
use crate::oci::distribution::{Distribution, DistributionConfig, Failure, FetchError};
use crate::oci::layer::{Compression, ScanError, ScanLimits, IMAGE_REFERENCES, RELEASE_METADATA};
use crate::store::events::NewEvent;
use crate::store::payloads::{PayloadBinding, PayloadFailure};
use crate::store::Store;

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const ACCEPTED: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Byte limits of one read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest manifest or index.
    pub manifest_bytes: u64,
    /// Largest image config blob.
    pub config_bytes: u64,
    /// Largest layer (compressed) that is streamed.
    pub layer_bytes: u64,
    /// Most bytes a layer may unpack to.
    pub unpacked_bytes: u64,
    /// Largest `image-references` / `release-metadata`.
    pub file_bytes: u64,
}

impl Default for Limits {
    /// Real payloads: the `release-manifests/` layer is a few MB, `image-references` ~100 kB,
    /// the config a few kB; distribution stores no manifest over 4 MiB.
    fn default() -> Self {
        Limits {
            manifest_bytes: crate::oci::distribution::MANIFEST_BYTES,
            config_bytes: 4 << 20,
            layer_bytes: 64 << 20,
            unpacked_bytes: 512 << 20,
            file_bytes: 16 << 20,
        }
    }
}

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Credentials by registry host.
    pub credentials: Credentials,
    /// Hosts (`host[:port]`) spoken to over plain HTTP; every other host uses HTTPS.
    pub insecure_hosts: Vec<String>,
    /// Byte limits.
    pub limits: Limits,
    /// Connect timeout and read timeout of each request.
    pub timeout: Duration,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            credentials: Credentials::default(),
            insecure_hosts: Vec::new(),
            limits: Limits::default(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a payload could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The pull spec does not parse.
    #[error("invalid pull spec {spec:?}: {reason}")]
    InvalidReference {
        /// The pull spec.
        spec: String,
        /// Why.
        reason: String,
    },
    /// The registry refused or failed a request.
    #[error("registry error on {what}: {reason}")]
    Registry {
        /// What was asked for.
        what: String,
        /// The error.
        reason: String,
    },
    /// A manifest, config or layer of a kind this reader does not know.
    #[error("unknown media type {media_type:?} of {what}")]
    UnknownMediaType {
        /// Which object.
        what: String,
        /// Its media type.
        media_type: String,
    },
    /// An index that lists no platform image (only attestations, or nothing).
    #[error("index {digest} lists no platform image ({entries} entries without a platform)")]
    NoPlatform {
        /// The index digest.
        digest: String,
        /// How many entries it has.
        entries: usize,
    },
    /// A blob larger than allowed.
    #[error("{what} is too large: {size} bytes, limit {limit}")]
    TooLarge {
        /// Which blob or file.
        what: String,
        /// Its size (declared, or the limit + 1 when read while streaming).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A layer that is not a readable (gzip-compressed) tar, or that fails its digest.
    #[error("corrupt layer {digest}: {reason}")]
    CorruptLayer {
        /// The layer digest.
        digest: String,
        /// Why.
        reason: String,
    },
    /// A required file is not in the payload.
    #[error("{path} not found in the payload")]
    MissingFile {
        /// The path.
        path: String,
    },
    /// A manifest, config or file that does not parse or validate.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which object or file.
        what: String,
        /// Why.
        reason: String,
    },
    /// Recording what was read failed.
    #[error(transparent)]
    Store(#[from] EventError),
}

impl PayloadError {
    /// A short stable name of the error kind, stored with a failure.
    pub fn kind(&self) -> &'static str {
        match self {
            PayloadError::InvalidReference { .. } => "invalid_reference",
            PayloadError::Registry { .. } => "registry",
            PayloadError::UnknownMediaType { .. } => "unknown_media_type",
            PayloadError::NoPlatform { .. } => "no_platform",
            PayloadError::TooLarge { .. } => "too_large",
            PayloadError::CorruptLayer { .. } => "corrupt_layer",
            PayloadError::MissingFile { .. } => "missing_file",
            PayloadError::Malformed { .. } => "malformed",
            PayloadError::Store(_) => "store",
        }
    }
}

/// The error for a failed read about `what`: a read refused for its size is
/// [`PayloadError::TooLarge`], naming what was read.
fn registry_error(what: impl Into<String>) -> impl FnOnce(FetchError) -> PayloadError {
    let what = what.into();
    move |e| match e.failure {
        Failure::TooLarge { limit, declared } => PayloadError::TooLarge {
            what: format!("{} from {}", e.what, e.registry),
            size: declared.unwrap_or(limit.saturating_add(1)),
            limit,
        },
        failure => PayloadError::Registry {
            what,
            reason: format!("{}: {failure}", e.registry),
        },
    }
}

fn malformed(what: impl Into<String>, reason: impl ToString) -> PayloadError {
    PayloadError::Malformed {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// `error` of one platform image of an index, naming the platform where it names a file.
fn on_platform(platform: &str, error: PayloadError) -> PayloadError {
    match error {
        PayloadError::MissingFile { path } => PayloadError::MissingFile {
            path: format!("{path} (in the {platform} image)"),
        },
        PayloadError::Malformed { what, reason } => PayloadError::Malformed {
            what: format!("{what} of {platform}"),
            reason,
        },
        other => other,
    }
}

/// The components an `image-references` names, sorted by name.
fn components_of(references: &ImageStream) -> Result<Vec<Component>, PayloadError> {
    let mut components = Vec::new();
    for tag in references.spec.tags.iter().flatten() {
        components.push(Component::from_tag(tag).map_err(|e| malformed(IMAGE_REFERENCES, e))?);
    }
    components.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(components)
}

/// What is kept of `release-metadata`.
fn declared(metadata: Option<ReleaseMetadata>) -> Option<DeclaredMetadata> {
    metadata.map(|m| DeclaredMetadata {
        version: m.version,
        previous: m.previous.unwrap_or_default(),
        metadata: m.metadata.unwrap_or_default(),
    })
}

/// `read` once it holds what a `payload.read` event must.
fn finish(read: PayloadRead) -> Result<PayloadRead, PayloadError> {
    read.validate()
        .map_err(|e| malformed(format!("payload {}", read.digest), e))?;
    Ok(read)
}

/// A manifest or index, as much of it as the reader needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<IndexEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    #[serde(default)]
    media_type: String,
    digest: String,
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl Platform {
    fn name(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{}", self.os, self.architecture, v),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// An image config, as much of it as the reader needs.
#[derive(Debug, Deserialize)]
struct ImageConfig {
    os: Option<String>,
    architecture: Option<String>,
    config: Option<ContainerConfig>,
}

#[derive(Debug, Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
}

/// The media type of a manifest body: its `mediaType`, else inferred from its shape as OCI
/// allows (`manifests` → index, `layers` → image manifest).
fn manifest_media_type(m: &Manifest) -> Result<&str, PayloadError> {
    if m.schema_version != Some(2) {
        return Err(PayloadError::UnknownMediaType {
            what: "manifest".to_string(),
            media_type: format!("schemaVersion {:?}", m.schema_version),
        });
    }
    match m.media_type.as_deref() {
        Some(t) if ACCEPTED.contains(&t) => Ok(t),
        Some(t) => Err(PayloadError::UnknownMediaType {
            what: "manifest".to_string(),
            media_type: t.to_string(),
        }),
        None if m.manifests.is_some() => Ok(OCI_INDEX),
        None if m.layers.is_some() => Ok(OCI_MANIFEST),
        None => Err(PayloadError::UnknownMediaType {
            what: "manifest".to_string(),
            media_type: "(none)".to_string(),
        }),
    }
}

fn layer_compression(media_type: &str) -> Option<Compression> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Some(Compression::None),
        _ => None,
    }
}

/// Which payload to read, and the release it is the payload of, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRequest {
    /// `host[:port]/repo:tag` or `host[:port]/repo@sha256:…`.
    pub pull_spec: String,
    /// `(stream, release name)` whose payload this is.
    pub release: Option<(String, String)>,
}

/// What [`PayloadReader::read_into`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The payload was fetched and stored.
    Read {
        /// Its digest.
        digest: String,
    },
    /// The digest was already stored; nothing was fetched.
    Cached {
        /// Its digest.
        digest: String,
    },
}

/// Reads payloads from registries; holds one HTTP client and its tokens (clones share them).
#[derive(Clone)]
pub struct PayloadReader {
    registry: Distribution,
    config: ReaderConfig,
}

impl PayloadReader {
    /// A reader with `config`.
    pub fn new(config: ReaderConfig) -> Self {
        let registry = Distribution::new(DistributionConfig {
            credentials: config.credentials.clone(),
            insecure_hosts: config.insecure_hosts.clone(),
            timeout: config.timeout,
            manifest_bytes: config.limits.manifest_bytes,
        });
        PayloadReader { registry, config }
    }

    fn reference(&self, spec: &str) -> Result<Reference, PayloadError> {
        Reference::from_str(spec).map_err(|e| PayloadError::InvalidReference {
            spec: spec.to_string(),
            reason: e.to_string(),
        })
    }

    /// The digest `pull_spec` points at: its own when it names one, else asked of the
    /// registry (one `HEAD` request).
    pub async fn resolve_digest(&self, pull_spec: &str) -> Result<String, PayloadError> {
        let reference = self.reference(pull_spec)?;
        if let Some(d) = reference.digest() {
            return Ok(d.to_string());
        }
        let what = format!("manifest of {pull_spec}");
        self.registry
            .manifest_digest(&reference)
            .await
            .map_err(registry_error(&what))?
            .ok_or_else(|| PayloadError::Registry {
                what,
                reason: format!("{}: not found (http 404)", reference.resolve_registry()),
            })
    }

    /// Whether the manifest `reference` (`repo@sha256:…` or `repo:tag`) still exists in its
    /// registry: `Ok(false)` when the registry answers that it does not, an error when the
    /// registry cannot be asked.
    pub async fn manifest_resolves(&self, reference: &str) -> Result<bool, PayloadError> {
        let parsed = self.reference(reference)?;
        self.registry
            .manifest_digest(&parsed)
            .await
            .map(|d| d.is_some())
            .map_err(registry_error(format!("manifest of {reference}")))
    }

    /// Reads the payload at `pull_spec` from its registry. Stores nothing.
    pub async fn read(&self, pull_spec: &str) -> Result<PayloadRead, PayloadError> {
        let reference = self.reference(pull_spec)?;
        let top = self
            .registry
            .manifest(&reference)
            .await
            .map_err(registry_error(format!("manifest of {pull_spec}")))?;
        let (raw, digest) = (top.bytes, top.digest);
        let top: Manifest =
            serde_json::from_slice(&raw).map_err(|e| malformed(format!("manifest {digest}"), e))?;
        let media_type = manifest_media_type(&top)?.to_string();
        if media_type != OCI_INDEX && media_type != DOCKER_MANIFEST_LIST {
            let config = self
                .read_config(&reference, &digest, top.config.as_ref())
                .await?;
            let platforms = vec![format!(
                "{}/{}",
                config.os.as_deref().unwrap_or("linux"),
                config.architecture.as_deref().unwrap_or("amd64")
            )];
            let layers = top.layers.unwrap_or_default();
            let (references, metadata) = self.read_release_manifests(&reference, &layers).await?;
            return finish(PayloadRead {
                digest,
                pull_spec: pull_spec.to_string(),
                media_type,
                image_digest: None,
                platforms,
                platform_images: Vec::new(),
                labels: config.config.and_then(|c| c.labels).unwrap_or_default(),
                name: references.metadata.name.clone(),
                created: references.metadata.creation_timestamp.clone(),
                annotations: references.metadata.annotations.clone().unwrap_or_default(),
                release_metadata: declared(metadata),
                components: components_of(&references)?,
            });
        }
        let entries = top.manifests.unwrap_or_default();
        // buildx attestation entries say `unknown/unknown`: not a platform
        let mut images: Vec<(&IndexEntry, String)> = entries
            .iter()
            .filter_map(|e| Some((e, e.platform.as_ref()?)))
            .filter(|(_, p)| p.os != "unknown")
            .map(|(e, p)| (e, p.name()))
            .collect();
        if images.is_empty() {
            return Err(PayloadError::NoPlatform {
                digest,
                entries: entries.len(),
            });
        }
        // the image whose files and labels are kept goes first
        if let Some(i) = images.iter().position(|(_, p)| p == "linux/amd64") {
            let amd64 = images.remove(i);
            images.insert(0, amd64);
        }
        let platforms: Vec<String> = images.iter().map(|(_, p)| p.clone()).collect();
        let mut platform_images = Vec::with_capacity(images.len());
        let mut kept = None;
        for (entry, platform) in images {
            let image = self
                .platform_image(&reference, &digest, entry, &platform)
                .await?;
            let layers = image.layers.as_deref().unwrap_or_default();
            let (references, metadata) = self
                .read_release_manifests(&reference, layers)
                .await
                .map_err(|e| on_platform(&platform, e))?;
            let components = components_of(&references).map_err(|e| on_platform(&platform, e))?;
            let mut by_name = BTreeMap::new();
            for c in &components {
                if by_name
                    .insert(c.name.clone(), c.image_digest.clone())
                    .is_some()
                {
                    return Err(malformed(
                        format!("{IMAGE_REFERENCES} of {platform}"),
                        format!("component {} listed twice", c.name),
                    ));
                }
            }
            platform_images.push(PlatformImage {
                platform,
                digest: entry.digest.clone(),
                components: by_name,
            });
            if kept.is_none() {
                kept = Some((image, references, metadata, components));
            }
        }
        let Some((image, references, metadata, components)) = kept else {
            return Err(PayloadError::NoPlatform {
                digest,
                entries: entries.len(),
            });
        };
        let image_digest = platform_images[0].digest.clone();
        let config = self
            .read_config(&reference, &image_digest, image.config.as_ref())
            .await?;
        finish(PayloadRead {
            digest,
            pull_spec: pull_spec.to_string(),
            media_type,
            image_digest: Some(image_digest),
            platforms,
            platform_images,
            labels: config.config.and_then(|c| c.labels).unwrap_or_default(),
            name: references.metadata.name,
            created: references.metadata.creation_timestamp,
            annotations: references.metadata.annotations.unwrap_or_default(),
            release_metadata: declared(metadata),
            components,
        })
    }

    /// The image manifest of one platform `entry` of index `index`.
    async fn platform_image(
        &self,
        reference: &Reference,
        index: &str,
        entry: &IndexEntry,
        platform: &str,
    ) -> Result<Manifest, PayloadError> {
        if entry.media_type != OCI_MANIFEST && entry.media_type != DOCKER_MANIFEST {
            return Err(PayloadError::UnknownMediaType {
                what: format!("{platform} entry of index {index}"),
                media_type: entry.media_type.clone(),
            });
        }
        let child_ref = reference.clone_with_digest(entry.digest.clone());
        let child = self
            .registry
            .manifest(&child_ref)
            .await
            .map_err(registry_error(format!(
                "{platform} manifest {}",
                entry.digest
            )))?;
        let (child_raw, child_digest) = (child.bytes, child.digest);
        let child: Manifest = serde_json::from_slice(&child_raw)
            .map_err(|e| malformed(format!("manifest {child_digest}"), e))?;
        let child_type = manifest_media_type(&child)?;
        if child_type != OCI_MANIFEST && child_type != DOCKER_MANIFEST {
            return Err(PayloadError::UnknownMediaType {
                what: format!("manifest {child_digest}"),
                media_type: child_type.to_string(),
            });
        }
        Ok(child)
    }

    async fn read_config(
        &self,
        reference: &Reference,
        image_digest: &str,
        descriptor: Option<&Descriptor>,
    ) -> Result<ImageConfig, PayloadError> {
        let descriptor =
            descriptor.ok_or_else(|| malformed(format!("manifest {image_digest}"), "no config"))?;
        if descriptor.media_type != OCI_CONFIG && descriptor.media_type != DOCKER_CONFIG {
            return Err(PayloadError::UnknownMediaType {
                what: format!("config of {image_digest}"),
                media_type: descriptor.media_type.clone(),
            });
        }
        let limit = self.config.limits.config_bytes;
        if u64::try_from(descriptor.size).unwrap_or(u64::MAX) > limit {
            return Err(PayloadError::TooLarge {
                what: format!("config {}", descriptor.digest),
                size: u64::try_from(descriptor.size).unwrap_or(u64::MAX),
                limit,
            });
        }
        let what = format!("config {}", descriptor.digest);
        let declared = u64::try_from(descriptor.size).unwrap_or(0);
        let blob = self
            .registry
            .blob(reference, &descriptor.digest, declared.min(limit))
            .await
            .map_err(registry_error(&what))?;
        let raw: Vec<u8> = blob
            .stream
            .try_fold(Vec::new(), |mut raw, chunk| {
                raw.extend_from_slice(&chunk);
                futures_util::future::ready(Ok(raw))
            })
            .await
            .map_err(|e| match crate::oci::layer::overflow(&e) {
                Some(o) => PayloadError::TooLarge {
                    what: what.clone(),
                    size: o.limit.saturating_add(1),
                    limit: o.limit,
                },
                None => PayloadError::Registry {
                    what: what.clone(),
                    reason: e.to_string(),
                },
            })?;
        serde_json::from_slice(&raw)
            .map_err(|e| malformed(format!("config {}", descriptor.digest), e))
    }

    /// Scans layers from the top down until one holds `release-manifests/`.
    async fn read_release_manifests(
        &self,
        reference: &Reference,
        layers: &[Descriptor],
    ) -> Result<(ImageStream, Option<ReleaseMetadata>), PayloadError> {
        let limits = self.config.limits;
        for descriptor in layers.iter().rev() {
            let compression = layer_compression(&descriptor.media_type).ok_or_else(|| {
                PayloadError::UnknownMediaType {
                    what: format!("layer {}", descriptor.digest),
                    media_type: descriptor.media_type.clone(),
                }
            })?;
            let size = u64::try_from(descriptor.size).unwrap_or(u64::MAX);
            if size > limits.layer_bytes {
                return Err(PayloadError::TooLarge {
                    what: format!("layer {}", descriptor.digest),
                    size,
                    limit: limits.layer_bytes,
                });
            }
            let scan = self
                .scan_layer(reference, &descriptor.digest, size, compression)
                .await?;
            if !scan.has_release_manifests {
                continue;
            }
            let references = scan
                .image_references
                .ok_or_else(|| PayloadError::MissingFile {
                    path: IMAGE_REFERENCES.to_string(),
                })?;
            let references: ImageStream =
                serde_json::from_slice(&references).map_err(|e| malformed(IMAGE_REFERENCES, e))?;
            if references.kind != "ImageStream" {
                return Err(malformed(
                    IMAGE_REFERENCES,
                    format!("kind {:?}, not ImageStream", references.kind),
                ));
            }
            let metadata = match scan.release_metadata {
                None => None,
                Some(raw) => {
                    let m: ReleaseMetadata =
                        serde_json::from_slice(&raw).map_err(|e| malformed(RELEASE_METADATA, e))?;
                    if m.kind != "cincinnati-metadata-v0" {
                        return Err(malformed(
                            RELEASE_METADATA,
                            format!("kind {:?}, not cincinnati-metadata-v0", m.kind),
                        ));
                    }
                    Some(m)
                }
            };
            return Ok((references, metadata));
        }
        Err(PayloadError::MissingFile {
            path: IMAGE_REFERENCES.to_string(),
        })
    }

    async fn scan_layer(
        &self,
        reference: &Reference,
        digest: &str,
        declared: u64,
        compression: Compression,
    ) -> Result<crate::oci::layer::LayerScan, PayloadError> {
        let limits = self.config.limits;
        let blob = self
            .registry
            .blob(reference, digest, declared.min(limits.layer_bytes))
            .await
            .map_err(registry_error(format!("layer {digest}")))?;
        // the scan is blocking I/O (gunzip + tar) over the async stream: bridge it
        let reader =
            tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(blob.stream));
        let scan_limits = ScanLimits {
            layer_bytes: limits.layer_bytes,
            unpacked_bytes: limits.unpacked_bytes,
            file_bytes: limits.file_bytes,
        };
        let scanned = tokio::task::spawn_blocking(move || {
            crate::oci::layer::scan(reader, compression, scan_limits)
        })
        .await
        .map_err(|e| PayloadError::CorruptLayer {
            digest: digest.to_string(),
            reason: format!("scan aborted: {e}"),
        })?;
        scanned.map_err(|e| match e {
            ScanError::TooLarge { what, limit } => PayloadError::TooLarge {
                what: match what.as_str() {
                    "layer" | "unpacked layer" => format!("{what} {digest}"),
                    // the download itself, past the layer's declared size
                    _ if what.starts_with("blob ") => what,
                    _ => format!("{what} in layer {digest}"),
                },
                size: limit.saturating_add(1),
                limit,
            },
            ScanError::Corrupt(reason) => PayloadError::CorruptLayer {
                digest: digest.to_string(),
                reason,
            },
        })
    }

    /// Reads the requested payload into `store`, unless its digest is stored already; then
    /// records which release it belongs to. A failed read is recorded as `payload.failed`
    /// and returned. A release already bound to a stored payload costs no request at all,
    /// nor does a pull spec by digest that is stored; a pull spec by tag costs one `HEAD`.
    pub async fn read_into(
        &self,
        store: &Store,
        request: &PayloadRequest,
    ) -> Result<ReadOutcome, PayloadError> {
        if let Some((stream, name)) = &request.release {
            if let Some(bound) = store
                .release_payload_digest(stream, name)
                .await
                .map_err(EventError::from)?
            {
                return Ok(ReadOutcome::Cached { digest: bound });
            }
        }
        let digest = match self.resolve_digest(&request.pull_spec).await {
            Ok(d) => d,
            Err(e) => return Err(self.record_failure(store, request, e).await),
        };
        let outcome = if store.has_payload(&digest).await.map_err(EventError::from)? {
            ReadOutcome::Cached {
                digest: digest.clone(),
            }
        } else {
            // read what was resolved, even if the tag moves meanwhile
            let pinned = match self.reference(&request.pull_spec) {
                Ok(r) => r.clone_with_digest(digest.clone()).whole(),
                Err(e) => return Err(self.record_failure(store, request, e).await),
            };
            let mut read = match self.read(&pinned).await {
                Ok(read) => read,
                Err(e) => return Err(self.record_failure(store, request, e).await),
            };
            read.pull_spec = request.pull_spec.clone();
            let body = serde_json::to_string(&read).map_err(|e| EventError::Malformed {
                kind: PAYLOAD_READ.to_string(),
                subject: digest.clone(),
                reason: e.to_string(),
            })?;
            events::ingest(
                store,
                event(&request.pull_spec, PAYLOAD_READ, &digest, body),
            )
            .await?;
            ReadOutcome::Read {
                digest: digest.clone(),
            }
        };
        if let Some((stream, name)) = &request.release {
            let binding = PayloadBinding {
                digest,
                pull_spec: request.pull_spec.clone(),
            };
            let body = serde_json::to_string(&binding).map_err(|e| EventError::Malformed {
                kind: PAYLOAD_RELEASE.to_string(),
                subject: format!("{stream}/{name}"),
                reason: e.to_string(),
            })?;
            events::ingest(
                store,
                event(
                    &request.pull_spec,
                    PAYLOAD_RELEASE,
                    &format!("{stream}/{name}"),
                    body,
                ),
            )
            .await?;
        }
        Ok(outcome)
    }

    /// Records `error` as a `payload.failed` event and hands it back (or the store error
    /// that prevented recording it).
    async fn record_failure(
        &self,
        store: &Store,
        request: &PayloadRequest,
        error: PayloadError,
    ) -> PayloadError {
        if matches!(error, PayloadError::Store(_)) {
            return error;
        }
        let failure = PayloadFailure {
            pull_spec: request.pull_spec.clone(),
            stream: request.release.as_ref().map(|(s, _)| s.clone()),
            release: request.release.as_ref().map(|(_, n)| n.clone()),
            kind: error.kind().to_string(),
            message: error.to_string(),
        };
        tracing::warn!(pull_spec = %request.pull_spec, error = %error, "payload read failed");
        let body = match serde_json::to_string(&failure) {
            Ok(body) => body,
            Err(_) => return error,
        };
        let recorded = events::ingest(
            store,
            event(&request.pull_spec, PAYLOAD_FAILED, &request.pull_spec, body),
        )
        .await;
        match recorded {
            Ok(_) => error,
            Err(e) => PayloadError::Store(e),
        }
    }
}

/// An event about `pull_spec`, its source the registry host.
fn event(pull_spec: &str, kind: &str, subject: &str, payload: String) -> NewEvent {
    let source = Reference::from_str(pull_spec)
        .map(|r| r.resolve_registry().to_string())
        .unwrap_or_else(|_| "registry".to_string());
    NewEvent {
        source,
        kind: kind.to_string(),
        subject: subject.to_string(),
        payload,
        received_at: Utc::now(),
        external_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(raw: &str) -> Manifest {
        serde_json::from_str(raw).expect("parses")
    }

    #[test]
    fn media_types_are_taken_from_the_body_or_its_shape() {
        assert_eq!(
            manifest_media_type(&manifest(&format!(
                r#"{{"schemaVersion": 2, "mediaType": "{DOCKER_MANIFEST_LIST}", "manifests": []}}"#
            )))
            .expect("known"),
            DOCKER_MANIFEST_LIST
        );
        assert_eq!(
            manifest_media_type(&manifest(r#"{"schemaVersion": 2, "manifests": []}"#))
                .expect("index"),
            OCI_INDEX
        );
        assert_eq!(
            manifest_media_type(&manifest(r#"{"schemaVersion": 2, "layers": []}"#)).expect("image"),
            OCI_MANIFEST
        );
        for raw in [
            r#"{"schemaVersion": 1, "fsLayers": []}"#,
            r#"{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"}"#,
            r#"{"schemaVersion": 2}"#,
        ] {
            let err = manifest_media_type(&manifest(raw)).expect_err("unknown");
            assert_eq!(err.kind(), "unknown_media_type", "{err}");
        }
    }

    #[test]
    fn only_tar_layers_are_read() {
        assert_eq!(
            layer_compression("application/vnd.oci.image.layer.v1.tar+gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            layer_compression("application/vnd.docker.image.rootfs.diff.tar"),
            Some(Compression::None)
        );
        assert_eq!(
            layer_compression("application/vnd.oci.image.layer.v1.tar+zstd"),
            None
        );
    }
}
