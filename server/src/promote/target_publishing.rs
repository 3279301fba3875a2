//! A target's publishing settings as typed by an admin (API, form or command line): the
//! namespace and image stream its releases are adopted into, and the GitHub repository
//! their notes are published to. Each field typed is trimmed and checked, a blank one
//! removes the setting, one not given keeps it; namespace and image stream go together.

use app::model::promotion::TargetPublishing;

use crate::store::{Store, StoreError};

/// Publishing fields as typed: `None` keeps a setting, blank removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishingChange {
    /// Namespace of the image stream releases are adopted into.
    pub adopt_namespace: Option<String>,
    /// That image stream.
    pub adopt_imagestream: Option<String>,
    /// GitHub repository (`owner/name`) release notes are published to.
    pub github_repo: Option<String>,
}

impl PublishingChange {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == PublishingChange::default()
    }
}

/// `current` with `change` applied, checked; the error says what is wrong.
pub fn apply(
    current: &TargetPublishing,
    change: &PublishingChange,
) -> Result<TargetPublishing, String> {
    let typed = |typed: &Option<String>, current: &Option<String>| match typed {
        None => current.clone(),
        Some(v) if v.trim().is_empty() => None,
        Some(v) => Some(v.trim().to_string()),
    };
    let next = TargetPublishing {
        adopt_namespace: typed(&change.adopt_namespace, &current.adopt_namespace),
        adopt_imagestream: typed(&change.adopt_imagestream, &current.adopt_imagestream),
        github_repo: typed(&change.github_repo, &current.github_repo),
    };
    if let Some(ns) = &next.adopt_namespace {
        if !dns_label(ns, 63) {
            return Err(format!(
                "adopt_namespace {ns:?} is not a namespace name (1–63 lowercase letters, \
                 digits or '-', starting and ending with a letter or digit)"
            ));
        }
    }
    if let Some(is) = &next.adopt_imagestream {
        let ok = is.len() <= 253 && is.split('.').all(|part| dns_label(part, 253));
        if !ok {
            return Err(format!(
                "adopt_imagestream {is:?} is not an image stream name (lowercase letters, \
                 digits, '-' and '.', each part starting and ending with a letter or digit)"
            ));
        }
    }
    match (&next.adopt_namespace, &next.adopt_imagestream) {
        (Some(_), None) => {
            return Err(
                "adopt_namespace needs adopt_imagestream (adoption tags a release \
                 into namespace/imagestream)"
                    .to_string(),
            )
        }
        (None, Some(_)) => {
            return Err(
                "adopt_imagestream needs adopt_namespace (adoption tags a release \
                 into namespace/imagestream)"
                    .to_string(),
            )
        }
        _ => {}
    }
    if let Some(repo) = &next.github_repo {
        if !github_repo(repo) {
            return Err(format!(
                "github_repo {repo:?} is not a GitHub repository (owner/name)"
            ));
        }
    }
    Ok(next)
}

/// A Kubernetes DNS label: lowercase letters, digits and `-`, starting and ending with a
/// letter or digit, at most `max` long.
fn dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `owner/name` as GitHub allows them: an owner of letters, digits and single `-` (at
/// most 39), a name of letters, digits, `.`, `-` and `_` (at most 100, not `.` or `..`).
fn github_repo(s: &str) -> bool {
    let Some((owner, name)) = s.split_once('/') else {
        return false;
    };
    let owner_ok = !owner.is_empty()
        && owner.len() <= 39
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--");
    let name_ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    owner_ok && name_ok
}

/// Target `name`'s settings with `change` applied, checked but not stored.
pub async fn checked_publishing(
    store: &Store,
    name: &str,
    change: &PublishingChange,
) -> Result<Result<TargetPublishing, String>, StoreError> {
    let current = store.target_publishing(name).await?;
    Ok(apply(&current, change))
}

/// Stores target `name`'s checked settings.
pub async fn save_publishing(
    store: &Store,
    name: &str,
    publishing: &TargetPublishing,
) -> Result<(), StoreError> {
    store
        .set_target_publishing(name, publishing, chrono::Utc::now())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ns: &str, is: &str, gh: &str) -> PublishingChange {
        PublishingChange {
            adopt_namespace: Some(ns.into()),
            adopt_imagestream: Some(is.into()),
            github_repo: Some(gh.into()),
        }
    }

    #[test]
    fn settings_are_set_kept_and_removed_field_by_field() {
        let all = apply(
            &TargetPublishing::default(),
            &set(" origin ", "release-scos", "okd-project/okd-scos"),
        )
        .unwrap();
        assert_eq!(
            all,
            TargetPublishing {
                adopt_namespace: Some("origin".into()),
                adopt_imagestream: Some("release-scos".into()),
                github_repo: Some("okd-project/okd-scos".into()),
            }
        );
        assert_eq!(apply(&all, &PublishingChange::default()).unwrap(), all);
        let no_github = apply(
            &all,
            &PublishingChange {
                github_repo: Some(" ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(no_github.github_repo, None);
        assert_eq!(no_github.adoption(), Some(("origin", "release-scos")));
        assert_eq!(
            apply(&all, &set("", "", "")).unwrap(),
            TargetPublishing::default()
        );
    }

    #[test]
    fn bad_settings_are_refused_saying_which_and_why() {
        let none = TargetPublishing::default();
        let e = apply(&none, &set("Origin", "release-scos", "")).unwrap_err();
        assert!(
            e.starts_with("adopt_namespace \"Origin\" is not a namespace name"),
            "{e}"
        );
        let e = apply(&none, &set("origin", "release_scos", "")).unwrap_err();
        assert!(e.starts_with("adopt_imagestream \"release_scos\""), "{e}");
        let e = apply(&none, &set("origin", "", "")).unwrap_err();
        assert!(
            e.starts_with("adopt_namespace needs adopt_imagestream"),
            "{e}"
        );
        let e = apply(&none, &set("", "release-scos", "")).unwrap_err();
        assert!(
            e.starts_with("adopt_imagestream needs adopt_namespace"),
            "{e}"
        );
        for repo in [
            "okd",
            "okd-project/",
            "/okd",
            "a/b/c",
            "-x/y",
            "x/..",
            "o k/d",
        ] {
            let e = apply(&none, &set("", "", repo)).unwrap_err();
            assert_eq!(
                e,
                format!("github_repo {repo:?} is not a GitHub repository (owner/name)")
            );
        }
        assert!(apply(&none, &set("", "", "okd-project/okd_scos.v2")).is_ok());
        assert!(apply(&none, &set("a", "release.scos-4", "")).is_ok());
    }
}
