//! Search: "which release has my fix?". A query is read as one of the things a user pastes —
//! a pull request, a bug, a commit, an image or payload digest, a release name (or its
//! start), a component, or words of a change's title — and answered with the releases where
//! it first appeared, per stream.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Phase, StreamKind};

/// Longest query accepted, in characters.
pub const MOST_CHARS: usize = 256;
/// Most words of a title search.
pub const MOST_WORDS: usize = 8;
/// Most things one search lists (pull requests, components, …).
pub const MOST_FOUND: usize = 20;
/// Most releases a name search lists.
pub const MOST_RELEASES: usize = 20;
/// Most suggestions the search box offers while typing.
pub const MOST_SUGGESTIONS: usize = 8;

/// What a query was read as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// A pull request, `org/repo#N` (also pasted as its GitHub URL).
    Pull {
        /// `org/repo`, lower case.
        repo: String,
        /// The pull request number.
        number: u64,
    },
    /// A bug key such as `OCPBUGS-12345` (also pasted as its Jira URL), upper case.
    Bug(String),
    /// A commit, or its first 7–39 hex digits, lower case.
    Commit(String),
    /// An image or payload digest `sha256:…` (also pasted as a pull spec `…@sha256:…`).
    Digest(String),
    /// Anything else: a release name or its start, a component name, words of a title.
    Words(String),
}

impl Query {
    /// Reads `q`, or says why it cannot be searched for.
    pub fn parse(q: &str) -> Result<Query, String> {
        let q = q.trim();
        if q.is_empty() {
            return Err("q is required: a release, pull request, bug, commit, digest, component or words of a change".to_string());
        }
        if q.chars().count() > MOST_CHARS || q.chars().any(char::is_control) {
            return Err(format!(
                "q must be at most {MOST_CHARS} characters without control characters"
            ));
        }
        if let Some((repo, number)) = pull_key(q) {
            return Ok(Query::Pull { repo, number });
        }
        if let Some(key) = bug_key(q) {
            return Ok(Query::Bug(key));
        }
        if let Some(digest) = digest_in(q) {
            return Ok(Query::Digest(digest));
        }
        let lower = q.to_ascii_lowercase();
        if (7..=40).contains(&lower.len()) && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Query::Commit(lower));
        }
        Ok(Query::Words(q.to_string()))
    }

    /// What was searched for, as the page says it.
    pub fn describe(&self) -> String {
        match self {
            Query::Pull { repo, number } => format!("pull request {repo}#{number}"),
            Query::Bug(key) => format!("bug {key}"),
            Query::Commit(c) if c.len() == 40 => format!("commit {c}"),
            Query::Commit(c) => format!("commits starting {c}"),
            Query::Digest(d) => format!("digest {d}"),
            Query::Words(w) => format!("“{w}”"),
        }
    }
}

/// `org/repo#N` or `https://github.com/org/repo/pull/N[/…]`, as (`org/repo` lower case, N).
pub fn pull_key(s: &str) -> Option<(String, u64)> {
    let s = s.trim();
    let (repo, number) = if let Some(rest) = s
        .strip_prefix("https://github.com/")
        .or_else(|| s.strip_prefix("http://github.com/"))
        .or_else(|| s.strip_prefix("github.com/"))
    {
        let mut parts = rest.split('/');
        let (org, repo, pull, number) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if pull != "pull" {
            return None;
        }
        let number = number.split(['#', '?']).next()?;
        (format!("{org}/{repo}"), number)
    } else {
        let (repo, number) = s.split_once('#')?;
        (repo.to_string(), number)
    };
    let number: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let (org, name) = repo.split_once('/')?;
    Some((repo_key(org, name)?, number))
}

/// `org/name` of a GitHub repository, lower case, when both parts are names GitHub allows
/// (letters, digits, `-`, `_`, `.`, at most 100 characters).
pub fn repo_key(org: &str, name: &str) -> Option<String> {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (part(org) && part(name)).then(|| format!("{org}/{name}").to_ascii_lowercase())
}

/// A Jira-style key `PROJECT-123` (or its `…/browse/PROJECT-123` URL), upper case.
pub fn bug_key(s: &str) -> Option<String> {
    let s = s.trim();
    let key = s.rsplit_once("/browse/").map_or(s, |(_, k)| k);
    let key = key.split(['?', '#']).next()?;
    let (project, number) = key.split_once('-')?;
    let project_ok = (2..=32).contains(&project.len())
        && project.as_bytes()[0].is_ascii_alphabetic()
        && project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let number_ok = (1..=12).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    (project_ok && number_ok).then(|| key.to_ascii_uppercase())
}

/// `sha256:<64 hex>` on its own or at the end of a pull spec, lower case.
pub fn digest_in(s: &str) -> Option<String> {
    let at = s.find("sha256:")?;
    let hex = &s[at + "sha256:".len()..];
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// The words of a title search: runs of letters and digits, lower case, at most
/// [`MOST_WORDS`]. Both databases' text indexes split titles the same way.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(MOST_WORDS)
        .collect()
}

/// What kind of thing was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FoundKind {
    /// A pull request named by a changelog.
    Pull,
    /// A bug named by a changelog.
    Bug,
    /// A commit a component was built from.
    Commit,
    /// A component of release payloads.
    Component,
    /// A component image, by digest.
    Image,
    /// A release payload, by digest.
    Payload,
}

impl FoundKind {
    /// How the page labels it.
    pub fn label(self) -> &'static str {
        match self {
            FoundKind::Pull => "Pull request",
            FoundKind::Bug => "Bug",
            FoundKind::Commit => "Commit",
            FoundKind::Component => "Component",
            FoundKind::Image => "Image",
            FoundKind::Payload => "Release payload",
        }
    }
}

