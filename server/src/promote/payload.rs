//! The `release-manifests/` of a promoted release, built from its component images as
//! `oc adm release new --from-release SRC --mirror CONTENT --name N --previous …` builds
//! them (openshift/oc `pkg/cli/admin/release/new.go` and `image_mapper.go`):
//!
//! - `image-references` is the source release's, named `N`, dated with the promotion,
//!   annotated `release.openshift.io/from-release: SRC`, its tags sorted by name, each
//!   pointing at the mirror and annotated with its image's build source labels
//!   (`io.openshift.build.commit.id`, `…commit.ref`, `…source-location`, and the versions
//!   labels when the image has them); a tag no operator references (nor an operator or the
//!   cluster-version-operator) is left out;
//! - `release-metadata` names `N` and its `previous` versions, sorted, keeping the source's
//!   `next` and `metadata`;
//! - every component image labelled `io.openshift.release.operator` brings the files of
//!   `manifests/` in its top layer ([`operators`]), each checked, its image references
//!   replaced by the release's pull specs as the operator's own `image-references` says
//!   ([`images`]), its version placeholders by the release's and its components' versions
//!   ([`versions`]), and named and ordered as [`layer`] says.
//!
//! The only difference from `oc`: `oc` dates `image-references` and the config with the
//! time it runs, Streamgate with the time the promotion was requested, so that a promotion
//! resumed after a restart builds the same digest again.

pub mod images;
pub mod layer;
pub mod operators;
pub mod versions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use self::images::{ImageMapper, ImageReference};
use self::layer::{LayerError, OperatorFiles, Written};
use self::operators::{Component, ManifestFile};
use self::versions::{
    ComponentVersions, VersionMapper, ALLOWED_COMPONENTS, DISPLAY_NAMES, VERSIONS,
};
use super::copy::{Copier, CopyError};
use crate::formats::payload::{COMMIT_ID, COMMIT_REF, SOURCE_LOCATION};

/// What the new payload says differently from its source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// The release name (`4.20.0-okd-scos.3`): `image-references` `metadata.name`,
    /// `release-metadata` `version` and the config label `io.openshift.release`.
    pub name: String,
    /// The versions this release can be upgraded from (`release-metadata` `previous`).
    pub previous: Vec<String>,
    /// New pull spec (`mirror-repo@sha256:…`) of every `image-references` tag, by tag name.
    pub images: BTreeMap<String, String>,
    /// The source payload's pull spec, as `image-references` records it
    /// ([`FROM_RELEASE_ANNOTATION`]); not recorded when empty.
    #[serde(default)]
    pub from_release: String,
    /// When the release was made (the promotion's request): `image-references`
    /// `metadata.creationTimestamp` and the config's `created`, whole seconds.
    pub created: DateTime<Utc>,
}

/// Annotation of `image-references` naming the release a payload was made from, as
/// `oc adm release new --from-release` writes it.
pub const FROM_RELEASE_ANNOTATION: &str = "release.openshift.io/from-release";

/// Component images read at the same time, per copy job: reads are small requests, so
/// their round trips, not bandwidth, are what they wait for.
const READS_PER_JOB: usize = 4;

/// The tag the payload is built on, always kept in `image-references`.
pub const BASE_TAG: &str = "cluster-version-operator";
/// Name of an operator's own list of the images its manifests name.
const OPERATOR_REFERENCES: &str = "image-references";

/// The component images read so far, by pull spec, with their extracted manifests under
/// one directory: a payload index reads each image once for all its platforms.
pub struct Components {
    dir: PathBuf,
    read: HashMap<String, Arc<Component>>,
}

impl Components {
    /// Nothing read yet; extracted files go under `dir`.
    pub fn new(dir: PathBuf) -> Components {
        Components {
            dir,
            read: HashMap::new(),
        }
    }

