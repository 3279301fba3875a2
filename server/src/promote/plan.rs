//! The dry run of a promotion: which release goes where under which name, what clusters may
//! update from, every image with its digest and destination, how much must be copied, and
//! whether the gates and the signature allow it. The same plan is checked again when it is
//! confirmed, so what runs is what was shown. The new name counts past every name the target
//! has used: its releases, its promotions (failed ones too, once they may have pushed) and
//! every tag of its release repository.
//!
//! Planning reads every manifest of the payload, asks the target for every blob and checks
//! the signature, so only someone allowed to promote to the target may have a plan shown
//! ([`Planner::review`], checked before any registry is asked), and those registry reads are
//! reused for [`READS_FRESH_FOR`] per payload digest and target: looking at a plan again
//! costs the registries nothing. Confirming always plans afresh ([`Planner::plan`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::promotion::{
    GateSummary, PlannedImage, PromotionPlan, PromotionTarget, SignatureStatus,
};
use app::model::{GateKind, JobState, Phase};
use app::viewer::Viewer;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use regex::Regex;

use super::copy::{Copier, Inventory};
use super::verification::SignatureCheck;
use super::PromoteError;
use crate::store::Store;

/// How long a plan's registry reads are reused when the same plan is looked at again.
pub const READS_FRESH_FOR: Duration = Duration::from_secs(60);

/// Most plans whose registry reads are kept at once.
pub const MAX_KEPT_READS: usize = 64;

/// What a plan learnt from the registries and the signature store.
#[derive(Debug)]
struct RegistryReads {
    /// The content repository the blobs were looked for in.
    content_repo: String,
    /// Each component: its name, its source by digest and its inventory.
    inventories: Vec<(String, String, Inventory)>,
    /// Blobs already in the content repository.
    present: HashSet<String>,
    /// The payload's signature.
    signature: SignatureStatus,
    /// The release repository the tags were listed in.
    release_repo: String,
    /// Its tags: names taken outside Streamgate count as taken.
    release_tags: Vec<String>,
}

/// Kept reads by (payload digest, target name), with when they were made.
type KeptReads = HashMap<(String, String), (Instant, Arc<RegistryReads>)>;

/// Registry reads by (payload digest, target), each for [`READS_FRESH_FOR`], at most
/// [`MAX_KEPT_READS`] of them.
#[derive(Clone, Default)]
struct ReadCache(Arc<Mutex<KeptReads>>);

impl ReadCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, KeptReads> {
        // a panic while holding the lock leaves nothing half-written: each entry is one insert
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The reads for `key`, when fresh and of the same content repository.
    fn get(&self, key: &(String, String), content_repo: &str) -> Option<Arc<RegistryReads>> {
        let entries = self.entries();
        let (at, reads) = entries.get(key)?;
        (at.elapsed() < READS_FRESH_FOR && reads.content_repo == content_repo)
            .then(|| reads.clone())
    }

    /// Keeps `reads` for `key`, dropping stale entries and, when full, the oldest.
    fn put(&self, key: (String, String), reads: Arc<RegistryReads>) {
        let mut entries = self.entries();
        entries.retain(|_, (at, _)| at.elapsed() < READS_FRESH_FOR);
        while entries.len() >= MAX_KEPT_READS && !entries.contains_key(&key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => entries.remove(&k),
                None => break,
            };
        }
        entries.insert(key, (Instant::now(), reads));
    }
}

/// Makes plans.
#[derive(Clone)]
pub struct Planner {
    store: Store,
    copier: Copier,
    signatures: Option<SignatureCheck>,
    jobs: usize,
    reads: ReadCache,
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
            reads: ReadCache::default(),
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

    /// Plans promoting `release` of `stream` to `target`, reading the registries afresh
    /// (what a confirmed promotion runs by). Whoever calls this has checked that the user
    /// may promote to `target`.
    pub async fn plan(
        &self,
        target: &str,
        stream: &str,
        release: &str,
        now: DateTime<Utc>,
    ) -> Result<PromotionPlan, PromoteError> {
        self.make(target, stream, release, now, false).await
    }

