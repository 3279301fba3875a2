//! Copies images by digest between repositories and registries, the way a promotion mirrors
//! a release's components.
//!
//! A [`Copier`] holds one registry client (and its tokens) for every registry it talks to.
//! [`Copier::copy_images`] reads every image first (manifests, index children, blobs), so
//! that progress has totals, skips images whose manifest is already at the target, then
//! transfers each distinct (target repository, blob) once — skipped when the target has it,
//! mounted across repositories of one registry, else streamed from source to target without
//! holding it in memory — and finally pushes the manifests byte-exact, children before their
//! index, by digest. Running it again transfers nothing. Transient failures (connection
//! errors, 5xx, 429) are retried with backoff; every other failure names the image, blob and
//! registry it concerns. Everything read from a source registry goes through
//! [`Distribution`], which bounds each answer (a manifest to 4 MiB, a blob to its declared
//! size); the target registry, which an admin configured, is written with `oci-client`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::{Client, Reference};
use serde::{Deserialize, Serialize};

use crate::formats::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::oci::credentials::{Credential, Credentials};
use crate::oci::distribution::{Distribution, DistributionConfig, Failure, FetchError};
use crate::oci::layer::overflow;

/// Manifest media types a copy understands.
const ACCEPTED: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];
/// Index nesting allowed below the top manifest (index → index → image).
const MAX_DEPTH: usize = 3;
/// Attempts of one request after its first failure.
const RETRIES: usize = 3;

/// How a [`Copier`] reaches registries.
#[derive(Debug, Clone)]
pub struct CopyConfig {
    /// Credentials by registry host; used for sources and targets alike.
    pub credentials: Credentials,
    /// Hosts (`host[:port]`) spoken to over plain HTTP; every other host uses HTTPS.
    pub insecure_hosts: Vec<String>,
    /// Most blob transfers (and image reads) in flight at once.
    pub jobs: usize,
    /// Connect timeout and read timeout of each request.
    pub timeout: Duration,
}

