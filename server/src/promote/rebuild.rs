//! Writes the promoted release payload: the CI payload image with its `release-manifests/`
//! layer rewritten, like `oc adm release new --from-release … --name … --previous …`.
//!
//! [`publish`] reads the source payload (an image manifest, or an index whose platform
//! images carry `release-manifests/`), streams the layer holding
//! `release-manifests/image-references` into a temporary file and writes a new one beside it:
//! the same tar with `image-references` pointing every component at its mirrored pull spec
//! and named after the release, and `release-metadata` carrying the release name and its
//! upgrade sources. Everything else of the tar is copied entry by entry, headers included;
//! the new layer is hashed while written (compressed for its digest, uncompressed for the
//! config's `diff_ids`), compressed without a timestamp, so the same inputs always give the
//! same digest. Every file is rewritten before anything is pushed: a payload that cannot be
//! rebuilt leaves the target untouched. A published release never moves: when the tag
//! exists at the release repository with another digest, nothing is pushed
//! ([`CopyError::TagTaken`]); the same digest is a push done before and is fine.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use backon::Retryable;
use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use oci_client::Reference;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::copy::{
    backoff, fetch_error, repo_name, stream_failure, BlobInfo, Copier, CopyError, CopyItem,
    ManifestBody, Progress, RawManifest,
};
use super::manifests::{is_manifest, ManifestMap};
use crate::formats::payload::is_sha256_digest;
use crate::oci::distribution::{Failure, FetchError};
use crate::oci::layer::{
    self, CappedReader, Compression, Extensions, ScanError, ScanLimits, IMAGE_REFERENCES,
    RELEASE_METADATA,
};

/// Label of the payload config naming the release.
pub const RELEASE_LABEL: &str = "io.openshift.release";
/// Largest image config read.
const CONFIG_BYTES: u64 = 4 << 20;
/// Largest layer (compressed) downloaded to look for `release-manifests/`.
const LAYER_BYTES: u64 = 1 << 30;
/// Most bytes such a layer may unpack to.
const UNPACKED_BYTES: u64 = 4 << 30;
/// Largest `image-references` or `release-metadata`.
const FILE_BYTES: u64 = 16 << 20;

/// What the new payload says differently from its source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// The release name (`4.20.0-okd-scos.3`): `image-references` `metadata.name`,
    /// `release-metadata` `version` and the config label [`RELEASE_LABEL`].
    pub name: String,
    /// The versions this release can be upgraded from (`release-metadata` `previous`).
    pub previous: Vec<String>,
    /// New pull spec (`mirror-repo@sha256:…`) of every `image-references` tag, by tag name.
    pub images: BTreeMap<String, String>,
    /// The source payload's pull spec, as `image-references` records it
    /// ([`FROM_RELEASE_ANNOTATION`]); not recorded when empty.
    #[serde(default)]
    pub from_release: String,
}

/// Annotation of `image-references` naming the release a payload was made from, as
/// `oc adm release new --from-release` writes it.
pub const FROM_RELEASE_ANNOTATION: &str = "release.openshift.io/from-release";

/// The payload [`publish`] pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Digest of its manifest (or index).
    pub digest: String,
    /// Media type of that manifest (the source payload's).
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One platform image of the new payload, ready to push.
struct ImagePlan {
    /// Repository of the source image.
    source: Reference,
    /// Its blobs that stay as they are.
    unchanged: Vec<BlobInfo>,
    /// The new layer.
    layer: NewLayer,
    /// The new config.
    config: (String, Bytes),
    /// The new manifest.
    manifest: RawManifest,
}

/// A layer written to a temporary file.
#[derive(Debug, Clone)]
struct NewLayer {
    path: PathBuf,
    digest: String,
    diff_id: String,
    size: u64,
    /// The `diff_id` of the layer it replaces.
    old_diff_id: String,
}

/// Publishes `source_payload` (`repo@sha256:…` of the CI payload) rewritten by `rewrite` as
/// `target` (`release-repo:tag`): [`prepare`], then [`Prepared::push`]: the unchanged blobs
/// (mounted or copied), the new layer, config and manifest (an index with its platform
/// images, when the source is one), and the tag. Returns what was pushed under the tag.
pub async fn publish(
    copier: &Copier,
    source_payload: &str,
    rewrite: &Rewrite,
    target: &str,
) -> Result<Published, CopyError> {
    prepare(copier, source_payload, rewrite, target)
        .await?
        .push(copier)
        .await
}

/// A platform image of a payload index, as it goes to the target.
enum Platform {
    /// Rewritten: pushed by digest.
    Rewritten(Box<ImagePlan>),
    /// Without `release-manifests/` (or itself an index): copied as it is.
    Copied(String),
}

