//! Writes the promoted release payload as `oc adm release new --from-release … --mirror …
//! --name … --previous …` does: the CI payload image (the cluster-version-operator's image
//! and `release-manifests/` on top) with its `release-manifests/` layer built anew from the
//! component images ([`payload`]) and its config relabelled.
//!
//! [`publish`] reads the source payload (an image manifest, or an index whose platform
//! images carry `release-manifests/`), streams the layer holding
//! `release-manifests/image-references` into a temporary file to read that and
//! `release-metadata`, and writes the new layer beside it. The layer is hashed while
//! written (compressed for its digest, uncompressed for the config's `diff_ids`),
//! compressed without a timestamp, so the same inputs always give the same digest.
//! Everything is built before anything is pushed: a payload that cannot be rebuilt leaves
//! the target untouched. A published release never moves: when the tag exists at the
//! release repository with another digest, nothing is pushed ([`CopyError::TagTaken`]);
//! the same digest is a push done before and is fine.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use oci_client::Reference;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::blobs::{compression_of, download, sha256_digest};
use super::copy::{
    repo_name, BlobInfo, Copier, CopyError, CopyItem, ManifestBody, Progress, RawManifest,
};
use super::payload::operators::{CONFIG_BYTES, FILE_BYTES, LAYER_BYTES, UNPACKED_BYTES};
use super::payload::{self, object_at, Components};
use crate::formats::payload::is_sha256_digest;
use crate::oci::layer::{self, Compression, LayerScan, ScanError, ScanLimits, IMAGE_REFERENCES};

/// Label of the payload config naming the release.
pub const RELEASE_LABEL: &str = "io.openshift.release";
/// Label of the payload config naming the image it was built on (the
/// cluster-version-operator's).
pub const BASE_DIGEST_LABEL: &str = "io.openshift.release.base-image-digest";
pub use super::payload::{Rewrite, FROM_RELEASE_ANNOTATION};

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

/// The new layer, in a temporary file.
#[derive(Debug, Clone)]
struct NewLayer {
    path: PathBuf,
    digest: String,
    size: u64,
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
    let mut components = Components::new(workdir.path().join("components"));
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
                plan_image(copier, &mut components, &child_ref, &child, rewrite, &dir).await?
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
        let plan = plan_image(
            copier,
            &mut components,
            &source,
            &top,
            rewrite,
            workdir.path(),
        )
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

/// Rebuilds one platform image of the payload in `dir`: its `release-manifests/` layer
/// replaced by one built from the component images ([`payload::build`]); `None` when none
/// of its layers holds `image-references` (searched from the top).
async fn plan_image(
    copier: &Copier,
    components: &mut Components,
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
        let digest = l.digest.clone();
        let scan = tokio::task::spawn_blocking(move || scan_layer(&src, compression, &digest))
            .await
            .map_err(|e| CopyError::Io {
                what: format!("reading layer {}", l.digest),
                source: io::Error::other(e.to_string()),
            })??;
        if let Some(references) = scan.image_references {
            found = Some((i, references, scan.release_metadata));
            break;
        }
    }
    let Some((index, references, metadata)) = found else {
        return Ok(None);
    };
    let layer = payload::build(
        copier,
        components,
        &references,
        metadata.as_deref(),
        rewrite,
        &dir.join("release-manifests.tar.gz"),
    )
    .await?;

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
        rewrite,
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
    let replaced = body.get_mut("layers").and_then(|l| l.get_mut(index));
    if let Some(obj) = replaced.as_deref().and_then(Value::as_object) {
        // the new layer is always gzip'd
        let media_type = obj
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let gzip = gzip_media_type(media_type);
        if gzip != media_type {
            let gzip = gzip.to_string();
            if let Some(obj) = body
                .get_mut("layers")
                .and_then(|l| l.get_mut(index))
                .and_then(Value::as_object_mut)
            {
                obj.insert("mediaType".into(), json!(gzip));
            }
        }
    }
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
        layer: NewLayer {
            path: layer.path,
            digest: layer.digest,
            size: layer.size,
        },
        config: (config_digest, Bytes::from(new_config)),
        manifest: RawManifest {
            digest: sha256_digest(&bytes),
            media_type: manifest.media_type.clone(),
            bytes: Bytes::from(bytes),
        },
    }))
}

/// The gzip'd media type of a layer media type.
fn gzip_media_type(media_type: &str) -> &str {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar" => "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar" => {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        }
        other => other,
    }
}

