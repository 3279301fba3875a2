//! The upgrade question and a stream's upgrade graph, read from the tested edges, the
//! versions payloads declare, and which streams are promoted.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use app::model::upgrade::{
    EdgeState, GraphEdge, UpgradeAnswer, UpgradeEnd, UpgradeGraph, UpgradeVerdict,
};
use app::model::StreamKind;

use super::{edge, StoreBackend};
use crate::store::StoreError;

/// Releases a stream's drawn graph shows at most (the newest).
pub const GRAPH_NODES: usize = 60;
/// Releases of a promoted stream looked at to find its newest by version.
const GRAPH_CANDIDATES: i64 = 2000;

/// One run of digits or of other characters in a version name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    Number(u64),
    Text(String),
}

/// A version name as runs of digits (compared as numbers) and text, so `4.20.0-okd-scos.10`
/// follows `4.20.0-okd-scos.9` and `4.21` follows `4.20`.
fn version_key(name: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let digit = c.is_ascii_digit();
        let end = rest
            .find(|ch: char| ch.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        chunks.push(match run.parse::<u64>() {
            Ok(n) if digit => Chunk::Number(n),
            _ => Chunk::Text(run.to_string()),
        });
        rest = tail;
    }
    chunks
}

impl StoreBackend {
    /// Whether a cluster on `from` is offered `to`; an unknown `to` is
    /// [`StoreError::NotFound`].
    pub async fn upgrade_answer(&self, from: &str, to: &str) -> Result<UpgradeAnswer, StoreError> {
        let promoted_in = self.store.promoted_streams_of(to).await?;
        let to_end = self
            .end(to, promoted_in.first().map(String::as_str))
            .await?;
        if to_end.stream.is_none() {
            return Err(StoreError::NotFound(format!("release {to}")));
        }
        let from_end = self.end(from, None).await?;
        // the promoted payload is the one clusters meet; any other listing reads the same digest
        let mut declared = None;
        let listing: Vec<String> = promoted_in
            .iter()
            .cloned()
            .chain(to_end.stream.clone())
            .collect();
        for stream in &listing {
            if let Some(previous) = self.store.declared_previous(stream, to).await? {
                declared = Some(previous);
                break;
            }
        }
        let edge = self
            .store
            .upgrade_edge(from, to)
            .await?
            .map(|u| edge(u, from_end.stream.clone()));
        let verdict = UpgradeVerdict::decide(
            from,
            edge.as_ref(),
            declared.as_deref(),
            !promoted_in.is_empty(),
        );
        let path = if verdict.offered() || promoted_in.is_empty() {
            None
        } else {
            shortest_path(from, to, &self.store.offered_edges().await?)
        };
        Ok(UpgradeAnswer {
            from: from_end,
            to: to_end,
            verdict,
            declared: declared.as_ref().map(|d| d.iter().any(|v| v == from)),
            declared_count: declared
                .as_ref()
                .map(|d| u32::try_from(d.len()).unwrap_or(u32::MAX)),
            promoted_in,
            edge,
            path,
        })
    }