impl Default for CopyConfig {
    fn default() -> Self {
        CopyConfig {
            credentials: Credentials::default(),
            insecure_hosts: Vec::new(),
            jobs: 8,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a copy, a publish or a check failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A pull spec or repository that does not parse, or has the wrong shape.
    #[error("invalid reference {spec:?}: {reason}")]
    InvalidReference {
        /// What was given.
        spec: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The registry answered that the object does not exist (HTTP 404).
    #[error("{what} not found on {registry}")]
    NotFound {
        /// The manifest or blob, and its repository.
        what: String,
        /// The registry host.
        registry: String,
    },
    /// The registry refused the credentials (HTTP 401 or 403).
    #[error("{what}: access denied by {registry} (http {status})")]
    Denied {
        /// The manifest or blob, and its repository.
        what: String,
        /// The registry host.
        registry: String,
        /// 401 or 403.
        status: u16,
    },
    /// Any other registry or network failure (after retrying the transient ones).
    #[error("{what}: {registry} failed{}: {reason}", status.map(|s| format!(" with http {s}")).unwrap_or_default())]
    Registry {
        /// The request, naming its manifest or blob and repository.
        what: String,
        /// The registry host.
        registry: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// The client's error.
        reason: String,
    },
    /// A manifest, config or layer of a kind this copier does not handle.
    #[error("unknown media type {media_type:?} of {what}")]
    UnknownMediaType {
        /// Which object.
        what: String,
        /// Its media type.
        media_type: String,
    },
    /// A manifest, config or file that does not parse or has the wrong shape.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which object or file.
        what: String,
        /// Why.
        reason: String,
    },
    /// A blob or file larger than allowed.
    #[error("{what} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Which blob or file.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// A component of the payload has no new pull spec in the rewrite.
    #[error("image {tag:?} of {payload} has no new pull spec")]
    MissingImage {
        /// The payload being rebuilt.
        payload: String,
        /// The `image-references` tag name.
        tag: String,
    },
    /// An operator image's manifests cannot go into the release: not Kubernetes objects,
    /// an invalid `image-references`, an unknown version.
    #[error("operator {tag:?}: {reason}")]
    Operator {
        /// The operator's tag.
        tag: String,
        /// Why.
        reason: String,
    },
    /// A file the payload must hold is not in it.
    #[error("{path} not found in {payload}")]
    MissingFile {
        /// The payload.
        payload: String,
        /// The path.
        path: String,
    },
    /// The release's tag exists at the release repository with another digest: publishing
    /// never moves a tag.
    #[error("{reference} already exists with digest {existing}; refusing to move it to {new} (a release name is never reused)")]
    TagTaken {
        /// `release-repo:tag`.
        reference: String,
        /// The digest the tag points at.
        existing: String,
        /// The digest that would have been pushed.
        new: String,
    },
    /// Local file handling failed (temporary files, the layer writer).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl CopyError {
    /// A short stable name of the error kind, for storing with a failed promotion.
    pub fn kind(&self) -> &'static str {
        match self {
            CopyError::InvalidReference { .. } => "invalid_reference",
            CopyError::NotFound { .. } => "not_found",
            CopyError::Denied { .. } => "denied",
            CopyError::Registry { .. } => "registry",
            CopyError::UnknownMediaType { .. } => "unknown_media_type",
            CopyError::Malformed { .. } => "malformed",
            CopyError::TooLarge { .. } => "too_large",
            CopyError::MissingImage { .. } => "missing_image",
            CopyError::Operator { .. } => "operator_manifests",
            CopyError::MissingFile { .. } => "missing_file",
            CopyError::TagTaken { .. } => "tag_taken",
            CopyError::Io { .. } => "io",
        }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CopyError {
        let what = what.into();
        move |source| CopyError::Io { what, source }
    }

    pub(crate) fn malformed(what: impl Into<String>, reason: impl ToString) -> CopyError {
        CopyError::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// The HTTP status behind a client error. The client reports one condition through
/// different variants depending on the call, so errors are classified by status only.
fn status_of(e: &OciDistributionError) -> Option<u16> {
    match e {
        OciDistributionError::ServerError { code, .. } => Some(*code),
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => Some(401),
        OciDistributionError::ImageManifestNotFoundError(_) => Some(404),
        OciDistributionError::RequestError(r) => r.status().map(|s| s.as_u16()),
        OciDistributionError::RegistryError { envelope, .. } => {
            envelope.errors.first().map(|e| match e.code {
                OciErrorCode::BlobUnknown
                | OciErrorCode::ManifestUnknown
                | OciErrorCode::NameUnknown
                | OciErrorCode::NotFound => 404,
                OciErrorCode::Unauthorized => 401,
                OciErrorCode::Denied => 403,
                OciErrorCode::Toomanyrequests => 429,
                _ => 400,
            })
        }
        _ => None,
    }
}

/// Whether retrying may help: no answer at all (connection refused or reset, timeout, a
/// broken body), a server error, or rate limiting.
pub(crate) fn is_transient(e: &OciDistributionError) -> bool {
    match status_of(e) {
        Some(status) => status == 429 || status >= 500,
        None => match e {
            OciDistributionError::RequestError(r) => {
                r.is_connect() || r.is_timeout() || r.is_request() || r.is_body()
            }
            OciDistributionError::IoError(_) => true,
            _ => false,
        },
    }
}

pub(crate) fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(RETRIES)
        .with_jitter()
}

/// The error for a failed request about `what` on `registry`.
pub(crate) fn registry_error(what: &str, registry: &str, e: OciDistributionError) -> CopyError {
    match status_of(&e) {
        Some(404) => CopyError::NotFound {
            what: what.to_string(),
            registry: registry.to_string(),
        },
        Some(status @ (401 | 403)) => CopyError::Denied {
            what: what.to_string(),
            registry: registry.to_string(),
            status,
        },
        status => CopyError::Registry {
            what: what.to_string(),
            registry: registry.to_string(),
            status,
            reason: e.to_string(),
        },
    }
}

/// The error for a failed read about `what` on `registry`.
pub(crate) fn fetch_error(what: &str, e: FetchError) -> CopyError {
    match e.failure {
        Failure::Status { status: 404, .. } => CopyError::NotFound {
            what: what.to_string(),
            registry: e.registry,
        },
        Failure::Status {
            status: status @ (401 | 403),
            ..
        } => CopyError::Denied {
            what: what.to_string(),
            registry: e.registry,
            status,
        },
        Failure::TooLarge { limit, .. } => CopyError::TooLarge {
            what: format!("{what} from {}", e.registry),
            limit,
        },
        failure => CopyError::Registry {
            what: what.to_string(),
            registry: e.registry,
            status: match failure {
                Failure::Status { status, .. } => Some(status),
                _ => None,
            },
            reason: failure.to_string(),
        },
    }
}

/// `registry/repository`, without tag or digest.
pub(crate) fn repo_name(r: &Reference) -> String {
    format!("{}/{}", r.registry(), r.repository())
}

/// One manifest of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInfo {
    /// Its digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One blob (config or layer) of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobInfo {
    /// Its digest.
    pub digest: String,
    /// The media type it is listed with.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Everything one image consists of: all of its manifests and blobs, over every platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The image as asked for.
    pub image: String,
    /// Digest of its top manifest or index.
    pub digest: String,
    /// Every manifest, children before the index that lists them (the order they are
    /// pushed in); the top manifest last.
    pub manifests: Vec<ManifestInfo>,
    /// Every blob, each once.
    pub blobs: Vec<BlobInfo>,
}

impl Inventory {
    /// Sum of the blob sizes.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// One image to copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CopyItem {
    /// `registry/repository@sha256:…` (a tag is resolved once, when read).
    pub source: String,
    /// `registry/repository` to copy it into, under the same digest and without a tag.
    pub target_repo: String,
}

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyStats {
    /// Blobs streamed from source to target.
    pub blobs_copied: u64,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: u64,
    /// Blobs the target already had.
    pub blobs_skipped: u64,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Manifests (and indexes) pushed.
    pub manifests_pushed: u64,
    /// Images whose manifest the target already had: nothing of them was transferred.
    pub images_skipped: u64,
    /// Mounts the registry refused (no access to the source repository, or the blob missing
    /// there), copied instead.
    pub mount_fallbacks: u64,
}

/// Live counters of a running copy; clones share them, so a worker can persist
/// [`Progress::snapshot`] while the copy runs.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    images_done: AtomicU64,
    images_total: AtomicU64,
    blobs_done: AtomicU64,
    blobs_total: AtomicU64,
    bytes_copied: AtomicU64,
    bytes_total: AtomicU64,
    blobs_mounted: AtomicU64,
    blobs_skipped: AtomicU64,
}

/// The counters of a [`Progress`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressSnapshot {
    /// Images finished (copied or already present).
    pub images_done: u64,
    /// Images to copy.
    pub images_total: u64,
    /// Blobs finished (copied, mounted or skipped).
    pub blobs_done: u64,
    /// Distinct blobs per target repository.
    pub blobs_total: u64,
    /// Bytes streamed so far.
    pub bytes_copied: u64,
    /// Bytes of the blobs not yet known to be at the target (an upper bound of the bytes
    /// streamed: mounts and skips stream nothing).
    pub bytes_total: u64,
    /// Blobs mounted.
    pub blobs_mounted: u64,
    /// Blobs already at the target.
    pub blobs_skipped: u64,
}

