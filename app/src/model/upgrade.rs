//! "Why does my cluster see no update from A to B?": the answer, and a promoted stream's
//! upgrade graph.
//!
//! Clusters are offered an update only along an edge the release-controller tested with a
//! successful run, into a release of a promoted stream. For a stable release the controller
//! tests a seeded random sample of three of the versions its payload declares in
//! `previous`, so a declared version may never be tested.

use serde::{Deserialize, Serialize};

use super::{Phase, StreamKind, UpgradeEdge};

/// Whether a cluster on `from` is offered `to`, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeVerdict {
    /// An upgrade run succeeded and `to` is in a promoted stream.
    Offered,
    /// `to` is not in a promoted stream (a CI or nightly build).
    NotPromoted,
    /// Every finished run of the edge failed.
    TestedFailed,
    /// The edge was sampled and its run has no result yet.
    TestPending,
    /// `from` is declared in `to`'s `previous` but was not in the sample tested.
    DeclaredUntested,
    /// `from` is not in `to`'s `previous`, so it is never tested.
    NotDeclared,
    /// The edge was never tested, and `to`'s payload has not been read, so whether `from`
    /// is declared is not known.
    Untested,
}

impl UpgradeVerdict {
    /// Every verdict, for exhaustive tests and documentation.
    pub const ALL: [UpgradeVerdict; 7] = [
        UpgradeVerdict::Offered,
        UpgradeVerdict::NotPromoted,
        UpgradeVerdict::TestedFailed,
        UpgradeVerdict::TestPending,
        UpgradeVerdict::DeclaredUntested,
        UpgradeVerdict::NotDeclared,
        UpgradeVerdict::Untested,
    ];

    /// Stable identifier, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeVerdict::Offered => "offered",
            UpgradeVerdict::NotPromoted => "not_promoted",
            UpgradeVerdict::TestedFailed => "tested_failed",
            UpgradeVerdict::TestPending => "test_pending",
            UpgradeVerdict::DeclaredUntested => "declared_untested",
            UpgradeVerdict::NotDeclared => "not_declared",
            UpgradeVerdict::Untested => "untested",
        }
    }

    /// Whether a cluster is offered the update.
    pub fn offered(self) -> bool {
        self == UpgradeVerdict::Offered
    }

    /// The answer in a few words.
    pub fn headline(self) -> &'static str {
        match self {
            UpgradeVerdict::Offered => "Yes",
            UpgradeVerdict::NotPromoted => "Not yet: the target is not promoted",
            UpgradeVerdict::TestedFailed => "No: tested and failed",
            UpgradeVerdict::TestPending => "Not yet: the test is still running",
            UpgradeVerdict::DeclaredUntested => {
                "No: declared but never tested (not in the sample of 3)"
            }
            UpgradeVerdict::NotDeclared => "No: not declared",
            UpgradeVerdict::Untested => "No: never tested",
        }
    }

    /// Why, in a sentence or two.
    pub fn explanation(self) -> &'static str {
        match self {
            UpgradeVerdict::Offered => {
                "The release-controller ran this upgrade successfully and the target is in a promoted stream, so update graphs built from the controller carry the edge and clusters are offered it."
            }
            UpgradeVerdict::NotPromoted => {
                "Clusters are offered only releases of promoted streams (stable, next). The target is a CI or nightly build; it reaches clusters only once it is promoted, under its promoted name."
            }
            UpgradeVerdict::TestedFailed => {
                "The release-controller ran this upgrade and no run succeeded. Update graphs keep only edges with a successful run, so this edge will not be offered."
            }
            UpgradeVerdict::TestPending => {
                "The release-controller sampled this upgrade and its run has not finished. The edge is offered once a run succeeds."
            }
            UpgradeVerdict::DeclaredUntested => {
                "The target's payload declares the source in its previous versions, but the release-controller tests a seeded random sample of 3 of them and this one was not drawn. An edge that was never tested is never offered."
            }
            UpgradeVerdict::NotDeclared => {
                "The target's payload does not list the source among the versions it can upgrade from, so the release-controller never tests that upgrade and it is never offered."
            }
            UpgradeVerdict::Untested => {
                "The release-controller never reported this upgrade. The target's payload has not been read, so whether it declares the source is not known."
            }
        }
    }

    /// The verdict for an edge (`None` when never reported), the target's declared previous
    /// versions (`None` when its payload was not read) and whether it is promoted.
    pub fn decide(
        from: &str,
        edge: Option<&UpgradeEdge>,
        declared: Option<&[String]>,
        promoted: bool,
    ) -> UpgradeVerdict {
        let succeeded = edge.is_some_and(|e| e.success > 0);
        if !promoted {
            return UpgradeVerdict::NotPromoted;
        }
        if succeeded {
            return UpgradeVerdict::Offered;
        }
        match edge {
            Some(e) if e.failure > 0 => return UpgradeVerdict::TestedFailed,
            Some(_) => return UpgradeVerdict::TestPending,
            None => {}
        }
        match declared {
            Some(list) if list.iter().any(|v| v == from) => UpgradeVerdict::DeclaredUntested,
            Some(_) => UpgradeVerdict::NotDeclared,
            None => UpgradeVerdict::Untested,
        }
    }
}