    /// Reads every image of `specs` not read yet, [`READS_PER_JOB`] per copy job at a time.
    async fn read_all(&mut self, copier: &Copier, specs: &[String]) -> Result<(), CopyError> {
        let wanted: BTreeSet<String> = specs
            .iter()
            .filter(|s| !self.read.contains_key(*s))
            .cloned()
            .collect();
        let first = self.read.len();
        // owned inputs: the futures must be `Send` for any lifetime of the stream
        let jobs: Vec<(String, PathBuf)> = wanted
            .into_iter()
            .enumerate()
            .map(|(i, spec)| (spec, self.dir.join(format!("component-{}", first + i))))
            .collect();
        let mut reads = stream::iter(jobs)
            .map(|(spec, at)| async move {
                let component = operators::read(copier, &spec, &at).await;
                (spec, component)
            })
            .buffer_unordered(copier.jobs().max(1) * READS_PER_JOB);
        while let Some((spec, component)) = reads.next().await {
            self.read.insert(spec, Arc::new(component?));
        }
        Ok(())
    }
}

/// `release-metadata` as `oc` writes it.
#[derive(Debug, Serialize)]
struct CincinnatiMetadata {
    kind: &'static str,
    version: String,
    previous: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    next: Vec<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    metadata: Map<String, Value>,
}

/// A source tag: its name and, for an image, its source pull spec.
struct SourceTag {
    name: String,
    image: Option<String>,
}

/// Builds the new `release-manifests/` layer into `dst` from the source payload's
/// `image-references` (`references`) and `release-metadata` (`metadata`) and the component
/// images they name.
pub async fn build(
    copier: &Copier,
    components: &mut Components,
    references: &[u8],
    metadata: Option<&[u8]>,
    rewrite: &Rewrite,
    dst: &Path,
) -> Result<Written, CopyError> {
    let mut stream = image_stream(references)?;
    let tags = source_tags(&stream)?;
    let specs: Vec<String> = tags.iter().filter_map(|t| t.image.clone()).collect();
    components.read_all(copier, &specs).await?;
    let by_tag: BTreeMap<String, Arc<Component>> = tags
        .iter()
        .filter_map(|t| {
            let spec = t.image.as_ref()?;
            Some((t.name.clone(), components.read.get(spec)?.clone()))
        })
        .collect();
    update_stream(&mut stream, &by_tag, rewrite)?;
    let metadata = release_metadata(metadata, rewrite)?;

    let operators: Vec<(String, Arc<Component>)> = by_tag
        .iter()
        .filter(|(_, c)| c.manifests.as_ref().is_some_and(|m| !m.is_empty()))
        .map(|(t, c)| (t.clone(), c.clone()))
        .collect();
    let (name, dst) = (rewrite.name.clone(), dst.to_path_buf());
    tokio::task::spawn_blocking(move || assemble(stream, &metadata, &operators, &name, &dst))
        .await
        .map_err(|e| CopyError::Io {
            what: "writing the release manifests".to_string(),
            source: std::io::Error::other(e.to_string()),
        })?
}