impl Progress {
    /// Fresh counters.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let c = &self.0;
        ProgressSnapshot {
            images_done: c.images_done.load(Ordering::Relaxed),
            images_total: c.images_total.load(Ordering::Relaxed),
            blobs_done: c.blobs_done.load(Ordering::Relaxed),
            blobs_total: c.blobs_total.load(Ordering::Relaxed),
            bytes_copied: c.bytes_copied.load(Ordering::Relaxed),
            bytes_total: c.bytes_total.load(Ordering::Relaxed),
            blobs_mounted: c.blobs_mounted.load(Ordering::Relaxed),
            blobs_skipped: c.blobs_skipped.load(Ordering::Relaxed),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// How one blob reached its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobOutcome {
    Skipped,
    Mounted,
    Copied { bytes: u64, mount_refused: bool },
}

impl BlobOutcome {
    fn count(self, stats: &mut CopyStats) {
        match self {
            BlobOutcome::Skipped => stats.blobs_skipped += 1,
            BlobOutcome::Mounted => stats.blobs_mounted += 1,
            BlobOutcome::Copied {
                bytes,
                mount_refused,
            } => {
                stats.blobs_copied += 1;
                stats.bytes_copied += bytes;
                if mount_refused {
                    stats.mount_fallbacks += 1;
                }
            }
        }
    }
}

/// A manifest body as fetched.
#[derive(Debug, Clone)]
pub(crate) struct RawManifest {
    pub(crate) digest: String,
    pub(crate) media_type: String,
    pub(crate) bytes: Bytes,
}

/// A manifest or index, as much of it as a copy needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestBody {
    pub(crate) schema_version: Option<i64>,
    pub(crate) media_type: Option<String>,
    pub(crate) config: Option<Descriptor>,
    #[serde(default)]
    pub(crate) layers: Vec<Descriptor>,
    pub(crate) manifests: Option<Vec<Descriptor>>,
}

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
}

impl ManifestBody {
    /// Parses a manifest body and tells its media type: its `mediaType`, else inferred from
    /// its shape as OCI allows.
    pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<(ManifestBody, String), CopyError> {
        let body: ManifestBody =
            serde_json::from_slice(bytes).map_err(|e| CopyError::malformed(what, e))?;
        if body.schema_version != Some(2) {
            return Err(CopyError::UnknownMediaType {
                what: what.to_string(),
                media_type: format!("schemaVersion {:?}", body.schema_version),
            });
        }
        let media_type = match body.media_type.as_deref() {
            Some(t) if ACCEPTED.contains(&t) => t.to_string(),
            Some(t) => {
                return Err(CopyError::UnknownMediaType {
                    what: what.to_string(),
                    media_type: t.to_string(),
                })
            }
            None if body.manifests.is_some() => OCI_INDEX.to_string(),
            None if body.config.is_some() => OCI_MANIFEST.to_string(),
            None => {
                return Err(CopyError::UnknownMediaType {
                    what: what.to_string(),
                    media_type: "(none)".to_string(),
                })
            }
        };
        Ok((body, media_type))
    }