/// Where something first appeared in one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appearance {
    /// The stream.
    pub stream: String,
    /// What kind of stream it is.
    pub stream_kind: StreamKind,
    /// The first release of the stream that has it.
    pub release: String,
    /// That release's phase.
    pub phase: Phase,
    /// When that release was created.
    pub created_at: DateTime<Utc>,
    /// The first accepted release of the stream created since then (itself when accepted):
    /// releases of a stream build on the ones before, so it has it too. Only for CI and
    /// nightly streams, whose releases follow one line.
    pub accepted: Option<String>,
}

/// One thing the query found, with where it first appeared per stream (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// What it is.
    pub kind: FoundKind,
    /// Its key: `org/repo#N`, the bug key, the commit, the component name or the digest.
    pub key: String,
    /// A title: the change's subject, the image names built from a commit, …
    pub title: String,
    /// Where it lives outside Streamgate (the pull request, the bug), when known and safe.
    pub url: Option<String>,
    /// Where it first appeared, one per stream, oldest first.
    pub appearances: Vec<Appearance>,
}

impl Found {
    /// The first appearance in a promoted (stable or next) stream, if any: "first promoted in".
    pub fn first_promoted(&self) -> Option<&Appearance> {
        self.appearances
            .iter()
            .find(|a| matches!(a.stream_kind, StreamKind::Stable | StreamKind::Next))
    }
}

/// A release whose name matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseHit {
    /// Its stream.
    pub stream: String,
    /// Its name.
    pub name: String,
    /// Its phase.
    pub phase: Phase,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The answer to a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The query as typed (trimmed).
    pub q: String,
    /// What it was read as.
    pub query: Query,
    /// Releases whose name is or starts with the query, newest name first.
    pub releases: Vec<ReleaseHit>,
    /// Things found, with their first appearances.
    pub found: Vec<Found>,
    /// Whether more than the listed were found (the lists are cut at their limits).
    pub more: bool,
}

impl SearchResults {
    /// Nothing at all was found.
    pub fn is_empty(&self) -> bool {
        self.releases.is_empty() && self.found.is_empty()
    }
}

/// One suggestion of the search box while typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// What it is: `release`, `component`, `pull request`.
    pub kind: String,
    /// The text shown.
    pub label: String,
    /// Where choosing it goes.
    pub href: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_requests_read_as_key_or_url() {
        let want = Query::Pull {
            repo: "openshift/installer".into(),
            number: 1234,
        };
        for q in [
            "openshift/installer#1234",
            " OpenShift/Installer#1234 ",
            "https://github.com/openshift/installer/pull/1234",
            "https://github.com/openshift/installer/pull/1234/files",
            "github.com/openshift/installer/pull/1234#issuecomment-1",
        ] {
            assert_eq!(Query::parse(q), Ok(want.clone()), "{q}");
        }
        for q in [
            "openshift/installer#0",
            "openshift/installer#x",
            "installer#12",
            "https://github.com/openshift/installer/issues/12",
            "a b/c#1",
        ] {
            assert!(!matches!(Query::parse(q), Ok(Query::Pull { .. })), "{q}");
        }
    }

    #[test]
    fn bugs_read_as_key_or_jira_url() {
        for q in [
            "OCPBUGS-12345",
            "ocpbugs-12345",
            "https://issues.redhat.com/browse/OCPBUGS-12345",
        ] {
            assert_eq!(
                Query::parse(q),
                Ok(Query::Bug("OCPBUGS-12345".into())),
                "{q}"
            );
        }
        assert_eq!(bug_key("4-12"), None, "a project starts with a letter");
        assert_eq!(bug_key("OCPBUGS-"), None);
        assert_eq!(bug_key("OCPBUGS-12a"), None);
    }

    #[test]
    fn commits_digests_and_words() {
        assert_eq!(Query::parse("ABCDEF1"), Ok(Query::Commit("abcdef1".into())));
        assert_eq!(
            Query::parse("abcdef"),
            Ok(Query::Words("abcdef".into())),
            "too short"
        );
        let hex = "a".repeat(64);
        assert_eq!(
            Query::parse(&format!("quay.io/okd/scos-release@sha256:{hex}")),
            Ok(Query::Digest(format!("sha256:{hex}")))
        );
        assert_eq!(
            Query::parse("sha256:abc"),
            Ok(Query::Words("sha256:abc".into())),
            "a cut digest is words"
        );
        assert_eq!(
            Query::parse("4.21.0-0.okd-scos"),
            Ok(Query::Words("4.21.0-0.okd-scos".into()))
        );
    }

    #[test]
    fn refuses_empty_long_and_control_queries() {
        assert!(Query::parse("  ").unwrap_err().starts_with("q is required"));
        let long = "x".repeat(MOST_CHARS + 1);
        assert!(Query::parse(&long).unwrap_err().contains("at most 256"));
        assert!(Query::parse("a\u{0}b").is_err());
        assert!(
            Query::parse(&"é".repeat(MOST_CHARS)).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn words_split_like_the_text_indexes() {
        assert_eq!(
            words("OCPBUGS-1: Fix the ingress-operator's ‘panic’"),
            ["ocpbugs", "1", "fix", "the", "ingress", "operator", "s", "panic"]
        );
        assert_eq!(words("a b c d e f g h i j").len(), MOST_WORDS);
        assert!(words("--- ...").is_empty());
    }
}
