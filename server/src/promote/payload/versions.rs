//! Component versions and the version placeholders of operator manifests, as `oc adm
//! release new` reads and replaces them.
//!
//! An image says which versions it carries in the label `io.openshift.build.versions`
//! (`kubernetes=1.34.2,kubectl=1.34.2`), with optional display names in
//! `io.openshift.build.version-display-names`. Operator manifests write `0.0.1-snapshot`
//! where the release's version goes, and `0.0.1-snapshot-<component>` where a component's
//! version goes; [`VersionMapper`] puts them in.

use std::collections::BTreeMap;

/// Label of an image naming the component versions it carries.
pub const VERSIONS: &str = streamgate_formats::payload::VERSIONS;
/// Label of an image naming the display names of those components.
pub const DISPLAY_NAMES: &str = "io.openshift.build.version-display-names";
/// The only component names a versions label may use (`oc`'s allowed list).
pub const ALLOWED_COMPONENTS: &[&str] = &[
    "kubernetes",
    "machine-os",
    "kernel",
    "crio",
    "kubectl",
    "kubernetes-tests",
];
/// The placeholder operator manifests carry for versions.
const PLACEHOLDER: &[u8] = b"0.0.1-snapshot";

/// One component's version and display name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComponentVersion {
    /// A semantic version without build metadata.
    pub version: String,
    /// How it is shown (may be empty).
    pub display_name: String,
}

/// Component versions by component name.
pub type ComponentVersions = BTreeMap<String, ComponentVersion>;

/// `name` as a semantic version without its build metadata, or `None` when it is not one.
pub fn without_build(name: &str) -> Option<String> {
    let mut version = semver::Version::parse(name).ok()?;
    version.build = semver::BuildMetadata::EMPTY;
    Some(version.to_string())
}

/// Whether `key` is a valid version name: at least two ASCII lower-case letters, digits or
/// internal hyphens.
fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    bytes.len() >= 2
        && bytes.first().is_some_and(allowed)
        && bytes.last().is_some_and(allowed)
        && bytes.iter().all(|b| allowed(b) || *b == b'-')
}

/// Whether `name` is a valid display name: ASCII letters, digits, white space and `-:().`.
fn valid_display_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "-:().".contains(c))
}

/// Reads a versions label and its display names label, as `oc` does: pairs `NAME=VERSION`
/// separated by commas, each name a valid key, each version a semantic version (its build
/// metadata dropped). An empty label holds no versions.
pub fn parse_label(label: &str, display_names: &str) -> Result<ComponentVersions, String> {
    let label = label.trim();
    if label.is_empty() {
        return Ok(ComponentVersions::new());
    }
    let mut names = BTreeMap::new();
    if !display_names.is_empty() {
        for pair in display_names.split(',').map(str::trim) {
            let Some((key, name)) = pair.split_once('=') else {
                return Err(format!(
                    "the display name pair {pair:?} must be NAME=DISPLAYNAME"
                ));
            };
            check_key(key)?;
            if !valid_display_name(name) {
                return Err(format!(
                    "the display name {name:?} must only be alphanumerics, spaces, and symbols in [().:-]"
                ));
            }
            names.insert(key.to_string(), name.to_string());
        }
    }
    let mut versions = ComponentVersions::new();
    for pair in label.split(',').map(str::trim) {
        let Some((key, version)) = pair.split_once('=') else {
            return Err(format!("the version pair {pair:?} must be NAME=VERSION"));
        };
        check_key(key)?;
        let version = without_build(version).ok_or_else(|| {
            format!("the version pair {pair:?} must have a valid semantic version")
        })?;
        versions.insert(
            key.to_string(),
            ComponentVersion {
                version,
                display_name: names.get(key).cloned().unwrap_or_default(),
            },
        );
    }
    Ok(versions)
}

fn check_key(key: &str) -> Result<(), String> {
    if key.len() < 2 {
        return Err(format!(
            "the version name {key:?} must be at least 2 characters"
        ));
    }
    if !valid_key(key) {
        return Err(format!(
            "the version name {key:?} must only be ASCII alphanumerics and internal hyphens"
        ));
    }
    Ok(())
}

/// Replaces the version placeholders of one operator's manifests.
#[derive(Debug, Clone, Default)]
pub struct VersionMapper {
    /// The release's version (without build metadata); `None` when the release name is not
    /// a semantic version, and `0.0.1-snapshot` then stays.
    release: Option<String>,
    /// Component versions the operator may use.
    versions: ComponentVersions,
    /// The tags each version was read from: more than one makes the version ambiguous.
    tags_by_name: BTreeMap<String, Vec<String>>,
}

impl VersionMapper {
    /// A mapper for an operator without `image-references`: only the release's version.
    pub fn release_only(release_name: &str) -> VersionMapper {
        VersionMapper::new(release_name, ComponentVersions::new(), BTreeMap::new())
    }

    /// A mapper putting in `release_name`'s version and the component `versions` (read
    /// from the tags `tags_by_name` says).
    pub fn new(
        release_name: &str,
        versions: ComponentVersions,
        tags_by_name: BTreeMap<String, Vec<String>>,
    ) -> VersionMapper {
        VersionMapper {
            release: without_build(release_name),
            versions,
            tags_by_name,
        }
    }

