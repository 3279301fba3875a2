//! Component provenance, computed from stored payloads, saying only what the evidence
//! shows. A component of an OKD payload is
//! - the *machine OS* when it is a CoreOS image (or `machine-os-content`);
//! - *mirrored from OCP CI* when an OCP CI payload has the same image digest (the earliest
//!   such release is reported);
//! - *built for OKD* when an OCP CI payload of the same minor from the same days
//!   ([`SAME_DAYS`]) was read and its image of that component differs, or it has none;
//! - *unknown* otherwise, with what is missing ("no OCP CI 4.17 payload read").
//!
//! Each platform of a multi-arch payload is judged on its own: its image against the OCP
//! CI images of the same platform ("no OCP CI 4.21 linux/arm64 image of cli read").
//!
//! Also the comparisons and histories the pages show, and links to sources.

use std::collections::{BTreeMap, HashMap};

use app::model::{ArchImage, ComponentChange, ComponentInfo, HistoryEntry, Provenance};
use chrono::{DateTime, Utc};

use crate::store::evidence::{OcpImage, OcpPayload};
use crate::store::payloads::{
    ComponentSighting, OcpSighting, PayloadComponent, PayloadWithComponents,
};

/// How far apart in creation an OKD release and the OCP CI payload it is compared with
/// may be: OCP CI builds of the same minor from the same days.
pub const SAME_DAYS: chrono::Duration = chrono::Duration::days(7);

/// Whether component `name` is a machine OS image: `machine-os-content` (the OS of the
/// mirrored era) and every CoreOS image (`fedora-coreos`, `centos-stream-coreos-9`,
/// `rhel-coreos-extensions`, `stream-coreos`, …).
pub fn is_machine_os(name: &str) -> bool {
    matches!(name, "okd-machine-os" | "machine-os-content")
        || (name.split('-').any(|word| word == "coreos") && name != "coreos-bootimages")
}

/// What an OKD release's components are compared with, beyond a shared digest: for each
/// platform, the OCP CI payload of the same minor from the same days nearest in time that
/// has an image for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// By platform (`linux/amd64`).
    pub compared: HashMap<String, Comparison>,
    /// Why there is no comparison, when `compared` is empty.
    pub missing: String,
}

/// The OCP CI payload one platform is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The OCP CI release.
    pub release: String,
    /// Its stream.
    pub stream: String,
    /// Its component images' digests on that platform, by name.
    pub images: HashMap<String, String>,
}

impl Evidence {
    /// Why component images on `platform` have no evidence.
    fn missing_on(&self, platform: &str) -> String {
        if self.compared.is_empty() {
            self.missing.clone()
        } else {
            format!(
                "no OCP CI payload with a {platform} image from within {} days read",
                SAME_DAYS.num_days()
            )
        }
    }
}

/// Why there is no evidence for a release of minor `minor` (`None`: its name has none):
/// `read` OCP CI payloads of that minor were read at all, none from the same days.
pub fn missing(minor: Option<&str>, read: i64) -> Evidence {
    Evidence {
        compared: HashMap::new(),
        missing: match minor {
            None => "the release names no minor version to compare with OCP CI".to_string(),
            Some(m) if read == 0 => format!("no OCP CI {m} payload read"),
            Some(m) => format!(
                "no OCP CI {m} payload from within {} days of this release read ({read} from other days)",
                SAME_DAYS.num_days()
            ),
        },
    }
}

/// `candidates` (all of the right minor and days) nearest in time to `at` first.
pub fn nearest_first(at: DateTime<Utc>, mut candidates: Vec<OcpPayload>) -> Vec<OcpPayload> {
    candidates.sort_by_key(|p| ((p.created_at - at).num_seconds().abs(), p.release.clone()));
    candidates
}

/// Adds OCP CI payload `p` (of `release` in `stream`) for each of its platforms not compared
/// with yet: candidates are added nearest first, so each platform gets its nearest.
pub fn compare_with(
    evidence: &mut Evidence,
    release: &str,
    stream: &str,
    p: &PayloadWithComponents,
) {
    for row in &p.platforms {
        if let Some(c) = evidence.compared.get_mut(&row.platform) {
            if c.release == release && c.stream == stream {
                c.images.insert(row.name.clone(), row.image_digest.clone());
            }
            continue;
        }
        evidence.compared.insert(
            row.platform.clone(),
            Comparison {
                release: release.to_string(),
                stream: stream.to_string(),
                images: HashMap::from([(row.name.clone(), row.image_digest.clone())]),
            },
        );
    }
}

