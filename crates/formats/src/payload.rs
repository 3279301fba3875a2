//! The files inside a release payload, and the normalised record of one read.
//!
//! [`ImageStream`] and [`ReleaseMetadata`] are the upstream formats of
//! `release-manifests/image-references` and `release-manifests/release-metadata` (written by
//! `oc adm release new`). [`PayloadRead`] is what Streamgate keeps of a read: it is the body of
//! a `payload.read` event, so it must stay deserializable for as long as the log lives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Annotation: the commit a component was built from.
pub const COMMIT_ID: &str = "io.openshift.build.commit.id";
/// Annotation: the git ref a component was built from (usually empty).
pub const COMMIT_REF: &str = "io.openshift.build.commit.ref";
/// Annotation: the component's source repository URL.
pub const SOURCE_LOCATION: &str = "io.openshift.build.source-location";
/// Annotation: `key=version[,key=version]` of what a component carries.
pub const VERSIONS: &str = "io.openshift.build.versions";

/// `release-manifests/image-references`: an `image.openshift.io/v1` ImageStream.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageStream {
    /// Always `ImageStream`.
    pub kind: String,
    /// Name and creation time of the release.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The component tags.
    pub spec: ImageStreamSpec,
}

/// The metadata of the ImageStream.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ObjectMeta {
    /// Release name.
    #[serde(default)]
    pub name: String,
    /// Release creation time (RFC 3339).
    #[serde(default, rename = "creationTimestamp")]
    pub creation_timestamp: Option<String>,
    /// `release.openshift.io/from-image-stream`, `…/from-release`.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The spec of the ImageStream.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageStreamSpec {
    /// One tag per payload component.
    #[serde(default)]
    pub tags: Option<Vec<TagReference>>,
}

/// One component of the payload.
#[derive(Debug, Clone, Deserialize)]
pub struct TagReference {
    /// Component name (`cluster-version-operator`, `stream-coreos`, …).
    pub name: String,
    /// Build annotations copied from the component image's labels.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The image: `{"kind": "DockerImage", "name": "<repo>@sha256:…"}`.
    pub from: Option<ObjectReference>,
}

/// Where a tag points.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectReference {
    /// `DockerImage`.
    #[serde(default)]
    pub kind: String,
    /// The pull spec.
    pub name: String,
}

/// `release-manifests/release-metadata` (`cincinnati-metadata-v0`).
#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseMetadata {
    /// Always `cincinnati-metadata-v0`.
    pub kind: String,
    /// The release's semantic version.
    pub version: String,
    /// Versions this release declares it can be upgraded from.
    #[serde(default)]
    pub previous: Option<Vec<String>>,
    /// Free-form metadata (`url`, `description`).
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Everything kept of one payload read: the body of a `payload.read` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadRead {
    /// Digest of the manifest (or index) the pull spec resolved to.
    pub digest: String,
    /// The pull spec that was read.
    pub pull_spec: String,
    /// Media type of that manifest or index.
    pub media_type: String,
    /// Digest of the platform image manifest whose files and labels are kept (`linux/amd64`
    /// when the index has it, else its first platform), when `digest` is an index.
    #[serde(alias = "amd64_digest")]
    pub image_digest: Option<String>,
    /// Platforms of the index (`os/arch[/variant]`), or the image's own platform.
    pub platforms: Vec<String>,
    /// Every platform image of an index, the one kept first, with the component images its
    /// own `image-references` names; empty for a single image (reads before multi-arch
    /// reading have none either).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platform_images: Vec<PlatformImage>,
    /// Labels of the image config.
    pub labels: BTreeMap<String, String>,
    /// Release name from `image-references` `metadata.name`.
    pub name: String,
    /// Creation time from `image-references`, as written there.
    pub created: Option<String>,
    /// Annotations of the ImageStream (`release.openshift.io/from-image-stream`, …).
    pub annotations: BTreeMap<String, String>,
    /// `release-metadata`, when the payload has one.
    pub release_metadata: Option<DeclaredMetadata>,
    /// The components, sorted by name.
    pub components: Vec<Component>,
}