/// What the tag gets.
enum Top {
    Image(Box<ImagePlan>),
    Index(Vec<Platform>),
}

/// A payload rewritten and ready to push; nothing of it is at the target yet.
pub struct Prepared {
    source: Reference,
    target: Reference,
    top: Top,
    /// What the tag will point at.
    manifest: RawManifest,
    source_payload: String,
    name: String,
    _workdir: tempfile::TempDir,
}

/// Reads `source_payload` (`repo@sha256:…` of the CI payload) and rewrites it by `rewrite`
/// for `target` (`release-repo:tag`) without pushing anything, so that the digest the tag
/// will get is known first. Fails with [`CopyError::TagTaken`] when the tag exists with
/// another digest: a published release never moves.
pub async fn prepare(
    copier: &Copier,
    source_payload: &str,
    rewrite: &Rewrite,
    target: &str,
) -> Result<Prepared, CopyError> {
    for (tag, spec) in &rewrite.images {
        let digest = spec.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        if !is_sha256_digest(digest) {
            return Err(CopyError::InvalidReference {
                spec: spec.clone(),
                reason: format!("the new pull spec of {tag:?} does not name a sha256 digest"),
            });
        }
    }
    let source = copier.reference(source_payload).await?;
    let target_ref = copier.reference(target).await?;
    if target_ref.digest().is_some() || target_ref.tag().is_none() {
        return Err(CopyError::InvalidReference {
            spec: target.to_string(),
            reason: "the release must be pushed under a tag (repo:tag)".to_string(),
        });
    }
    let workdir = tempfile::tempdir().map_err(CopyError::io("creating a temporary directory"))?;
    let top = copier.pull_manifest(&source).await?;

    let (top, manifest) = if ManifestBody::is_index(&top.media_type) {
        let mut index: Value = serde_json::from_slice(&top.bytes)
            .map_err(|e| CopyError::malformed(format!("index {}", top.digest), e))?;
        let mut entries: Vec<Value> = index
            .get("manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut platforms = Vec::new();
        for (i, entry) in entries.iter_mut().enumerate() {
            let digest = entry.get("digest").and_then(Value::as_str).ok_or_else(|| {
                CopyError::malformed(
                    format!("index {}", top.digest),
                    format!("entry {i} has no digest"),
                )
            })?;
            let child_ref = Copier::in_repo(&source, digest);
            let child = copier.pull_manifest(&child_ref).await?;
            let plan = if ManifestBody::is_index(&child.media_type) {
                None
            } else {
                let dir = workdir.path().join(format!("platform-{i}"));
                tokio::fs::create_dir(&dir)
                    .await
                    .map_err(CopyError::io("creating a temporary directory"))?;
                plan_image(copier, &child_ref, &child, rewrite, &dir).await?
            };
            let platform = match plan {
                Some(plan) => {
                    if let Some(obj) = entry.as_object_mut() {
                        obj.insert("digest".into(), json!(plan.manifest.digest));
                        obj.insert("size".into(), json!(plan.manifest.bytes.len()));
                    }
                    Platform::Rewritten(Box::new(plan))
                }
                None => Platform::Copied(digest.to_string()),
            };
            platforms.push(platform);
        }
        if !platforms
            .iter()
            .any(|p| matches!(p, Platform::Rewritten(_)))
        {
            return Err(CopyError::MissingFile {
                payload: source_payload.to_string(),
                path: IMAGE_REFERENCES.to_string(),
            });
        }
        if let Some(obj) = index.as_object_mut() {
            obj.insert("manifests".into(), Value::Array(entries));
        }
        let bytes = serde_json::to_vec_pretty(&index)
            .map_err(|e| CopyError::malformed("the new index", e))?;
        let manifest = RawManifest {
            digest: sha256_digest(&bytes),
            media_type: top.media_type.clone(),
            bytes: Bytes::from(bytes),
        };
        (Top::Index(platforms), manifest)
    } else {
        let plan = plan_image(copier, &source, &top, rewrite, workdir.path())
            .await?
            .ok_or_else(|| CopyError::MissingFile {
                payload: source_payload.to_string(),
                path: IMAGE_REFERENCES.to_string(),
            })?;
        let manifest = plan.manifest.clone();
        (Top::Image(Box::new(plan)), manifest)
    };
    let prepared = Prepared {
        source,
        target: target_ref,
        top,
        manifest,
        source_payload: source_payload.to_string(),
        name: rewrite.name.clone(),
        _workdir: workdir,
    };
    prepared.check_tag(copier).await?;
    Ok(prepared)
}

impl Prepared {
    /// The digest the tag will point at.
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }

    /// Fails when the tag exists with another digest than the one to be pushed (the same
    /// digest is a push done before, by this promotion).
    async fn check_tag(&self, copier: &Copier) -> Result<(), CopyError> {
        match copier.manifest_digest(&self.target).await? {
            Some(existing) if existing != self.manifest.digest => Err(CopyError::TagTaken {
                reference: self.target.whole(),
                existing,
                new: self.manifest.digest.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Pushes the unchanged blobs (mounted or copied), the new layers, configs and
    /// manifests, and last the tag, which is checked once more right before. Returns what
    /// was pushed under the tag.
    pub async fn push(self, copier: &Copier) -> Result<Published, CopyError> {
        let target = &self.target;
        match &self.top {
            Top::Image(plan) => push_blobs(copier, plan, target).await?,
            Top::Index(platforms) => {
                for platform in platforms {
                    match platform {
                        Platform::Rewritten(plan) => {
                            push_blobs(copier, plan, target).await?;
                            let by_digest = Copier::in_repo(target, &plan.manifest.digest);
                            copier.push_manifest(&by_digest, &plan.manifest).await?;
                        }
                        Platform::Copied(digest) => {
                            copier
                                .copy_images(
                                    &[CopyItem {
                                        source: Copier::in_repo(&self.source, digest).whole(),
                                        target_repo: repo_name(target),
                                    }],
                                    &Progress::new(),
                                )
                                .await?;
                        }
                    }
                }
            }
        }
        // the tag may have been pushed by someone else meanwhile
        self.check_tag(copier).await?;
        copier.push_manifest(target, &self.manifest).await?;
        let published = Published {
            digest: self.manifest.digest.clone(),
            media_type: self.manifest.media_type.clone(),
            size: self.manifest.bytes.len() as u64,
        };
        tracing::info!(
            source = %self.source_payload,
            target = %target.whole(),
            digest = %published.digest,
            name = %self.name,
            "release payload published"
        );
        Ok(published)
    }
}

/// Pushes the blobs of one planned image into `target`'s repository: the unchanged ones
/// (skipped, mounted or copied), the new layer and the new config.
async fn push_blobs(
    copier: &Copier,
    plan: &ImagePlan,
    target: &Reference,
) -> Result<(), CopyError> {
    let progress = Progress::new();
    let progress = &progress;
    // owned blobs, not borrows: the future must be `Send` wherever it is spawned
    let _: Vec<_> = stream::iter(plan.unchanged.clone())
        .map(move |blob| async move {
            copier
                .copy_blob(&plan.source, target, &blob, progress)
                .await
        })
        .buffer_unordered(copier.jobs())
        .try_collect()
        .await?;
    copier
        .push_blob_file(
            target,
            &plan.layer.path,
            &plan.layer.digest,
            plan.layer.size,
        )
        .await?;
    copier
        .push_blob_bytes(target, &plan.config.0, plan.config.1.clone())
        .await?;
    Ok(())
}

/// Rewrites one platform image of the payload in `dir`: `None` when none of its layers
/// holds `image-references` (searched from the top).
async fn plan_image(
    copier: &Copier,
    source: &Reference,
    manifest: &RawManifest,
    rewrite: &Rewrite,
    dir: &Path,
) -> Result<Option<ImagePlan>, CopyError> {
    let what = format!("manifest {}@{}", repo_name(source), manifest.digest);
    let (typed, _) = ManifestBody::parse(&manifest.bytes, &what)?;
    let config = typed
        .config
        .clone()
        .ok_or_else(|| CopyError::malformed(&what, "image manifest without a config"))?;
    let mut found = None;
    for (i, l) in typed.layers.iter().enumerate().rev() {
        let Some(compression) = compression_of(&l.media_type) else {
            continue;
        };
        if l.size > LAYER_BYTES {
            continue;
        }
        let src = dir.join(format!("layer-{i}"));
        // a blob is exactly as large as its descriptor says
        download(copier, source, &l.digest, l.size, &src).await?;
        let dst = dir.join(format!("layer-{i}.new"));
        let (rw, payload, digest) = (rewrite.clone(), what.clone(), l.digest.clone());
        let rewritten = tokio::task::spawn_blocking(move || {
            rewrite_layer(&src, &dst, compression, &rw, &payload, &digest)
        })
        .await
        .map_err(|e| CopyError::Io {
            what: format!("rewriting layer {}", l.digest),
            source: io::Error::other(e.to_string()),
        })??;
        if let Some(new) = rewritten {
            found = Some((i, new));
            break;
        }
    }
    let Some((index, layer)) = found else {
        return Ok(None);
    };

    if config.size > CONFIG_BYTES {
        return Err(CopyError::TooLarge {
            what: format!("config {}", config.digest),
            limit: CONFIG_BYTES,
        });
    }
    let config_path = dir.join("config");
    download(copier, source, &config.digest, config.size, &config_path).await?;
    let config_raw = tokio::fs::read(&config_path)
        .await
        .map_err(CopyError::io("reading a temporary file"))?;
    let new_config = rewrite_config(
        &config_raw,
        &rewrite.name,
        &layer.old_diff_id,
        &layer.diff_id,
        index,
        typed.layers.len(),
    )
    .map_err(|reason| CopyError::malformed(format!("config {}", config.digest), reason))?;
    let config_digest = sha256_digest(&new_config);

    let mut body: Value =
        serde_json::from_slice(&manifest.bytes).map_err(|e| CopyError::malformed(&what, e))?;
    let set = |v: Option<&mut Value>, digest: &str, size: u64| {
        if let Some(obj) = v.and_then(Value::as_object_mut) {
            obj.insert("digest".into(), json!(digest));
            obj.insert("size".into(), json!(size));
        }
    };
    set(
        body.get_mut("config"),
        &config_digest,
        new_config.len() as u64,
    );
    set(
        body.get_mut("layers").and_then(|l| l.get_mut(index)),
        &layer.digest,
        layer.size,
    );
    let bytes = serde_json::to_vec_pretty(&body).map_err(|e| CopyError::malformed(&what, e))?;
    let unchanged = typed
        .layers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, d)| BlobInfo {
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            size: d.size,
        })
        .collect();
    Ok(Some(ImagePlan {
        source: source.clone(),
        unchanged,
        layer,
        config: (config_digest, Bytes::from(new_config)),
        manifest: RawManifest {
            digest: sha256_digest(&bytes),
            media_type: manifest.media_type.clone(),
            bytes: Bytes::from(bytes),
        },
    }))
}

/// Streams the blob `digest` of `source`'s repository into the file `path`, at most
/// `limit` bytes; the client checks the digest as the bytes pass. Transient failures start
/// the download over.
async fn download(
    copier: &Copier,
    source: &Reference,
    digest: &str,
    limit: u64,
    path: &Path,
) -> Result<(), CopyError> {
    let blob = Copier::in_repo(source, digest);
    let what = format!("blob {digest} of {}", source.repository());
    (|| download_once(copier, &blob, digest, limit, path))
        .retry(backoff())
        .when(Fetch::is_transient)
        .notify(|e, wait| tracing::warn!(%what, error = ?e, ?wait, "retrying download"))
        .await
        .map_err(|e| match e {
            Fetch::Registry(e) => fetch_error(&what, e),
            Fetch::Stream(e) => fetch_error(
                &what,
                FetchError {
                    what: what.clone(),
                    registry: source.resolve_registry().to_string(),
                    failure: stream_failure(&e),
                },
            ),
            Fetch::TooLarge => CopyError::TooLarge {
                what: what.clone(),
                limit,
            },
            Fetch::Local(e) => CopyError::Io {
                what: format!("storing {what}"),
                source: e,
            },
        })
}

/// Why one download attempt failed.
#[derive(Debug)]
enum Fetch {
    Registry(FetchError),
    /// The body broke off or failed its digest check.
    Stream(io::Error),
    TooLarge,
    Local(io::Error),
}

impl Fetch {
    fn is_transient(&self) -> bool {
        match self {
            Fetch::Registry(e) => e.is_transient(),
            Fetch::Stream(e) => matches!(
                stream_failure(e),
                Failure::Transport {
                    transient: true,
                    ..
                }
            ),
            Fetch::TooLarge | Fetch::Local(_) => false,
        }
    }
}

async fn download_once(
    copier: &Copier,
    blob: &Reference,
    digest: &str,
    limit: u64,
    path: &Path,
) -> Result<(), Fetch> {
    let mut stream = copier
        .registry()
        .blob(blob, digest, limit)
        .await
        .map_err(Fetch::Registry)?
        .stream;
    let mut file = tokio::fs::File::create(path).await.map_err(Fetch::Local)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match layer::overflow(&e) {
            Some(_) => Fetch::TooLarge,
            None => Fetch::Stream(e),
        })?;
        file.write_all(&chunk).await.map_err(Fetch::Local)?;
    }
    file.flush().await.map_err(Fetch::Local)?;
    Ok(())
}