/// Writes the `release-manifests/` layer into `dst` (blocking) from the release's
/// `image-references` as it will be (`stream`, named, dated and pointing at the release's
/// images), its `release-metadata` and its `operators` (tag and image, in tag order):
/// leaves out the tags no operator references, maps each operator's manifests and writes
/// them as [`layer`] says.
pub fn assemble(
    mut stream: Value,
    metadata: &[u8],
    operators: &[(String, Arc<Component>)],
    name: &str,
    dst: &Path,
) -> Result<Written, CopyError> {
    let operator_error = |tag: &str, reason: String| CopyError::Operator {
        tag: tag.to_string(),
        reason,
    };
    let mut local: BTreeMap<&str, Option<Value>> = BTreeMap::new();
    for (tag, component) in operators {
        let refs = match manifest_named(component, OPERATOR_REFERENCES) {
            Some(file) => Some(operator_references(file).map_err(|e| {
                operator_error(
                    tag,
                    format!("contained an invalid image-references file: {e}"),
                )
            })?),
            None => None,
        };
        local.insert(tag, refs);
    }
    prune(&mut stream, &local);
    let references = serde_json::to_vec_pretty(&stream)
        .map_err(|e| CopyError::malformed("the new image-references", e))?;

    let mut files = Vec::with_capacity(operators.len());
    for (tag, component) in operators {
        let transform: Box<layer::Transform<'_>> = match local.get(tag.as_str()).cloned().flatten()
        {
            Some(refs) => {
                let (images, versions, tags_by_name) = transforms(&stream, &refs).map_err(|e| {
                    operator_error(
                        tag,
                        format!("contained an invalid image-references file: {e}"),
                    )
                })?;
                let images = ImageMapper::new(&images).map_err(|e| operator_error(tag, e))?;
                let versions = VersionMapper::new(name, versions, tags_by_name);
                Box::new(move |data: &[u8]| versions.apply(&images.apply(data)))
            }
            None => {
                let versions = VersionMapper::release_only(name);
                Box::new(move |data: &[u8]| versions.apply(data))
            }
        };
        files.push(OperatorFiles {
            tag,
            files: component
                .manifests
                .iter()
                .flatten()
                .filter(|f| f.name != OPERATOR_REFERENCES)
                .collect(),
            transform,
        });
    }
    let newest = operators
        .iter()
        .flat_map(|(_, c)| c.manifests.iter().flatten().map(|f| f.mtime))
        .max()
        .unwrap_or(0);
    layer::write(dst, newest, &references, metadata, &files).map_err(|e| match e {
        LayerError::Operator { tag, reason } => CopyError::Operator { tag, reason },
        LayerError::Io(e) => CopyError::Io {
            what: "writing the release manifests".to_string(),
            source: e,
        },
    })
}

fn manifest_named<'a>(component: &'a Component, name: &str) -> Option<&'a ManifestFile> {
    component
        .manifests
        .iter()
        .flatten()
        .find(|f| f.name == name)
}

/// An ImageStream (`image-references`), JSON or YAML, checked for its kind.
fn parse_stream(data: &[u8]) -> Result<Value, String> {
    let value: Value = serde_yaml::from_slice(data)
        .map_err(|e| format!("unable to load release image-references: {e}"))?;
    if value.get("kind").and_then(Value::as_str) != Some("ImageStream")
        || value.get("apiVersion").and_then(Value::as_str) != Some("image.openshift.io/v1")
    {
        return Err("unrecognized image-references in release payload".to_string());
    }
    Ok(value)
}

fn image_stream(references: &[u8]) -> Result<Value, CopyError> {
    parse_stream(references).map_err(|e| CopyError::malformed("image-references", e))
}

/// An operator's own `image-references`.
fn operator_references(file: &ManifestFile) -> Result<Value, String> {
    let data = file.body.read().map_err(|e| e.to_string())?;
    parse_stream(&data)
}

/// The tags of an ImageStream; `image` for those whose `from` is a `DockerImage`.
fn source_tags(stream: &Value) -> Result<Vec<SourceTag>, CopyError> {
    let malformed = |reason: String| CopyError::malformed("image-references", reason);
    let tags = stream
        .pointer("/spec/tags")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no spec.tags".into()))?;
    tags.iter()
        .map(|tag| {
            let name = tag
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| malformed("a tag has no name".into()))?;
            let image = match tag.pointer("/from/kind").and_then(Value::as_str) {
                Some("DockerImage") => Some(
                    tag.pointer("/from/name")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| malformed(format!("tag {name} names no image")))?
                        .to_string(),
                ),
                _ => None,
            };
            Ok(SourceTag {
                name: name.to_string(),
                image,
            })
        })
        .collect()
}

/// The object at `key` of `obj`, created when absent or null.
pub(crate) fn object_at<'a>(
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

