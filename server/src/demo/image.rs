//! Small OCI images built in memory, byte for byte the same every time: gzip'd tar layers
//! with fixed headers, a config naming their `diff_ids`, and a compact manifest. The same
//! inputs always give the same digests, which is what lets the demo know a payload's digest
//! before it is pushed and skip what a registry already holds.

use std::io::Write;

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip'd tar layer media type.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The CPU architectures the demo builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    /// `linux/amd64`.
    Amd64,
    /// `linux/arm64/v8`.
    Arm64,
}

impl Arch {
    /// The config's `architecture`.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The platform as an index entry names it.
    fn platform(self) -> serde_json::Value {
        match self {
            Arch::Amd64 => serde_json::json!({"os": "linux", "architecture": "amd64"}),
            Arch::Arm64 => {
                serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
            }
        }
    }
}

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Writing a layer failed.
    #[error("building a layer: {0}")]
    Layer(#[from] std::io::Error),
    /// Serializing a config or manifest failed.
    #[error("serializing an image: {0}")]
    Json(#[from] serde_json::Error),
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Content-addressed bytes: a layer, config or manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:…` of the bytes.
    pub digest: String,
    /// The bytes.
    pub bytes: Bytes,
}

impl Blob {
    /// The blob of `bytes`.
    pub fn new(bytes: impl Into<Bytes>) -> Blob {
        let bytes = bytes.into();
        Blob {
            digest: sha256(&bytes),
            bytes,
        }
    }
}

/// A gzip'd tar layer and the digest of its uncompressed tar (the config's `diff_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The compressed blob.
    pub blob: Blob,
    /// `sha256:…` of the uncompressed tar.
    pub diff_id: String,
}

impl Layer {
    /// A layer of `files` (path, content), in the order given, with fixed headers.
    pub fn of(files: &[(&str, &[u8])]) -> Result<Layer, ImageError> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o755);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_cksum();
            tar.append_data(&mut header, path, *body)?;
        }
        let tar = tar.into_inner()?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar)?;
        Ok(Layer {
            blob: Blob::new(gz.finish()?),
            diff_id: sha256(&tar),
        })
    }
}

/// An image: config, layers (bottom first) and the manifest that names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The config blob.
    pub config: Blob,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// The manifest (OCI, compact JSON); its digest is the image's.
    pub manifest: Blob,
}

impl Image {
    /// A `linux/amd64` image of `layers` whose config carries `labels` and `history`.
    pub fn build(
        labels: &serde_json::Map<String, serde_json::Value>,
        history: &str,
        layers: Vec<Layer>,
    ) -> Result<Image, ImageError> {
        Image::build_for(Arch::Amd64, labels, history, layers)
    }

    /// A `linux/<arch>` image of `layers` whose config carries `labels` and `history`.
    pub fn build_for(
        arch: Arch,
        labels: &serde_json::Map<String, serde_json::Value>,
        history: &str,
        layers: Vec<Layer>,
    ) -> Result<Image, ImageError> {
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
        let config = serde_json::json!({
            "architecture": arch.name(),
            "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": history}],
        });
        let config = Blob::new(serde_json::to_vec(&config)?);
        let descriptors: Vec<serde_json::Value> = layers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "mediaType": OCI_LAYER_GZIP,
                    "digest": l.blob.digest,
                    "size": l.blob.bytes.len(),
                })
            })
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": OCI_CONFIG,
                "digest": config.digest,
                "size": config.bytes.len(),
            },
            "layers": descriptors,
        });
        Ok(Image {
            config,
            layers,
            manifest: Blob::new(serde_json::to_vec(&manifest)?),
        })
    }

    /// The image's digest (its manifest's).
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }
}

/// The OCI index of one image per architecture, in the order given.
pub fn index(images: &[(Arch, &Image)]) -> Result<Blob, ImageError> {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|(arch, image)| {
            serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": image.digest(),
                "size": image.manifest.bytes.len(),
                "platform": arch.platform(),
            })
        })
        .collect();
    Ok(Blob::new(serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))?))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_same_inputs_give_the_same_digests() {
        let build = || {
            let mut labels = serde_json::Map::new();
            labels.insert("vcs-ref".into(), "abc".into());
            Image::build(
                &labels,
                "test",
                vec![Layer::of(&[("usr/bin/x", b"x")]).expect("layer")],
            )
            .expect("image")
        };
        let (a, b) = (build(), build());
        assert_eq!(a, b);
        assert!(a.digest().starts_with("sha256:") && a.digest().len() == 71);
        let tar_gz = &a.layers[0].blob.bytes;
        assert_eq!(&tar_gz[..2], &[0x1f, 0x8b], "gzip");
        assert_ne!(a.layers[0].diff_id, a.layers[0].blob.digest);
    }
}
