//! Component images as the release builder reads them: the build labels of each, and for
//! an operator (label `io.openshift.release.operator`) the files of `manifests/` in its
//! top layer.
//!
//! The layer is streamed into a temporary file and walked entry by entry; only regular
//! files directly in `manifests/` are written out, each within [`FILE_BYTES`] and all of
//! an operator's within [`OPERATOR_BYTES`]. A later entry of the same name replaces an
//! earlier one, as unpacking the layer would.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::oci::layer::{CappedReader, Compression, Extensions};
use crate::promote::blobs::{compression_of, download};
use crate::promote::copy::{Copier, CopyError, ManifestBody, RawManifest};

/// Label of an image whose `manifests/` belong in the release.
pub const OPERATOR_LABEL: &str = "io.openshift.release.operator";
/// Where an operator image keeps its manifests.
const MANIFESTS_DIR: &[u8] = b"manifests/";
/// Largest image config read.
pub const CONFIG_BYTES: u64 = 4 << 20;
/// Largest top layer (compressed) of an operator image.
pub const LAYER_BYTES: u64 = 1 << 30;
/// Most bytes such a layer may unpack to.
pub const UNPACKED_BYTES: u64 = 4 << 30;
/// Largest manifest file.
pub const FILE_BYTES: u64 = 16 << 20;
/// Most bytes of manifests one operator may bring.
pub const OPERATOR_BYTES: u64 = 64 << 20;

/// A manifest file of an operator image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// Its name in `manifests/`.
    pub name: String,
    /// Modification time (seconds since the epoch) from its tar header.
    pub mtime: u64,
    /// Its content.
    pub body: FileBody,
}

/// Where a manifest's content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileBody {
    /// Extracted into this file.
    Extracted(PathBuf),
    /// In memory (an image built here, such as the demo's).
    Inline(bytes::Bytes),
}

impl FileBody {
    /// The content, at most [`FILE_BYTES`].
    pub fn read(&self) -> io::Result<Vec<u8>> {
        match self {
            FileBody::Extracted(path) => {
                let mut data = Vec::new();
                std::fs::File::open(path)?
                    .take(FILE_BYTES)
                    .read_to_end(&mut data)?;
                Ok(data)
            }
            FileBody::Inline(bytes) => Ok(bytes.to_vec()),
        }
    }
}

/// A component image of the release.
#[derive(Debug, Clone, Default)]
pub struct Component {
    /// Its config's labels.
    pub labels: BTreeMap<String, String>,
    /// For an operator, its manifest files sorted by name (`None` for any other image).
    pub manifests: Option<Vec<ManifestFile>>,
}

impl Component {
    /// A label's value, empty when absent.
    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map_or("", String::as_str)
    }
}