/// Names the stream `rewrite.name`, dates and annotates it, points every image tag at its
/// new pull spec with its image's build labels, and sorts the tags by name.
fn update_stream(
    stream: &mut Value,
    components: &BTreeMap<String, Arc<Component>>,
    rewrite: &Rewrite,
) -> Result<(), CopyError> {
    let malformed = |reason: String| CopyError::malformed("image-references", reason);
    let root = stream
        .as_object_mut()
        .ok_or_else(|| malformed("not an object".into()))?;
    let metadata = object_at(root, "metadata").map_err(malformed)?;
    metadata.insert("name".into(), json!(rewrite.name));
    metadata.insert(
        "creationTimestamp".into(),
        json!(rewrite.created.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
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
    for tag in tags.iter_mut() {
        let tag = tag
            .as_object_mut()
            .ok_or_else(|| malformed("a tag is not an object".into()))?;
        let name = tag
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(component) = components.get(&name) else {
            continue;
        };
        let annotations =
            object_at(tag, "annotations").map_err(|r| malformed(format!("tag {name}: {r}")))?;
        for key in [COMMIT_ID, COMMIT_REF, SOURCE_LOCATION] {
            annotations.insert(key.into(), json!(component.label(key)));
        }
        let label = component.label(VERSIONS);
        if !label.is_empty() {
            let parsed =
                versions::parse_label(label, component.label(DISPLAY_NAMES)).map_err(|e| {
                    CopyError::malformed(
                        format!("image {name}"),
                        format!(
                            "tag {name:?} has an invalid {VERSIONS} or {DISPLAY_NAMES} label: {e}"
                        ),
                    )
                })?;
            if let Some(other) = parsed
                .keys()
                .find(|k| !ALLOWED_COMPONENTS.contains(&k.as_str()))
            {
                return Err(CopyError::malformed(
                    format!("image {name}"),
                    format!("tag {name:?} references a component version {other:?} which is not in the allowed list"),
                ));
            }
            annotations.insert(VERSIONS.into(), json!(label));
            annotations.insert(DISPLAY_NAMES.into(), json!(component.label(DISPLAY_NAMES)));
        }
        let image = rewrite
            .images
            .get(&name)
            .ok_or_else(|| CopyError::MissingImage {
                payload: rewrite.from_release.clone(),
                tag: name.clone(),
            })?;
        let from = object_at(tag, "from").map_err(|r| malformed(format!("tag {name}: {r}")))?;
        from.insert("name".into(), json!(image));
    }
    tags.sort_by(|a, b| {
        let name = |v: &Value| {
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        name(a).cmp(&name(b))
    });
    Ok(())
}

/// Leaves out the tags no operator's `image-references` names that are neither an
/// operator nor [`BASE_TAG`].
fn prune(stream: &mut Value, operators: &BTreeMap<&str, Option<Value>>) {
    let mut referenced: BTreeSet<String> = operators.keys().map(|t| t.to_string()).collect();
    referenced.insert(BASE_TAG.to_string());
    for refs in operators.values().flatten() {
        for tag in refs
            .pointer("/spec/tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = tag.get("name").and_then(Value::as_str) {
                referenced.insert(name.to_string());
            }
        }
    }
    if let Some(tags) = stream
        .pointer_mut("/spec/tags")
        .and_then(Value::as_array_mut)
    {
        let before = tags.len();
        tags.retain(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| referenced.contains(n))
        });
        if tags.len() != before {
            tracing::info!(
                kept = tags.len(),
                left_out = before - tags.len(),
                "image-references: tags no operator references are left out"
            );
        }
    }
}

type Transforms = (
    BTreeMap<String, ImageReference>,
    ComponentVersions,
    BTreeMap<String, Vec<String>>,
);

