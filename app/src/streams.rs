//! The front page (OKD/SCOS and OKD/FCOS side by side, with health) and a stream's
//! paginated, filterable release list.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::live::{Follows, LiveScope};
use crate::model::{
    Overview, Phase, ReleaseRef, StreamKind, StreamPage as StreamPageData, StreamSummary,
};
use crate::widgets::{age, span, Age, ErrorView, PhaseBadge, PollLine};

/// `/`: every OKD stream with its latest releases and health.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| api::get_overview());
    view! {
        <Title text="Release streams" />
        <Follows scope=LiveScope::everything() />
        <Transition fallback=|| view! { <p class="loading">"Loading streams…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <OverviewView overview=o /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let now = overview.now;
    let polls = overview.polls.clone();
    let empty = overview.groups.iter().all(|(_, s)| s.is_empty()) && overview.others.is_empty();
    view! {
        <h1>"OKD release streams"</h1>
        <div class="polls">
            {polls.into_iter().map(|poll| view! { <PollLine now poll /> }).collect_view()}
        </div>
        {empty.then(|| view! {
            <p class="empty">"No streams yet: the first poll of the release-controllers has not finished."</p>
        })}
        <div class="variants">
            {overview
                .groups
                .into_iter()
                .map(|(variant, streams)| {
                    view! {
                        <section class="variant" aria-labelledby=format!("v-{}", variant.as_str())>
                            <h2 id=format!("v-{}", variant.as_str())>{variant.label()}</h2>
                            {(variant == crate::model::Variant::OkdFcos).then(|| view! {
                                <p class="note">"OKD/FCOS ended after 4.15; its history stays here."</p>
                            })}
                            {streams.into_iter().map(|s| view! { <StreamCard now stream=s /> }).collect_view()}
                        </section>
                    }
                })
                .collect_view()}
        </div>
        {(!overview.others.is_empty()).then(|| view! {
            <section class="others">
                <h2>"OCP CI (source of mirrored components)"</h2>
                <div class="cards">
                    {overview.others.into_iter().map(|s| view! { <StreamCard now stream=s /> }).collect_view()}
                </div>
            </section>
        })}
    }
}

#[component]
fn StreamCard(now: chrono::DateTime<chrono::Utc>, stream: StreamSummary) -> impl IntoView {
    let href = format!("/streams/{}", stream.name);
    let h = stream.health.clone();
    let rate = h
        .acceptance_rate()
        .map(|r| format!("{:.0} %", r * 100.0))
        .unwrap_or_else(|| "–".to_string());
    let streak = match h.streak {
        Some((phase, n)) => format!("{n} {}", phase.as_str().to_lowercase()),
        None => "–".to_string(),
    };
    let since = h
        .last_accepted_at
        .map(|t| span((now - t).num_seconds()))
        .unwrap_or_else(|| "never".to_string());
    let ended = ended(now, &stream);
    let stale = stream.kind == StreamKind::Ci
        && h.last_accepted_at
            .is_none_or(|t| (now - t).num_hours() > 48)
        && ended.is_none();
    view! {
        <article class="stream-card" data-stream=stream.name.clone()>
            <h3>
                <a href=href.clone()>{stream.name.clone()}</a>
                <span class="kind">{stream.kind.label()}</span>
                {ended.map(|why| view! { <span class="kind ended" title=why>"ended"</span> })}
            </h3>
            <dl class="latest">
                <dt>"Latest accepted"</dt>
                <dd>{release_link(now, stream.latest_accepted.clone())}</dd>
                <dt>"Latest"</dt>
                <dd>
                    {stream.latest.clone().map(|r| view! { <PhaseBadge phase=r.phase /> " " })}
                    {release_link(now, stream.latest.clone())}
                </dd>
            </dl>
            <dl class="health">
                <div>
                    <dt>"Accepted, 14 days"</dt>
                    <dd>{rate} <small>{format!(" ({} of {})", h.accepted_14d, h.accepted_14d + h.rejected_14d)}</small></dd>
                </div>
                <div>
                    <dt>"Current streak"</dt>
                    <dd>{streak}</dd>
                </div>
                <div class=if stale { "stale" } else { "" }>
                    <dt>"Since last accepted"</dt>
                    <dd>{since}</dd>
                </div>
            </dl>
            <PhaseChart releases=stream.recent.clone() />
            {stream.era.clone().map(|(release, era)| view! {
                <p class=format!("era era-{}", era.css()) title=format!("by the components of {release}")>
                    {era.sentence()}
                </p>
            })}
            <p class="count">
                <a href=href>{format!("{} releases", stream.release_count)}</a>
            </p>
        </article>
    }
}

/// A CI or nightly stream without a new release for this long has ended upstream (as
/// OKD/FCOS did after 4.15): it is history, not a stream falling behind.
pub const ENDED_AFTER_DAYS: i64 = 30;

/// Why `stream` has ended, or `None` while it is alive: the controller no longer lists it,
/// or a CI or nightly stream made no release for [`ENDED_AFTER_DAYS`].
pub fn ended(now: chrono::DateTime<chrono::Utc>, stream: &StreamSummary) -> Option<String> {
    if !stream.listed_upstream {
        return Some("the release-controller no longer lists this stream".to_string());
    }
    if !matches!(stream.kind, StreamKind::Ci | StreamKind::Nightly) {
        return None;
    }
    let latest = stream.latest.as_ref()?;
    let days = (now - latest.created_at).num_days();
    (days > ENDED_AFTER_DAYS).then(|| {
        format!(
            "no new release for {days} days (last {}): this stream has ended upstream",
            latest.created_at.format("%Y-%m-%d")
        )
    })
}

fn release_link(now: chrono::DateTime<chrono::Utc>, r: Option<ReleaseRef>) -> AnyView {
    match r {
        Some(r) => view! {
            <a href=format!("/releases/{}", r.name)>{r.name.clone()}</a>
            " "
            <small>
                <Age now at=r.created_at />
            </small>
        }
        .into_any(),
        None => view! { <span class="none">"none yet"</span> }.into_any(),
    }
}

/// A strip of small squares, one per recent release, coloured by phase (oldest left).
#[component]
fn PhaseChart(releases: Vec<ReleaseRef>) -> impl IntoView {
    let width = releases.len().max(1) * 10;
    view! {
        <svg class="chart" role="img" viewBox=format!("0 0 {width} 12") width=width height="12">
            <title>{format!("Last {} releases by phase, oldest first", releases.len())}</title>
            {releases
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    view! {
                        <a href=format!("/releases/{}", r.name)>
                            <rect x=i * 10 y="1" width="8" height="10" rx="1" class=r.phase.css()>
                                <title>{format!("{} · {}", r.name, r.phase.as_str())}</title>
                            </rect>
                        </a>
                    }
                })
                .collect_view()}
        </svg>
    }
}

