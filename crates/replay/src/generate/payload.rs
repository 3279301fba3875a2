//! What a payload holds as it moves on: every repository of a minor version follows one
//! timeline of commits shared by all streams of that minor, Kubernetes and the machine OS
//! move now and then, and the changelog between two payloads names the commits behind them.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use streamgate_formats::release_controller::{
    ChangeLog, ChangeLogComponent, ChangeLogImage, ChangeLogReleaseInfo, CommitInfo,
};

use super::rng::{seed, Rng};
use crate::data::DemoData;
use crate::dataset::{rfc3339, BuiltBy, ComponentData};

/// The commit `repo` is at for minor `minor` at `at`. Each repository gets a new commit on
/// its own rhythm (every 1.5 to 5.5 days), the same for every stream of the minor.
fn commit_at(minor: u32, repo: &str, at: DateTime<Utc>) -> String {
    let window = rhythm(minor, repo).window(at);
    Rng::new(seed(&[
        "commit",
        &minor.to_string(),
        repo,
        &window.to_string(),
    ]))
    .hex(40)
}

/// How often a repository of a minor gets a new commit: every `period` seconds, shifted.
struct Rhythm {
    pub(crate) period: i64,
    pub(crate) offset: i64,
}

fn rhythm(minor: u32, repo: &str) -> Rhythm {
    let bits = seed(&["rhythm", &minor.to_string(), repo]);
    let period = 3600 * (36 + (bits % 97) as i64);
    Rhythm {
        period,
        offset: ((bits >> 16) % period as u64) as i64,
    }
}

impl Rhythm {
    pub(crate) fn window(&self, at: DateTime<Utc>) -> i64 {
        (at.timestamp() + self.offset).div_euclid(self.period)
    }

    /// When the window after the one holding `at` starts.
    pub(crate) fn next(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let start = (self.window(at) + 1) * self.period - self.offset;
        DateTime::from_timestamp(start, 0).unwrap_or(at)
    }
}

/// The first moment after `at` at which some repository of `minor` gets a new commit.
fn next_commit(data: &DemoData, minor: u32, at: DateTime<Utc>) -> DateTime<Utc> {
    data.repositories
        .iter()
        .map(|repo| rhythm(minor, &repo.name).next(at))
        .min()
        .unwrap_or(at)
}

/// Every repository's commit for minor `minor` at `at`.
fn commits_at(
    data: &'static DemoData,
    minor: u32,
    at: DateTime<Utc>,
) -> BTreeMap<&'static str, String> {
    data.repositories
        .iter()
        .map(|repo| (repo.name.as_str(), commit_at(minor, &repo.name, at)))
        .collect()
}

/// The machine OS of a stream, for the changelog component.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Os {
    Scos,
    Fcos(u32),
    Rhcos,
}

impl Os {
    pub(crate) fn component(self) -> &'static str {
        match self {
            Os::Scos => "CentOS Stream CoreOS",
            Os::Fcos(_) => "Fedora CoreOS",
            Os::Rhcos => "Red Hat Enterprise Linux CoreOS",
        }
    }

    /// The payload tag of the machine OS image.
    pub(crate) fn image(self) -> &'static str {
        match self {
            Os::Scos => "centos-stream-coreos-9",
            Os::Fcos(_) => "fedora-coreos",
            Os::Rhcos => "rhel-coreos",
        }
    }

    pub(crate) fn version(self, at: DateTime<Utc>) -> String {
        let day = at.format("%Y%m%d");
        match self {
            Os::Scos => format!("9.0.{day}-0"),
            // OKD's machine-os image labels its version as a semantic version, which the
            // release tooling requires: Fedora's 39.20231101.3.0 is written 39.20231101.3
            Os::Fcos(major) => format!("{major}.{day}.3"),
            Os::Rhcos => format!("9.6.{day}-0"),
        }
    }
}

/// Commits per repository for one changelog step.
pub(crate) type Commits = BTreeMap<&'static str, Vec<CommitInfo>>;