/// From an operator's `image-references` (`local`) and the release's (`input`): the image
/// references to replace, and the versions its manifests may use (with the tags they
/// come from) — `oc`'s `loadImageStreamTransforms`.
fn transforms(input: &Value, local: &Value) -> Result<Transforms, String> {
    let tags = |v: &Value| -> Vec<Value> {
        v.pointer("/spec/tags")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let input_tags = tags(input);
    let mut references = BTreeMap::new();
    for tag in tags(local) {
        if tag.pointer("/from/kind").and_then(Value::as_str) != Some("DockerImage") {
            continue;
        }
        let name = tag.get("name").and_then(Value::as_str).unwrap_or_default();
        let source = tag
            .pointer("/from/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if source.is_empty() {
            return Err(format!("no from.name for the tag {name}"));
        }
        let target = input_tags
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|t| t.pointer("/from/name").and_then(Value::as_str))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("no input image tag named {name:?}"))?;
        references.insert(
            name.to_string(),
            ImageReference {
                source_repository: source.to_string(),
                target_pull_spec: target.to_string(),
            },
        );
    }
    let mut versions = ComponentVersions::new();
    let mut tags_by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tag in &input_tags {
        let name = tag.get("name").and_then(Value::as_str).unwrap_or_default();
        if !references.contains_key(name) {
            continue;
        }
        let Some(label) = tag
            .pointer("/annotations")
            .and_then(|a| a.get(VERSIONS))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let display = tag
            .pointer("/annotations")
            .and_then(|a| a.get(DISPLAY_NAMES))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let items = versions::parse_label(label, display).map_err(|_| {
            format!(
                "input image stream has an invalid version annotation for tag {name:?}: {label}"
            )
        })?;
        for (key, value) in items {
            if key == "kubectl" && name != "cli" && name != "cli-artifacts" {
                continue;
            }
            match versions.get(&key) {
                Some(existing) if existing.version != value.version && key != "machine-os" => {
                    return Err(format!(
                        "input image stream has multiple versions defined for version {key}: {name} defines {} but was already set to {} on {}",
                        value.version,
                        existing.version,
                        tags_by_name.get(&key).map(|t| t.join(", ")).unwrap_or_default()
                    ));
                }
                Some(_) => {}
                None => {
                    versions.insert(key.clone(), value);
                }
            }
            tags_by_name.entry(key).or_default().push(name.to_string());
        }
    }
    let defaults = versions::parse_label(
        input
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(VERSIONS))
            .and_then(Value::as_str)
            .unwrap_or_default(),
        input
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(DISPLAY_NAMES))
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| format!("unable to read default versions label on input image stream: {e}"))?;
    for (key, value) in defaults {
        versions.entry(key).or_insert(value);
    }
    Ok((references, versions, tags_by_name))
}

