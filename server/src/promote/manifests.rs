//! The operator manifests of a promoted payload, rewritten as `oc adm release new
//! --from-release … --mirror …` writes them: every component image a manifest names by its
//! source pull spec (the CI payload's `image-references`) becomes the release's pull spec
//! for that tag (the mirror's `…@sha256:`), and the source release's name — the version the
//! CI build put where the operators' `0.0.1-snapshot` placeholders were — becomes the new
//! release's name. A cluster installed from the new payload then pulls from the mirror and
//! reports the new version, not the CI release's.

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

/// The replacements of one promotion, applied to each manifest in one pass.
pub struct ManifestMap {
    finder: AhoCorasick,
    replacements: Vec<String>,
}

impl ManifestMap {
    /// The map from the source payload's `image-references` (`source`) to the new pull
    /// specs by tag (`images`) and the new release `name`; a tag without a new pull spec
    /// keeps its images (the references rewrite refuses such a payload first).
    pub fn new(
        source: &Value,
        images: &std::collections::BTreeMap<String, String>,
        name: &str,
    ) -> Result<ManifestMap, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for tag in source
            .pointer("/spec/tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(tag_name), Some(from)) = (
                tag.get("name").and_then(Value::as_str),
                tag.pointer("/from/name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(to) = images.get(tag_name) {
                if !from.is_empty() && from != to {
                    pairs.push((from.to_string(), to.clone()));
                }
            }
        }
        let source_name = source
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !source_name.is_empty() && source_name != name {
            pairs.push((source_name.to_string(), name.to_string()));
        }
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(pairs.iter().map(|(from, _)| from))
            .map_err(|e| e.to_string())?;
        Ok(ManifestMap {
            finder,
            replacements: pairs.into_iter().map(|(_, to)| to).collect(),
        })
    }

    /// `text` rewritten, or `None` when nothing in it changes.
    pub fn apply(&self, text: &[u8]) -> Option<Vec<u8>> {
        self.finder.find(text)?;
        Some(self.finder.replace_all_bytes(text, &self.replacements))
    }
}

/// Whether the tar entry at `path` (normalised) is an operator manifest of the payload: a
/// file directly or deeper under `release-manifests/`, other than the two the promotion
/// writes anew.
pub fn is_manifest(path: &[u8]) -> bool {
    path.starts_with(b"release-manifests/")
        && path != crate::oci::layer::IMAGE_REFERENCES.as_bytes()
        && path != crate::oci::layer::RELEASE_METADATA.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const CI: &str = "registry.ci.openshift.org/origin/4.21-2026-02-11-071519";

    fn map() -> ManifestMap {
        let source = serde_json::json!({
            "metadata": {"name": "4.21.0-0.okd-scos-2026-02-11-071519"},
            "spec": {"tags": [
                {"name": "cli", "from": {"name": format!("{CI}@sha256:{}", "1".repeat(64))}},
                {"name": "cluster-version-operator", "from": {"name": format!("{CI}@sha256:{}", "2".repeat(64))}},
                {"name": "unmapped", "from": {"name": format!("{CI}@sha256:{}", "3".repeat(64))}},
            ]},
        });
        let images = BTreeMap::from([
            (
                "cli".to_string(),
                format!("quay.io/okd/scos-content@sha256:{}", "1".repeat(64)),
            ),
            (
                "cluster-version-operator".to_string(),
                format!("quay.io/okd/scos-content@sha256:{}", "2".repeat(64)),
            ),
        ]);
        ManifestMap::new(&source, &images, "4.21.0-okd-scos.ec.3").expect("map")
    }

    #[test]
    fn images_and_the_release_name_are_mapped() {
        let manifest = format!(
            "kind: Deployment\nspec:\n  image: {CI}@sha256:{}\n  env:\n  - name: RELEASE_VERSION\n    value: \"4.21.0-0.okd-scos-2026-02-11-071519\"\n  - name: CLI\n    value: {CI}@sha256:{}\n",
            "2".repeat(64),
            "1".repeat(64)
        );
        let out =
            String::from_utf8(map().apply(manifest.as_bytes()).expect("changed")).expect("utf-8");
        assert!(!out.contains("registry.ci.openshift.org"), "{out}");
        assert!(out.contains(&format!(
            "image: quay.io/okd/scos-content@sha256:{}\n",
            "2".repeat(64)
        )));
        assert!(out.contains("value: \"4.21.0-okd-scos.ec.3\""));
        assert!(out.contains(&format!(
            "value: quay.io/okd/scos-content@sha256:{}\n",
            "1".repeat(64)
        )));
    }

    #[test]
    fn untouched_text_and_unmapped_tags_stay() {
        let m = map();
        assert_eq!(
            m.apply(b"kind: Namespace\nmetadata:\n  name: openshift-cli\n"),
            None
        );
        let unmapped = format!("image: {CI}@sha256:{}", "3".repeat(64));
        assert_eq!(
            m.apply(unmapped.as_bytes()),
            None,
            "no new pull spec for it"
        );
    }

    #[test]
    fn only_manifests_are_rewritten() {
        assert!(is_manifest(
            b"release-manifests/0000_50_cli_deployment.yaml"
        ));
        assert!(is_manifest(b"release-manifests/sub/x.json"));
        assert!(!is_manifest(b"release-manifests/image-references"));
        assert!(!is_manifest(b"release-manifests/release-metadata"));
        assert!(!is_manifest(b"usr/share/x.yaml"));
    }
}