/// One platform image of a payload index and the component images it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformImage {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The platform image manifest's digest.
    pub digest: String,
    /// Component name → the image digest this platform's `image-references` names.
    pub components: BTreeMap<String, String>,
}

/// The parts of `release-metadata` that are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredMetadata {
    /// Version.
    pub version: String,
    /// Declared upgrade sources, as listed.
    pub previous: Vec<String>,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// One component of a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Component name.
    pub name: String,
    /// Pull spec of the component image (`repo@sha256:…`).
    pub image: String,
    /// The image's manifest digest.
    pub image_digest: String,
    /// Source repository URL (may be empty).
    pub source_location: String,
    /// Commit (may be empty).
    pub commit_id: String,
    /// Git ref (usually empty).
    pub commit_ref: String,
    /// `key=version[,…]` (may be empty).
    pub versions: String,
}

impl Component {
    /// The component described by one ImageStream tag, or why it cannot be used.
    pub fn from_tag(tag: &TagReference) -> Result<Component, String> {
        if tag.name.trim().is_empty() {
            return Err("tag with an empty name".to_string());
        }
        let from = tag
            .from
            .as_ref()
            .ok_or_else(|| format!("tag {} has no from", tag.name))?;
        let image_digest = from
            .name
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| is_sha256_digest(d))
            .ok_or_else(|| {
                format!(
                    "tag {} points at {:?}, not at a sha256 digest",
                    tag.name, from.name
                )
            })?;
        let annotation = |key: &str| {
            tag.annotations
                .as_ref()
                .and_then(|a| a.get(key))
                .cloned()
                .unwrap_or_default()
        };
        Ok(Component {
            name: tag.name.clone(),
            image: from.name.clone(),
            image_digest: image_digest.to_string(),
            source_location: annotation(SOURCE_LOCATION),
            commit_id: annotation(COMMIT_ID),
            commit_ref: annotation(COMMIT_REF),
            versions: annotation(VERSIONS),
        })
    }
}

