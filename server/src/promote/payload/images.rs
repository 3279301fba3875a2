//! The image references of an operator's manifests, replaced as `oc adm release new` does.
//!
//! An operator's own `image-references` names, for each tag it uses, the pull spec its
//! manifests were written with (`quay.io/openshift/origin-cli:latest`). Every occurrence
//! of such a repository — bare, with a tag or with a digest, standing on its own between
//! non-word characters and white space or quotes — becomes the release's pull spec for
//! that tag, which after mirroring is the mirror's `repo@sha256:…`.

use std::collections::BTreeMap;

use regex::bytes::{Captures, Regex, RegexBuilder};

/// One tag an operator names: the repository its manifests write and the release's pull
/// spec for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The pull spec the operator's `image-references` gives (`from.name`).
    pub source_repository: String,
    /// The release's pull spec of that tag.
    pub target_pull_spec: String,
}

/// Replaces an operator's image references.
#[derive(Debug, Clone)]
pub struct ImageMapper {
    /// `None` when the operator names no images.
    pattern: Option<Regex>,
    /// Target pull spec by source repository.
    targets: BTreeMap<String, String>,
}

impl ImageMapper {
    /// A mapper for `images` (by tag name); refuses an empty source repository and one
    /// given for two tags.
    pub fn new(images: &BTreeMap<String, ImageReference>) -> Result<ImageMapper, String> {
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        let mut tags: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, reference) in images {
            let source = reference.source_repository.as_str();
            if source.is_empty() {
                return Err(format!(
                    "an empty source repository is not allowed for name {name:?}"
                ));
            }
            if let Some(existing) = tags.insert(source, name) {
                return Err(format!(
                    "the source repository {source:?} was defined more than once (for {existing:?} and {name:?})"
                ));
            }
            targets.insert(source.to_string(), reference.target_pull_spec.clone());
        }
        if targets.is_empty() {
            return Ok(ImageMapper {
                pattern: None,
                targets,
            });
        }
        // longest first, so that a repository that prefixes another never hides it
        let mut sources: Vec<&String> = targets.keys().collect();
        sources.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let alternatives: Vec<String> = sources.iter().map(|s| regex::escape(s)).collect();
        // oc's pattern with Go's ASCII classes spelled out: `\W`, `\w`, `\s`
        let pattern = format!(
            r#"([^0-9A-Za-z_]|^)({})(:[0-9A-Za-z_][0-9A-Za-z_.-]{{0,127}}|@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{{2,}})?([\t\n\f\r "']|$)"#,
            alternatives.join("|")
        );
        let pattern = RegexBuilder::new(&pattern)
            .unicode(false)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| format!("the operator's image references cannot be matched: {e}"))?;
        Ok(ImageMapper {
            pattern: Some(pattern),
            targets,
        })
    }

    /// `data` with every reference to a known repository replaced by its target.
    pub fn apply(&self, data: &[u8]) -> Vec<u8> {
        let Some(pattern) = &self.pattern else {
            return data.to_vec();
        };
        pattern
            .replace_all(data, |caps: &Captures<'_>| {
                let whole = caps.get(0).map_or(&b""[..], |m| m.as_bytes());
                let source = caps.get(2).map_or(&b""[..], |m| m.as_bytes());
                let Some(target) = std::str::from_utf8(source)
                    .ok()
                    .and_then(|s| self.targets.get(s))
                else {
                    return whole.to_vec();
                };
                let before = caps.get(1).map_or(&b""[..], |m| m.as_bytes());
                let after = caps.get(4).map_or(&b""[..], |m| m.as_bytes());
                [before, target.as_bytes(), after].concat()
            })
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIRROR: &str = "quay.io/okd/scos-content@sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn mapper() -> ImageMapper {
        ImageMapper::new(&BTreeMap::from([
            (
                "cli".to_string(),
                ImageReference {
                    source_repository: "quay.io/openshift/origin-cli".into(),
                    target_pull_spec: MIRROR.into(),
                },
            ),
            (
                "cli-artifacts".to_string(),
                ImageReference {
                    source_repository: "quay.io/openshift/origin-cli-artifacts".into(),
                    target_pull_spec: "mirror/artifacts@sha256:22".into(),
                },
            ),
        ]))
        .expect("mapper")
    }

    #[test]
    fn bare_tagged_and_digested_references_are_replaced() {
        let m = mapper();
        for text in [
            "image: quay.io/openshift/origin-cli\n",
            "image: quay.io/openshift/origin-cli:latest\n",
            "image: \"quay.io/openshift/origin-cli:v4.21\"\n",
            "image: 'quay.io/openshift/origin-cli@sha256:abcdef0123'\n",
            "image: quay.io/openshift/origin-cli:latest",
        ] {
            let out = String::from_utf8(m.apply(text.as_bytes())).expect("utf-8");
            assert!(out.contains(MIRROR), "{text:?} → {out:?}");
            assert!(!out.contains("origin-cli:") && !out.contains("origin-cli@"));
        }
        let out = m.apply(b"- quay.io/openshift/origin-cli-artifacts:latest\n");
        assert_eq!(
            out, b"- mirror/artifacts@sha256:22\n",
            "the longer repository"
        );
    }

    #[test]
    fn references_not_standing_alone_stay() {
        let m = mapper();
        for text in [
            "url: https://quay.io/openshift/origin-cli/tags\n",
            "xquay.io/openshift/origin-cli\n",
            "image: quay.io/openshift/origin-cli:latest,other\n",
            "quay.io/openshift/origin-client:latest\n",
        ] {
            assert_eq!(m.apply(text.as_bytes()), text.as_bytes(), "{text:?}");
        }
    }

    #[test]
    fn a_repository_given_twice_or_empty_is_refused() {
        let twice = BTreeMap::from([
            (
                "a".to_string(),
                ImageReference {
                    source_repository: "r".into(),
                    target_pull_spec: "x".into(),
                },
            ),
            (
                "b".to_string(),
                ImageReference {
                    source_repository: "r".into(),
                    target_pull_spec: "y".into(),
                },
            ),
        ]);
        assert_eq!(
            ImageMapper::new(&twice).expect_err("twice"),
            "the source repository \"r\" was defined more than once (for \"a\" and \"b\")"
        );
        let empty = BTreeMap::from([(
            "a".to_string(),
            ImageReference {
                source_repository: String::new(),
                target_pull_spec: "x".into(),
            },
        )]);
        assert!(ImageMapper::new(&empty).is_err());
        let none = ImageMapper::new(&BTreeMap::new()).expect("no images");
        assert_eq!(none.apply(b"quay.io/x"), b"quay.io/x");
    }
}
