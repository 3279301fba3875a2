//! What a release's changelog names, for search: each pull request (keyed `org/repo#N`)
//! with its subject, each bug its commits name (`OCPBUGS-12345`), and each commit an image
//! was built from. Upstream strings are only kept when they read as what they claim to be;
//! anything else in the changelog is left out of search, not stored.

use app::model::safe_url;
use app::model::search::{bug_key, pull_key, repo_key};

use crate::formats::release_controller::{ChangeLog, ChangeLogImage};
use crate::store::search::{NewChangeRef, RefKind};

/// Longest subject kept, in characters.
const MOST_TITLE_CHARS: usize = 300;

/// The references `log` makes.
pub fn changelog_refs(log: &ChangeLog) -> Vec<NewChangeRef> {
    let mut refs = Vec::new();
    let images = [&log.new_images, &log.updated_images, &log.rebuilt_images];
    for image in images.into_iter().flatten().flatten() {
        image_refs(image, &mut refs);
    }
    refs
}

fn image_refs(image: &ChangeLogImage, refs: &mut Vec<NewChangeRef>) {
    let repo = repository(&image.path);
    if let Some(commit) = image_commit(image) {
        refs.push(NewChangeRef {
            kind: RefKind::Commit,
            title: title(&image.name),
            url: repo
                .as_ref()
                .map(|r| format!("https://github.com/{r}/commit/{commit}"))
                .unwrap_or_default(),
            key: commit,
        });
    }
    for commit in image.commits.iter().flatten() {
        let subject = title(&commit.subject);
        let pull = commit.pull_url.as_deref().and_then(pull_key).or_else(|| {
            let number = u64::try_from(commit.pull_id?).ok().filter(|n| *n > 0)?;
            Some((repo.clone()?, number))
        });
        if let Some((repo, number)) = pull {
            refs.push(NewChangeRef {
                kind: RefKind::Pull,
                key: format!("{repo}#{number}"),
                title: subject.clone(),
                url: format!("https://github.com/{repo}/pull/{number}"),
            });
        }
        for (key, url) in commit.issues.iter().flatten() {
            let Some(key) = bug_key(key) else { continue };
            refs.push(NewChangeRef {
                kind: RefKind::Bug,
                key,
                title: subject.clone(),
                url: safe_url(url).map(str::to_string).unwrap_or_default(),
            });
        }
    }
}

/// `org/repo` of a `https://github.com/org/repo[/tree/<commit>]` path, lower case.
fn repository(path: &str) -> Option<String> {
    let rest = path.strip_prefix("https://github.com/")?;
    let mut parts = rest.split('/');
    repo_key(parts.next()?, parts.next()?)
}

/// The full commit an image was built from: its `commit`, else the `/tree/<commit>` of its
/// path.
fn image_commit(image: &ChangeLogImage) -> Option<String> {
    let from_path = image.path.rsplit_once("/tree/").map(|(_, c)| c);
    [image.commit.as_deref(), from_path]
        .into_iter()
        .flatten()
        .map(str::to_ascii_lowercase)
        .find(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An upstream string as a title: control characters dropped, at most
/// [`MOST_TITLE_CHARS`] characters.
fn title(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MOST_TITLE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::release_controller::CommitInfo;
    use std::collections::BTreeMap;

    fn image(path: &str, commits: Vec<CommitInfo>) -> ChangeLogImage {
        ChangeLogImage {
            name: "cluster-ingress-operator".into(),
            path: path.into(),
            short_commit: None,
            commit: None,
            image_ref: None,
            commits: Some(commits),
            full_change_log: None,
        }
    }

    fn commit(subject: &str, pull_id: Option<i64>, pull_url: Option<&str>) -> CommitInfo {
        CommitInfo {
            issues: Some(BTreeMap::from([
                (
                    "OCPBUGS-123".to_string(),
                    "https://issues.redhat.com/browse/OCPBUGS-123".to_string(),
                ),
                ("not a key".to_string(), "javascript:alert(1)".to_string()),
            ])),
            subject: subject.into(),
            pull_id,
            pull_url: pull_url.map(str::to_string),
        }
    }

    #[test]
    fn names_pulls_bugs_and_the_built_commit() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let log = ChangeLog {
            updated_images: Some(vec![image(
                &format!("https://github.com/openshift/Cluster-Ingress-Operator/tree/{sha}"),
                vec![
                    commit(
                        "OCPBUGS-123: fix\u{7}",
                        Some(7),
                        Some("https://github.com/openshift/cluster-ingress-operator/pull/7"),
                    ),
                    commit("no URL, a number", Some(8), None),
                    commit("neither", None, None),
                ],
            )]),
            ..ChangeLog::default()
        };
        let refs = changelog_refs(&log);
        let keys: Vec<(RefKind, &str)> = refs.iter().map(|r| (r.kind, r.key.as_str())).collect();
        assert_eq!(
            keys,
            [
                (RefKind::Commit, sha),
                (RefKind::Pull, "openshift/cluster-ingress-operator#7"),
                (RefKind::Bug, "OCPBUGS-123"),
                (RefKind::Pull, "openshift/cluster-ingress-operator#8"),
                (RefKind::Bug, "OCPBUGS-123"),
                (RefKind::Bug, "OCPBUGS-123"),
            ]
        );
        assert_eq!(
            refs[1].title, "OCPBUGS-123: fix",
            "control characters dropped"
        );
        assert_eq!(
            refs[0].url,
            format!("https://github.com/openshift/cluster-ingress-operator/commit/{sha}")
        );
        assert_eq!(refs[2].url, "https://issues.redhat.com/browse/OCPBUGS-123");
    }

    #[test]
    fn hostile_strings_are_left_out() {
        let log = ChangeLog {
            new_images: Some(vec![image(
                "javascript:alert(1)/tree/zz",
                vec![CommitInfo {
                    issues: Some(BTreeMap::from([(
                        "OCPBUGS-9".to_string(),
                        "javascript:alert(1)".to_string(),
                    )])),
                    subject: "x".repeat(1000),
                    pull_id: Some(-4),
                    pull_url: Some("https://evil.example/openshift/x/pull/1".into()),
                }],
            )]),
            ..ChangeLog::default()
        };
        let refs = changelog_refs(&log);
        assert_eq!(refs.len(), 1, "only the bug: {refs:?}");
        assert_eq!(refs[0].key, "OCPBUGS-9");
        assert_eq!(refs[0].url, "", "an unsafe URL is not kept");
        assert_eq!(refs[0].title.chars().count(), MOST_TITLE_CHARS);
    }
}