/// `sha256:<hex>` of `bytes`.
fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn compression_of(media_type: &str) -> Option<Compression> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
        _ => None,
    }
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    fn finish(self) -> (W, String, u64) {
        let digest = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        (self.inner, digest, self.written)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn layer_error(digest: &str) -> impl Fn(io::Error) -> CopyError + '_ {
    move |e| CopyError::malformed(format!("layer {digest}"), e)
}

/// Rewrites the layer in file `src` into `dst` (blocking): `None` when it holds no
/// `image-references`.
fn rewrite_layer(
    src: &Path,
    dst: &Path,
    compression: Compression,
    rewrite: &Rewrite,
    payload: &str,
    digest: &str,
) -> Result<Option<NewLayer>, CopyError> {
    let limits = ScanLimits {
        layer_bytes: LAYER_BYTES,
        unpacked_bytes: UNPACKED_BYTES,
        file_bytes: FILE_BYTES,
    };
    let input = std::fs::File::open(src).map_err(CopyError::io("opening a temporary file"))?;
    let scan =
        layer::scan(io::BufReader::new(input), compression, limits).map_err(|e| match e {
            ScanError::TooLarge { what, limit } => CopyError::TooLarge {
                what: format!("{what} of layer {digest}"),
                limit,
            },
            ScanError::Corrupt(reason) => CopyError::malformed(format!("layer {digest}"), reason),
        })?;
    let Some(references) = scan.image_references else {
        return Ok(None);
    };
    let source: Value = serde_json::from_slice(&references)
        .map_err(|e| CopyError::malformed(IMAGE_REFERENCES, e))?;
    let manifests = ManifestMap::new(&source, &rewrite.images, &rewrite.name)
        .map_err(|reason| CopyError::malformed(IMAGE_REFERENCES, reason))?;
    let references = rewrite_image_references(source, rewrite, payload)?;
    let metadata = rewrite_release_metadata(scan.release_metadata.as_deref(), rewrite)
        .map_err(|reason| CopyError::malformed(RELEASE_METADATA, reason))?;

    let input = std::fs::File::open(src).map_err(CopyError::io("opening a temporary file"))?;
    let output = std::fs::File::create(dst).map_err(CopyError::io("creating a temporary file"))?;
    let compressed = CappedReader::new(io::BufReader::new(input), "layer", LAYER_BYTES);
    let unpacked: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(compressed)),
        Compression::None => Box::new(compressed),
    };
    let mut unpacked = HashingReader {
        inner: CappedReader::new(unpacked, "unpacked layer", UNPACKED_BYTES),
        hasher: Sha256::new(),
    };
    let files = Files {
        references: &references,
        metadata: &metadata,
        manifests: &manifests,
    };
    let out = match compression {
        Compression::Gzip => {
            let gz = flate2::GzBuilder::new().mtime(0).write(
                Hashing::new(io::BufWriter::new(output)),
                flate2::Compression::default(),
            );
            let tar = copy_entries(&mut unpacked, Hashing::new(gz), &files)
                .map_err(layer_error(digest))?;
            let (gz, diff_id, _) = tar.finish();
            let file = gz.finish().map_err(layer_error(digest))?;
            let (mut file, digest, size) = file.finish();
            file.flush()
                .map_err(CopyError::io("writing a temporary file"))?;
            (digest, diff_id, size)
        }
        Compression::None => {
            let tar = copy_entries(
                &mut unpacked,
                Hashing::new(io::BufWriter::new(output)),
                &files,
            )
            .map_err(layer_error(digest))?;
            let (mut file, digest, size) = tar.finish();
            file.flush()
                .map_err(CopyError::io("writing a temporary file"))?;
            (digest.clone(), digest, size)
        }
    };
    // the rest of the source tar (padding) belongs to its diff_id
    io::copy(&mut unpacked, &mut io::sink()).map_err(layer_error(digest))?;
    let old_diff_id = format!("sha256:{}", hex::encode(unpacked.hasher.finalize()));
    Ok(Some(NewLayer {
        path: dst.to_path_buf(),
        digest: out.0,
        diff_id: out.1,
        size: out.2,
        old_diff_id,
    }))
}

