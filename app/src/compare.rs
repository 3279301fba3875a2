//! `/compare/{from}/{to}`: two releases side by side — components added, removed and
//! changed (with links to the source difference) and verification jobs that differ.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::{CommitLink, DigestCell, ProvenanceLabel};
use crate::model::{Comparison, ComponentInfo, JobState};
use crate::widgets::{ErrorView, ExternalLink, PhaseBadge};

/// The compare page.
#[component]
pub fn ComparePage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        let p = params.read();
        (
            p.get("from").unwrap_or_default(),
            p.get("to").unwrap_or_default(),
        )
    };
    let data = Resource::new(key, |(from, to)| api::compare_releases(from, to));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Comparing…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(comparison) => view! { <ComparisonView comparison /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ComparisonView(comparison: Comparison) -> impl IntoView {
    let c = comparison;
    let (from, to) = (c.from.clone(), c.to.clone());
    let unread: Vec<String> = [
        (&from.name, c.payloads_read.0),
        (&to.name, c.payloads_read.1),
    ]
    .into_iter()
    .filter(|(_, read)| !read)
    .map(|(n, _)| n.clone())
    .collect();
    view! {
        <Title text=format!("{} → {}", from.name, to.name) />
        <h1 class="compare-title">"Compare releases"</h1>
        <p class="compare-ends">
            <a href=format!("/releases/{}?stream={}", from.name, from.stream)>{from.name.clone()}</a>
            " "
            <PhaseBadge phase=from.phase />
            " → "
            <a href=format!("/releases/{}?stream={}", to.name, to.stream)>{to.name.clone()}</a>
            " "
            <PhaseBadge phase=to.phase />
        </p>
        <section aria-labelledby="components-h">
            <h2 id="components-h">"Components"</h2>
            {if unread.is_empty() {
                view! {
                    <p class="summary">
                        {format!(
                            "{} added, {} removed, {} changed, {} unchanged.",
                            c.added.len(),
                            c.removed.len(),
                            c.changed.len(),
                            c.unchanged
                        )}
                    </p>
                    <ComponentList title="Added" id="added" components=c.added.clone() />
                    <ComponentList title="Removed" id="removed" components=c.removed.clone() />
                    {(!c.changed.is_empty()).then(|| view! {
                        <table class="components changed" id="changed">
                            <caption>{format!("Changed ({})", c.changed.len())}</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Component"</th>
                                    <th scope="col">"Commit"</th>
                                    <th scope="col">"Digest"</th>
                                    <th scope="col">"Provenance"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {c.changed.iter().map(|ch| view! {
                                    <tr data-component=ch.to.name.clone()>
                                        <td><a href=format!("/components/{}", ch.to.name)>{ch.to.name.clone()}</a></td>
                                        <td>
                                            <CommitLink component=ch.from.clone() />
                                            " → "
                                            <CommitLink component=ch.to.clone() />
                                            {ch.diff_url.clone().map(|u| view! {
                                                " " <ExternalLink href=u class="diff">"diff"</ExternalLink>
                                            })}
                                        </td>
                                        <td><DigestCell component=ch.from.clone() /> " → " <DigestCell component=ch.to.clone() /></td>
                                        <td><ProvenanceLabel provenance=ch.to.provenance.clone() /></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    })}
                }
                .into_any()
            } else {
                view! {
                    <p class="empty">
                        {format!("The payload of {} has not been read yet, so components cannot be compared.", unread.join(" and "))}
                    </p>
                }
                .into_any()
            }}
        </section>
        <section aria-labelledby="gates-h">
            <h2 id="gates-h">"Gates"</h2>
            {if c.gates.is_empty() {
                view! { <p class="empty">"Every verification job ended the same in both releases."</p> }.into_any()
            } else {
                view! {
                    <table class="gates gate-changes">
                        <thead>
                            <tr>
                                <th scope="col">"Job"</th>
                                <th scope="col">{from.name.clone()}</th>
                                <th scope="col">{to.name.clone()}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {c.gates.iter().map(|g| {
                                let cell = |s: &Option<JobState>| match s {
                                    Some(s) => view! { <td class=format!("state {}", s.css())>{s.as_str()}</td> }.into_any(),
                                    None => view! { <td class="none">"not run"</td> }.into_any(),
                                };
                                view! {
                                    <tr data-gate=g.name.clone()>
                                        <td>{g.name.clone()}</td>
                                        {cell(&g.from)}
                                        {cell(&g.to)}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn ComponentList(
    title: &'static str,
    id: &'static str,
    components: Vec<ComponentInfo>,
) -> impl IntoView {
    (!components.is_empty()).then(|| {
        view! {
            <table class="components" id=id>
                <caption>{format!("{title} ({})", components.len())}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Component"</th>
                        <th scope="col">"Commit"</th>
                        <th scope="col">"Digest"</th>
                        <th scope="col">"Provenance"</th>
                    </tr>
                </thead>
                <tbody>
                    {components.into_iter().map(|c| view! {
                        <tr data-component=c.name.clone()>
                            <td><a href=format!("/components/{}", c.name)>{c.name.clone()}</a></td>
                            <td><CommitLink component=c.clone() /></td>
                            <td><DigestCell component=c.clone() /></td>
                            <td><ProvenanceLabel provenance=c.provenance.clone() /></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
    })
}