/// Evidence for component `name` on `platform`, first seen at `at` in a release of minor
/// `minor`, from every OCP CI image of that component (`images`): the nearest of the same
/// minor and platform within [`SAME_DAYS`].
pub fn component_evidence(
    name: &str,
    platform: &str,
    minor: Option<&str>,
    at: DateTime<Utc>,
    images: &[OcpImage],
) -> Evidence {
    let Some(m) = minor else {
        return missing(None, 0);
    };
    let same_minor: Vec<&OcpImage> = images
        .iter()
        .filter(|i| i.minor.as_deref() == Some(m) && i.platform == platform)
        .collect();
    let near = same_minor
        .iter()
        .filter(|i| (i.created_at - at).abs() <= SAME_DAYS)
        .min_by_key(|i| ((i.created_at - at).num_seconds().abs(), i.release.clone()));
    let missing = match near {
        Some(i) => {
            return Evidence {
                compared: HashMap::from([(
                    platform.to_string(),
                    Comparison {
                        release: i.release.clone(),
                        stream: i.stream.clone(),
                        images: HashMap::from([(name.to_string(), i.image_digest.clone())]),
                    },
                )]),
                missing: String::new(),
            }
        }
        None if same_minor.is_empty() => format!("no OCP CI {m} payload with {name} read"),
        None => format!(
            "no OCP CI {m} payload with {name} from within {} days read",
            SAME_DAYS.num_days()
        ),
    };
    Evidence {
        compared: HashMap::new(),
        missing,
    }
}

/// The OS version from an `io.openshift.build.versions` value (`machine-os=9.0.…`), or the
/// whole value when it names no `machine-os`.
pub fn os_version(versions: &str) -> Option<String> {
    let versions = versions.trim();
    if versions.is_empty() {
        return None;
    }
    Some(
        versions
            .split(',')
            .find_map(|kv| kv.trim().strip_prefix("machine-os="))
            .unwrap_or(versions)
            .to_string(),
    )
}

/// The repository URL as a GitHub web URL without a trailing `.git` or `/`, if it is one.
fn github(source: &str) -> Option<&str> {
    let repo = source.trim_end_matches('/');
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    repo.starts_with("https://github.com/").then_some(repo)
}