/// The two files written anew, and how the operator manifests change.
struct Files<'a> {
    references: &'a [u8],
    metadata: &'a [u8],
    manifests: &'a ManifestMap,
}

/// Path of a tar entry as the payload reader matches it.
fn normalize(path: &[u8]) -> &[u8] {
    let mut p = path;
    while let Some(rest) = p.strip_prefix(b"./").or_else(|| p.strip_prefix(b"/")) {
        p = rest;
    }
    p
}

/// Copies the tar from `input` to `out` entry by entry, headers and extension records
/// unchanged, but `image-references` and `release-metadata` (added after the former when
/// absent) replaced by `files`, and each operator manifest mapped by `files.manifests`
/// (read whole, one at a time, each at most [`FILE_BYTES`]).
fn copy_entries<R: Read, W: Write>(input: R, out: W, files: &Files<'_>) -> io::Result<W> {
    let mut archive = tar::Archive::new(input);
    let mut builder = tar::Builder::new(out);
    let mut extensions = Extensions::default();
    let mut references_header: Option<tar::Header> = None;
    let mut wrote_metadata = false;
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        let header = entry.header().clone();
        if let Some(data) = extensions.take(&mut entry)? {
            builder.append(&header, &data[..])?;
            continue;
        }
        let kind = header.entry_type();
        let path = extensions.path_of(&entry)?;
        let replacement = match normalize(&path) {
            p if p == IMAGE_REFERENCES.as_bytes() && kind.is_file() => {
                references_header = Some(header.clone());
                Some(files.references)
            }
            p if p == RELEASE_METADATA.as_bytes() && kind.is_file() => {
                wrote_metadata = true;
                Some(files.metadata)
            }
            _ => None,
        };
        let mapped = match replacement {
            None if kind.is_file() && is_manifest(normalize(&path)) => {
                let size = header.size()?;
                if size > FILE_BYTES {
                    return Err(io::Error::other(format!(
                        "{} is larger than {FILE_BYTES} bytes",
                        String::from_utf8_lossy(&path)
                    )));
                }
                let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                (&mut entry).take(FILE_BYTES).read_to_end(&mut text)?;
                Some(files.manifests.apply(&text).unwrap_or(text))
            }
            _ => None,
        };
        match (replacement, mapped) {
            (Some(body), _) => append_as(&mut builder, header, body)?,
            (None, Some(body)) => append_as(&mut builder, header, &body)?,
            (None, None) => builder.append(&header, &mut entry)?,
        }
    }
    // the scan found it, so only an entry of another kind (a link) can hide it here
    let references_header = references_header
        .ok_or_else(|| io::Error::other(format!("{IMAGE_REFERENCES} is not a regular file")))?;
    if !wrote_metadata {
        let mut h = references_header;
        h.set_path(RELEASE_METADATA)?;
        h.set_size(files.metadata.len() as u64);
        h.set_cksum();
        builder.append(&h, files.metadata)?;
    }
    builder.into_inner()
}