/// Longest version name asked about.
pub const VERSION_MAX: usize = 128;

/// Checks a version name asked about (`field` names it in the message): 1 to
/// [`VERSION_MAX`] letters, digits, `.`, `-`, `_` or `+`, as release tags are.
pub fn check_version(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!(
            "{field} is empty: give a release name such as 4.21.0-okd-scos.1"
        ));
    }
    if value.len() > VERSION_MAX {
        return Err(format!(
            "{field} is {} bytes long; release names have at most {VERSION_MAX}",
            value.len()
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')))
    {
        return Err(format!(
            "{field} contains {c:?}; release names have only letters, digits, '.', '-', '_' and '+'"
        ));
    }
    Ok(())
}

/// One end of the question, as Streamgate knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeEnd {
    /// The version asked about.
    pub name: String,
    /// The stream Streamgate shows it in (`None` when unknown to Streamgate).
    pub stream: Option<String>,
    /// Its phase there.
    pub phase: Option<Phase>,
    /// That stream's kind.
    pub kind: Option<StreamKind>,
}

/// The answer to "will a cluster on `from` be offered `to`?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeAnswer {
    /// The version the cluster runs.
    pub from: UpgradeEnd,
    /// The version it hopes for.
    pub to: UpgradeEnd,
    /// The answer.
    pub verdict: UpgradeVerdict,
    /// The promoted streams listing `to` (empty: not promoted).
    pub promoted_in: Vec<String>,
    /// Whether `to`'s payload declares `from` in `previous`; `None` when it was not read.
    pub declared: Option<bool>,
    /// How many versions `to` declares, when known.
    pub declared_count: Option<u32>,
    /// The tested edge `from → to` with its runs, when the controller reported one.
    pub edge: Option<UpgradeEdge>,
    /// The shortest chain of offered updates from `from` to `to` (both ends included), when
    /// the direct edge is not offered but such a chain exists.
    pub path: Option<Vec<String>>,
}

/// How an edge of a drawn graph was tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeState {
    /// At least one run succeeded: offered.
    Succeeded,
    /// Only failed runs: not offered.
    Failed,
    /// Sampled, no result yet.
    Pending,
    /// Declared in `previous`, never tested: not offered.
    Untested,
}

impl EdgeState {
    /// The state of a reported edge.
    pub fn of(edge: &UpgradeEdge) -> EdgeState {
        if edge.success > 0 {
            EdgeState::Succeeded
        } else if edge.failure > 0 {
            EdgeState::Failed
        } else {
            EdgeState::Pending
        }
    }

