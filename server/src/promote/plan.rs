//! The dry run of a promotion: which release goes where under which name, what clusters may
//! update from, every image with its digest and destination, how much must be copied, and
//! whether the gates and the signature allow it. The same plan is checked again when it is
//! confirmed, so what runs is what was shown. The new name counts past every name the target
//! has used: its releases, its promotions (failed ones too, once they may have pushed) and
//! every tag of its release repository.

use std::collections::{BTreeMap, HashSet};

use app::model::promotion::{
    GateSummary, PlannedImage, PromotionPlan, PromotionTarget, SignatureStatus,
};
use app::model::Phase;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use regex::Regex;

use super::copy::Copier;
use super::verification::SignatureCheck;
use super::PromoteError;
use crate::store::Store;

/// Makes plans.
#[derive(Clone)]
pub struct Planner {
    store: Store,
    copier: Copier,
    signatures: Option<SignatureCheck>,
    jobs: usize,
}

impl Planner {
    /// A planner reading registries with `copier`, checking signatures when `signatures`
    /// is configured.
    pub fn new(store: Store, copier: Copier, signatures: Option<SignatureCheck>) -> Planner {
        Planner {
            store,
            copier,
            signatures,
            jobs: 8,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The copier.
    pub fn copier(&self) -> &Copier {
        &self.copier
    }

    /// The signature check, when configured.
    pub fn signatures(&self) -> Option<&SignatureCheck> {
        self.signatures.as_ref()
    }

    /// Plans promoting `release` of `stream` to `target`.
    pub async fn plan(
        &self,
        target: &str,
        stream: &str,
        release: &str,
        now: DateTime<Utc>,
    ) -> Result<PromotionPlan, PromoteError> {
        let target = self
            .store
            .target(target)
            .await?
            .ok_or_else(|| PromoteError::UnknownTarget(target.to_string()))?;
        if target.source_stream != stream {
            return Err(PromoteError::WrongStream {
                target: target.name,
                takes: target.source_stream,
                stream: stream.to_string(),
            });
        }
        let row = self
            .store
            .releases_named(release)
            .await?
            .into_iter()
            .find(|r| r.stream == stream)
            .ok_or_else(|| PromoteError::UnknownRelease(format!("{stream}/{release}")))?;
        let gates = self.gates(stream, release, &row.phase).await?;
        let digest = self
            .store
            .release_payload_digest(stream, release)
            .await?
            .ok_or_else(|| PromoteError::PayloadNotRead(release.to_string()))?;
        let payload = self
            .store
            .payload(&digest)
            .await?
            .ok_or_else(|| PromoteError::PayloadNotRead(release.to_string()))?;
        // names pushed outside Streamgate (or before its database) count as taken too
        let mut taken = self.store.taken_names(&target.name).await?;
        taken.extend(self.copier.tags(&target.release_repo).await?);
        let name = next_name(&target.name_template, release, &taken)?;
        let previous = self.previous(&target, &name).await?;

        let images: Vec<(String, String)> = payload
            .components
            .iter()
            .map(|c| (c.name.clone(), by_digest(&c.image, &c.image_digest)))
            .collect();
        let inventories: Vec<_> = stream::iter(images.iter().cloned())
            .map(|(name, source)| async move {
                let inventory = self.copier.inventory(&source).await?;
                Ok::<_, PromoteError>((name, source, inventory))
            })
            .buffered(self.jobs)
            .try_collect()
            .await?;
        let mut distinct: BTreeMap<String, u64> = BTreeMap::new();
        let mut planned = Vec::with_capacity(inventories.len());
        for (name, source, inventory) in &inventories {
            for blob in &inventory.blobs {
                distinct.insert(blob.digest.clone(), blob.size);
            }
            planned.push(PlannedImage {
                name: name.clone(),
                source: source.clone(),
                destination: format!("{}@{}", target.content_repo, inventory.digest),
                blobs: inventory.blobs.len() as u32,
                bytes: inventory.blobs.iter().map(|b| b.size).sum(),
            });
        }
        let digests: Vec<String> = distinct.keys().cloned().collect();
        let present: HashSet<String> = self.copier.present(&target.content_repo, &digests).await?;
        let signature = match &self.signatures {
            Some(check) => check.status(&digest).await,
            None => SignatureStatus::Unchecked,
        };
        Ok(PromotionPlan {
            destination: format!("{}:{}", target.release_repo, name),
            stream: stream.to_string(),
            release: release.to_string(),
            pull_spec: row.pull_spec,
            payload_digest: digest,
            name,
            previous,
            images: planned,
            blobs: distinct.len() as u32,
            bytes: distinct.values().sum(),
            blobs_present: present.len() as u32,
            bytes_present: present
                .iter()
                .filter_map(|d| distinct.get(d))
                .copied()
                .sum(),
            gates,
            signature,
            planned_at: now,
            target,
        })
    }

    async fn gates(
        &self,
        stream: &str,
        release: &str,
        phase: &str,
    ) -> Result<GateSummary, PromoteError> {
        let blocking: Vec<_> = self
            .store
            .gates(stream, release)
            .await?
            .into_iter()
            .filter(|g| g.kind == "blocking")
            .collect();
        let mut not_succeeded: Vec<(String, String)> = blocking
            .iter()
            .filter(|g| g.state != "Succeeded")
            .map(|g| (g.name.clone(), g.state.clone()))
            .collect();
        if Phase::parse(phase) != Phase::Accepted {
            not_succeeded.push(("release phase".to_string(), phase.to_string()));
        }
        Ok(GateSummary {
            blocking: blocking.len() as u32,
            succeeded: blocking.iter().filter(|g| g.state == "Succeeded").count() as u32,
            not_succeeded,
        })
    }

    /// Accepted releases of the target stream of the same minor version or the one before:
    /// what `oc adm release new --previous` would list.
    async fn previous(
        &self,
        target: &PromotionTarget,
        name: &str,
    ) -> Result<Vec<String>, PromoteError> {
        let Some((major, minor)) = major_minor(name) else {
            return Ok(Vec::new());
        };
        let mut previous: Vec<String> = self
            .store
            .release_states(&target.name)
            .await?
            .into_iter()
            .filter(|r| Phase::parse(&r.phase) == Phase::Accepted)
            .map(|r| r.name)
            .filter(|n| {
                major_minor(n)
                    .is_some_and(|(ma, mi)| ma == major && (mi == minor || mi + 1 == minor))
            })
            .collect();
        previous.sort_by(|a, b| version_key(a).cmp(&version_key(b)).then(a.cmp(b)));
        Ok(previous)
    }
}

/// `repo@digest` for an image named by tag or digest.
pub fn by_digest(image: &str, digest: &str) -> String {
    format!("{}@{digest}", repository(image))
}

/// The repository part of a pull spec (without `:tag` or `@digest`).
pub fn repository(spec: &str) -> &str {
    let spec = spec.split_once('@').map_or(spec, |(repo, _)| repo);
    match spec.rfind(':') {
        Some(colon) if !spec[colon..].contains('/') => &spec[..colon],
        _ => spec,
    }
}

fn major_minor(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The CI release's version: `4.21.0` of `4.21.0-0.okd-scos-2025-11-20-010203`.
pub fn release_version(release: &str) -> Option<&str> {
    let end = release
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(release.len(), |(i, _)| i);
    let version = release[..end].trim_end_matches('.');
    (version.split('.').count() == 3 && version.split('.').all(|p| !p.is_empty()))
        .then_some(version)
}

/// The target name for `release` by `template`: `{version}` is the release's version, `{n}`
/// one more than the highest number any `taken` name has under the same template and version
/// (0 for the first).
pub fn next_name(template: &str, release: &str, taken: &[String]) -> Result<String, PromoteError> {
    let version = release_version(release).ok_or_else(|| PromoteError::Template {
        template: template.to_string(),
        reason: format!("{release} has no major.minor.patch version"),
    })?;
    validate_template(template)?;
    let with_version = template.replace("{version}", version);
    let (before, after) = with_version
        .split_once("{n}")
        .ok_or_else(|| PromoteError::Template {
            template: template.to_string(),
            reason: "it has no {n}".to_string(),
        })?;
    let pattern = format!("^{}(\\d+){}$", regex::escape(before), regex::escape(after));
    let re = Regex::new(&pattern).map_err(|e| PromoteError::Template {
        template: template.to_string(),
        reason: e.to_string(),
    })?;
    let next = taken
        .iter()
        .filter_map(|t| re.captures(t))
        .filter_map(|c| c.get(1)?.as_str().parse::<u64>().ok())
        .max()
        .map_or(0, |n| n + 1);
    Ok(format!("{before}{next}{after}"))
}

/// Checks a name template: `{n}` once, only known placeholders, and characters a tag allows.
pub fn validate_template(template: &str) -> Result<(), PromoteError> {
    let bad = |reason: &str| PromoteError::Template {
        template: template.to_string(),
        reason: reason.to_string(),
    };
    if template.matches("{n}").count() != 1 {
        return Err(bad("it must contain {n} exactly once"));
    }
    let rest = template.replace("{n}", "").replace("{version}", "");
    if rest.contains(['{', '}']) {
        return Err(bad("only {version} and {n} can be used"));
    }
    if !rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(bad("a tag may only hold letters, digits, '.', '-' and '_'"));
    }
    if template.len() > 100 {
        return Err(bad("it is longer than 100 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_up_per_version() {
        let ci = "4.21.0-0.okd-scos-2025-11-20-010203";
        let t = "{version}-okd-scos.ec.{n}";
        assert_eq!(next_name(t, ci, &[]).unwrap(), "4.21.0-okd-scos.ec.0");
        let taken = vec![
            "4.21.0-okd-scos.ec.0".to_string(),
            "4.21.0-okd-scos.ec.3".to_string(),
            "4.20.0-okd-scos.ec.9".to_string(),
            "4.21.0-okd-scos.7".to_string(),
        ];
        assert_eq!(next_name(t, ci, &taken).unwrap(), "4.21.0-okd-scos.ec.4");
        assert_eq!(
            next_name("{version}-okd-scos.{n}", ci, &taken).unwrap(),
            "4.21.0-okd-scos.8"
        );
    }

    #[test]
    fn bad_templates_and_releases_are_refused() {
        let ci = "4.21.0-0.okd-scos-2025-11-20-010203";
        assert!(next_name("{version}-okd", ci, &[]).is_err());
        assert!(next_name("{version}-{n}-{n}", ci, &[]).is_err());
        assert!(next_name("{version}/{n}", ci, &[]).is_err());
        assert!(next_name("{major}.{n}", ci, &[]).is_err());
        assert!(next_name("{version}.{n}", "latest", &[]).is_err());
    }

    #[test]
    fn versions_and_repositories_are_read_from_names() {
        assert_eq!(release_version("4.21.0-0.okd-scos-2025"), Some("4.21.0"));
        assert_eq!(
            release_version("4.15.0-0.okd-2024-03-10-010116"),
            Some("4.15.0")
        );
        assert_eq!(release_version("4.21"), None);
        assert_eq!(
            repository("quay.io/okd/scos-release:4.21.0"),
            "quay.io/okd/scos-release"
        );
        assert_eq!(
            repository("127.0.0.1:5000/ocp/release@sha256:ab"),
            "127.0.0.1:5000/ocp/release"
        );
        assert_eq!(
            repository("127.0.0.1:5000/ocp/release"),
            "127.0.0.1:5000/ocp/release"
        );
        assert_eq!(by_digest("r.io/a/b:t", "sha256:1"), "r.io/a/b@sha256:1");
        assert_eq!(major_minor("4.21.0-okd-scos.ec.3"), Some((4, 21)));
        assert!(version_key("4.21.0-okd-scos.ec.10") > version_key("4.21.0-okd-scos.ec.9"));
    }
}