    /// The plan shown to `viewer` before they confirm: refused unless they may promote to
    /// `target`, before any registry is asked; registry reads of the same payload and
    /// target from the last [`READS_FRESH_FOR`] are reused, the rest (name, gates,
    /// `previous`) is read from the store each time.
    pub async fn review(
        &self,
        viewer: &Viewer,
        target: &str,
        stream: &str,
        release: &str,
        now: DateTime<Utc>,
    ) -> Result<PromotionPlan, PromoteError> {
        if !viewer.may_promote(target) {
            return Err(PromoteError::Forbidden(format!(
                "{} may not promote to {target}",
                viewer.name
            )));
        }
        self.make(target, stream, release, now, true).await
    }

    async fn make(
        &self,
        target: &str,
        stream: &str,
        release: &str,
        now: DateTime<Utc>,
        reuse: bool,
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
        let gates = self.gates(stream, release, row.phase).await?;
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
        let images: Vec<(String, String)> = payload
            .components
            .iter()
            .map(|c| (c.name.clone(), by_digest(&c.image, &c.image_digest)))
            .collect();
        let reads = self.registry_reads(&target, &digest, images, reuse).await?;
        // names pushed outside Streamgate (or before its database) count as taken too
        let mut taken = self.store.taken_names(&target.name).await?;
        taken.extend(reads.release_tags.iter().cloned());
        let name = next_name(&target.name_template, release, &taken)?;
        let previous = self.previous(&target, &name).await?;

        let mut distinct: BTreeMap<String, u64> = BTreeMap::new();
        let mut planned = Vec::with_capacity(reads.inventories.len());
        for (name, source, inventory) in &reads.inventories {
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
        let present = &reads.present;
        let signature = reads.signature.clone();
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

    /// The inventories of `images`, which of their blobs `target` has, and the payload's
    /// signature: kept ones when `reuse` and fresh, else read (and kept).
    async fn registry_reads(
        &self,
        target: &PromotionTarget,
        digest: &str,
        images: Vec<(String, String)>,
        reuse: bool,
    ) -> Result<Arc<RegistryReads>, PromoteError> {
        let key = (digest.to_string(), target.name.clone());
        if reuse {
            if let Some(reads) = self
                .reads
                .get(&key, &target.content_repo)
                .filter(|r| r.release_repo == target.release_repo)
            {
                tracing::debug!(target = %target.name, digest, "plan's registry reads reused");
                return Ok(reads);
            }
        }
        let inventories: Vec<(String, String, Inventory)> = stream::iter(images)
            .map(|(name, source)| async move {
                let inventory = self.copier.inventory(&source).await?;
                Ok::<_, PromoteError>((name, source, inventory))
            })
            .buffered(self.jobs)
            .try_collect()
            .await?;
        let digests: Vec<String> = inventories
            .iter()
            .flat_map(|(_, _, inventory)| inventory.blobs.iter().map(|b| b.digest.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let present = self.copier.present(&target.content_repo, &digests).await?;
        let signature = match &self.signatures {
            Some(check) => check.status(digest).await,
            None => SignatureStatus::Unchecked,
        };
        let release_tags = self.copier.tags(&target.release_repo).await?;
        let reads = Arc::new(RegistryReads {
            content_repo: target.content_repo.clone(),
            inventories,
            present,
            signature,
            release_repo: target.release_repo.clone(),
            release_tags,
        });
        self.reads.put(key, reads.clone());
        Ok(reads)
    }

    async fn gates(
        &self,
        stream: &str,
        release: &str,
        phase: Phase,
    ) -> Result<GateSummary, PromoteError> {
        let blocking: Vec<_> = self
            .store
            .gates(stream, release)
            .await?
            .into_iter()
            .filter(|g| g.kind == GateKind::Blocking)
            .collect();
        let mut not_succeeded: Vec<(String, String)> = blocking
            .iter()
            .filter(|g| g.state != JobState::Succeeded)
            .map(|g| (g.name.clone(), g.state.to_string()))
            .collect();
        if phase != Phase::Accepted {
            not_succeeded.push(("release phase".to_string(), phase.as_str().to_string()));
        }
        Ok(GateSummary {
            blocking: blocking.len() as u32,
            succeeded: blocking
                .iter()
                .filter(|g| g.state == JobState::Succeeded)
                .count() as u32,
            not_succeeded,
        })
    }

    /// Accepted releases of the target stream, and those a promotion published there (a
    /// cluster may run one before the release-controller lists it), that a release named
    /// `name` declares it can upgrade from ([`previous_of`]): what `oc adm release new
    /// --previous` would list.
    async fn previous(
        &self,
        target: &PromotionTarget,
        name: &str,
    ) -> Result<Vec<String>, PromoteError> {
        let accepted = self
            .store
            .release_states(&target.name)
            .await?
            .into_iter()
            .filter(|r| matches!(r.phase, Phase::Accepted | Phase::Published))
            .map(|r| r.name);
        Ok(previous_of(name, accepted))
    }
}

/// The versions among `accepted` a release named `name` declares it can upgrade from:
/// those of its minor and of the minor before; the first minor of a major (`5.0`) declares
/// the newest minor of the major before (the last accepted `4.x`). By version.
pub fn previous_of(name: &str, accepted: impl IntoIterator<Item = String>) -> Vec<String> {
    let Some((major, minor)) = major_minor(name) else {
        return Vec::new();
    };
    let accepted: Vec<String> = accepted.into_iter().collect();
    let last_minor_before = (minor == 0)
        .then(|| {
            accepted
                .iter()
                .filter_map(|n| major_minor(n))
                .filter(|(ma, _)| ma + 1 == major)
                .map(|(_, mi)| mi)
                .max()
        })
        .flatten();
    let mut previous: Vec<String> = accepted
        .into_iter()
        .filter(|n| {
            major_minor(n).is_some_and(|(ma, mi)| {
                (ma == major && (mi == minor || mi + 1 == minor))
                    || (ma + 1 == major && Some(mi) == last_minor_before)
            })
        })
        .collect();
    previous.sort_by(|a, b| version_key(a).cmp(&version_key(b)).then(a.cmp(b)));
    previous
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
    #[test]
    fn previous_versions_cross_majors_at_the_first_minor() {
        let accepted = || {
            [
                "4.19.0-okd-scos.3",
                "4.20.0-okd-scos.1",
                "4.20.0-okd-scos.10",
                "4.20.0-okd-scos.9",
                "4.21.0-okd-scos.2",
                "4.21.0-okd-scos.0",
                "5.0.0-okd-scos.0",
            ]
            .map(String::from)
        };
        assert_eq!(
            super::previous_of("4.21.0-okd-scos.3", accepted()),
            [
                "4.20.0-okd-scos.1",
                "4.20.0-okd-scos.9",
                "4.20.0-okd-scos.10",
                "4.21.0-okd-scos.0",
                "4.21.0-okd-scos.2",
            ]
        );
        // 5.0 declares its own and the last accepted 4.x minor
        assert_eq!(
            super::previous_of("5.0.0-okd-scos.1", accepted()),
            ["4.21.0-okd-scos.0", "4.21.0-okd-scos.2", "5.0.0-okd-scos.0"]
        );
        assert!(super::previous_of("5.1.0-okd-scos.0", accepted())
            .contains(&"5.0.0-okd-scos.0".to_string()));
        assert!(super::previous_of("not-a-version", accepted()).is_empty());
    }

    use super::*;

    fn reads(content_repo: &str) -> Arc<RegistryReads> {
        Arc::new(RegistryReads {
            content_repo: content_repo.into(),
            inventories: Vec::new(),
            present: HashSet::new(),
            signature: SignatureStatus::Unchecked,
            release_repo: "r/release".into(),
            release_tags: Vec::new(),
        })
    }

    fn key(n: usize) -> (String, String) {
        (format!("sha256:{n:02}"), "4-scos-next".into())
    }

    #[test]
    fn kept_reads_are_bounded_and_only_for_the_same_content_repository() {
        let cache = ReadCache::default();
        cache.put(key(0), reads("r/c"));
        assert!(cache.get(&key(0), "r/c").is_some());
        assert!(cache.get(&key(0), "r/other").is_none(), "the target moved");
        assert!(cache.get(&key(1), "r/c").is_none());
        for n in 1..=MAX_KEPT_READS {
            cache.put(key(n), reads("r/c"));
        }
        assert_eq!(cache.entries().len(), MAX_KEPT_READS);
        assert!(cache.get(&key(0), "r/c").is_none(), "the oldest went first");
        assert!(cache.get(&key(MAX_KEPT_READS), "r/c").is_some());
        // stale entries are neither answered nor kept
        if let Some(old) = Instant::now().checked_sub(READS_FRESH_FOR) {
            cache.entries().insert(key(1), (old, reads("r/c")));
            assert!(cache.get(&key(1), "r/c").is_none());
            cache.put(key(0), reads("r/c"));
            assert!(!cache.entries().contains_key(&key(1)));
        }
    }

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