    /// Stable identifier (CSS class, API).
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeState::Succeeded => "succeeded",
            EdgeState::Failed => "failed",
            EdgeState::Pending => "pending",
            EdgeState::Untested => "untested",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            EdgeState::Succeeded => "tested, succeeded: offered",
            EdgeState::Failed => "tested and failed: not offered",
            EdgeState::Pending => "test running",
            EdgeState::Untested => "declared, never tested: not offered",
        }
    }
}

/// One edge of a stream's upgrade graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdge {
    /// Source release.
    pub from: String,
    /// Target release.
    pub to: String,
    /// How it was tested.
    pub state: EdgeState,
}

/// A promoted stream's upgrade graph: its releases (oldest first) and every edge into them
/// that was tested or declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeGraph {
    /// Stream name.
    pub stream: String,
    /// Release names, oldest first.
    pub nodes: Vec<String>,
    /// Edges between releases of the stream.
    pub edges: Vec<GraphEdge>,
    /// Edges from releases outside the stream (another stream's release, or one
    /// Streamgate does not know), by source.
    pub outside: Vec<GraphEdge>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(success: u32, failure: u32, total: u32) -> UpgradeEdge {
        UpgradeEdge {
            from: "a".into(),
            to: "b".into(),
            success,
            failure,
            total,
            runs: Vec::new(),
            other_stream: None,
        }
    }

    #[test]
    fn each_verdict_has_its_case() {
        let declared = ["a".to_string()];
        let other = ["x".to_string()];
        let cases = [
            (
                Some(edge(1, 2, 3)),
                Some(&declared[..]),
                true,
                UpgradeVerdict::Offered,
            ),
            (
                Some(edge(1, 0, 1)),
                Some(&declared[..]),
                false,
                UpgradeVerdict::NotPromoted,
            ),
            (None, None, false, UpgradeVerdict::NotPromoted),
            (
                Some(edge(0, 2, 2)),
                Some(&declared[..]),
                true,
                UpgradeVerdict::TestedFailed,
            ),
            (
                Some(edge(0, 0, 1)),
                Some(&declared[..]),
                true,
                UpgradeVerdict::TestPending,
            ),
            (
                None,
                Some(&declared[..]),
                true,
                UpgradeVerdict::DeclaredUntested,
            ),
            (None, Some(&other[..]), true, UpgradeVerdict::NotDeclared),
            (None, None, true, UpgradeVerdict::Untested),
        ];
        for (e, d, promoted, want) in &cases {
            assert_eq!(
                UpgradeVerdict::decide("a", e.as_ref(), *d, *promoted),
                *want,
                "{e:?} {d:?} {promoted}"
            );
        }
        for v in UpgradeVerdict::ALL {
            assert!(cases.iter().any(|c| c.3 == v), "{v:?} has no case");
            assert!(!v.headline().is_empty() && !v.explanation().is_empty());
        }
        assert!(UpgradeVerdict::Offered.offered());
        assert!(!UpgradeVerdict::DeclaredUntested.offered());
    }

    #[test]
    fn version_names_are_checked() {
        assert!(check_version("from", "4.21.0-okd-scos.ec.3").is_ok());
        assert!(check_version("to", "4.15.0-0.okd-2024-03-10-010116").is_ok());
        for (bad, says) in [
            ("", "from is empty"),
            ("4.21<script>", "contains '<'"),
            ("a b", "contains ' '"),
            ("4.21\u{0}", "contains '\\0'"),
        ] {
            let e = check_version("from", bad).expect_err(bad);
            assert!(e.contains(says), "{e}");
        }
        let long = "9".repeat(VERSION_MAX + 1);
        assert!(check_version("to", &long)
            .expect_err("long")
            .contains("at most 128"));
    }

    #[test]
    fn a_tested_edge_counts_only_with_a_result() {
        assert_eq!(EdgeState::of(&edge(0, 0, 1)), EdgeState::Pending);
        assert_eq!(EdgeState::of(&edge(0, 1, 1)), EdgeState::Failed);
        assert_eq!(EdgeState::of(&edge(1, 1, 2)), EdgeState::Succeeded);
    }
}