/// `/streams/{stream}`: the stream's releases, newest first.
#[component]
pub fn StreamPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let stream = params.read().get("stream").unwrap_or_default();
        let q = query.read();
        let phase = q.get("phase").filter(|p| !p.is_empty());
        let page = q
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1);
        (stream, phase, page)
    };
    let data = Resource::new(key, |(stream, phase, page)| {
        api::get_stream_page(stream, phase, page)
    });
    view! {
        <Follows scope=LiveScope::stream(params.read_untracked().get("stream").unwrap_or_default()) />
        <Transition fallback=|| view! { <p class="loading">"Loading releases…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <StreamView page /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn StreamView(page: StreamPageData) -> impl IntoView {
    let now = page.now;
    let s = page.stream.clone();
    let base = format!("/streams/{}", s.name);
    let pages = page.total.div_ceil(page.per_page).max(1);
    let link = {
        let base = base.clone();
        move |phase: Option<Phase>, n: u32| {
            let mut q = Vec::new();
            if let Some(p) = phase {
                q.push(format!("phase={}", p.as_str()));
            }
            if n > 1 {
                q.push(format!("page={n}"));
            }
            if q.is_empty() {
                base.clone()
            } else {
                format!("{base}?{}", q.join("&"))
            }
        }
    };
    let current = page.phase;
    let filters = std::iter::once(None)
        .chain(Phase::ALL.into_iter().map(Some))
        .map(|p| {
            let label = p.map_or("All", |p| p.as_str());
            let active = p == current;
            view! {
                <a href=link(p, 1) class=if active { "filter active" } else { "filter" } aria-current=active.then_some("page")>
                    {label}
                </a>
            }
        })
        .collect_view();
    let prev = (page.page > 1)
        .then(|| view! { <a rel="prev" href=link(current, page.page - 1)>"← Newer"</a> });
    let next = (page.page < pages)
        .then(|| view! { <a rel="next" href=link(current, page.page + 1)>"Older →"</a> });
    view! {
        <Title text=s.name.clone() />
        <nav class="crumbs">
            <a href="/">"Streams"</a>
            " / "
            <span>{s.variant.label()}</span>
        </nav>
        <h1>{s.name.clone()} <span class="kind">{s.kind.label()}</span></h1>
        {ended(now, &s).map(|why| view! { <p class="notice ended">{format!("Ended: {why}.")}</p> })}
        {page.poll.clone().map(|poll| view! { <PollLine now poll /> })}
        <p class="summary">
            {format!("{} releases known", s.release_count)}
            {s.latest_accepted.clone().map(|r| view! {
                " · latest accepted "
                <a href=format!("/releases/{}", r.name)>{r.name.clone()}</a>
                {format!(" ({})", age(now, r.created_at))}
            })}
            " · "
            <a class="stream-jobs" href=crate::jobs::ranking_href(&s.name)>
                "What holds it back?"
            </a>
        </p>
        <nav class="filters" aria-label="Filter by phase">
            {filters}
        </nav>
        {if page.releases.is_empty() {
            view! { <p class="empty">"No releases match."</p> }.into_any()
        } else {
            view! {
                <table class="releases">
                    <thead>
                        <tr>
                            <th scope="col">"Release"</th>
                            <th scope="col">"Phase"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Blocking gates"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page
                            .releases
                            .into_iter()
                            .map(|r| {
                                let gates = if r.blocking_total == 0 {
                                    "–".to_string()
                                } else {
                                    format!("{}/{} passed", r.blocking_passed, r.blocking_total)
                                };
                                let gates_class = if r.blocking_total > 0 && r.blocking_passed == r.blocking_total {
                                    "gates ok"
                                } else if r.blocking_total > 0 {
                                    "gates bad"
                                } else {
                                    "gates"
                                };
                                view! {
                                    <tr>
                                        <td>
                                            <a href=format!("/releases/{}", r.name)>{r.name.clone()}</a>
                                            {r.expired_at.map(|_| view! { <span class="expired">"expired upstream"</span> })}
                                        </td>
                                        <td><PhaseBadge phase=r.phase /></td>
                                        <td><Age now at=r.created_at /></td>
                                        <td class=gates_class>{gates}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
        <nav class="pager" aria-label="Pages">
            {prev}
            <span>{format!("Page {} of {pages}", page.page)}</span>
            {next}
        </nav>
        {page.graph.map(|graph| view! { <crate::upgrade::graph::UpgradeGraphView graph /> })}
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::model::{StreamHealth, Variant};

    fn stream(kind: StreamKind, listed: bool, latest_days_ago: Option<i64>) -> StreamSummary {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        StreamSummary {
            name: "4.15.0-0.okd".into(),
            controller: "origin".into(),
            variant: Variant::OkdFcos,
            kind,
            listed_upstream: listed,
            release_count: 3,
            latest_accepted: None,
            latest: latest_days_ago.map(|d| ReleaseRef {
                name: "4.15.0-0.okd-2024-03-10-010116".into(),
                stream: "4.15.0-0.okd".into(),
                phase: Phase::Accepted,
                created_at: now - Duration::days(d),
            }),
            health: StreamHealth {
                accepted_14d: 0,
                rejected_14d: 0,
                streak: None,
                last_accepted_at: None,
            },
            recent: Vec::new(),
            era: None,
        }
    }

    #[test]
    fn a_stream_without_releases_for_a_month_has_ended() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let why = ended(now, &stream(StreamKind::Ci, true, Some(990))).expect("ended");
        assert!(why.contains("no new release for 990 days"), "{why}");
        assert!(ended(now, &stream(StreamKind::Ci, true, Some(2))).is_none());
        assert!(ended(now, &stream(StreamKind::Nightly, true, Some(31))).is_some());
        // promoted streams release every few weeks; they end only when unlisted
        assert!(ended(now, &stream(StreamKind::Stable, true, Some(90))).is_none());
        assert!(ended(now, &stream(StreamKind::Stable, false, Some(90)))
            .is_some_and(|w| w.contains("no longer lists")));
        assert!(ended(now, &stream(StreamKind::Ci, true, None)).is_none());
    }
}
