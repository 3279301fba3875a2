//! The `release-manifests/` layer, written as `oc adm release new` writes it.
//!
//! In order: the directory, `image-references` and `release-metadata` (all dated with the
//! newest manifest's time), then each operator's manifests — operators by tag name, files
//! by name — each dated with its own time, mode `0444`. A file whose name does not start
//! with `0000_` is renamed `0000_50_<tag>_<name>`; a name already used gets `_<n>` before
//! its extension. The tar is gzip'd without a timestamp and hashed as it is written, so
//! the same inputs always give the same digest.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::operators::ManifestFile;
use crate::promote::blobs::Hashing;

/// The directory of the payload's manifests.
pub const DIR: &str = "release-manifests";

/// A manifest after its operator's mapping, ready to be written.
pub type Transform<'a> = dyn Fn(&[u8]) -> Result<Vec<u8>, String> + 'a;

/// One operator's files and how they change.
pub struct OperatorFiles<'a> {
    /// The operator's tag.
    pub tag: &'a str,
    /// Its manifests (the operator's own `image-references` left out), sorted by name.
    pub files: Vec<&'a ManifestFile>,
    /// The mapping of image references and versions.
    pub transform: Box<Transform<'a>>,
}

/// The layer written: where, its digest (compressed) and `diff_id` (uncompressed), size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The temporary file.
    pub path: PathBuf,
    /// `sha256:` of the gzip'd bytes.
    pub digest: String,
    /// `sha256:` of the tar.
    pub diff_id: String,
    /// Size of the gzip'd bytes.
    pub size: u64,
    /// Paths in the layer, in order (after `release-manifests/`).
    pub names: Vec<String>,
}

/// Why the layer could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A manifest is not valid or cannot be mapped.
    #[error("operator {tag:?}: {reason}")]
    Operator {
        /// The operator's tag.
        tag: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing files failed.
    #[error("writing the release manifests: {0}")]
    Io(#[from] io::Error),
}

/// The name a manifest gets in the payload: kept when it starts with `0000_`, else
/// `0000_50_<tag>_<name>`.
pub fn payload_name(tag: &str, name: &str) -> String {
    if name.starts_with("0000_") {
        name.to_string()
    } else {
        format!("0000_50_{tag}_{name}")
    }
}

/// `name` made unique among `used` as `oc` does it: the second `x.yaml` is `x_2.yaml`.
fn unique(name: String, used: &mut BTreeMap<String, u32>) -> String {
    let name = match used.get(&name).copied() {
        Some(count) => {
            used.insert(name.clone(), count + 1);
            let (stem, ext) = match name.rfind('.') {
                Some(dot) => name.split_at(dot),
                None => (name.as_str(), ""),
            };
            format!("{stem}_{}{ext}", count + 1)
        }
        None => name,
    };
    used.insert(name.clone(), 1);
    name
}

/// Checks a `.json`, `.yml` or `.yaml` manifest as `oc` does: an object (the first
/// document) with a non-empty `kind` and `apiVersion`.
pub fn check_manifest(name: &str, data: &[u8]) -> Result<(), String> {
    if ![".json", ".yml", ".yaml"].iter().any(|s| name.ends_with(s)) {
        return Ok(());
    }
    let first = serde_yaml::Deserializer::from_slice(data).next();
    let value = match first {
        Some(document) => <serde_json::Value as serde::Deserialize>::deserialize(document)
            .map_err(|e| format!("{name}: invalid YAML/JSON: {e}"))?,
        None => serde_json::Value::Null,
    };
    let text = String::from_utf8_lossy(data);
    let start: String = text.chars().take(30).collect();
    let start = if text.chars().count() > 30 {
        format!("{start}...")
    } else {
        start
    };
    let object = value
        .as_object()
        .ok_or_else(|| format!("{name}: not a valid YAML/JSON object, got: {start}"))?;
    for field in ["kind", "apiVersion"] {
        if object
            .get(field)
            .and_then(serde_json::Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!(
                "{name}: manifests must contain Kubernetes API objects with 'kind' and 'apiVersion' set: {start}"
            ));
        }
    }
    Ok(())
}