    /// `name` as Streamgate shows it: in `prefer` when it lists it, else its CI or nightly
    /// stream, else any. Unknown names have no stream.
    async fn end(&self, name: &str, prefer: Option<&str>) -> Result<UpgradeEnd, StoreError> {
        match self.find_release(name, prefer).await {
            Ok((row, _, (_, kind))) => Ok(UpgradeEnd {
                name: row.name,
                stream: Some(row.stream),
                phase: Some(row.phase),
                kind: Some(kind),
            }),
            Err(StoreError::NotFound(_)) => Ok(UpgradeEnd {
                name: name.to_string(),
                stream: None,
                phase: None,
                kind: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// The upgrade graph of `stream`: its newest [`GRAPH_NODES`] releases, the edges tested
    /// into them and those their payloads declare but were never tested.
    pub async fn upgrade_graph(&self, stream: &str) -> Result<UpgradeGraph, StoreError> {
        let Some(row) = self.store.stream(stream).await? else {
            return Err(StoreError::NotFound(format!("stream {stream}")));
        };
        let kind = row.kind;
        if !matches!(kind, StreamKind::Stable | StreamKind::Next) {
            return Err(StoreError::NotFound(format!(
                "upgrade graph of {stream}: only promoted streams are update targets"
            )));
        }
        // promoted names carry no date (first-seen times order them only by polling), so
        // by version; the newest are drawn
        let mut nodes: Vec<String> = self
            .store
            .stream_releases(stream, None, GRAPH_CANDIDATES, 0)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        nodes.sort_by_cached_key(|n| version_key(n));
        let skip = nodes.len().saturating_sub(GRAPH_NODES);
        nodes.drain(..skip);
        let tested = self.store.upgrades_into_stream(stream).await?;
        let declared = self.store.declared_previous_in_stream(stream).await?;
        Ok(graph(stream, nodes, tested, declared))
    }
}

/// Lays out the graph's edges: tested ones by their result, declared ones never tested as
/// untested; edges into releases not drawn are left out.
fn graph(
    stream: &str,
    nodes: Vec<String>,
    tested: Vec<crate::store::queries::UpgradeRow>,
    declared: Vec<(String, Vec<String>)>,
) -> UpgradeGraph {
    let drawn: BTreeSet<&str> = nodes.iter().map(String::as_str).collect();
    let mut edges: BTreeMap<(String, String), EdgeState> = BTreeMap::new();
    for u in tested {
        if drawn.contains(u.to_tag.as_str()) {
            let state = EdgeState::of(&edge(u.clone(), None));
            edges.insert((u.from_tag, u.to_tag), state);
        }
    }
    for (to, previous) in declared {
        if !drawn.contains(to.as_str()) {
            continue;
        }
        for from in previous {
            edges
                .entry((from, to.clone()))
                .or_insert(EdgeState::Untested);
        }
    }
    let (inside, outside): (Vec<GraphEdge>, Vec<GraphEdge>) = edges
        .into_iter()
        .map(|((from, to), state)| GraphEdge { from, to, state })
        .partition(|e| drawn.contains(e.from.as_str()));
    UpgradeGraph {
        stream: stream.to_string(),
        nodes,
        edges: inside,
        outside,
    }
}

/// The fewest offered updates leading from `from` to `to` (both included), when there are
/// at least two of them; a direct edge is the answer itself, not a path.
fn shortest_path(from: &str, to: &str, offered: &[(String, String)]) -> Option<Vec<String>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    for (a, b) in offered {
        out.entry(a.as_str()).or_default().push(b.as_str());
    }
    let mut came_from: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        for &next in out.get(node).map(Vec::as_slice).unwrap_or_default() {
            if next == from || came_from.contains_key(next) {
                continue;
            }
            came_from.insert(next, node);
            if next == to {
                let mut path = vec![to.to_string()];
                let mut at = to;
                while let Some(&before) = came_from.get(at) {
                    path.push(before.to_string());
                    at = before;
                }
                path.reverse();
                return (path.len() > 2).then_some(path);
            }
            queue.push_back(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_their_numbers() {
        let mut names = vec![
            "4.21.0-okd-scos.1",
            "4.20.0-okd-scos.10",
            "4.20.0-okd-scos.9",
            "4.21.0-okd-scos.0",
            "5.0.0-okd-scos.0",
        ];
        names.sort_by_cached_key(|n| version_key(n));
        assert_eq!(
            names,
            vec![
                "4.20.0-okd-scos.9",
                "4.20.0-okd-scos.10",
                "4.21.0-okd-scos.0",
                "4.21.0-okd-scos.1",
                "5.0.0-okd-scos.0",
            ]
        );
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_shortest_chain_of_offered_updates() {
        let offered = pairs(&[
            ("a", "b"),
            ("b", "c"),
            ("c", "d"),
            ("b", "d"),
            ("d", "a"),
            ("x", "y"),
        ]);
        assert_eq!(
            shortest_path("a", "d", &offered),
            Some(vec!["a".to_string(), "b".to_string(), "d".to_string()])
        );
        assert_eq!(shortest_path("a", "b", &offered), None, "a direct edge");
        assert_eq!(shortest_path("a", "y", &offered), None, "unreachable");
        assert_eq!(shortest_path("q", "d", &offered), None, "unknown source");
        assert_eq!(
            shortest_path("d", "c", &offered),
            Some(
                vec!["d", "a", "b", "c"]
                    .into_iter()
                    .map(String::from)
                    .collect()
            )
        );
    }

    fn row(from: &str, to: &str, success: i64, failure: i64) -> crate::store::queries::UpgradeRow {
        crate::store::queries::UpgradeRow {
            from_tag: from.into(),
            to_tag: to.into(),
            success,
            failure,
            total: success + failure,
            runs: "[]".into(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_graph_colours_tested_and_declared_edges() {
        let nodes = vec!["1".to_string(), "2".to_string(), "3".to_string()];
        let g = graph(
            "4-scos-stable",
            nodes,
            vec![
                row("1", "2", 1, 0),
                row("1", "3", 0, 1),
                row("9", "1", 1, 0),
            ],
            vec![
                ("3".to_string(), vec!["1".into(), "2".into(), "0".into()]),
                ("7".to_string(), vec!["3".into()]),
            ],
        );
        let states: Vec<(&str, &str, EdgeState)> = g
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.state))
            .collect();
        assert_eq!(
            states,
            vec![
                ("1", "2", EdgeState::Succeeded),
                ("1", "3", EdgeState::Failed),
                ("2", "3", EdgeState::Untested),
            ]
        );
        let outside: Vec<(&str, &str)> = g
            .outside
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(outside, vec![("0", "3"), ("9", "1")]);
    }
}