    /// `data` with every placeholder preceded by a non-word character (or at the start)
    /// replaced; refuses a placeholder naming a component whose version is unknown or
    /// ambiguous.
    pub fn apply(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(data.len());
        let mut missing: Vec<String> = Vec::new();
        let mut conflicts: Vec<String> = Vec::new();
        let mut copied = 0;
        let mut at = 0;
        while at < data.len() {
            // a match is a non-word byte and the placeholder, or the placeholder at the start
            let start = if at == 0 && data.starts_with(PLACEHOLDER) {
                Some(0)
            } else if !is_word(data[at]) && data[at + 1..].starts_with(PLACEHOLDER) {
                Some(at + 1)
            } else {
                None
            };
            let Some(start) = start else {
                at += 1;
                continue;
            };
            let key_start = start + PLACEHOLDER.len();
            let key_end = data[key_start..]
                .iter()
                .position(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-'))
                .map_or(data.len(), |n| key_start + n);
            let key = &data[key_start..key_end];
            let replacement = match (key, &self.release) {
                ([], Some(release)) => Some(release.clone()),
                ([b'-', rest @ ..], _) => {
                    let name = String::from_utf8_lossy(rest).into_owned();
                    match self.versions.get(&name) {
                        None => {
                            missing.push(name);
                            None
                        }
                        Some(_) if self.tags_by_name.get(&name).is_some_and(|t| t.len() > 1) => {
                            conflicts.push(name);
                            None
                        }
                        Some(v) => Some(v.version.clone()),
                    }
                }
                _ => None,
            };
            if let Some(replacement) = replacement {
                out.extend_from_slice(&data[copied..start]);
                out.extend_from_slice(replacement.as_bytes());
                copied = key_end;
            }
            at = key_end;
        }
        out.extend_from_slice(&data[copied..]);
        match missing.as_slice() {
            [] => {}
            [one] if one.is_empty() => {
                return Err("empty version references are not allowed".to_string())
            }
            [one] => return Err(format!("unknown version reference {one:?}")),
            many => return Err(format!("unknown version references: {}", many.join(", "))),
        }
        if let Some(name) = conflicts.first() {
            let mut tags = self.tags_by_name.get(name).cloned().unwrap_or_default();
            tags.sort();
            return Err(format!(
                "the version for {name:?} is inconsistent across the referenced images: {}",
                tags.join(", ")
            ));
        }
        Ok(out)
    }
}

/// Whether `b` is an ASCII word character (`[0-9A-Za-z_]`).
pub(super) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(label: &str) -> ComponentVersions {
        parse_label(label, "").expect("valid label")
    }

    #[test]
    fn labels_are_read_as_oc_reads_them() {
        let v = parse_label(
            " kubernetes=1.34.2+abc, machine-os=9.0.20260210-0 ",
            "machine-os=CentOS Stream CoreOS",
        )
        .expect("valid");
        assert_eq!(v["kubernetes"].version, "1.34.2", "build metadata dropped");
        assert_eq!(v["machine-os"].version, "9.0.20260210-0");
        assert_eq!(v["machine-os"].display_name, "CentOS Stream CoreOS");
        assert!(parse_label("", "").expect("empty").is_empty());
        for (label, error) in [
            (
                "kubernetes",
                "the version pair \"kubernetes\" must be NAME=VERSION",
            ),
            (
                "k=1.0.0",
                "the version name \"k\" must be at least 2 characters",
            ),
            (
                "Kube=1.0.0",
                "the version name \"Kube\" must only be ASCII alphanumerics and internal hyphens",
            ),
            (
                "kube-=1.0.0",
                "the version name \"kube-\" must only be ASCII alphanumerics and internal hyphens",
            ),
            (
                "kubernetes=1.34",
                "the version pair \"kubernetes=1.34\" must have a valid semantic version",
            ),
        ] {
            assert_eq!(parse_label(label, "").expect_err(label), error);
        }
        assert!(parse_label("kubernetes=1.0.0", "kubernetes=<b>").is_err());
    }

    #[test]
    fn placeholders_become_the_release_and_component_versions() {
        let mapper = VersionMapper::new(
            "4.21.0-okd-scos.3+build",
            versions("kubernetes=1.34.2"),
            BTreeMap::from([("kubernetes".to_string(), vec!["hyperkube".to_string()])]),
        );
        let out = mapper
            .apply(b"0.0.1-snapshot v: \"0.0.1-snapshot\"\nk: 0.0.1-snapshot-kubernetes\nx0.0.1-snapshot\n0.0.1-snapshotted")
            .expect("maps");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "4.21.0-okd-scos.3 v: \"4.21.0-okd-scos.3\"\nk: 1.34.2\nx0.0.1-snapshot\n0.0.1-snapshotted",
            "after a word character or followed by a letter, not a placeholder"
        );
        assert_eq!(
            mapper
                .apply(b"v: 0.0.1-snapshot-crio\n")
                .expect_err("unknown"),
            "unknown version reference \"crio\""
        );
        assert_eq!(
            mapper
                .apply(b"0.0.1-snapshot-crio 0.0.1-snapshot-kernel")
                .expect_err("unknown"),
            "unknown version references: crio, kernel"
        );
        assert_eq!(
            mapper.apply(b"0.0.1-snapshot-").expect_err("empty"),
            "empty version references are not allowed"
        );
    }

    #[test]
    fn a_release_name_that_is_not_semver_leaves_the_placeholder() {
        let mapper = VersionMapper::release_only("not-a-version");
        assert_eq!(
            mapper.apply(b"v: 0.0.1-snapshot").expect("maps"),
            b"v: 0.0.1-snapshot"
        );
    }

    #[test]
    fn a_version_read_from_two_images_is_ambiguous() {
        let mapper = VersionMapper::new(
            "4.21.0",
            versions("machine-os=9.0.1"),
            BTreeMap::from([(
                "machine-os".to_string(),
                vec!["rhel-coreos".to_string(), "machine-os-content".to_string()],
            )]),
        );
        assert_eq!(
            mapper.apply(b"0.0.1-snapshot-machine-os").expect_err("ambiguous"),
            "the version for \"machine-os\" is inconsistent across the referenced images: machine-os-content, rhel-coreos"
        );
    }
}
