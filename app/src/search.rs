//! `/search?q=`: "which release has my fix?". The header's search box is a plain GET form
//! (it works without JavaScript); hydrated, it suggests releases, components and pull
//! requests while typing. Finding nothing is an answer, not a 404: the page says what was
//! searched for.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::model::search::{Appearance, Found, Query, ReleaseHit, SearchResults, Suggestion};
use crate::model::StreamKind;
use crate::widgets::{encode, release_href, utc, ErrorView, ExternalLink, PhaseBadge};

/// The search box of the header (an island: its suggestions need the browser).
#[island]
pub fn SearchBox() -> impl IntoView {
    let suggestions = RwSignal::new(Vec::<Suggestion>::new());
    // answers to older keystrokes arriving late are dropped
    let typed = StoredValue::new(0_u64);
    let on_input = move |ev: leptos::ev::Event| {
        let q = event_target_value(&ev);
        let generation = typed.get_value() + 1;
        typed.set_value(generation);
        if q.trim().chars().count() < 2 {
            suggestions.set(Vec::new());
            return;
        }
        leptos::task::spawn_local(async move {
            let list = api::suggest_search(q).await.unwrap_or_default();
            if typed.get_value() == generation {
                suggestions.set(list);
            }
        });
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            suggestions.set(Vec::new());
        }
    };
    view! {
        <form class="search" method="get" action="/search" role="search">
            <input
                type="search"
                name="q"
                aria-label="Search releases, pull requests, bugs, commits, components and digests"
                placeholder="Release, PR, bug, commit…"
                maxlength="256"
                autocomplete="off"
                on:input=on_input
                on:keydown=on_keydown
            />
            <button type="submit">"Search"</button>
            {move || {
                let list = suggestions.get();
                (!list.is_empty()).then(|| view! {
                    <ul class="suggestions" aria-label="Suggestions">
                        {list.into_iter().map(|s| view! {
                            <li>
                                <a href=s.href data-kind=s.kind.clone()>
                                    <span class="kind">{s.kind.clone()}</span>
                                    " "
                                    {s.label}
                                </a>
                            </li>
                        }).collect_view()}
                    </ul>
                })
            }}
        </form>
    }
}

