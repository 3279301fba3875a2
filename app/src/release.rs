//! `/releases/{tag}`: a release's phase, pull spec, gates, upgrade edges (and why a cluster
//! might see no update), and changelog.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{CommitLink, DigestCell, ProvenanceLabel};
use crate::error::AppError;
use crate::live::{Follows, LiveScope};
use crate::model::{
    ArchImage, ChangedImage, Changelog, ComponentInfo, Gate, GateKind, JobState, PayloadView,
    Phase, ProvenanceKind, ReleaseDetail, StreamKind, UpgradeEdge,
};
use crate::promotions::PromotionPanelView;
use crate::widgets::{
    encode, release_href, utc, Age, ErrorView, ExternalLink, PhaseBadge, RunLinks,
};

/// The release page.
#[component]
pub fn ReleasePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        (
            params.read().get("tag").unwrap_or_default(),
            query.read().get("stream").filter(|s| !s.is_empty()),
        )
    };
    let data = Resource::new(key, |(tag, stream)| api::get_release(tag, stream));
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading release…"</p> }>
            {move || {
                let filter = ComponentFilter::from_query(
                    query.read().get("provenance").as_deref(),
                    query.read().get("changed").as_deref(),
                );
                Suspend::new(async move {
                    match (data.await, filter) {
                        (Ok(release), Ok(filter)) => view! { <ReleaseView release filter /> }.into_any(),
                        (Err(error), _) | (_, Err(error)) => view! { <ErrorView error /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Which components the release page lists (`?provenance=` and `?changed=1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentFilter {
    /// Only this provenance.
    pub provenance: Option<ProvenanceKind>,
    /// Only components whose image changed since the previous release of the stream.
    pub changed: bool,
}

impl ComponentFilter {
    /// The filter of the `provenance` and `changed` query parameters; an unknown provenance
    /// is a bad request, as an unknown phase is on the stream page.
    pub fn from_query(
        provenance: Option<&str>,
        changed: Option<&str>,
    ) -> Result<ComponentFilter, AppError> {
        let provenance = match provenance.filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => Some(ProvenanceKind::parse(p).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "unknown provenance {p:?} (use mirrored, okd or os)"
                ))
            })?),
        };
        Ok(ComponentFilter {
            provenance,
            changed: changed == Some("1"),
        })
    }

    /// The query string of this filter, for links (`""` when it shows everything).
    pub fn query(self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.provenance {
            parts.push(format!("provenance={}", p.as_str()));
        }
        if self.changed {
            parts.push("changed=1".to_string());
        }
        parts.join("&")
    }

    /// Whether component `c` passes.
    pub fn keeps(self, c: &ComponentInfo) -> bool {
        self.provenance.is_none_or(|p| c.provenance.kind() == p)
            && (!self.changed || c.changed == Some(true))
    }
}

#[component]
fn ReleaseView(release: ReleaseDetail, filter: ComponentFilter) -> impl IntoView {
    let r = release;
    let now = r.now;
    let blocking: Vec<Gate> = r
        .gates
        .iter()
        .filter(|g| g.kind == GateKind::Blocking)
        .cloned()
        .collect();
    let informing: Vec<Gate> = r
        .gates
        .iter()
        .filter(|g| g.kind != GateKind::Blocking)
        .cloned()
        .collect();
    let passed = blocking
        .iter()
        .filter(|g| g.state == JobState::Succeeded)
        .count();
    let failed: Vec<String> = blocking
        .iter()
        .filter(|g| g.state == JobState::Failed)
        .map(|g| g.name.clone())
        .collect();
    let verdict = match r.phase {
        Phase::Rejected if !failed.is_empty() => format!(
            "Rejected because blocking job {} failed.",
            failed.join(", ")
        ),
        Phase::Rejected => "Rejected.".to_string(),
        Phase::Accepted if blocking.is_empty() => {
            "Accepted (this stream has no blocking jobs).".to_string()
        }
        Phase::Accepted => format!("Accepted: all {} blocking jobs succeeded.", blocking.len()),
        Phase::Ready => format!(
            "Verification running: {passed} of {} blocking jobs succeeded so far.",
            blocking.len()
        ),
        Phase::Pending => "Waiting for the payload to be built.".to_string(),
        Phase::Failed => "The payload could not be built.".to_string(),
        Phase::Published => {
            "Published by a Streamgate promotion, awaiting the release-controller: \
            it says whether the release is accepted once its stream lists it."
                .to_string()
        }
        Phase::Unknown => "Phase unknown.".to_string(),
    };
    let (older, newer) = r.neighbours.clone();
    view! {
        <Title text=r.name.clone() />
        <Follows scope=LiveScope::release(r.stream.clone(), r.name.clone()) />
        <nav class="crumbs">
            <a href="/">"Streams"</a>
            " / "
            <a href=format!("/streams/{}", r.stream)>{r.stream.clone()}</a>
        </nav>
        <h1 class="release-name">{r.name.clone()}</h1>
        <p class="status">
            <PhaseBadge phase=r.phase />
            " "
            <span class="verdict">{verdict}</span>
        </p>
        {r.since_accepted.as_ref().map(|s| view! {
            <p class="since-accepted">
                {s.sentence()}
                " "
                <a href=format!("/compare/{}/{}", encode(&s.release), encode(&r.name))>"Compare"</a>
            </p>
        })}
        {r.changelog.as_ref().map(|c| view! { <p class="what-changed">{c.summary()}</p> })}
        {r.expired_at.map(|t| view! {
            <p class="notice expired-notice">
                {format!("Expired upstream: the release-controller stopped listing this release on {}. Streamgate keeps its history.", utc(t))}
            </p>
        })}
        {r.mirror.clone().map(|m| {
            if m.missing.is_empty() && m.unreachable.is_empty() {
                view! {
                    <p class="mirror ok">
                        {format!("Mirror integrity: all {} referenced digests resolve (checked, unchanged since {}).", m.checked, utc(m.since))}
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <div class="notice mirror-broken" role="alert">
                        <p>
                            <strong>"Mirror integrity failing: "</strong>
                            {format!("{} of {} referenced digests no longer resolve in their registry ({} could not be checked) since {}. Installs and upgrades to this release will fail.", m.missing.len(), m.checked, m.unreachable.len(), utc(m.since))}
                        </p>
                        <ul>
                            {m.missing.iter().map(|d| view! { <li><code>{d.clone()}</code>" — missing"</li> }).collect_view()}
                            {m.unreachable.iter().map(|d| view! { <li><code>{d.clone()}</code>" — could not be checked"</li> }).collect_view()}
                        </ul>
                    </div>
                }
                .into_any()
            }
        })}
        <dl class="facts">
            <dt>"Stream"</dt>
            <dd>
                <a href=format!("/streams/{}", r.stream)>{r.stream.clone()}</a>
                {format!(" · {} {}", r.variant.label(), r.kind.label())}
            </dd>
            <dt>"Created"</dt>
            <dd><Age now at=r.created_at /> {format!(" · {}", utc(r.created_at))}</dd>
            <dt>"Pull spec"</dt>
            <dd><PullSpec spec=r.pull_spec.clone() /></dd>
            {(!r.also_in.is_empty()).then(|| view! {
                <dt>"Also in"</dt>
                <dd>
                    {r.also_in.iter().map(|s| view! {
                        <a href=release_href(s, &r.name)>{s.clone()}</a>
                        " "
                    }).collect_view()}
                </dd>
            })}
        </dl>
        <nav class="neighbours" aria-label="Neighbouring releases">
            {newer.map(|n| view! { <a rel="next" href=format!("/releases/{n}")>{format!("← newer: {n}")}</a> })}
            {older.clone().map(|n| view! { <a rel="prev" href=format!("/releases/{n}")>{format!("older: {n} →")}</a> })}
            {older.map(|n| view! { <a class="compare-link" href=format!("/compare/{n}/{}", r.name)>"compare with previous"</a> })}
        </nav>
        <PromotionPanelView
            stream=r.stream.clone()
            release=r.name.clone()
            phase=r.phase
            blocking_failed=r.gates.iter().any(|g| g.kind == GateKind::Blocking && g.state == JobState::Failed)
        />
        <section aria-labelledby="gates-h">
            <h2 id="gates-h">"Gates"</h2>
            {r.details_error.clone().map(|e| view! {
                <p class="details-error">
                    {format!("The release-controller's details of this release could not be read: {e}. The next poll tries again.")}
                </p>
            })}
            {if !r.has_details {
                view! { <p class="empty">"Details not fetched yet: the next poll reads them."</p> }.into_any()
            } else if r.gates.is_empty() {
                view! { <p class="empty">"This stream runs no verification jobs."</p> }.into_any()
            } else {
                view! {
                    <GateTable title="Blocking jobs" gates=blocking stream=r.stream.clone() now />
                    <GateTable title="Informing jobs" gates=informing stream=r.stream.clone() now />
                    <p class="jobs-link"><a href=crate::jobs::ranking_href(&r.stream)>"Which jobs hold this stream back?"</a></p>
                }
                .into_any()
            }}
        </section>
        <ComponentsSection release=r.clone() filter />
        <Upgrades release=r.clone() />
        <section aria-labelledby="changelog-h">
            <h2 id="changelog-h">"Changelog"</h2>
            {match r.changelog.clone() {
                Some(c) => view! { <ChangelogView changelog=c /> }.into_any(),
                None => view! { <p class="empty">"The release-controller produced no changelog for this release."</p> }.into_any(),
            }}
        </section>
    }
}

/// The payload's components with their provenance, filtered by links that work without
/// JavaScript.
#[component]
fn ComponentsSection(release: ReleaseDetail, filter: ComponentFilter) -> impl IntoView {
    let r = release;
    let body = match r.payload.clone() {
        PayloadView::NotRead => view! {
            <p class="empty">"The payload has not been read yet, so its components are not known."</p>
        }
        .into_any(),
        PayloadView::Failed { message, at } => view! {
            <p class="notice payload-failed">
                {format!("Reading the payload failed ({}): {message}", utc(at))}
            </p>
        }
        .into_any(),
        PayloadView::Read { digest, components, previous_read } => {
            // the stream keeps a promoted release that kept its CI name on this page
            let base = format!("/releases/{}?stream={}", r.name, r.stream);
            let link = |f: ComponentFilter| {
                let q = f.query();
                if q.is_empty() { base.clone() } else { format!("{base}&{q}") }
            };
            let total = components.len();
            let era = crate::model::EraEvidence::of(&components);
            let platforms = crate::model::payload_platforms(&components);
            let multi = !platforms.is_empty();
            let differing = components.iter().filter(|c| !c.differing().is_empty()).count();
            let shown: Vec<ComponentInfo> = components.into_iter().filter(|c| filter.keeps(c)).collect();
            let mut options = vec![(
                "all".to_string(),
                link(ComponentFilter { provenance: None, ..filter }),
                filter.provenance.is_none(),
            )];
            for k in ProvenanceKind::ALL {
                options.push((
                    k.label().to_string(),
                    link(ComponentFilter { provenance: Some(k), ..filter }),
                    filter.provenance == Some(k),
                ));
            }
            let changed_link = link(ComponentFilter { changed: !filter.changed, ..filter });
            view! {
                <p class="explain">
                    {format!("{total} components in payload ")}
                    <code class="digest" title=digest.clone()>{crate::components::short_digest(&digest)}</code>
                    {format!("; showing {}.", shown.len())}
                </p>
                {multi.then(|| view! {
                    <p class="explain platforms">
                        {format!(
                            "A multi-arch payload for {}. Provenance is shown for {}; each platform's image is judged on its own evidence{}.",
                            platforms.join(", "),
                            platforms[0],
                            match differing {
                                0 => ", and no platform differs".to_string(),
                                1 => ": 1 component differs on another platform".to_string(),
                                n => format!(": {n} components differ on another platform"),
                            },
                        )}
                    </p>
                })}
                <p class=format!("era era-{}", era.css())>{era.sentence()}</p>
                <nav class="filters" aria-label="Filter components">
                    {options.into_iter().map(|(label, href, current)| view! {
                        <a href=href class="filter" class:active=current aria-current=current.then_some("true")>{label}</a>
                        " "
                    }).collect_view()}
                    {if previous_read {
                        view! {
                            <a href=changed_link class="filter" class:active=filter.changed aria-current=filter.changed.then_some("true")>
                                "changed since previous"
                            </a>
                        }.into_any()
                    } else {
                        view! { <span class="none">"(previous release's payload not read)"</span> }.into_any()
                    }}
                </nav>
                <table class="components">
                    <thead>
                        <tr>
                            <th scope="col">"Component"</th>
                            <th scope="col">"Provenance"</th>
                            {multi.then(|| view! { <th scope="col">"Architectures"</th> })}
                            <th scope="col">"Commit"</th>
                            <th scope="col">"Digest"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {shown.into_iter().map(|c| view! {
                            <tr data-component=c.name.clone() class:changed=c.changed == Some(true)>
                                <td><a href=format!("/components/{}", c.name)>{c.name.clone()}</a></td>
                                <td><ProvenanceLabel provenance=c.provenance.clone() /></td>
                                {multi.then(|| view! { <td><Architectures component=c.clone() /></td> })}
                                <td><CommitLink component=c.clone() /></td>
                                <td><DigestCell component=c.clone() /></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="components-h">
            <h2 id="components-h">"Components"</h2>
            {body}
        </section>
    }
}

/// The platforms a component has an image for, each platform whose provenance differs from
/// the kept platform's with its own label.
#[component]
fn Architectures(component: ComponentInfo) -> impl IntoView {
    let differing: Vec<ArchImage> = component.differing().into_iter().cloned().collect();
    let names: Vec<&str> = component
        .architectures
        .iter()
        .map(ArchImage::short)
        .collect();
    let names = names.join(" · ");
    view! {
        <span class="arches">{names}</span>
        {differing.into_iter().map(|a| view! {
            <span class="arch-differs" data-platform=a.platform.clone()>
                {format!("{}: ", a.short())}
                <ProvenanceLabel provenance=a.provenance.clone() />
            </span>
        }).collect_view()}
    }
}

/// The pull spec, selectable, with a copy button once the page is interactive.
#[island]
pub fn PullSpec(spec: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = spec.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
        copied.set(true);
    };
    view! {
        <span class="pullspec">
            <code id="pullspec">{spec}</code>
            <button type="button" class="copy" on:click=copy aria-label="Copy pull spec">
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </span>
    }
}

#[component]
fn GateTable(
    title: &'static str,
    gates: Vec<Gate>,
    stream: String,
    now: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    (!gates.is_empty()).then(|| {
        view! {
            <table class="gates">
                <caption>{title}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Job"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Retries"</th>
                        <th scope="col">"Finished"</th>
                    </tr>
                </thead>
                <tbody>
                    {gates
                        .into_iter()
                        .map(|g| {
                            let state_class = format!("state {}", g.state.css());
                            let attempts = g.previous_attempt_urls.clone();
                            let name = g.name.clone();
                            view! {
                                <tr data-gate=g.name.clone()>
                                    <td>
                                        <ExternalLink href=g.url.clone()>{name}</ExternalLink>
                                        {(g.kind == GateKind::Async).then(|| view! { <small>" (async)"</small> })}
                                        " "
                                        <a class="job-history" href=crate::jobs::job_href(&stream, &g.name) title="This job's runs across the stream">"history"</a>
                                    </td>
                                    <td class=state_class>{g.state.as_str()}</td>
                                    <td>
                                        {g.retries}
                                        {(!attempts.is_empty()).then(|| view! {
                                            " · "
                                            {attempts.into_iter().enumerate().map(|(i, u)| view! {
                                                <ExternalLink href=u>{format!("attempt {}", i + 1)}</ExternalLink>
                                                " "
                                            }).collect_view()}
                                        })}
                                    </td>
                                    <td>
                                        {g.transition_time.map(|t| view! { <Age now at=t /> })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
    })
}

#[component]
fn Upgrades(release: ReleaseDetail) -> impl IntoView {
    let r = release;
    let into = r.upgrades_into.clone();
    let out = r.upgrades_out.clone();
    let finished = |e: &&UpgradeEdge| e.success + e.failure > 0;
    let succeeded = into.iter().filter(|e| e.success > 0).count();
    let failed = into
        .iter()
        .filter(|e| e.success == 0 && e.failure > 0)
        .count();
    let pending = into.iter().filter(|e| !finished(e)).count();
    let explanation = match (&r.declared_previous, into.is_empty()) {
        (Some(prev), _) if prev.is_empty() => {
            "The payload declares no versions it can upgrade from (metadata previous is empty), so no cluster is offered an update to it.".to_string()
        }
        (Some(prev), _) => {
            let tested = prev
                .iter()
                .filter(|v| into.iter().filter(finished).any(|e| &e.from == *v))
                .count();
            let untested: Vec<&str> = prev
                .iter()
                .filter(|v| !into.iter().any(|e| &e.from == *v))
                .map(String::as_str)
                .collect();
            let mut text = format!(
                "The payload declares {} versions it can upgrade from; the controller tested {tested} of them with a result.",
                prev.len()
            );
            if !untested.is_empty() {
                text.push_str(&format!(
                    " Never tested, so never offered: {}.",
                    untested.join(", ")
                ));
            }
            text
        }
        (None, true) if r.kind == StreamKind::Ci || r.kind == StreamKind::Nightly => {
            "CI releases are not update targets for clusters; no upgrade into this release has been tested yet.".to_string()
        }
        (None, true) => "No upgrade into this release has been tested, so update graphs built from the controller show no edge to it.".to_string(),
        (None, false) => format!(
            "The controller tested upgrades from {} releases with a result; {succeeded} succeeded at least once. Update graphs built from the controller keep only edges with a successful run, so a cluster on a version without one sees no update to this release.",
            into.len() - pending
        ),
    };
    let outcome = (failed + pending > 0).then(|| {
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{failed} tested and failed, will not be offered"));
        }
        if pending > 0 {
            parts.push(format!("{pending} still running"));
        }
        format!("Of the edges into this release: {}.", parts.join("; "))
    });
    let promoted = matches!(r.kind, StreamKind::Stable | StreamKind::Next);
    view! {
        <section aria-labelledby="upgrades-h">
            <h2 id="upgrades-h">"Upgrades"</h2>
            <p class="explain">{explanation}</p>
            {outcome.map(|o| view! { <p class="explain outcome">{o}</p> })}
            {r.declared_previous.clone().map(|prev| view! {
                <p class="declared">"Declared upgrade sources: " {prev.join(", ")}</p>
            })}
            <EdgeTable title="Into this release, from" edges=into from_side=true />
            <EdgeTable title="Out of this release, to" edges=out from_side=false />
            {promoted.then(|| view! {
                <p class="graph-link">
                    <a href=format!("/streams/{}#upgrade-graph", r.stream)>{format!("Upgrade graph of {}", r.stream)}</a>
                </p>
            })}
            <crate::upgrade::UpgradeForm from=String::new() to=r.name.clone() />
        </section>
    }
}

#[component]
fn EdgeTable(title: &'static str, edges: Vec<UpgradeEdge>, from_side: bool) -> impl IntoView {
    (!edges.is_empty()).then(|| {
        view! {
            <table class="upgrades">
                <caption>{title}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Release"</th>
                        <th scope="col">"Result"</th>
                        <th scope="col">"Runs"</th>
                    </tr>
                </thead>
                <tbody>
                    {edges
                        .into_iter()
                        .map(|e| {
                            let other = if from_side { e.from.clone() } else { e.to.clone() };
                            let result = if e.success > 0 && e.failure == 0 {
                                ("ok", "succeeded")
                            } else if e.success > 0 {
                                ("mixed", "succeeded with failures")
                            } else if e.failure > 0 {
                                ("bad", "tested and failed, will not be offered")
                            } else {
                                ("pending", "pending")
                            };
                            view! {
                                <tr>
                                    <td>
                                        {if e.other_stream.is_some() {
                                            view! { <a href=format!("/releases/{other}")>{other.clone()}</a> }.into_any()
                                        } else {
                                            view! { <span>{other.clone()}</span> }.into_any()
                                        }}
                                    </td>
                                    <td class=format!("edge {}", result.0)>
                                        {format!("{} ({} of {} passed)", result.1, e.success, e.total)}
                                    </td>
                                    <td>
                                        <RunLinks runs=e.runs />
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
    })
}

#[component]
fn ChangelogView(changelog: Changelog) -> impl IntoView {
    let c = changelog;
    view! {
        <p>
            "Changes from "
            <a href=format!("/releases/{}", c.from)>{c.from.clone()}</a>
            {c.promoted_from.clone().map(|p| view! { " · promoted from " <code>{p}</code> })}
        </p>
        {(!c.components.is_empty()).then(|| view! {
            <h3>"Components"</h3>
            <ul class="components">
                {c.components.iter().map(|comp| view! {
                    <li>
                        {comp.name.clone()} " " <strong>{comp.version.clone()}</strong>
                        {comp.from.clone().map(|f| view! { <span class="was">{format!(" (was {f})")}</span> })}
                        {comp.diff_url.clone().map(|u| view! { " " <ExternalLink href=u>"diff"</ExternalLink> })}
                    </li>
                }).collect_view()}
            </ul>
        })}
        <ImageList title="Updated images" images=c.updated_images.clone() />
        <ImageList title="New images" images=c.new_images.clone() />
        <ImageList title="Removed images" images=c.removed_images.clone() />
        <ImageList title="Rebuilt without code change" images=c.rebuilt_images.clone() />
    }
}

#[component]
fn ImageList(title: &'static str, images: Vec<ChangedImage>) -> impl IntoView {
    (!images.is_empty()).then(|| {
        view! {
            <h3>{format!("{title} ({})", images.len())}</h3>
            <ul class="images">
                {images
                    .into_iter()
                    .map(|img| {
                        view! {
                            <li>
                                <ExternalLink href=img.path.clone()>{img.name.clone()}</ExternalLink>
                                {img.full_change_log.clone().map(|u| view! { " · " <ExternalLink href=u>"full changelog"</ExternalLink> })}
                                <ul>
                                    {img.commits.into_iter().map(|commit| view! {
                                        <li>
                                            {commit.issues.into_iter().map(|(k, u)| view! { <ExternalLink href=u>{k}</ExternalLink> ": " }).collect_view()}
                                            {commit.subject.clone()}
                                            {commit.pull_url.clone().map(|u| view! {
                                                " " <ExternalLink href=u>{commit.pull_id.map_or("PR".to_string(), |id| format!("#{id}"))}</ExternalLink>
                                            })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ComponentInfo, Provenance};

    fn component(provenance: Provenance, changed: Option<bool>) -> ComponentInfo {
        ComponentInfo {
            name: "installer".into(),
            provenance,
            source: String::new(),
            commit: String::new(),
            commit_url: None,
            image: String::new(),
            digest: String::new(),
            changed,
            architectures: Vec::new(),
        }
    }

    #[test]
    fn component_filters_read_the_query_and_keep_matching_rows() {
        let all = ComponentFilter::from_query(None, None).expect("valid");
        assert_eq!(all, ComponentFilter::default());
        assert_eq!(all.query(), "");
        let okd_changed = ComponentFilter::from_query(Some("okd"), Some("1")).expect("valid");
        assert_eq!(okd_changed.query(), "provenance=okd&changed=1");
        let okd = Provenance::BuiltForOkd {
            compared_with: "4.21.0-0.ci-2026-02-09-101010".into(),
            stream: "4.21.0-0.ci".into(),
        };
        assert!(okd_changed.keeps(&component(okd.clone(), Some(true))));
        assert!(!okd_changed.keeps(&component(okd.clone(), Some(false))));
        assert!(!okd_changed.keeps(&component(okd, None)));
        let unknown = ComponentFilter::from_query(Some("unknown"), None).expect("valid");
        assert!(unknown.keeps(&component(
            Provenance::Unknown {
                reason: "no OCP CI 4.21 payload read".into()
            },
            None
        )));
        let mirrored = Provenance::Mirrored {
            release: "4.21.0-0.ci-2026-02-09-101010".into(),
            stream: "4.21.0-0.ci".into(),
        };
        assert!(!okd_changed.keeps(&component(mirrored.clone(), Some(true))));
        assert!(all.keeps(&component(mirrored, None)));
        assert!(matches!(
            ComponentFilter::from_query(Some("sideways"), None),
            Err(AppError::BadRequest(_))
        ));
    }
}