/// The component state of one payload.
#[derive(Debug, Clone)]
pub(crate) struct Snap {
    pub(crate) data: &'static DemoData,
    pub(crate) kube: String,
    pub(crate) machine: Os,
    pub(crate) os_name: &'static str,
    pub(crate) os: String,
    pub(crate) commits: BTreeMap<&'static str, String>,
}

impl Snap {
    /// The payload's components, sorted by name: one per component of the data file plus
    /// the machine OS. OKD/FCOS payloads (the mirrored era) build only the machine OS and
    /// OKD's own components and mirror the rest from OCP CI; OKD/SCOS payloads build every
    /// component as an OKD variant but those the data file says are mirrored; OCP payloads
    /// are OCP's.
    pub(crate) fn components(&self) -> Vec<ComponentData> {
        let mirrored = |name: &str| self.data.mirrored_in_scos.iter().any(|m| m == name);
        let built_by = |name: &str, own: bool| match self.machine {
            Os::Rhcos => BuiltBy::Ocp,
            Os::Fcos(_) if own => BuiltBy::Okd,
            Os::Fcos(_) => BuiltBy::Ocp,
            Os::Scos if mirrored(name) => BuiltBy::Ocp,
            Os::Scos => BuiltBy::Okd,
        };
        let mut out: Vec<ComponentData> = self
            .data
            .components
            .iter()
            .filter_map(|c| {
                Some(ComponentData {
                    name: c.tag.clone(),
                    source: format!("https://github.com/openshift/{}", c.repository),
                    commit: self.commits.get(c.repository.as_str())?.clone(),
                    built_by: built_by(&c.tag, c.okd_builds),
                    versions: String::new(),
                })
            })
            .collect();
        out.push(ComponentData {
            name: self.machine.image().to_string(),
            source: "https://github.com/openshift/os".to_string(),
            commit: Rng::new(seed(&["os", self.machine.image(), &self.os])).hex(40),
            built_by: built_by(self.machine.image(), true),
            versions: format!("machine-os={}", self.os),
        });
        out.sort();
        out
    }
}

/// A sequence of payloads of one minor version, moving forward commit by commit.
pub(crate) struct Lineage {
    pub(crate) minor: u32,
    /// The time the commits are taken at: never behind a payload's creation, and moved
    /// on to the next merge when nothing merged since the previous payload (the controller
    /// cuts a payload only when something changed).
    pub(crate) cursor: DateTime<Utc>,
    pub(crate) os: Os,
    pub(crate) kube_minor: u32,
    pub(crate) kube_patch: u32,
    pub(crate) snap: Snap,
}

impl Lineage {
    pub(crate) fn new(data: &'static DemoData, minor: u32, os: Os, start: DateTime<Utc>) -> Self {
        let mut base = Rng::new(seed(&["base", &minor.to_string()]));
        // one draw per repository, so the versions drawn next do not depend on the timeline
        for _ in &data.repositories {
            base.hex(40);
        }
        // OpenShift 4.N ships Kubernetes 1.(N+13).
        let kube_minor = minor + 13;
        let kube_patch = 1 + base.below(3) as u32;
        let os_version = os.version(start - Duration::days(base.range(1, 5)));
        Lineage {
            minor,
            cursor: start,
            os,
            kube_minor,
            kube_patch,
            snap: Snap {
                data,
                kube: format!("1.{kube_minor}.{kube_patch}"),
                machine: os,
                os_name: os.component(),
                os: os_version,
                commits: commits_at(data, minor, start),
            },
        }
    }

