//! A promoted stream's upgrade graph, drawn on the server as inline SVG (no JavaScript):
//! releases newest on top, each edge an arc on the left coloured by how it was tested.

use leptos::prelude::*;

use crate::model::upgrade::{EdgeState, GraphEdge, UpgradeGraph};
use crate::widgets::encode;

const ROW: usize = 20;
const ARCS: usize = 240;
const LABELS: usize = 300;
const TOP: usize = 12;

/// The upgrade graph with its legend and the edges arriving from outside the stream.
#[component]
pub fn UpgradeGraphView(graph: UpgradeGraph) -> impl IntoView {
    let g = graph;
    let count = |state: EdgeState| g.edges.iter().filter(|e| e.state == state).count();
    let legend = [
        EdgeState::Succeeded,
        EdgeState::Failed,
        EdgeState::Untested,
        EdgeState::Pending,
    ]
    .into_iter()
    .map(|state| {
        view! {
            <li class=format!("edge-{}", state.as_str())>
                <svg width="24" height="10" aria-hidden="true"><line x1="0" y1="5" x2="24" y2="5" /></svg>
                {format!(" {} ({})", state.label(), count(state))}
            </li>
        }
    })
    .collect_view();
    let outside = g.outside.clone();
    view! {
        <section class="upgrade-graph" id="upgrade-graph" aria-labelledby="graph-h">
            <h2 id="graph-h">"Upgrade graph"</h2>
            <p class="explain">
                "Every upgrade into the newest releases of this stream that the release-controller tested or a payload declares. Clusters are offered only the green edges; "
                <a href="/upgrade">"ask about one update"</a>
                "."
            </p>
            <ul class="legend">{legend}</ul>
            {if g.nodes.is_empty() {
                view! { <p class="empty">"No releases yet."</p> }.into_any()
            } else {
                view! { <GraphSvg nodes=g.nodes.clone() edges=g.edges.clone() stream=g.stream.clone() /> }.into_any()
            }}
            {(!outside.is_empty()).then(|| view! { <OutsideEdges edges=outside /> })}
        </section>
    }
}

/// Row of each release, newest (last in `nodes`) on top.
fn row_of(nodes: &[String], name: &str) -> Option<usize> {
    nodes
        .iter()
        .position(|n| n == name)
        .map(|i| nodes.len() - 1 - i)
}

fn y(row: usize) -> usize {
    TOP + row * ROW
}

/// The arc from row `a` to row `b`: wider the further apart they are.
fn arc(a: usize, b: usize) -> String {
    let reach = (a.abs_diff(b) * 14).min(ARCS - 16);
    let x = ARCS - reach;
    format!(
        "M {ARCS} {ya} C {x} {ya}, {x} {yb}, {ARCS} {yb}",
        ya = y(a),
        yb = y(b)
    )
}

#[component]
fn GraphSvg(nodes: Vec<String>, edges: Vec<GraphEdge>, stream: String) -> impl IntoView {
    let height = y(nodes.len().saturating_sub(1)) + TOP;
    let width = ARCS + LABELS;
    let mut drawn: Vec<(usize, usize, GraphEdge)> = edges
        .into_iter()
        .filter_map(|e| Some((row_of(&nodes, &e.from)?, row_of(&nodes, &e.to)?, e)))
        .collect();
    // offered edges on top of the others
    drawn.sort_by_key(|(_, _, e)| e.state == EdgeState::Succeeded);
    let arcs = drawn
        .into_iter()
        .map(|(a, b, e)| {
            view! {
                <path d=arc(a, b) class=format!("edge edge-{}", e.state.as_str()) data-from=e.from.clone() data-to=e.to.clone()>
                    <title>{format!("{} → {}: {}", e.from, e.to, e.state.label())}</title>
                </path>
            }
        })
        .collect_view();
    // in reading order too: newest first
    let labels = nodes
        .into_iter()
        .rev()
        .enumerate()
        .map(|(row, name)| {
            view! {
                <a href=format!("/releases/{}?stream={}", encode(&name), encode(&stream))>
                    <circle cx=ARCS cy=y(row) r="4" class="node" />
                    <text x=ARCS + 10 y=y(row) + 4>{name.clone()}</text>
                </a>
            }
        })
        .collect_view();
    view! {
        <svg class="graph" role="img" viewBox=format!("0 0 {width} {height}") width=width height=height>
            <title>{format!("Upgrade graph of {stream}, newest release on top")}</title>
            <g class="arcs">{arcs}</g>
            <g class="nodes">{labels}</g>
        </svg>
    }
}

#[component]
fn OutsideEdges(edges: Vec<GraphEdge>) -> impl IntoView {
    view! {
        <table class="upgrades outside">
            <caption>"Into this stream from other streams' releases"</caption>
            <thead>
                <tr>
                    <th scope="col">"From"</th>
                    <th scope="col">"To"</th>
                    <th scope="col">"Result"</th>
                </tr>
            </thead>
            <tbody>
                {edges.into_iter().map(|e| view! {
                    <tr>
                        <td>{e.from.clone()}</td>
                        <td><a href=format!("/releases/{}", encode(&e.to))>{e.to.clone()}</a></td>
                        <td class=format!("edge-{}", e.state.as_str())>{e.state.label()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_on_top_and_arcs_widen_with_distance() {
        let nodes: Vec<String> = ["old", "mid", "new"].map(String::from).to_vec();
        assert_eq!(row_of(&nodes, "new"), Some(0));
        assert_eq!(row_of(&nodes, "old"), Some(2));
        assert_eq!(row_of(&nodes, "gone"), None);
        assert_eq!(
            arc(0, 1),
            format!("M {ARCS} 12 C 226 12, 226 32, {ARCS} 32")
        );
        assert_eq!(
            arc(2, 0),
            format!("M {ARCS} 52 C 212 52, 212 12, {ARCS} 12")
        );
        // far apart arcs stay inside the drawing
        assert!(arc(0, 100).contains("C 16 "));
    }
}
