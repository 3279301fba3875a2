//! Semantic-version ordering and ranges the way the release-controller applies them.
//!
//! The controller sorts tags with `blang/semver` (newest first) and filters `/latest` with
//! `?in=<range>`. Only what the replay server needs is implemented: `MAJOR.MINOR.PATCH`
//! with dot-separated prerelease identifiers (numeric ones compare numerically and sort before
//! alphanumeric ones), build metadata ignored, and ranges made of comparator terms
//! (`>=4.20.0-0 <4.21.0-0`, `||` between alternatives).

use std::cmp::Ordering;

/// One prerelease identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Num(u64),
    Alpha(String),
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Num(a), Ident::Num(b)) => a.cmp(b),
            (Ident::Num(_), Ident::Alpha(_)) => Ordering::Less,
            (Ident::Alpha(_), Ident::Num(_)) => Ordering::Greater,
            (Ident::Alpha(a), Ident::Alpha(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    core: [u64; 3],
    pre: Vec<Ident>,
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A release sorts after any of its prereleases.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Parses `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`; `None` when the text is not semver.
pub(crate) fn parse(text: &str) -> Option<Version> {
    let text = text.split('+').next().unwrap_or_default();
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    let mut parts = core.split('.');
    let mut numbers = [0u64; 3];
    for slot in &mut numbers {
        *slot = number(parts.next()?)?;
    }
    if parts.next().is_some() {
        return None;
    }
    let mut idents = Vec::new();
    if let Some(pre) = pre {
        for part in pre.split('.') {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return None;
            }
            idents.push(match number(part) {
                Some(n) => Ident::Num(n),
                None => Ident::Alpha(part.to_string()),
            });
        }
    }
    Some(Version {
        core: numbers,
        pre: idents,
    })
}

fn number(part: &str) -> Option<u64> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// Orders tag names newest first: semver names by descending version, then the others by
/// descending name (the controller puts non-semver names after semver ones).
pub(crate) fn newest_first(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(va), Some(vb)) => vb.cmp(&va).then_with(|| b.cmp(a)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => b.cmp(a),
    }
}

/// A semver range: alternatives (`||`) of conjunctions of comparator terms.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    alternatives: Vec<Vec<(Op, Version)>>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Range {
    /// Parses a range such as `>4.20.0-0 <4.21.0-0`; the error names the bad term.
    pub(crate) fn parse(text: &str) -> Result<Range, String> {
        let mut alternatives = Vec::new();
        for alternative in text.split("||") {
            let mut terms = Vec::new();
            for term in alternative.split_whitespace() {
                let (op, rest) = if let Some(rest) = term.strip_prefix(">=") {
                    (Op::Ge, rest)
                } else if let Some(rest) = term.strip_prefix("<=") {
                    (Op::Le, rest)
                } else if let Some(rest) = term.strip_prefix("!=") {
                    (Op::Ne, rest)
                } else if let Some(rest) = term.strip_prefix('>') {
                    (Op::Gt, rest)
                } else if let Some(rest) = term.strip_prefix('<') {
                    (Op::Lt, rest)
                } else if let Some(rest) = term.strip_prefix('=') {
                    (Op::Eq, rest)
                } else {
                    (Op::Eq, term)
                };
                let version =
                    parse(rest).ok_or_else(|| format!("Could not parse Range {term:?}"))?;
                terms.push((op, version));
            }
            if terms.is_empty() {
                return Err(format!("Could not parse Range {text:?}"));
            }
            alternatives.push(terms);
        }
        Ok(Range { alternatives })
    }

    /// Whether a tag name is a version inside the range (non-semver names never are).
    pub(crate) fn contains(&self, name: &str) -> bool {
        let Some(version) = parse(name) else {
            return false;
        };
        self.alternatives.iter().any(|terms| {
            terms.iter().all(|(op, bound)| {
                let ord = version.cmp(bound);
                match op {
                    Op::Eq => ord == Ordering::Equal,
                    Op::Ne => ord != Ordering::Equal,
                    Op::Gt => ord == Ordering::Greater,
                    Op::Ge => ord != Ordering::Less,
                    Op::Lt => ord == Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                }
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_blang_semver() {
        let mut names = vec![
            "4.21.0-okd-scos.ec.3",
            "4.21.0-okd-scos.10",
            "4.21.0-0.okd-scos-2026-02-11-071519",
            "not-a-version",
            "4.21.0-okd-scos.2",
            "4.21.0-0.okd-scos-2026-02-10-190211",
            "4.20.0-okd-scos.9",
        ];
        names.sort_by(|a, b| newest_first(a, b));
        assert_eq!(
            names,
            vec![
                "4.21.0-okd-scos.ec.3",
                "4.21.0-okd-scos.10",
                "4.21.0-okd-scos.2",
                "4.21.0-0.okd-scos-2026-02-11-071519",
                "4.21.0-0.okd-scos-2026-02-10-190211",
                "4.20.0-okd-scos.9",
                "not-a-version",
            ]
        );
    }

    #[test]
    fn ranges_filter_versions() {
        let range = Range::parse(">4.20.0-0 <4.21.0-0").expect("valid");
        assert!(range.contains("4.20.0-okd-scos.3"));
        assert!(!range.contains("4.21.0-okd-scos.0"));
        assert!(!range.contains("garbage"));
        assert!(Range::parse(">=banana").is_err());
        let either = Range::parse("4.20.0-okd-scos.1 || >=4.22.0-0").expect("valid");
        assert!(either.contains("4.20.0-okd-scos.1"));
        assert!(either.contains("4.22.0-okd-scos.ec.0"));
        assert!(!either.contains("4.21.0-okd-scos.0"));
    }
}
