//! `/components/{name}`: one component's images across the releases of a stream, with
//! provenance; and the small pieces other pages use to show a component.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::model::{ComponentHistory, ComponentInfo, Provenance};
use crate::widgets::{release_href, utc, Age, ErrorView, ExternalLink};

/// The first 12 hex digits of a digest, for tables.
pub fn short_digest(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// The provenance of a component, with a link to the first OCP CI release it came from.
#[component]
pub fn ProvenanceLabel(provenance: Provenance) -> impl IntoView {
    let class = format!("prov prov-{}", provenance.kind().as_str());
    match provenance {
        Provenance::MachineOs { version } => view! {
            <span class=class>
                "machine OS"
                {version.map(|v| view! { " " <code>{v}</code> })}
            </span>
        }
        .into_any(),
        Provenance::Mirrored { release, stream } => view! {
            <span class=class>
                "mirrored from OCP CI "
                <a href=release_href(&stream, &release)>{release.clone()}</a>
            </span>
        }
        .into_any(),
        Provenance::BuiltForOkd { compared_with, stream } => view! {
            <span class=class title=format!("OCP CI's image differs in {compared_with}")>
                "built for OKD "
                <small>
                    "(differs from "
                    <a href=release_href(&stream, &compared_with)>{compared_with.clone()}</a>
                    ")"
                </small>
            </span>
        }
        .into_any(),
        Provenance::Unknown { reason } => view! {
            <span class=class title=reason.clone()>"unknown " <small>{format!("({reason})")}</small></span>
        }
        .into_any(),
    }
}

/// A component's source commit, linked where the repository is on GitHub.
#[component]
pub fn CommitLink(component: ComponentInfo) -> impl IntoView {
    let short: String = component.commit.chars().take(10).collect();
    match (component.commit_url, component.commit.is_empty()) {
        (_, true) => view! { <span class="none">"—"</span> }.into_any(),
        (Some(url), false) => view! {
            <ExternalLink href=url title=component.source.clone()><code>{short}</code></ExternalLink>
        }
        .into_any(),
        (None, false) => view! { <code title=component.source.clone()>{short}</code> }.into_any(),
    }
}

/// A component's image digest, shortened, with the pull spec on hover.
#[component]
pub fn DigestCell(component: ComponentInfo) -> impl IntoView {
    view! { <code class="digest" title=component.image.clone()>{short_digest(&component.digest)}</code> }
}

/// Which era this component's images are from, by their evidence: where it was mirrored
/// from OCP CI (until when) and built for OKD (since when).
pub fn eras(entries: &[crate::model::HistoryEntry]) -> String {
    use crate::model::ProvenanceKind;
    let of = |kind: ProvenanceKind| {
        entries
            .iter()
            .filter(move |e| e.component.provenance.kind() == kind)
            .map(|e| e.first_at)
    };
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    let mut parts = Vec::new();
    let mirrored: Vec<_> = of(ProvenanceKind::Mirrored).collect();
    if let Some(last) = mirrored.iter().max() {
        parts.push(format!(
            "mirrored from OCP CI in {} images (the newest first seen {})",
            mirrored.len(),
            day(*last)
        ));
    }
    let built: Vec<_> = of(ProvenanceKind::Okd).collect();
    if let Some(first) = built.iter().min() {
        parts.push(format!(
            "built for OKD in {} images (the oldest first seen {})",
            built.len(),
            day(*first)
        ));
    }
    let unknown = of(ProvenanceKind::Unknown).count();
    if unknown > 0 {
        parts.push(format!("of unknown provenance in {unknown}"));
    }
    if of(ProvenanceKind::Os).next().is_some() {
        return "The machine OS: built for each OKD variant.".to_string();
    }
    if parts.is_empty() {
        return "No image of it has been read.".to_string();
    }
    let text = parts.join("; ");
    let mut chars = text.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// The component page.
#[component]
pub fn ComponentPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        (
            params.read().get("name").unwrap_or_default(),
            query.read().get("stream").filter(|s| !s.is_empty()),
        )
    };
    let data = Resource::new(key, |(name, stream)| {
        api::get_component_history(name, stream)
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading component…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(history) => view! { <HistoryView history /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn HistoryView(history: ComponentHistory) -> impl IntoView {
    let h = history;
    let now = h.now;
    let name = h.name.clone();
    view! {
        <Title text=format!("{} in {}", h.name, h.stream) />
        <nav class="crumbs">
            <a href="/">"Streams"</a>
            " / "
            <a href=format!("/streams/{}", h.stream)>{h.stream.clone()}</a>
        </nav>
        <h1 class="component-name">{h.name.clone()}</h1>
        <p class="explain">
            {format!("{} distinct images in the read payloads of ", h.entries.len())}
            <a href=format!("/streams/{}", h.stream)>{h.stream.clone()}</a>
            ", newest first. "
            <a class="feed" href=format!("/components/{}/feed.atom?stream={}", crate::widgets::encode(&h.name), crate::widgets::encode(&h.stream))>
                "New images as a feed"
            </a>
        </p>
        <p class="era">{eras(&h.entries)}</p>
        {(!h.streams.is_empty()).then(|| view! {
            <p class="other-streams">
                "Also in: "
                {h.streams.iter().map(|s| view! {
                    <a href=format!("/components/{name}?stream={s}")>{s.clone()}</a>
                    " "
                }).collect_view()}
            </p>
        })}
        <ol class="history">
            {h.entries.into_iter().map(|e| {
                let c = e.component.clone();
                view! {
                    <li class="history-entry" data-digest=c.digest.clone()>
                        <p>
                            <DigestCell component=c.clone() />
                            " · "
                            <CommitLink component=c.clone() />
                            " · "
                            <ProvenanceLabel provenance=c.provenance.clone() />
                        </p>
                        <p>
                            "First in "
                            <a href=release_href(&h.stream, &e.first)>{e.first.clone()}</a>
                            " "
                            <Age now at=e.first_at />
                            {format!(" · {}", utc(e.first_at))}
                        </p>
                        {(!e.stayed_in.is_empty()).then(|| view! {
                            <details>
                                <summary>{format!("Kept in {} later releases", e.stayed_in.len())}</summary>
                                <ul class="stayed">
                                    {e.stayed_in.iter().map(|r| view! {
                                        <li><a href=release_href(&h.stream, r)>{r.clone()}</a></li>
                                    }).collect_view()}
                                </ul>
                            </details>
                        })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::HistoryEntry;

    fn entry(provenance: Provenance, day: u32) -> HistoryEntry {
        HistoryEntry {
            component: ComponentInfo {
                name: "console".into(),
                provenance,
                source: String::new(),
                commit: String::new(),
                commit_url: None,
                image: String::new(),
                digest: String::new(),
                changed: None,
                architectures: Vec::new(),
            },
            first: format!("r{day}"),
            first_at: Utc
                .with_ymd_and_hms(2024, 3, day, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            stayed_in: Vec::new(),
        }
    }

    #[test]
    fn a_components_eras_are_told_by_its_images() {
        let mirrored = || Provenance::Mirrored {
            release: "4.15.0-0.ci-2024-03-01-000000".into(),
            stream: "4.15.0-0.ci".into(),
        };
        let built = || Provenance::BuiltForOkd {
            compared_with: "4.15.0-0.ci-2024-03-09-000000".into(),
            stream: "4.15.0-0.ci".into(),
        };
        let text = eras(&[
            entry(built(), 20),
            entry(built(), 12),
            entry(mirrored(), 10),
            entry(mirrored(), 2),
            entry(
                Provenance::Unknown {
                    reason: "no OCP CI 4.15 payload read".into(),
                },
                1,
            ),
        ]);
        assert_eq!(
            text,
            "Mirrored from OCP CI in 2 images (the newest first seen 2024-03-10); \
             built for OKD in 2 images (the oldest first seen 2024-03-12); \
             of unknown provenance in 1."
        );
        assert_eq!(eras(&[]), "No image of it has been read.");
    }
}