/// Whether `s` is `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl PayloadRead {
    /// The platform whose files and labels were kept: the first platform image of an index,
    /// `linux/amd64` for an index read before multi-arch reading (it read only that), or a
    /// single image's own platform.
    pub fn primary_platform(&self) -> &str {
        if let Some(first) = self.platform_images.first() {
            return &first.platform;
        }
        match (&self.image_digest, self.platforms.first()) {
            (None, Some(own)) => own,
            _ => "linux/amd64",
        }
    }

    /// Every `(platform, component, image digest)` the read names: each platform image's
    /// components, or for a single image (or a read from before multi-arch reading) the
    /// components on its own platform.
    pub fn platform_components(&self) -> Vec<(&str, &str, &str)> {
        if self.platform_images.is_empty() {
            let platform = self.primary_platform();
            return self
                .components
                .iter()
                .map(|c| (platform, c.name.as_str(), c.image_digest.as_str()))
                .collect();
        }
        self.platform_images
            .iter()
            .flat_map(|p| {
                p.components
                    .iter()
                    .map(|(name, digest)| (p.platform.as_str(), name.as_str(), digest.as_str()))
            })
            .collect()
    }

    /// Checks what a `payload.read` body must hold, so a bad event never reaches the tables.
    pub fn validate(&self) -> Result<(), String> {
        if !is_sha256_digest(&self.digest) {
            return Err(format!("digest {:?} is not a sha256 digest", self.digest));
        }
        let mut platforms = std::collections::BTreeSet::new();
        for p in &self.platform_images {
            if !is_sha256_digest(&p.digest) {
                return Err(format!("platform {} has no image digest", p.platform));
            }
            if !platforms.insert(p.platform.as_str()) {
                return Err(format!("platform {} listed twice", p.platform));
            }
            if let Some((name, _)) = p.components.iter().find(|(_, d)| !is_sha256_digest(d)) {
                return Err(format!(
                    "component {name} of platform {} has no image digest",
                    p.platform
                ));
            }
        }
        if self.pull_spec.trim().is_empty() {
            return Err("empty pull spec".to_string());
        }
        let mut names = std::collections::BTreeSet::new();
        for c in &self.components {
            if !is_sha256_digest(&c.image_digest) {
                return Err(format!("component {} has no image digest", c.name));
            }
            if !names.insert(c.name.as_str()) {
                return Err(format!("component {} listed twice", c.name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_upstream_image_references_fixture() {
        let raw = include_str!(
            "../../../server/tests/fixtures/payload/image-references-4.10.0-0.nightly-2021-11-14-184249.json"
        );
        let is: ImageStream = serde_json::from_str(raw).expect("parses");
        assert_eq!(is.kind, "ImageStream");
        assert_eq!(is.metadata.name, "4.10.0-0.nightly-2021-11-14-184249");
        let tags = is.spec.tags.expect("tags");
        assert_eq!(tags.len(), 146);
        let components: Vec<Component> = tags
            .iter()
            .map(|t| Component::from_tag(t).expect("component"))
            .collect();
        let hyperkube = components
            .iter()
            .find(|c| c.name == "hyperkube")
            .expect("hyperkube");
        assert_eq!(
            hyperkube.commit_id,
            "f773b8b2b47b6f908236a76f4cafcb04bb2a43fe"
        );
        assert_eq!(
            hyperkube.source_location,
            "https://github.com/openshift/kubernetes"
        );
        assert_eq!(hyperkube.versions, "kubernetes=1.22.1");
        assert!(hyperkube.image.ends_with(&hyperkube.image_digest));
    }

    #[test]
    fn reads_the_upstream_release_metadata_fixture() {
        let raw =
            include_str!("../../../server/tests/fixtures/payload/release-metadata-4.1.0.json");
        let m: ReleaseMetadata = serde_json::from_str(raw).expect("parses");
        assert_eq!(m.kind, "cincinnati-metadata-v0");
        assert_eq!(m.version, "4.1.0");
        assert_eq!(m.previous, Some(vec![]));
    }

    #[test]
    fn a_tag_by_name_is_not_a_component() {
        let tag: TagReference = serde_json::from_str(
            r#"{"name": "cli", "from": {"kind": "DockerImage", "name": "quay.io/x/y:latest"}}"#,
        )
        .expect("parses");
        let err = Component::from_tag(&tag).expect_err("refused");
        assert!(err.contains("not at a sha256 digest"), "{err}");
    }

    #[test]
    fn a_read_from_before_multi_arch_reading_keeps_its_platform_and_digest() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let old = serde_json::json!({
            "digest": d('a'), "pull_spec": "quay.io/okd/scos-release:4.16.0-okd-scos.0",
            "media_type": "application/vnd.oci.image.index.v1+json",
            "amd64_digest": d('b'), "platforms": ["linux/arm64/v8", "linux/amd64"],
            "labels": {}, "name": "4.16.0-okd-scos.0", "created": null, "annotations": {},
            "release_metadata": null,
            "components": [{"name": "cli", "image": format!("quay.io/okd/scos-content@{}", d('c')),
                "image_digest": d('c'), "source_location": "", "commit_id": "", "commit_ref": "",
                "versions": ""}],
        });
        let read: PayloadRead = serde_json::from_value(old).expect("parses");
        assert_eq!(read.image_digest, Some(d('b')));
        assert!(read.platform_images.is_empty());
        assert_eq!(read.primary_platform(), "linux/amd64");
        let c = d('c');
        assert_eq!(
            read.platform_components(),
            vec![("linux/amd64", "cli", c.as_str())]
        );
        read.validate().expect("valid");
    }
}

#[cfg(test)]
mod properties;
