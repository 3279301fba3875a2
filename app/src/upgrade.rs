//! `/upgrade?from=A&to=B`: "why does my cluster on A see no update to B?" — whether A is
//! declared in B's `previous`, whether and how A→B was tested, whether B is promoted, the
//! answer, and the shortest chain of offered updates when the direct one is not offered.
//! A plain GET form, so it works without JavaScript.

pub mod api;
pub mod graph;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::model::upgrade::{UpgradeAnswer, UpgradeEnd};
use crate::widgets::{encode, ErrorView, PhaseBadge, RunLinks};

/// The upgrade question page.
#[component]
pub fn UpgradePage() -> impl IntoView {
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            q.get("from").unwrap_or_default(),
            q.get("to").unwrap_or_default(),
        )
    };
    let answer = Resource::new(key, |(from, to)| async move {
        if from.is_empty() && to.is_empty() {
            None
        } else {
            Some(api::ask_upgrade(from, to).await)
        }
    });
    view! {
        <Title text="Will my cluster be offered this update?" />
        <h1>"Will my cluster be offered this update?"</h1>
        {move || {
            let (from, to) = key();
            view! { <UpgradeForm from to /> }
        }}
        <Suspense fallback=|| view! { <p class="loading">"Looking at the upgrade graph…"</p> }>
            {move || Suspend::new(async move {
                match answer.await {
                    None => view! { <HowItWorks /> }.into_any(),
                    Some(Ok(answer)) => view! { <AnswerView answer /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The question as a form: the version a cluster runs and the one it hopes for.
#[component]
pub fn UpgradeForm(
    /// The version the cluster runs (prefilled).
    from: String,
    /// The version it hopes for (prefilled).
    to: String,
) -> impl IntoView {
    view! {
        <form class="upgrade-question" method="get" action="/upgrade">
            <label>
                "My cluster runs "
                <input name="from" required maxlength="128" value=from placeholder="4.20.0-okd-scos.6" />
            </label>
            <label>
                " and is not offered "
                <input name="to" required maxlength="128" value=to placeholder="4.21.0-okd-scos.1" />
            </label>
            " "
            <button type="submit">"Why?"</button>
        </form>
    }
}

#[component]
fn HowItWorks() -> impl IntoView {
    view! {
        <section class="explain">
            <p>
                "A cluster is offered an update only along an edge the release-controller tested with a successful run, into a release of a promoted stream (stable or next). For a stable release the controller tests a seeded random sample of 3 of the versions its payload declares in "
                <code>"previous"</code>
                ", so a declared version may never be tested."
            </p>
            <p>"Give the version your cluster runs and the one you expected, and this page says which of these applies."</p>
        </section>
    }
}

fn end_link(end: &UpgradeEnd) -> AnyView {
    match &end.stream {
        Some(stream) => view! {
            <a href=format!("/releases/{}?stream={}", encode(&end.name), encode(stream))>{end.name.clone()}</a>
            {end.phase.map(|phase| view! { " " <PhaseBadge phase /> })}
            <small>{format!(" in {stream}")}</small>
        }
        .into_any(),
        None => view! { <span>{end.name.clone()}</span> <small>" (not a release Streamgate knows)"</small> }
            .into_any(),
    }
}

#[component]
fn AnswerView(answer: UpgradeAnswer) -> impl IntoView {
    let a = answer;
    let verdict = a.verdict;
    let (from, to) = (a.from.name.clone(), a.to.name.clone());
    let declared = match (a.declared, a.declared_count) {
        (Some(true), Some(n)) => format!("Yes, among the {n} versions {to} declares in previous."),
        (Some(false), Some(0)) => format!("No: {to} declares no previous versions."),
        (Some(false), Some(n)) => format!("No: {to} declares {n} other versions in previous."),
        _ => format!("Not known: the payload of {to} has not been read."),
    };
    let promoted = if a.promoted_in.is_empty() {
        format!(
            "No: {to} is only in {} ({}), which clusters are not offered.",
            a.to.stream.clone().unwrap_or_default(),
            a.to.kind.map(|k| k.label()).unwrap_or("unknown kind")
        )
    } else {
        format!("Yes, in {}.", a.promoted_in.join(", "))
    };
    let path = a.path.clone();
    let no_chain = path.is_none() && !verdict.offered() && !a.promoted_in.is_empty();
    view! {
        <section class=format!("upgrade-answer verdict-{}", verdict.as_str()) data-verdict=verdict.as_str() aria-labelledby="answer-h">
            <h2 id="answer-h">
                <span class=if verdict.offered() { "answer yes" } else { "answer no" }>{verdict.headline()}</span>
            </h2>
            <p class="ends">"From " {end_link(&a.from)} " to " {end_link(&a.to)}</p>
            <p class="explain">{verdict.explanation()}</p>
            <dl class="facts">
                <dt>{format!("Is {from} declared in {to}'s previous versions?")}</dt>
                <dd class="declared">{declared}</dd>
                <dt>{format!("Was {from} → {to} tested?")}</dt>
                <dd class="tested">{tested(&a)}</dd>
                <dt>{format!("Is {to} in a promoted stream?")}</dt>
                <dd class="promoted">{promoted}</dd>
            </dl>
            {path.map(|p| {
                let hops = p.len() - 1;
                view! {
                    <section class="path" aria-labelledby="path-h">
                        <h3 id="path-h">{format!("A way there: {hops} offered updates")}</h3>
                        <ol class="path">
                            {p.into_iter().map(|name| view! {
                                <li><a href=format!("/releases/{}", encode(&name))>{name.clone()}</a></li>
                            }).collect_view()}
                        </ol>
                        <p class="explain">"Each step is an update clusters are offered: tested with a successful run, into a promoted release."</p>
                    </section>
                }
            })}
            {no_chain.then(|| view! {
                <p class="no-path">{format!("No chain of offered updates leads from {from} to {to}.")}</p>
            })}
        </section>
    }
}

fn tested(a: &UpgradeAnswer) -> AnyView {
    let Some(e) = a.edge.clone() else {
        return view! { <span>"No: the release-controller never reported this upgrade."</span> }
            .into_any();
    };
    let pending = e.total.saturating_sub(e.success + e.failure);
    let summary = match (e.success, e.failure) {
        (0, 0) => format!("Sampled; {} run(s) without a result yet.", e.total),
        (s, 0) => format!("Yes: {s} of {} runs succeeded.", e.total),
        (0, f) => format!(
            "Yes, and it failed: {f} of {} runs failed, none succeeded.",
            e.total
        ),
        (s, f) => format!("Yes: {s} succeeded, {f} failed, of {} runs.", e.total),
    };
    let summary = if pending > 0 && (e.success + e.failure) > 0 {
        format!("{summary} {pending} still running.")
    } else {
        summary
    };
    view! {
        <span>{summary}</span>
        " "
        <RunLinks runs=e.runs />
    }
    .into_any()
}