fn is_commit(sha: &str) -> bool {
    (7..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `<repo>/commit/<sha>` for a GitHub repository and a commit id.
pub fn commit_url(source: &str, commit: &str) -> Option<String> {
    let repo = github(source)?;
    is_commit(commit).then(|| format!("{repo}/commit/{commit}"))
}

/// `<repo>/compare/<old>...<new>` for a GitHub repository and two commit ids.
pub fn diff_url(source: &str, old: &str, new: &str) -> Option<String> {
    let repo = github(source)?;
    (is_commit(old) && is_commit(new) && old != new)
        .then(|| format!("{repo}/compare/{old}...{new}"))
}

/// The earliest OCP CI release per image digest, from sightings ordered earliest first
/// (the first of a digest wins).
pub fn first_sightings(sightings: Vec<OcpSighting>) -> HashMap<String, OcpSighting> {
    let mut first = HashMap::new();
    for s in sightings {
        first.entry(s.image_digest.clone()).or_insert(s);
    }
    first
}

/// The provenance of component `c`'s image `digest` on `platform`, given the first OCP CI
/// sighting of each digest and the evidence of the OCP CI payload from the same days.
pub fn provenance(
    c: &PayloadComponent,
    platform: &str,
    digest: &str,
    ocp: &HashMap<String, OcpSighting>,
    evidence: &Evidence,
) -> Provenance {
    if is_machine_os(&c.name) {
        return Provenance::MachineOs {
            version: os_version(&c.versions),
        };
    }
    if let Some(s) = ocp.get(digest) {
        return Provenance::Mirrored {
            release: s.release.clone(),
            stream: s.stream.clone(),
        };
    }
    match evidence.compared.get(platform) {
        Some(cmp) if cmp.images.get(&c.name).map(String::as_str) == Some(digest) => {
            Provenance::Mirrored {
                release: cmp.release.clone(),
                stream: cmp.stream.clone(),
            }
        }
        Some(cmp) => Provenance::BuiltForOkd {
            compared_with: cmp.release.clone(),
            stream: cmp.stream.clone(),
        },
        None => Provenance::Unknown {
            reason: evidence.missing_on(platform),
        },
    }
}

/// The page model of a stored component on the payload's kept `platform`: with no
/// `platforms`, a single image; else every platform's image of it, each judged on its own.
pub fn info(
    c: &PayloadComponent,
    platform: &str,
    platforms: &[(&str, &str)],
    ocp: &HashMap<String, OcpSighting>,
    evidence: &Evidence,
) -> ComponentInfo {
    ComponentInfo {
        name: c.name.clone(),
        provenance: provenance(c, platform, &c.image_digest, ocp, evidence),
        source: c.source_location.clone(),
        commit: c.commit_id.clone(),
        commit_url: commit_url(&c.source_location, &c.commit_id),
        image: c.image.clone(),
        digest: c.image_digest.clone(),
        changed: None,
        architectures: platforms
            .iter()
            .map(|(platform, digest)| ArchImage {
                platform: platform.to_string(),
                digest: digest.to_string(),
                provenance: provenance(c, platform, digest, ocp, evidence),
            })
            .collect(),
    }
}

/// The page models of payload `p`'s components: each platform's image listed (the kept
/// platform first) when it has more than one platform.
pub fn infos(
    p: &PayloadWithComponents,
    ocp: &HashMap<String, OcpSighting>,
    evidence: &Evidence,
) -> Vec<ComponentInfo> {
    let primary = p.payload.primary_platform.as_str();
    let multi = p.platform_names().len() > 1;
    let mut by_name: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    if multi {
        for row in &p.platforms {
            let images = by_name.entry(row.name.as_str()).or_default();
            let image = (row.platform.as_str(), row.image_digest.as_str());
            if row.platform == primary {
                images.insert(0, image);
            } else {
                images.push(image);
            }
        }
    }
    p.components
        .iter()
        .map(|c| {
            let platforms = by_name.get(c.name.as_str()).map_or(&[][..], Vec::as_slice);
            info(c, primary, platforms, ocp, evidence)
        })
        .collect()
}

/// Components of two payloads compared by name.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Diff {
    /// Only in the newer.
    pub added: Vec<ComponentInfo>,
    /// Only in the older.
    pub removed: Vec<ComponentInfo>,
    /// In both with different images.
    pub changed: Vec<ComponentChange>,
    /// In both with the same image.
    pub unchanged: u32,
}

/// Compares two component lists (already with provenance) by name; images by digest.
pub fn diff(from: Vec<ComponentInfo>, to: Vec<ComponentInfo>) -> Diff {
    let mut old: BTreeMap<String, ComponentInfo> =
        from.into_iter().map(|c| (c.name.clone(), c)).collect();
    let mut d = Diff::default();
    for new in to {
        match old.remove(&new.name) {
            None => d.added.push(new),
            Some(o) if o.digest == new.digest => d.unchanged += 1,
            Some(o) => d.changed.push(ComponentChange {
                diff_url: if o.source == new.source {
                    diff_url(&new.source, &o.commit, &new.commit)
                } else {
                    None
                },
                from: o,
                to: new,
            }),
        }
    }
    d.removed = old.into_values().collect();
    d.added.sort_by(|a, b| a.name.cmp(&b.name));
    d.changed.sort_by(|a, b| a.to.name.cmp(&b.to.name));
    d
}

/// Groups a stream's sightings of one component (oldest first) by image digest: where each
/// image first appeared and which later releases kept it; newest image first.
pub fn history(
    sightings: Vec<ComponentSighting>,
    ocp: &HashMap<String, OcpSighting>,
    evidence: impl Fn(&ComponentSighting) -> Evidence,
) -> Vec<HistoryEntry> {
    let mut entries: Vec<HistoryEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for s in sightings {
        match index.get(&s.component.image_digest) {
            Some(&i) => entries[i].stayed_in.push(s.release),
            None => {
                index.insert(s.component.image_digest.clone(), entries.len());
                entries.push(HistoryEntry {
                    component: info(&s.component, &s.platform, &[], ocp, &evidence(&s)),
                    first: s.release,
                    first_at: s.created_at,
                    stayed_in: Vec::new(),
                });
            }
        }
    }
    entries.reverse();
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_os_images_are_recognised_with_their_version() {
        for name in [
            "fedora-coreos",
            "centos-stream-coreos-9",
            "okd-machine-os",
            "rhel-coreos-9",
            "rhel-coreos-extensions",
            "stream-coreos",
            "stream-coreos-extensions",
        ] {
            assert!(is_machine_os(name), "{name}");
        }
        assert!(is_machine_os("machine-os-content"));
        assert!(is_machine_os("rhel-coreos-8"));
        assert!(!is_machine_os("machine-config-operator"));
        assert!(is_machine_os("fedora-coreos-extensions"));
        assert!(!is_machine_os("coreos-bootimages"));
        assert_eq!(
            os_version("machine-os=9.0.20260210-0").as_deref(),
            Some("9.0.20260210-0")
        );
        assert_eq!(
            os_version("kubernetes=1.34.2,machine-os=9.0.1").as_deref(),
            Some("9.0.1")
        );
        assert_eq!(os_version("41.20250101").as_deref(), Some("41.20250101"));
        assert_eq!(os_version(""), None);
    }

    #[test]
    fn github_sources_get_commit_and_compare_links() {
        let sha = "4ddd828c588c1277361d89e03933a97595795b48";
        let old = "1f666fd6a58bbb6a6e57d02cb4c1e2d029eb0f20";
        assert_eq!(
            commit_url("https://github.com/openshift/oc", sha).as_deref(),
            Some("https://github.com/openshift/oc/commit/4ddd828c588c1277361d89e03933a97595795b48")
        );
        assert_eq!(
            commit_url("https://github.com/openshift/oc.git", sha).as_deref(),
            Some("https://github.com/openshift/oc/commit/4ddd828c588c1277361d89e03933a97595795b48")
        );
        assert_eq!(commit_url("https://gitlab.com/x/y", sha), None);
        assert_eq!(commit_url("https://github.com/openshift/oc", ""), None);
        assert_eq!(
            diff_url("https://github.com/openshift/installer", old, sha).as_deref(),
            Some(
                "https://github.com/openshift/installer/compare/\
                 1f666fd6a58bbb6a6e57d02cb4c1e2d029eb0f20...4ddd828c588c1277361d89e03933a97595795b48"
            )
        );
        assert_eq!(
            diff_url("https://github.com/openshift/installer", sha, sha),
            None
        );
    }
}