/// The search page.
#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let results = Resource::new(q, |q| async move {
        if q.trim().is_empty() {
            None
        } else {
            Some(api::find_releases(q).await)
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    None => view! {
                        <Title text="Search" />
                        <h1>"Search"</h1>
                        <SearchForm q=String::new() />
                        <Examples />
                    }
                    .into_any(),
                    Some(Ok(results)) => view! { <ResultsView results /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SearchForm(q: String) -> impl IntoView {
    view! {
        <form class="search-page" method="get" action="/search" role="search">
            <label>
                "Find "
                <input type="search" name="q" value=q required maxlength="256" />
            </label>
            " "
            <button type="submit">"Search"</button>
        </form>
    }
}

#[component]
fn Examples() -> impl IntoView {
    view! {
        <p class="explain">
            "Which release has my fix? Search for a pull request (" <code>"openshift/installer#1234"</code>
            " or its URL), a bug (" <code>"OCPBUGS-12345"</code> "), a commit (7 to 40 hex digits),
            an image or payload digest (" <code>"sha256:…"</code> "), a release name or its start ("
            <code>"4.21.0-0.okd-scos-2026"</code> "), a component name, or words of a change's title.
            Each answer says in which release of each stream it first appeared."
        </p>
    }
}

#[component]
fn ResultsView(results: SearchResults) -> impl IntoView {
    let described = results.query.describe();
    let summary = if results.is_empty() {
        format!(
            "Nothing found for {described}: no release, component or change Streamgate has read matches it."
        )
    } else {
        let mut parts = Vec::new();
        if !results.releases.is_empty() {
            parts.push(count(results.releases.len(), "release", "releases"));
        }
        if !results.found.is_empty() {
            parts.push(count(results.found.len(), "match", "matches"));
        }
        let more = if results.more {
            " (the first ones; be more precise to see others)"
        } else {
            ""
        };
        format!("{} for {described}{more}.", parts.join(" and "))
    };
    let examples = results.is_empty() && matches!(results.query, Query::Words(_));
    view! {
        <Title text=format!("Search: {}", results.q) />
        <h1>"Search"</h1>
        <SearchForm q=results.q.clone() />
        <p class="search-summary">{summary}</p>
        {(!results.releases.is_empty()).then(|| view! { <ReleaseHits hits=results.releases /> })}
        {results.found.into_iter().map(|found| view! { <FoundView found /> }).collect_view()}
        {examples.then(|| view! { <Examples /> })}
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    crate::model::plural(u32::try_from(n).unwrap_or(u32::MAX), one, many)
}

#[component]
fn ReleaseHits(hits: Vec<ReleaseHit>) -> impl IntoView {
    view! {
        <section class="release-hits">
            <h2>"Releases"</h2>
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Release"</th>
                        <th scope="col">"Stream"</th>
                        <th scope="col">"Phase"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {hits.into_iter().map(|h| view! {
                        <tr>
                            <td><a href=release_href(&h.stream, &h.name)>{h.name.clone()}</a></td>
                            <td><a href=format!("/streams/{}", encode(&h.stream))>{h.stream.clone()}</a></td>
                            <td><PhaseBadge phase=h.phase /></td>
                            <td>{utc(h.created_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// One line answering "where is it?": its first release, and where it was first accepted
/// and first promoted.
fn answer(found: &Found) -> String {
    let Some(first) = found.appearances.first() else {
        return "In no release Streamgate has read.".to_string();
    };
    let mut line = format!(
        "First in {} ({}, {}).",
        first.release,
        first.stream,
        first.phase.as_str()
    );
    let accepted = found
        .appearances
        .iter()
        .filter(|a| matches!(a.stream_kind, StreamKind::Ci | StreamKind::Nightly))
        .find_map(|a| a.accepted.as_ref().map(|r| (r, a)));
    if let Some((release, a)) = accepted {
        line.push_str(&format!(" First accepted in {release} ({}).", a.stream));
    }
    match found.first_promoted() {
        Some(p) => line.push_str(&format!(" First promoted in {} ({}).", p.release, p.stream)),
        None => line.push_str(" Not in a promoted release yet."),
    }
    line
}

#[component]
fn FoundView(found: Found) -> impl IntoView {
    let answer = answer(&found);
    let title = (found.title != found.key).then(|| found.title.clone());
    let key = found.key.clone();
    let heading = match found.kind {
        crate::model::search::FoundKind::Component => view! {
            <a href=format!("/components/{}", encode(&key))>{key.clone()}</a>
        }
        .into_any(),
        _ => match found.url.clone() {
            Some(url) => view! { <ExternalLink href=url>{key.clone()}</ExternalLink> }.into_any(),
            None => view! { <code>{key.clone()}</code> }.into_any(),
        },
    };
    view! {
        <section class="found" data-kind=found.kind.label()>
            <h2>{found.kind.label()} " " {heading}</h2>
            {title.map(|t| view! { <p class="found-title">{t}</p> })}
            <p class="answer">{answer}</p>
            <Appearances list=found.appearances />
        </section>
    }
}

#[component]
fn Appearances(list: Vec<Appearance>) -> impl IntoView {
    view! {
        <table class="appearances">
            <thead>
                <tr>
                    <th scope="col">"Stream"</th>
                    <th scope="col">"First release"</th>
                    <th scope="col">"Phase"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col" title="the first accepted release of the stream since">"First accepted"</th>
                </tr>
            </thead>
            <tbody>
                {list.into_iter().map(|a| view! {
                    <tr data-stream=a.stream.clone()>
                        <td><a href=format!("/streams/{}", encode(&a.stream))>{a.stream.clone()}</a></td>
                        <td><a href=release_href(&a.stream, &a.release)>{a.release.clone()}</a></td>
                        <td><PhaseBadge phase=a.phase /></td>
                        <td>{utc(a.created_at)}</td>
                        <td>{a.accepted.clone().map_or_else(
                            || view! { <span class="none">"–"</span> }.into_any(),
                            |r| view! { <a href=release_href(&a.stream, &r)>{r.clone()}</a> }.into_any(),
                        )}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::search::FoundKind;
    use crate::model::Phase;
    use chrono::{TimeZone, Utc};

    fn appearance(
        stream: &str,
        kind: StreamKind,
        release: &str,
        accepted: Option<&str>,
    ) -> Appearance {
        Appearance {
            stream: stream.into(),
            stream_kind: kind,
            release: release.into(),
            phase: Phase::Rejected,
            created_at: Utc
                .with_ymd_and_hms(2026, 2, 11, 7, 15, 19)
                .single()
                .expect("valid"),
            accepted: accepted.map(str::to_string),
        }
    }

    #[test]
    fn the_answer_names_first_accepted_and_first_promoted() {
        let mut found = Found {
            kind: FoundKind::Pull,
            key: "openshift/installer#1".into(),
            title: "fix".into(),
            url: None,
            appearances: vec![appearance(
                "4.21.0-0.okd-scos",
                StreamKind::Ci,
                "4.21.0-0.okd-scos-2026-02-11-071519",
                Some("4.21.0-0.okd-scos-2026-02-12-000000"),
            )],
        };
        assert_eq!(
            answer(&found),
            "First in 4.21.0-0.okd-scos-2026-02-11-071519 (4.21.0-0.okd-scos, Rejected). \
             First accepted in 4.21.0-0.okd-scos-2026-02-12-000000 (4.21.0-0.okd-scos). \
             Not in a promoted release yet."
        );
        found.appearances.push(appearance(
            "4-scos-next",
            StreamKind::Next,
            "4.21.0-okd-scos.ec.3",
            None,
        ));
        assert!(answer(&found).ends_with("First promoted in 4.21.0-okd-scos.ec.3 (4-scos-next)."));
        found.appearances.clear();
        assert_eq!(answer(&found), "In no release Streamgate has read.");
    }
}