/// Writes the layer to `dst` (blocking); `newest` is the time of the newest file the
/// operators brought (their own `image-references` included).
pub fn write(
    dst: &Path,
    newest: u64,
    image_references: &[u8],
    release_metadata: &[u8],
    operators: &[OperatorFiles<'_>],
) -> Result<Written, LayerError> {
    let file = std::fs::File::create(dst)?;
    let gz = flate2::GzBuilder::new().mtime(0).write(
        Hashing::new(io::BufWriter::new(file)),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(Hashing::new(gz));
    let mut names = Vec::new();

    let mut dir = header(tar::EntryType::Directory, 0o777, newest, 0);
    tar.append_data(&mut dir, DIR, io::empty())?;
    for (name, body) in [
        ("image-references", image_references),
        ("release-metadata", release_metadata),
    ] {
        append(&mut tar, name, body, newest)?;
        names.push(name.to_string());
    }
    let mut used: BTreeMap<String, u32> = BTreeMap::new();
    for operator in operators {
        let failed = |reason: String| LayerError::Operator {
            tag: operator.tag.to_string(),
            reason,
        };
        for file in &operator.files {
            let name = unique(payload_name(operator.tag, &file.name), &mut used);
            let data = file.body.read()?;
            check_manifest(&format!("{}/{}", operator.tag, file.name), &data).map_err(failed)?;
            let data =
                (operator.transform)(&data).map_err(|e| failed(format!("{}: {e}", file.name)))?;
            append(&mut tar, &name, &data, file.mtime)?;
            names.push(name);
        }
    }
    let (gz, diff_id, _) = tar.into_inner()?.finish();
    let (mut out, digest, size) = gz.finish()?.finish();
    out.flush()?;
    Ok(Written {
        path: dst.to_path_buf(),
        digest,
        diff_id,
        size,
        names,
    })
}

fn header(kind: tar::EntryType, mode: u32, mtime: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    body: &[u8],
    mtime: u64,
) -> io::Result<()> {
    let mut h = header(tar::EntryType::Regular, 0o444, mtime, body.len() as u64);
    tar.append_data(&mut h, format!("{DIR}/{name}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_run_level_rule_and_stay_unique() {
        assert_eq!(
            payload_name("ingress", "deployment.yaml"),
            "0000_50_ingress_deployment.yaml"
        );
        assert_eq!(
            payload_name("ingress", "0000_50_ingress_00-namespace.yaml"),
            "0000_50_ingress_00-namespace.yaml"
        );
        assert_eq!(payload_name("ingress", "0000_x.yaml"), "0000_x.yaml");
        let mut used = BTreeMap::new();
        let names: Vec<String> = ["a.yaml", "a.yaml", "a.yaml", "b"]
            .into_iter()
            .chain(["b"])
            .map(|n| unique(n.to_string(), &mut used))
            .collect();
        assert_eq!(names, ["a.yaml", "a_2.yaml", "a_3.yaml", "b", "b_2"]);
    }

    #[test]
    fn manifests_must_be_kubernetes_objects() {
        assert!(check_manifest("a.yaml", b"apiVersion: v1\nkind: Namespace\n").is_ok());
        assert!(check_manifest("a.yaml", b"apiVersion: v1\nkind: A\n---\nnot: checked\n").is_ok());
        assert!(check_manifest("a.json", br#"{"apiVersion":"v1","kind":"A"}"#).is_ok());
        assert!(check_manifest("README.md", b"# not a manifest").is_ok());
        assert_eq!(
            check_manifest("a.yaml", b"kind: Namespace\n").expect_err("no apiVersion"),
            "a.yaml: manifests must contain Kubernetes API objects with 'kind' and 'apiVersion' set: kind: Namespace\n"
        );
        assert!(check_manifest("a.yaml", b"- a list\n")
            .expect_err("not an object")
            .starts_with("a.yaml: not a valid YAML/JSON object"));
        assert!(check_manifest("a.json", b"{\"kind\": ")
            .expect_err("broken")
            .starts_with("a.json: invalid YAML/JSON: "));
        assert!(check_manifest("empty.yaml", b"").is_err());
    }
}