/// Reads the component image `spec` (for an index, its `linux/amd64` image, else its
/// first), extracting an operator's manifests into `dir`.
pub async fn read(copier: &Copier, spec: &str, dir: &Path) -> Result<Component, CopyError> {
    let reference = copier.reference(spec).await?;
    let top = copier.pull_manifest(&reference).await?;
    let (reference, manifest) = if ManifestBody::is_index(&top.media_type) {
        let child = platform_image(&top)?;
        let child_ref = Copier::in_repo(&reference, &child);
        let manifest = copier.pull_manifest(&child_ref).await?;
        (child_ref, manifest)
    } else {
        (reference, top)
    };
    let what = format!("image {spec}");
    let (body, _) = ManifestBody::parse(&manifest.bytes, &what)?;
    let config = body
        .config
        .ok_or_else(|| CopyError::malformed(&what, "image manifest without a config"))?;
    if config.size > CONFIG_BYTES {
        return Err(CopyError::TooLarge {
            what: format!("config {}", config.digest),
            limit: CONFIG_BYTES,
        });
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(CopyError::io("creating a temporary directory"))?;
    let config_path = dir.join("config.json");
    download(
        copier,
        &reference,
        &config.digest,
        config.size,
        &config_path,
    )
    .await?;
    let raw = tokio::fs::read(&config_path)
        .await
        .map_err(CopyError::io("reading a temporary file"))?;
    let labels =
        labels_of(&raw).map_err(|e| CopyError::malformed(format!("config of {spec}"), e))?;
    let mut component = Component {
        labels,
        manifests: None,
    };
    if component.label(OPERATOR_LABEL).is_empty() {
        return Ok(component);
    }
    let Some(layer) = body.layers.last() else {
        component.manifests = Some(Vec::new());
        return Ok(component);
    };
    let compression =
        compression_of(&layer.media_type).ok_or_else(|| CopyError::UnknownMediaType {
            what: format!("top layer of {spec}"),
            media_type: layer.media_type.clone(),
        })?;
    if layer.size > LAYER_BYTES {
        return Err(CopyError::TooLarge {
            what: format!("top layer of {spec}"),
            limit: LAYER_BYTES,
        });
    }
    let layer_path = dir.join("layer");
    download(copier, &reference, &layer.digest, layer.size, &layer_path).await?;
    let (files_dir, digest) = (dir.join("manifests"), layer.digest.clone());
    let files = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&layer_path)?;
        let files = extract(io::BufReader::new(file), compression, &files_dir);
        std::fs::remove_file(&layer_path)?;
        files
    })
    .await
    .map_err(|e| CopyError::Io {
        what: format!("reading layer {digest}"),
        source: io::Error::other(e.to_string()),
    })?
    .map_err(|e| CopyError::malformed(format!("layer {} of {spec}", layer.digest), e))?;
    component.manifests = Some(files);
    Ok(component)
}

/// The `linux/amd64` image of an index (its first image when none is).
fn platform_image(index: &RawManifest) -> Result<String, CopyError> {
    let what = format!("index {}", index.digest);
    let body: Value =
        serde_json::from_slice(&index.bytes).map_err(|e| CopyError::malformed(&what, e))?;
    let entries = body
        .get("manifests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_amd64 = |e: &&Value| {
        e.pointer("/platform/os").and_then(Value::as_str) == Some("linux")
            && e.pointer("/platform/architecture").and_then(Value::as_str) == Some("amd64")
    };
    entries
        .iter()
        .find(is_amd64)
        .or(entries.first())
        .and_then(|e| e.get("digest").and_then(Value::as_str))
        .map(str::to_string)
        .ok_or_else(|| CopyError::malformed(&what, "an index without images"))
}