    /// Whether this is an index or manifest list.
    pub(crate) fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
    }
}

/// An image as read: manifests in push order and its blobs.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) digest: String,
    pub(crate) manifests: Vec<RawManifest>,
    pub(crate) blobs: Vec<BlobInfo>,
}

/// One image of a copy, once read.
struct Planned {
    source: Reference,
    target: Reference,
    tree: Tree,
    present: bool,
}

/// Copies images between registries; holds one HTTP client and its tokens (clones share
/// them).
#[derive(Clone)]
pub struct Copier {
    client: Client,
    registry: Distribution,
    config: Arc<CopyConfig>,
}

impl std::fmt::Debug for Copier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Copier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Copier {
    /// A copier with `config`.
    pub fn new(config: CopyConfig) -> Copier {
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::HttpsExcept(config.insecure_hosts.clone()),
            // one streamed PUT per blob instead of a PATCH per received chunk
            use_monolithic_push: true,
            platform_resolver: None,
            connect_timeout: Some(config.timeout),
            read_timeout: Some(config.timeout),
            ..ClientConfig::default()
        });
        let registry = Distribution::new(DistributionConfig {
            credentials: config.credentials.clone(),
            insecure_hosts: config.insecure_hosts.clone(),
            timeout: config.timeout,
            ..DistributionConfig::default()
        });
        Copier {
            client,
            registry,
            config: Arc::new(config),
        }
    }

    /// The bounded reader of registries.
    pub(crate) fn registry(&self) -> &Distribution {
        &self.registry
    }

    /// Parallelism of transfers.
    pub(crate) fn jobs(&self) -> usize {
        self.config.jobs.max(1)
    }

    /// Parses `spec` and makes sure the client holds the credential of its registry: calls
    /// that take no credential of their own (blob HEAD, mount, pushes, blob pulls) use it.
    /// Anonymous registries get none stored, which spares a `/v2/` probe per request.
    pub(crate) async fn reference(&self, spec: &str) -> Result<Reference, CopyError> {
        let reference = Reference::from_str(spec).map_err(|e| CopyError::InvalidReference {
            spec: spec.to_string(),
            reason: e.to_string(),
        })?;
        self.authorize(&reference).await;
        Ok(reference)
    }

    async fn authorize(&self, reference: &Reference) {
        let host = reference.resolve_registry();
        let credential = self.config.credentials.for_host(host);
        if credential != Credential::Anonymous {
            self.client
                .store_auth_if_needed(host, &credential.to_registry_auth())
                .await;
        }
    }

    /// A reference to `digest` in the repository of `repo` (a `registry/repository`, maybe
    /// with a tag or digest, which are ignored).
    pub(crate) fn in_repo(repo: &Reference, digest: &str) -> Reference {
        Reference::with_digest(
            repo.registry().to_string(),
            repo.repository().to_string(),
            digest.to_string(),
        )
    }

    /// Fetches one manifest byte-exact, with its digest and media type.
    pub(crate) async fn pull_manifest(
        &self,
        reference: &Reference,
    ) -> Result<RawManifest, CopyError> {
        let what = format!("manifest {}", reference.whole());
        let manifest = (|| self.registry.manifest(reference))
            .retry(backoff())
            .when(FetchError::is_transient)
            .notify(|e, wait| tracing::warn!(%what, error = %e, ?wait, "retrying"))
            .await
            .map_err(|e| fetch_error(&what, e))?;
        let (_, media_type) = ManifestBody::parse(&manifest.bytes, &what)?;
        Ok(RawManifest {
            digest: manifest.digest,
            media_type,
            bytes: manifest.bytes,
        })
    }

    /// Reads an image: its manifest, every child of an index (recursively) and the blobs
    /// they list.
    pub(crate) async fn read_tree(&self, source: &Reference) -> Result<Tree, CopyError> {
        let top = self.pull_manifest(source).await?;
        let digest = top.digest.clone();
        // breadth first; pushed in reverse, so every child precedes the index listing it
        let mut levels: Vec<Vec<RawManifest>> = vec![vec![top]];
        let mut blobs: Vec<BlobInfo> = Vec::new();
        let mut seen_blobs = HashSet::new();
        let mut seen_manifests = HashSet::new();
        for depth in 0..=MAX_DEPTH {
            let Some(level) = levels.get(depth) else {
                break;
            };
            let mut next = Vec::new();
            for m in level {
                let what = format!("manifest {}@{}", repo_name(source), m.digest);
                let (body, _) = ManifestBody::parse(&m.bytes, &what)?;
                if ManifestBody::is_index(&m.media_type) {
                    for child in body.manifests.unwrap_or_default() {
                        if !seen_manifests.insert(child.digest.clone()) {
                            continue;
                        }
                        if depth == MAX_DEPTH {
                            return Err(CopyError::malformed(
                                what,
                                format!("indexes nested deeper than {MAX_DEPTH}"),
                            ));
                        }
                        let child_ref = Copier::in_repo(source, &child.digest);
                        next.push(self.pull_manifest(&child_ref).await?);
                    }
                } else {
                    let config = body.config.ok_or_else(|| {
                        CopyError::malformed(what.clone(), "image manifest without a config")
                    })?;
                    for d in std::iter::once(config).chain(body.layers) {
                        if seen_blobs.insert(d.digest.clone()) {
                            blobs.push(BlobInfo {
                                digest: d.digest,
                                media_type: d.media_type,
                                size: d.size,
                            });
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            levels.push(next);
        }
        let manifests = levels.into_iter().rev().flatten().collect();
        Ok(Tree {
            digest,
            manifests,
            blobs,
        })
    }

    /// Every manifest and blob `image` (`repo@sha256:…` or `repo:tag`) consists of, over all
    /// platforms of an index.
    pub async fn inventory(&self, image: &str) -> Result<Inventory, CopyError> {
        let reference = self.reference(image).await?;
        let tree = self.read_tree(&reference).await?;
        Ok(Inventory {
            image: image.to_string(),
            digest: tree.digest,
            manifests: tree
                .manifests
                .iter()
                .map(|m| ManifestInfo {
                    digest: m.digest.clone(),
                    media_type: m.media_type.clone(),
                    size: m.bytes.len() as u64,
                })
                .collect(),
            blobs: tree.blobs,
        })
    }

    /// Which of `digests` already exist as blobs in `repo` (`registry/repository`).
    pub async fn present(
        &self,
        repo: &str,
        digests: &[String],
    ) -> Result<HashSet<String>, CopyError> {
        let repo_ref = self.reference(repo).await?;
        let found: Vec<Option<String>> = stream::iter(digests.iter().cloned())
            .map(|digest| {
                let repo_ref = &repo_ref;
                async move {
                    let exists = self
                        .blob_exists(&Copier::in_repo(repo_ref, &digest))
                        .await?;
                    Ok::<_, CopyError>(exists.then_some(digest))
                }
            })
            .buffer_unordered(self.jobs())
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Whether the manifest `reference` (`repo@sha256:…` or `repo:tag`) exists: `Ok(false)`
    /// when the registry answers 404, an error when it cannot be asked.
    pub async fn resolves(&self, reference: &str) -> Result<bool, CopyError> {
        let parsed = self.reference(reference).await?;
        self.manifest_exists(&parsed).await
    }

    async fn manifest_exists(&self, reference: &Reference) -> Result<bool, CopyError> {
        Ok(self.manifest_digest(reference).await?.is_some())
    }

    /// The digest the manifest `reference` (by tag or digest) has in its registry; `None`
    /// when the registry answers that it has none.
    pub(crate) async fn manifest_digest(
        &self,
        reference: &Reference,
    ) -> Result<Option<String>, CopyError> {
        (|| self.registry.manifest_digest(reference))
            .retry(backoff())
            .when(FetchError::is_transient)
            .await
            .map_err(|e| fetch_error(&format!("manifest {}", reference.whole()), e))
    }

    /// Every tag of the repository `repo` (`registry/repository`); none when the registry
    /// does not know it.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>, CopyError> {
        let reference = self.reference(repo).await?;
        (|| self.registry.tags(&reference))
            .retry(backoff())
            .when(FetchError::is_transient)
            .await
            .map_err(|e| fetch_error(&format!("tag list of {}", repo_name(&reference)), e))
    }

    /// Whether the blob `reference` names by digest exists in its repository.
    async fn blob_exists(&self, reference: &Reference) -> Result<bool, CopyError> {
        let digest = reference.digest().unwrap_or_default();
        (|| self.client.blob_exists(reference, digest))
            .retry(backoff())
            .when(is_transient)
            .await
            .map_err(|e| {
                registry_error(
                    &format!("blob {digest} in {}", reference.repository()),
                    reference.registry(),
                    e,
                )
            })
    }

    /// Brings one blob from `source`'s repository into `target`'s: nothing when it is there
    /// already, a mount within one registry, else a streamed copy. Bytes streamed are
    /// counted into `progress` as they pass.
    pub(crate) async fn copy_blob(
        &self,
        source: &Reference,
        target: &Reference,
        blob: &BlobInfo,
        progress: &Progress,
    ) -> Result<BlobOutcome, CopyError> {
        let digest = blob.digest.as_str();
        let target = Copier::in_repo(target, digest);
        let source = Copier::in_repo(source, digest);
        if self.blob_exists(&target).await? {
            tracing::debug!(digest, target = %repo_name(&target), "blob present");
            return Ok(BlobOutcome::Skipped);
        }
        let mut mount_refused = false;
        if source.registry() == target.registry() && source.repository() != target.repository() {
            // the registry answers 202 (an upload) instead of 201 when it cannot mount
            match self.client.mount_blob(&target, &source, digest).await {
                Ok(()) => {
                    tracing::debug!(digest, target = %repo_name(&target), "blob mounted");
                    return Ok(BlobOutcome::Mounted);
                }
                Err(e) => {
                    tracing::debug!(digest, error = %e, "mount refused, copying");
                    mount_refused = true;
                }
            }
        }
        let bytes = (|| self.stream_blob(&source, &target, blob, progress))
            .retry(backoff())
            .when(Transfer::is_transient)
            .notify(|f, wait| tracing::warn!(digest, error = %f, ?wait, "retrying blob copy"))
            .await
            .map_err(|f| match f {
                Transfer::Pull(e) => {
                    fetch_error(&format!("blob {digest} of {}", source.repository()), e)
                }
                Transfer::Push(e) => registry_error(
                    &format!("upload of blob {digest} to {}", target.repository()),
                    target.registry(),
                    e,
                ),
            })?;
        tracing::debug!(digest, bytes, target = %repo_name(&target), "blob copied");
        Ok(BlobOutcome::Copied {
            bytes,
            mount_refused,
        })
    }

    /// One attempt at streaming a blob from `source` to `target`.
    async fn stream_blob(
        &self,
        source: &Reference,
        target: &Reference,
        blob: &BlobInfo,
        progress: &Progress,
    ) -> Result<u64, Transfer> {
        let digest = blob.digest.as_str();
        // a blob is exactly as large as its descriptor says
        let pulled = self
            .registry
            .blob(source, digest, blob.size)
            .await
            .map_err(Transfer::Pull)?;
        let size = pulled.content_length.unwrap_or(blob.size);
        let sent = Arc::new(AtomicU64::new(0));
        // why the source stream broke off, when it did: the push then fails for it
        let pull_failed: Arc<std::sync::Mutex<Option<Failure>>> = Arc::default();
        let counted = {
            let sent = sent.clone();
            let progress = progress.clone();
            let pull_failed = pull_failed.clone();
            pulled
                .stream
                .map_ok(move |chunk| {
                    let n = chunk.len() as u64;
                    sent.fetch_add(n, Ordering::Relaxed);
                    Progress::add(&progress.0.bytes_copied, n);
                    chunk
                })
                .map_err(move |e| {
                    if let Ok(mut slot) = pull_failed.lock() {
                        *slot = Some(stream_failure(&e));
                    }
                    OciDistributionError::IoError(e)
                })
        };
        let pushed = self
            .client
            .push_blob_stream(target, counted, digest, Some(size))
            .await;
        if let Err(error) = pushed {
            // a retry streams the blob again: take back what this attempt counted
            progress
                .0
                .bytes_copied
                .fetch_sub(sent.load(Ordering::Relaxed), Ordering::Relaxed);
            let pulled = pull_failed.lock().ok().and_then(|mut f| f.take());
            return Err(match pulled {
                Some(failure) => Transfer::Pull(FetchError {
                    what: format!("blob {digest} of {}", source.repository()),
                    registry: source.resolve_registry().to_string(),
                    failure,
                }),
                None => Transfer::Push(error),
            });
        }
        Ok(sent.load(Ordering::Relaxed))
    }

    /// Pushes a manifest body as is to `target` (by tag or digest).
    pub(crate) async fn push_manifest(
        &self,
        target: &Reference,
        manifest: &RawManifest,
    ) -> Result<(), CopyError> {
        let what = format!("push of manifest {} to {}", manifest.digest, target.whole());
        let content_type: reqwest::header::HeaderValue = manifest
            .media_type
            .parse()
            .map_err(|e| CopyError::malformed(&what, e))?;
        (|| {
            self.client
                .push_manifest_raw(target, manifest.bytes.clone(), content_type.clone())
        })
        .retry(backoff())
        .when(is_transient)
        .notify(|e, wait| tracing::warn!(%what, error = %e, ?wait, "retrying"))
        .await
        .map_err(|e| registry_error(&what, target.registry(), e))?;
        Ok(())
    }

    /// Pushes the blob in file `path` (`size` bytes, `digest`) to `target`'s repository,
    /// streamed, unless it is there already. Returns whether it was pushed.
    pub(crate) async fn push_blob_file(
        &self,
        target: &Reference,
        path: &std::path::Path,
        digest: &str,
        size: u64,
    ) -> Result<bool, CopyError> {
        let target = Copier::in_repo(target, digest);
        if self.blob_exists(&target).await? {
            return Ok(false);
        }
        let what = format!("upload of blob {digest} to {}", target.repository());
        (|| async {
            let file = tokio::fs::File::open(path).await?;
            let body =
                tokio_util::io::ReaderStream::new(file).map_err(OciDistributionError::IoError);
            self.client
                .push_blob_stream(&target, body, digest, Some(size))
                .await
        })
        .retry(backoff())
        .when(is_transient)
        .notify(|e, wait| tracing::warn!(%what, error = %e, ?wait, "retrying"))
        .await
        .map_err(|e| registry_error(&what, target.registry(), e))?;
        Ok(true)
    }

    /// Pushes a small blob held in memory (an image config) unless the target has it.
    pub(crate) async fn push_blob_bytes(
        &self,
        target: &Reference,
        digest: &str,
        bytes: Bytes,
    ) -> Result<bool, CopyError> {
        let target = Copier::in_repo(target, digest);
        if self.blob_exists(&target).await? {
            return Ok(false);
        }
        let what = format!("upload of blob {digest} to {}", target.repository());
        (|| self.client.push_blob(&target, bytes.clone(), digest))
            .retry(backoff())
            .when(is_transient)
            .notify(|e, wait| tracing::warn!(%what, error = %e, ?wait, "retrying"))
            .await
            .map_err(|e| registry_error(&what, target.registry(), e))?;
        Ok(true)
    }

    /// Copies every image of `items` by digest into its target repository, each distinct
    /// blob per target repository once, manifests byte-exact; see the module docs.
    pub async fn copy_images(
        &self,
        items: &[CopyItem],
        progress: &Progress,
    ) -> Result<CopyStats, CopyError> {
        let mut stats = CopyStats::default();
        let distinct: BTreeSet<&CopyItem> = items.iter().collect();
        Progress::add(&progress.0.images_total, distinct.len() as u64);

        // 1. read every image, and whether the target has it whole already (a registry
        //    accepts a manifest only once everything it lists is there)
        let mut pairs = Vec::new();
        for item in distinct {
            let source = self.reference(&item.source).await?;
            let target = self.reference(&item.target_repo).await?;
            pairs.push((source, target));
        }
        // owned items (`Arc`s), not borrows, in the streams below: the copy's future must be
        // `Send` wherever it is spawned
        let planned: Vec<Arc<Planned>> = stream::iter(pairs)
            .map(|(source, target)| async move {
                let tree = self.read_tree(&source).await?;
                let present = self
                    .manifest_exists(&Copier::in_repo(&target, &tree.digest))
                    .await?;
                Ok::<_, CopyError>(Arc::new(Planned {
                    source,
                    target,
                    tree,
                    present,
                }))
            })
            .buffer_unordered(self.jobs())
            .try_collect()
            .await?;

        // 2. every distinct (target repository, blob) of the images still missing, once
        let mut needed: BTreeMap<(String, String), (Arc<Planned>, BlobInfo)> = BTreeMap::new();
        for p in planned.iter().filter(|p| !p.present) {
            for b in &p.tree.blobs {
                needed
                    .entry((repo_name(&p.target), b.digest.clone()))
                    .or_insert_with(|| (Arc::clone(p), b.clone()));
            }
        }
        let mut already: BTreeSet<(String, String)> = BTreeSet::new();
        for p in planned.iter().filter(|p| p.present) {
            stats.images_skipped += 1;
            for b in &p.tree.blobs {
                let key = (repo_name(&p.target), b.digest.clone());
                if !needed.contains_key(&key) {
                    already.insert(key);
                }
            }
        }
        let c = &progress.0;
        Progress::add(&c.images_done, stats.images_skipped);
        Progress::add(&c.blobs_total, (needed.len() + already.len()) as u64);
        Progress::add(&c.blobs_done, already.len() as u64);
        Progress::add(&c.blobs_skipped, already.len() as u64);
        Progress::add(&c.bytes_total, needed.values().map(|(_, b)| b.size).sum());
        stats.blobs_skipped += already.len() as u64;

        let outcomes: Vec<BlobOutcome> = stream::iter(needed.into_values())
            .map(move |(p, blob)| async move {
                let outcome = self
                    .copy_blob(&p.source, &p.target, &blob, progress)
                    .await?;
                match outcome {
                    BlobOutcome::Skipped => Progress::add(&c.blobs_skipped, 1),
                    BlobOutcome::Mounted => Progress::add(&c.blobs_mounted, 1),
                    BlobOutcome::Copied { .. } => {}
                }
                Progress::add(&c.blobs_done, 1);
                Ok::<_, CopyError>(outcome)
            })
            .buffer_unordered(self.jobs())
            .try_collect()
            .await?;
        for o in outcomes {
            o.count(&mut stats);
        }

        // 3. manifests, children first, by digest
        let missing: Vec<Arc<Planned>> = planned.into_iter().filter(|p| !p.present).collect();
        let pushed: Vec<u64> = stream::iter(missing)
            .map(move |p| async move {
                for m in &p.tree.manifests {
                    self.push_manifest(&Copier::in_repo(&p.target, &m.digest), m)
                        .await?;
                }
                Progress::add(&c.images_done, 1);
                Ok::<_, CopyError>(p.tree.manifests.len() as u64)
            })
            .buffer_unordered(self.jobs())
            .try_collect()
            .await?;
        stats.manifests_pushed = pushed.iter().sum();
        tracing::info!(
            images = items.len(),
            blobs_copied = stats.blobs_copied,
            blobs_mounted = stats.blobs_mounted,
            blobs_skipped = stats.blobs_skipped,
            bytes_copied = stats.bytes_copied,
            manifests_pushed = stats.manifests_pushed,
            "images copied"
        );
        Ok(stats)
    }
}

/// A failed blob transfer: reading the source or writing the target.
#[derive(Debug, thiserror::Error)]
enum Transfer {
    #[error(transparent)]
    Pull(FetchError),
    #[error(transparent)]
    Push(OciDistributionError),
}

impl Transfer {
    fn is_transient(&self) -> bool {
        match self {
            Transfer::Pull(e) => e.is_transient(),
            Transfer::Push(e) => is_transient(e),
        }
    }
}

/// What an error of a capped, digest-checked blob stream means.
pub(crate) fn stream_failure(e: &std::io::Error) -> Failure {
    match (overflow(e), e.kind()) {
        (Some(o), _) => Failure::TooLarge {
            limit: o.limit,
            declared: None,
        },
        (None, std::io::ErrorKind::InvalidData) => Failure::Protocol(e.to_string()),
        (None, _) => Failure::Transport {
            reason: e.to_string(),
            transient: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_status() {
        let e = OciDistributionError::ServerError {
            code: 503,
            url: "http://r/v2/".into(),
            message: "busy".into(),
        };
        assert!(is_transient(&e));
        let e = OciDistributionError::ServerError {
            code: 400,
            url: "http://r/v2/".into(),
            message: "MANIFEST_BLOB_UNKNOWN".into(),
        };
        assert!(!is_transient(&e));
        let envelope: oci_client::errors::OciEnvelope = serde_json::from_str(
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#,
        )
        .expect("envelope");
        let e = OciDistributionError::RegistryError {
            envelope,
            url: "http://r/v2/x/blobs/sha256:00".into(),
        };
        assert!(!is_transient(&e));
        let err = registry_error("blob sha256:00 of okd/content", "r:5000", e);
        assert_eq!(err.kind(), "not_found");
        assert_eq!(
            err.to_string(),
            "blob sha256:00 of okd/content not found on r:5000"
        );
        let err = registry_error(
            "manifest r:5000/okd/release:x",
            "r:5000",
            OciDistributionError::UnauthorizedError {
                url: "http://r:5000/v2/".into(),
            },
        );
        assert_eq!(err.kind(), "denied");
        assert!(err.to_string().contains("http 401"), "{err}");
    }

    #[test]
    fn manifest_media_types_come_from_body_or_shape() {
        let (_, t) =
            ManifestBody::parse(br#"{"schemaVersion":2,"manifests":[]}"#, "m").expect("index");
        assert_eq!(t, OCI_INDEX);
        let (_, t) = ManifestBody::parse(
            br#"{"schemaVersion":2,"config":{"digest":"sha256:00","size":2},"layers":[]}"#,
            "m",
        )
        .expect("image");
        assert_eq!(t, OCI_MANIFEST);
        let err = ManifestBody::parse(br#"{"schemaVersion":1}"#, "m").expect_err("v1");
        assert_eq!(err.kind(), "unknown_media_type");
    }
}