/// Looks for `image-references` and `release-metadata` in the layer file `src` (blocking).
fn scan_layer(src: &Path, compression: Compression, digest: &str) -> Result<LayerScan, CopyError> {
    let limits = ScanLimits {
        layer_bytes: LAYER_BYTES,
        unpacked_bytes: UNPACKED_BYTES,
        file_bytes: FILE_BYTES,
    };
    let input = std::fs::File::open(src).map_err(CopyError::io("opening a temporary file"))?;
    layer::scan(io::BufReader::new(input), compression, limits).map_err(|e| match e {
        ScanError::TooLarge { what, limit } => CopyError::TooLarge {
            what: format!("{what} of layer {digest}"),
            limit,
        },
        ScanError::Corrupt(reason) => CopyError::malformed(format!("layer {digest}"), reason),
    })
}

/// The payload config as `oc` writes it: its labels only the release's name
/// ([`RELEASE_LABEL`]) and the image it was built on ([`BASE_DIGEST_LABEL`], as the source
/// payload said), dated with the promotion, the replaced layer's `diff_id` swapped;
/// everything else (history included) kept.
fn rewrite_config(
    raw: &[u8],
    rewrite: &Rewrite,
    new_diff_id: &str,
    layer_index: usize,
    layer_count: usize,
) -> Result<Vec<u8>, String> {
    let mut config: Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    let root = config
        .as_object_mut()
        .ok_or_else(|| "not an object".to_string())?;
    root.insert(
        "created".into(),
        json!(rewrite.created.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    let container = object_at(root, "config")?;
    let base = container
        .get("Labels")
        .and_then(|l| l.get(BASE_DIGEST_LABEL))
        .cloned();
    let mut labels = Map::new();
    labels.insert(RELEASE_LABEL.into(), json!(rewrite.name));
    if let Some(base) = base {
        labels.insert(BASE_DIGEST_LABEL.into(), base);
    }
    container.insert("Labels".into(), Value::Object(labels.clone()));
    if let Some(old) = root
        .get_mut("container_config")
        .and_then(Value::as_object_mut)
        .filter(|c| c.contains_key("Labels"))
    {
        old.insert("Labels".into(), Value::Object(labels));
    }
    if let Some(diff_ids) = root
        .get_mut("rootfs")
        .and_then(|r| r.get_mut("diff_ids"))
        .and_then(Value::as_array_mut)
    {
        let count = diff_ids.len();
        match diff_ids
            .get_mut(layer_index)
            .filter(|_| count == layer_count)
        {
            Some(slot) => *slot = json!(new_diff_id),
            None => tracing::warn!(
                layers = layer_count,
                diff_ids = count,
                "payload config diff_ids do not match its layers; left as they are"
            ),
        }
    }
    serde_json::to_vec(&config).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_gets_the_release_labels_and_the_new_diff_id() {
        let raw = br#"{"architecture":"amd64","created":"2020-01-01T00:00:00Z",
            "config":{"Labels":{"a":"b","io.openshift.release":"ci",
            "io.openshift.release.base-image-digest":"sha256:cvo"}},
            "container_config":{"Labels":{"a":"b"}},
            "history":[{"comment":"x"}],"rootfs":{"type":"layers","diff_ids":["sha256:1","sha256:2"]}}"#;
        let rewrite = Rewrite {
            name: "4.21.0-okd-scos.1".into(),
            created: "2026-03-01T10:20:30Z".parse().expect("time"),
            ..Rewrite::default()
        };
        let out = rewrite_config(raw, &rewrite, "sha256:9", 1, 2).expect("rewrites");
        let v: Value = serde_json::from_slice(&out).expect("json");
        let labels = json!({RELEASE_LABEL: "4.21.0-okd-scos.1", BASE_DIGEST_LABEL: "sha256:cvo"});
        assert_eq!(v["config"]["Labels"], labels, "only the release's labels");
        assert_eq!(v["container_config"]["Labels"], labels);
        assert_eq!(v["created"], "2026-03-01T10:20:30Z");
        assert_eq!(v["rootfs"]["diff_ids"], json!(["sha256:1", "sha256:9"]));
        assert_eq!(v["history"][0]["comment"], "x");
        let unmatched = rewrite_config(raw, &rewrite, "sha256:9", 2, 3).expect("rewrites");
        let v: Value = serde_json::from_slice(&unmatched).expect("json");
        assert_eq!(
            v["rootfs"]["diff_ids"],
            json!(["sha256:1", "sha256:2"]),
            "left alone"
        );
    }
}
