//! `/components/{name}`: one component's images across the releases of a stream, with
//! provenance; and the small pieces other pages use to show a component.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::model::{ComponentHistory, ComponentInfo, Provenance};
use crate::widgets::{utc, Age, ErrorView, ExternalLink};

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
                <a href=format!("/releases/{release}?stream={stream}")>{release.clone()}</a>
            </span>
        }
        .into_any(),
        Provenance::BuiltForOkd { compared_with, stream } => view! {
            <span class=class title=format!("OCP CI's image differs in {compared_with}")>
                "built for OKD "
                <small>
                    "(differs from "
                    <a href=format!("/releases/{compared_with}?stream={stream}")>{compared_with.clone()}</a>
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
            ", newest first."
        </p>
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
                            <a href=format!("/releases/{}?stream={}", e.first, h.stream)>{e.first.clone()}</a>
                            " "
                            <Age now at=e.first_at />
                            {format!(" · {}", utc(e.first_at))}
                        </p>
                        {(!e.stayed_in.is_empty()).then(|| view! {
                            <details>
                                <summary>{format!("Kept in {} later releases", e.stayed_in.len())}</summary>
                                <ul class="stayed">
                                    {e.stayed_in.iter().map(|r| view! {
                                        <li><a href=format!("/releases/{r}?stream={}", h.stream)>{r.clone()}</a></li>
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