/// Appends `body` under `header` with its size set to the body's.
fn append_as<W: Write>(
    builder: &mut tar::Builder<W>,
    mut header: tar::Header,
    body: &[u8],
) -> io::Result<()> {
    header.set_size(body.len() as u64);
    header.set_cksum();
    builder.append(&header, body)
}

/// The object at `key` of `obj`, created when absent or null.
fn object_at<'a>(
    obj: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Map<String, Value>, String> {
    let slot = obj.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .ok_or_else(|| format!("{key} is not an object"))
}

/// `image-references` (as read, `stream`) named `rewrite.name`, every tag pointing at its
/// new pull spec; everything else as it was.
fn rewrite_image_references(
    mut stream: Value,
    rewrite: &Rewrite,
    payload: &str,
) -> Result<Vec<u8>, CopyError> {
    let malformed = |reason: String| CopyError::malformed(IMAGE_REFERENCES, reason);
    let root = stream
        .as_object_mut()
        .ok_or_else(|| malformed("not an object".into()))?;
    let metadata = object_at(root, "metadata").map_err(malformed)?;
    metadata.insert("name".into(), json!(rewrite.name));
    if !rewrite.from_release.is_empty() {
        object_at(metadata, "annotations")
            .map_err(malformed)?
            .insert(FROM_RELEASE_ANNOTATION.into(), json!(rewrite.from_release));
    }
    let tags = root
        .get_mut("spec")
        .and_then(|s| s.get_mut("tags"))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| malformed("no spec.tags".into()))?;
    for tag in tags {
        let tag = tag
            .as_object_mut()
            .ok_or_else(|| malformed("a tag is not an object".into()))?;
        let name = tag
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("a tag has no name".into()))?
            .to_string();
        let image = rewrite
            .images
            .get(&name)
            .ok_or_else(|| CopyError::MissingImage {
                payload: payload.to_string(),
                tag: name.clone(),
            })?;
        let from = object_at(tag, "from").map_err(|r| malformed(format!("tag {name}: {r}")))?;
        from.entry("kind").or_insert(json!("DockerImage"));
        from.insert("name".into(), json!(image));
    }
    let mut out = serde_json::to_vec_pretty(&stream).map_err(|e| malformed(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// `release-metadata` with `version` and `previous` of `rewrite`, other fields kept; a new
/// one when the payload had none.
fn rewrite_release_metadata(raw: Option<&[u8]>, rewrite: &Rewrite) -> Result<Vec<u8>, String> {
    let mut metadata = match raw {
        Some(raw) => serde_json::from_slice(raw).map_err(|e| e.to_string())?,
        None => json!({"kind": "cincinnati-metadata-v0", "metadata": {}}),
    };
    let obj = metadata
        .as_object_mut()
        .ok_or_else(|| "not an object".to_string())?;
    obj.insert("version".into(), json!(rewrite.name));
    obj.insert("previous".into(), json!(rewrite.previous));
    serde_json::to_vec(&metadata).map_err(|e| e.to_string())
}

/// The payload config with the release label set and the replaced layer's `diff_id`
/// swapped; everything else (history included) kept.
fn rewrite_config(
    raw: &[u8],
    name: &str,
    old_diff_id: &str,
    new_diff_id: &str,
    layer_index: usize,
    layer_count: usize,
) -> Result<Vec<u8>, String> {
    let mut config: Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    let root = config
        .as_object_mut()
        .ok_or_else(|| "not an object".to_string())?;
    let container = object_at(root, "config")?;
    object_at(container, "Labels")?.insert(RELEASE_LABEL.into(), json!(name));
    if let Some(labels) = root
        .get_mut("container_config")
        .and_then(|c| c.get_mut("Labels"))
        .and_then(Value::as_object_mut)
    {
        labels.insert(RELEASE_LABEL.into(), json!(name));
    }
    if let Some(diff_ids) = root
        .get_mut("rootfs")
        .and_then(|r| r.get_mut("diff_ids"))
        .and_then(Value::as_array_mut)
    {
        let at = diff_ids
            .iter()
            .position(|d| d.as_str() == Some(old_diff_id))
            .or((diff_ids.len() == layer_count).then_some(layer_index));
        match at.and_then(|i| diff_ids.get_mut(i)) {
            Some(slot) => *slot = json!(new_diff_id),
            None => tracing::warn!(
                layers = layer_count,
                diff_ids = diff_ids.len(),
                "payload config diff_ids do not match its layers; left as they are"
            ),
        }
    }
    serde_json::to_vec(&config).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            builder
                .append_data(&mut header, path, *body)
                .expect("append");
        }
        let tar = builder.into_inner().expect("tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).expect("gzip");
        gz.finish().expect("gzip")
    }

    fn rewrite() -> Rewrite {
        Rewrite {
            name: "4.20.0-okd-scos.3".into(),
            previous: vec!["4.20.0-okd-scos.2".into()],
            images: BTreeMap::from([(
                "cli".to_string(),
                format!("mirror.example/okd/content@sha256:{}", "a".repeat(64)),
            )]),
            from_release: "ci.example/ocp@sha256:ff".into(),
        }
    }

    const REFS: &str = r#"{"kind":"ImageStream","apiVersion":"image.openshift.io/v1",
        "metadata":{"name":"4.20.0-0.okd-scos-2026-01-01-000000","annotations":{"a":"b"}},
        "spec":{"tags":[{"name":"cli","annotations":{"x":"y"},
        "from":{"kind":"DockerImage","name":"ci.example/ocp@sha256:00"},"unknownField":1}]}}"#;

    /// `src` rewritten by [`rewrite`] into `dst`.
    fn rewritten(src: &Path, dst: &Path) -> Result<Option<NewLayer>, CopyError> {
        rewrite_layer(src, dst, Compression::Gzip, &rewrite(), "p", "d")
    }

    fn refs() -> Value {
        serde_json::from_str(REFS).expect("json")
    }

    #[test]
    fn image_references_keep_unknown_fields() {
        let out = rewrite_image_references(refs(), &rewrite(), "p").expect("rewrites");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["metadata"]["name"], "4.20.0-okd-scos.3");
        assert_eq!(v["metadata"]["annotations"]["a"], "b");
        let tag = &v["spec"]["tags"][0];
        assert_eq!(tag["unknownField"], 1);
        assert_eq!(tag["annotations"]["x"], "y");
        assert!(tag["from"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("mirror.example/")));
        let mut missing = rewrite();
        missing.images.clear();
        let err = rewrite_image_references(refs(), &missing, "p").expect_err("missing");
        assert_eq!(err.to_string(), "image \"cli\" of p has no new pull spec");
    }

    #[test]
    fn layer_rewrite_is_deterministic_and_keeps_other_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::write(
            &src,
            tar_gz(&[
                ("release-manifests/0000_cvo.yaml", b"kind: Deployment\n"),
                (IMAGE_REFERENCES, REFS.as_bytes()),
            ]),
        )
        .expect("write");
        let a = rewritten(&src, &dir.path().join("a"))
            .expect("rewrites")
            .expect("has references");
        let b = rewritten(&src, &dir.path().join("b"))
            .expect("rewrites")
            .expect("has references");
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.digest, a.diff_id);
        let bytes = std::fs::read(&a.path).expect("read");
        assert_eq!(sha256_digest(&bytes), a.digest);
        let scan = layer::scan(
            &bytes[..],
            Compression::Gzip,
            ScanLimits {
                layer_bytes: 1 << 20,
                unpacked_bytes: 1 << 20,
                file_bytes: 1 << 20,
            },
        )
        .expect("scans");
        let metadata: Value =
            serde_json::from_slice(&scan.release_metadata.expect("created")).expect("json");
        assert_eq!(metadata["version"], "4.20.0-okd-scos.3");
        assert_eq!(metadata["kind"], "cincinnati-metadata-v0");
        assert_eq!(metadata["previous"][0], "4.20.0-okd-scos.2");
        let mut names = Vec::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        for e in archive.entries().expect("entries") {
            let e = e.expect("entry");
            assert_eq!(e.header().mtime().expect("mtime"), 1_700_000_000);
            names.push(e.path().expect("path").display().to_string());
        }
        assert_eq!(
            names,
            [
                "release-manifests/0000_cvo.yaml",
                IMAGE_REFERENCES,
                RELEASE_METADATA
            ]
        );
        let none = rewritten(
            &{
                let p = dir.path().join("other");
                std::fs::write(&p, tar_gz(&[("usr/bin/x", b"x")])).expect("write");
                p
            },
            &dir.path().join("c"),
        )
        .expect("scans");
        assert!(none.is_none());
    }

    #[test]
    fn operator_manifests_name_the_mirror_and_the_new_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        let deployment = b"kind: Deployment\nspec:\n  image: ci.example/ocp@sha256:00\n  version: 4.20.0-0.okd-scos-2026-01-01-000000\n";
        let untouched = b"kind: Namespace\nmetadata:\n  name: openshift-cli\n";
        std::fs::write(
            &src,
            tar_gz(&[
                ("release-manifests/0000_50_cli_deployment.yaml", deployment),
                ("release-manifests/0000_50_cli_namespace.yaml", untouched),
                (
                    "usr/share/ci.example/ocp@sha256:00",
                    b"ci.example/ocp@sha256:00",
                ),
                (IMAGE_REFERENCES, REFS.as_bytes()),
            ]),
        )
        .expect("write");
        let new = rewritten(&src, &dir.path().join("a"))
            .expect("rewrites")
            .expect("has references");
        let bytes = std::fs::read(&new.path).expect("read");
        let mut files = BTreeMap::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        for e in archive.entries().expect("entries") {
            let mut e = e.expect("entry");
            let path = e.path().expect("path").display().to_string();
            let mut body = String::new();
            e.read_to_string(&mut body).expect("text");
            assert_eq!(e.header().size().expect("size"), body.len() as u64);
            files.insert(path, body);
        }
        let mirror = format!("mirror.example/okd/content@sha256:{}", "a".repeat(64));
        assert_eq!(
            files["release-manifests/0000_50_cli_deployment.yaml"],
            format!("kind: Deployment\nspec:\n  image: {mirror}\n  version: 4.20.0-okd-scos.3\n")
        );
        assert_eq!(
            files["release-manifests/0000_50_cli_namespace.yaml"].as_bytes(),
            untouched
        );
        assert_eq!(
            files["usr/share/ci.example/ocp@sha256:00"], "ci.example/ocp@sha256:00",
            "only release-manifests/ is the payload's"
        );
        let references: Value = serde_json::from_str(&files[IMAGE_REFERENCES]).expect("json");
        assert_eq!(
            references["metadata"]["annotations"][FROM_RELEASE_ANNOTATION],
            "ci.example/ocp@sha256:ff"
        );
        assert_eq!(
            references["metadata"]["annotations"]["a"], "b",
            "others kept"
        );
    }

    #[test]
    fn config_gets_the_label_and_the_new_diff_id() {
        let raw = br#"{"architecture":"amd64","config":{"Labels":{"a":"b"}},
            "history":[{"comment":"x"}],"rootfs":{"type":"layers","diff_ids":["sha256:1","sha256:2"]}}"#;
        let out = rewrite_config(raw, "n", "sha256:2", "sha256:9", 1, 2).expect("rewrites");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["config"]["Labels"][RELEASE_LABEL], "n");
        assert_eq!(v["config"]["Labels"]["a"], "b");
        assert_eq!(v["rootfs"]["diff_ids"], json!(["sha256:1", "sha256:9"]));
        assert_eq!(v["history"][0]["comment"], "x");
    }
}