/// `release-metadata` of the new release: its name and previous versions (each a semantic
/// version, sorted), the source's `next` and `metadata`.
fn release_metadata(source: Option<&[u8]>, rewrite: &Rewrite) -> Result<Vec<u8>, CopyError> {
    let invalid = |reason: String| CopyError::malformed("release-metadata", reason);
    let source: Value = match source {
        Some(raw) => serde_json::from_slice(raw).map_err(|e| {
            invalid(format!(
                "unable to load release-metadata from release contents: {e}"
            ))
        })?,
        None => Value::Null,
    };
    let semver = |v: &str| {
        semver::Version::parse(v)
            .map(|v| v.to_string())
            .map_err(|e| invalid(format!("{v:?} is not a valid semantic version: {e}")))
    };
    let version = semver(&rewrite.name)?;
    let mut previous = rewrite
        .previous
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| semver(p))
        .collect::<Result<Vec<_>, _>>()?;
    previous.sort();
    let mut next = source
        .get("next")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(semver)
        .collect::<Result<Vec<_>, _>>()?;
    next.sort();
    let metadata = CincinnatiMetadata {
        kind: "cincinnati-metadata-v0",
        version,
        previous,
        next,
        metadata: source
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    serde_json::to_vec_pretty(&metadata).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::operators::FileBody;
    use super::*;
    use std::io::Read;

    const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/promote/payload/golden");

    #[derive(serde::Deserialize)]
    struct Golden {
        release: Rewrite,
        components: BTreeMap<String, GoldenComponent>,
    }

    #[derive(serde::Deserialize)]
    struct GoldenComponent {
        labels: BTreeMap<String, String>,
        #[serde(default)]
        manifests: Option<Vec<GoldenFile>>,
    }

    #[derive(serde::Deserialize)]
    struct GoldenFile {
        name: String,
        mtime: u64,
    }

    fn golden() -> (Golden, BTreeMap<String, Arc<Component>>) {
        let raw = std::fs::read(format!("{GOLDEN}/input/release.json")).expect("release.json");
        let golden: Golden = serde_json::from_slice(&raw).expect("valid release.json");
        let components = golden
            .components
            .iter()
            .map(|(tag, c)| {
                let manifests = c.manifests.as_ref().map(|files| {
                    files
                        .iter()
                        .map(|f| ManifestFile {
                            name: f.name.clone(),
                            mtime: f.mtime,
                            body: FileBody::Extracted(
                                format!("{GOLDEN}/input/{tag}/{}", f.name).into(),
                            ),
                        })
                        .collect()
                });
                let component = Component {
                    labels: c.labels.clone(),
                    manifests,
                };
                (tag.clone(), Arc::new(component))
            })
            .collect();
        (golden, components)
    }

    /// The layer built from `input/` (with `edit` applied to the components first).
    fn build_golden(
        edit: impl FnOnce(&mut BTreeMap<String, Arc<Component>>),
    ) -> Result<(Written, tempfile::TempDir), CopyError> {
        let (golden, mut components) = golden();
        edit(&mut components);
        let references =
            std::fs::read(format!("{GOLDEN}/input/image-references")).expect("references");
        let metadata = std::fs::read(format!("{GOLDEN}/input/release-metadata")).expect("metadata");
        let mut stream = image_stream(&references)?;
        update_stream(&mut stream, &components, &golden.release)?;
        let metadata = release_metadata(Some(&metadata), &golden.release)?;
        let operators: Vec<(String, Arc<Component>)> = components
            .into_iter()
            .filter(|(_, c)| c.manifests.as_ref().is_some_and(|m| !m.is_empty()))
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let dst = dir.path().join("layer.tar.gz");
        let written = assemble(stream, &metadata, &operators, &golden.release.name, &dst)?;
        Ok((written, dir))
    }

    #[test]
    fn the_release_manifests_are_what_oc_writes() {
        let (written, _dir) = build_golden(|_| {}).expect("builds");
        let bytes = std::fs::read(&written.path).expect("layer");
        assert_eq!(crate::promote::blobs::sha256_digest(&bytes), written.digest);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut entries = String::new();
        let mut files = BTreeMap::new();
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("entry");
            let header = entry.header();
            let path = entry.path().expect("path").display().to_string();
            entries.push_str(&format!(
                "{} {:04o} {}\n",
                path.trim_end_matches('/'),
                header.mode().expect("mode"),
                header.mtime().expect("mtime")
            ));
            assert_eq!(header.uid().expect("uid"), 0);
            let mut body = Vec::new();
            entry.read_to_end(&mut body).expect("body");
            if let Some(name) = path.strip_prefix("release-manifests/") {
                files.insert(name.to_string(), body);
            }
        }
        let expected =
            |name: &str| std::fs::read(format!("{GOLDEN}/expected/{name}")).expect("expected file");
        assert_eq!(
            entries,
            String::from_utf8(expected("entries.txt")).expect("utf-8")
        );
        for (name, body) in &files {
            if name == "image-references" {
                let actual: Value = serde_json::from_slice(body).expect("json");
                let wanted: Value = serde_json::from_slice(&expected(name)).expect("json");
                assert_eq!(actual, wanted, "image-references");
            } else {
                assert_eq!(
                    String::from_utf8_lossy(body),
                    String::from_utf8_lossy(&expected(name)),
                    "{name}"
                );
            }
        }
        for (name, body) in &files {
            let text = String::from_utf8_lossy(body);
            let source = if name == "image-references" {
                // only the record of where the release came from names the source
                text.replace("registry.ci.openshift.org/origin/release-scos@", "")
            } else {
                text.to_string()
            };
            assert!(
                !source.contains("registry.ci.openshift.org"),
                "{name} names CI"
            );
        }
        // the same inputs, the same layer
        let (again, _dir) = build_golden(|_| {}).expect("builds");
        assert_eq!(
            (again.digest, again.diff_id),
            (written.digest, written.diff_id)
        );
    }

    fn with_manifest(
        components: &mut BTreeMap<String, Arc<Component>>,
        tag: &str,
        name: &str,
        body: &str,
        dir: &Path,
    ) {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        let mut c = (*components[tag]).clone();
        let files = c.manifests.get_or_insert_with(Vec::new);
        files.retain(|f| f.name != name);
        files.push(ManifestFile {
            name: name.to_string(),
            mtime: 1,
            body: FileBody::Extracted(path),
        });
        c.manifests
            .iter_mut()
            .for_each(|m| m.sort_by(|a, b| a.name.cmp(&b.name)));
        components.insert(tag.to_string(), Arc::new(c));
    }

    #[test]
    fn manifests_oc_refuses_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (tag, name, body, error) in [
            (
                "cluster-version-operator",
                "x.yaml",
                "kind: ConfigMap\ndata:\n  v: 0.0.1-snapshot-kubernetes\n",
                "operator \"cluster-version-operator\": cluster-version-operator/x.yaml: manifests must contain Kubernetes API objects with 'kind' and 'apiVersion' set",
            ),
            (
                "cluster-version-operator",
                "y.yaml",
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: 0.0.1-snapshot-kubernetes\n",
                "operator \"cluster-version-operator\": y.yaml: unknown version reference \"kubernetes\"",
            ),
            (
                "must-gather",
                "z.yaml",
                "apiVersion: v1\nkind: ConfigMap\n",
                "",
            ),
        ] {
            let result = build_golden(|c| {
                let mut labels = c[tag].labels.clone();
                labels.insert(operators::OPERATOR_LABEL.into(), "true".into());
                with_manifest(c, tag, name, body, dir.path());
                let mut component = (*c[tag]).clone();
                component.labels = labels;
                c.insert(tag.to_string(), Arc::new(component));
            });
            match result {
                Err(e) => assert!(e.to_string().starts_with(error) && !error.is_empty(), "{e}"),
                Ok((written, _dir)) => {
                    assert!(error.is_empty(), "{name} was accepted");
                    // an operator now, so must-gather is no longer pruned and brings its file
                    assert!(written.names.contains(&"0000_50_must-gather_z.yaml".to_string()));
                }
            }
        }
    }

    #[test]
    fn an_operator_naming_an_image_the_release_lacks_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = build_golden(|c| {
            with_manifest(
                c,
                "cluster-version-operator",
                "image-references",
                "kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n  - name: installer\n    from:\n      kind: DockerImage\n      name: quay.io/openshift/origin-installer:latest\n",
                dir.path(),
            );
        })
        .expect_err("no installer in the release");
        assert_eq!(
            err.to_string(),
            "operator \"cluster-version-operator\": contained an invalid image-references file: no input image tag named \"installer\""
        );
    }

    #[test]
    fn versions_outside_the_allowed_list_are_refused() {
        let err = build_golden(|c| {
            let mut hyperkube = (*c["hyperkube"]).clone();
            hyperkube
                .labels
                .insert(VERSIONS.into(), "kubernetes=1.34.2,etcd=3.6.0".into());
            c.insert("hyperkube".into(), Arc::new(hyperkube));
        })
        .expect_err("etcd is not allowed");
        assert!(
            err.to_string().ends_with("tag \"hyperkube\" references a component version \"etcd\" which is not in the allowed list"),
            "{err}"
        );
    }

    #[test]
    fn every_image_needs_a_new_pull_spec() {
        let (mut golden, components) = golden();
        golden.release.images.remove("haproxy-router");
        let references =
            std::fs::read(format!("{GOLDEN}/input/image-references")).expect("references");
        let mut stream = image_stream(&references).expect("parses");
        let err = update_stream(&mut stream, &components, &golden.release).expect_err("missing");
        assert_eq!(err.kind(), "missing_image");
    }

    #[test]
    fn release_metadata_needs_semantic_versions() {
        let rewrite = Rewrite {
            name: "4.21.0-okd-scos.1".into(),
            previous: vec!["4.20".into()],
            ..Rewrite::default()
        };
        let err = release_metadata(None, &rewrite).expect_err("not semver");
        assert!(
            err.to_string()
                .contains("\"4.20\" is not a valid semantic version"),
            "{err}"
        );
        let rewrite = Rewrite {
            previous: vec![String::new(), "4.20.0".into()],
            ..rewrite
        };
        let out: Value = serde_json::from_slice(&release_metadata(None, &rewrite).expect("valid"))
            .expect("json");
        assert_eq!(
            out,
            json!({"kind": "cincinnati-metadata-v0", "version": "4.21.0-okd-scos.1", "previous": ["4.20.0"]})
        );
    }
}