    /// Moves every repository to its commit at `at`, and maybe Kubernetes and the OS;
    /// returns the commits behind the step for `lo..=hi` repositories (the changelog makes
    /// some up for the others that moved).
    pub(crate) fn step(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        lo: i64,
        hi: i64,
        kube: f64,
    ) -> Commits {
        let data = self.snap.data;
        let repos = &data.repositories;
        let wanted = (rng.range(lo, hi) as usize).min(repos.len());
        let mut commits = Commits::new();
        while commits.len() < wanted {
            let repo = repos[rng.below(repos.len())].name.as_str();
            if commits.contains_key(repo) {
                continue;
            }
            let count = rng.range(1, 3);
            let list = (0..count).map(|_| commit(rng, data, repo)).collect();
            commits.insert(repo, list);
            // the draw stays so that phases and jobs do not depend on the timeline
            rng.hex(40);
        }
        let mut cursor = at.max(self.cursor);
        let mut moved = commits_at(data, self.minor, cursor);
        if moved == self.snap.commits {
            cursor = next_commit(data, self.minor, cursor);
            moved = commits_at(data, self.minor, cursor);
        }
        self.cursor = cursor;
        self.snap.commits = moved;
        if rng.chance(kube) {
            self.kube_patch += 1;
            self.snap.kube = format!("1.{}.{}", self.kube_minor, self.kube_patch);
        }
        if rng.chance(0.35) {
            self.snap.os = self.os.version(at - Duration::hours(rng.range(2, 30)));
        }
        commits
    }
}

pub(crate) fn commit(rng: &mut Rng, data: &DemoData, repo: &str) -> CommitInfo {
    let base = data.subjects[rng.below(data.subjects.len())].as_str();
    let pull = rng.range(1000, 9800);
    let roll = rng.below(100);
    let (subject, issues) = if roll < 45 {
        let key = format!("OCPBUGS-{}", rng.range(30000, 66000));
        let url = format!("https://issues.redhat.com/browse/{key}");
        (format!("{key}: {base}"), Some(BTreeMap::from([(key, url)])))
    } else if roll < 65 {
        (format!("NO-JIRA: {base}"), None)
    } else {
        (base.to_string(), None)
    };
    CommitInfo {
        issues,
        subject,
        pull_id: Some(pull),
        pull_url: Some(format!("https://github.com/openshift/{repo}/pull/{pull}")),
    }
}

pub(crate) fn release_info(
    name: &str,
    created: DateTime<Utc>,
    digest: &str,
    promoted_from: Option<String>,
) -> ChangeLogReleaseInfo {
    ChangeLogReleaseInfo {
        name: name.to_string(),
        created: rfc3339(created),
        digest: digest.to_string(),
        promoted_from,
    }
}

fn component(name: &str, version: &str, from: &str) -> ChangeLogComponent {
    ChangeLogComponent {
        name: name.to_string(),
        version: version.to_string(),
        version_url: None,
        from: (version != from).then(|| from.to_string()),
        from_url: None,
        diff_url: None,
    }
}

/// The changelog between two payloads; repositories that moved without known commits get
/// one to three synthetic ones.
pub(crate) fn diff_changelog(
    from: (ChangeLogReleaseInfo, &Snap),
    to: (ChangeLogReleaseInfo, &Snap),
    known: &Commits,
    rng: &mut Rng,
) -> ChangeLog {
    let (from_info, old) = from;
    let (to_info, new) = to;
    let mut updated = Vec::new();
    for repository in &new.data.repositories {
        let repo = repository.name.as_str();
        let (Some(a), Some(b)) = (old.commits.get(repo), new.commits.get(repo)) else {
            continue;
        };
        if a == b {
            continue;
        }
        let commits = match known.get(repo) {
            Some(list) if !list.is_empty() => list.clone(),
            _ => (0..rng.range(1, 3))
                .map(|_| commit(rng, new.data, repo))
                .collect(),
        };
        updated.push(ChangeLogImage {
            name: repository.images.join(", "),
            path: format!("https://github.com/openshift/{repo}/tree/{b}"),
            short_commit: None,
            commit: None,
            image_ref: None,
            commits: Some(commits),
            full_change_log: Some(format!(
                "https://github.com/openshift/{repo}/compare/{a}...{b}"
            )),
        });
    }
    ChangeLog {
        from: from_info,
        to: to_info,
        components: Some(vec![
            component("Kubernetes", &new.kube, &old.kube),
            component(new.os_name, &new.os, &old.os),
        ]),
        new_images: None,
        removed_images: None,
        rebuilt_images: None,
        updated_images: (!updated.is_empty()).then_some(updated),
    }
}