/// The labels of an image config (`config.Labels`); string values only.
fn labels_of(raw: &[u8]) -> Result<BTreeMap<String, String>, serde_json::Error> {
    let config: Value = serde_json::from_slice(raw)?;
    Ok(config
        .pointer("/config/Labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// Writes the regular files directly in `manifests/` of the layer `blob` into `dir`
/// (blocking) and lists them by name.
pub fn extract(
    blob: impl Read,
    compression: Compression,
    dir: &Path,
) -> io::Result<Vec<ManifestFile>> {
    std::fs::create_dir_all(dir)?;
    let compressed = CappedReader::new(blob, "layer", LAYER_BYTES);
    let unpacked: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(compressed)),
        Compression::None => Box::new(compressed),
    };
    let unpacked = CappedReader::new(unpacked, "unpacked layer", UNPACKED_BYTES);
    let mut archive = tar::Archive::new(unpacked);
    let mut extensions = Extensions::default();
    let mut files: BTreeMap<String, ManifestFile> = BTreeMap::new();
    let mut total = 0u64;
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        if extensions.take(&mut entry)?.is_some() {
            continue;
        }
        let path = extensions.path_of(&entry)?;
        let Some(name) = path.strip_prefix(MANIFESTS_DIR) else {
            continue;
        };
        let kind = entry.header().entry_type();
        // only regular files directly in the directory; whiteouts are not files
        if !kind.is_file() || name.is_empty() || name.contains(&b'/') || name.starts_with(b".wh.") {
            continue;
        }
        let name = String::from_utf8(name.to_vec()).map_err(|_| {
            io::Error::other(format!(
                "manifest {:?} is not named in UTF-8",
                String::from_utf8_lossy(name)
            ))
        })?;
        if name == "." || name == ".." {
            continue;
        }
        let size = entry.header().entry_size()?;
        if size > FILE_BYTES {
            return Err(io::Error::other(format!(
                "manifests/{name} exceeds the limit of {FILE_BYTES} bytes"
            )));
        }
        total += size;
        if total > OPERATOR_BYTES {
            return Err(io::Error::other(format!(
                "the manifests exceed the limit of {OPERATOR_BYTES} bytes"
            )));
        }
        let mtime = entry.header().mtime()?;
        let target = match files.get(&name).map(|f| &f.body) {
            Some(FileBody::Extracted(existing)) => existing.clone(),
            _ => dir.join(format!("{:05}", files.len())),
        };
        let mut out = std::fs::File::create(&target)?;
        io::copy(&mut (&mut entry).take(FILE_BYTES), &mut out)?;
        out.flush()?;
        files.insert(
            name.clone(),
            ManifestFile {
                name,
                mtime,
                body: FileBody::Extracted(target),
            },
        );
    }
    // the rest of the stream, so the whole blob is read within the caps
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    Ok(files.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(entries: &[(&str, tar::EntryType, &[u8], u64)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, body, mtime) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(*mtime);
            if kind.is_symlink() {
                header.set_link_name("x").expect("link");
            }
            builder
                .append_data(&mut header, path, *body)
                .expect("append");
        }
        builder.into_inner().expect("tar")
    }

    #[test]
    fn only_regular_files_directly_in_manifests_are_extracted() {
        use tar::EntryType::{Directory, Regular, Symlink};
        let layer = tar(&[
            ("manifests/", Directory, b"", 1),
            ("manifests/b.yaml", Regular, b"old", 5),
            ("manifests/a.yaml", Regular, b"kind: A", 7),
            ("manifests/sub/c.yaml", Regular, b"deeper", 9),
            ("manifests/link.yaml", Symlink, b"", 9),
            ("manifests/.wh.gone.yaml", Regular, b"", 9),
            ("usr/share/manifests/d.yaml", Regular, b"elsewhere", 9),
            ("manifests/b.yaml", Regular, b"new", 6),
        ]);
        let dir = tempfile::tempdir().expect("tempdir");
        let files = extract(&layer[..], Compression::None, dir.path()).expect("extracts");
        let names: Vec<(&str, u64)> = files.iter().map(|f| (f.name.as_str(), f.mtime)).collect();
        assert_eq!(names, [("a.yaml", 7), ("b.yaml", 6)]);
        assert_eq!(
            files[1].body.read().expect("read"),
            b"new",
            "the later entry wins"
        );
    }

    #[test]
    fn oversized_manifests_are_refused() {
        let big = vec![b'x'; (FILE_BYTES + 1) as usize];
        let layer = tar(&[("manifests/big.yaml", tar::EntryType::Regular, &big, 1)]);
        let dir = tempfile::tempdir().expect("tempdir");
        let err = extract(&layer[..], Compression::None, dir.path()).expect_err("too big");
        assert!(
            err.to_string().contains("manifests/big.yaml exceeds"),
            "{err}"
        );
    }

    #[test]
    fn labels_are_read_from_the_config() {
        let labels = labels_of(br#"{"config":{"Labels":{"a":"b","n":1}}}"#).expect("json");
        assert_eq!(labels, BTreeMap::from([("a".to_string(), "b".to_string())]));
        assert!(labels_of(br#"{"config":{}}"#).expect("json").is_empty());
    }
}
