//! `/jobs/{name}?stream=`: every run of a verification job across a stream's releases, its
//! pass and flake rates over 7/14/30 days and its current streak, with a server-drawn strip
//! of its runs; and `/jobs?stream=`: the stream's jobs ranked by how often they blocked
//! acceptance in the last 14 days — what holds the stream back.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::model::jobs::{JobPage, JobRanking, JobRun, JobStats};
use crate::widgets::{encode, utc, Age, ErrorView, ExternalLink, PhaseBadge};

/// Runs the strip draws at most (the newest).
const STRIP_RUNS: usize = 90;

/// The link to job `name`'s history in `stream`.
pub fn job_href(stream: &str, name: &str) -> String {
    format!("/jobs/{}?stream={}", encode(name), encode(stream))
}

/// The link to the ranking of `stream`'s jobs.
pub fn ranking_href(stream: &str) -> String {
    format!("/jobs?stream={}", encode(stream))
}

fn rate(r: Option<u32>) -> String {
    r.map_or_else(|| "–".to_string(), |p| format!("{p}%"))
}

/// Without a stream: which stream, as a plain GET form.
#[component]
fn WhichStream(action: String) -> impl IntoView {
    view! {
        <form class="which-stream" method="get" action=action>
            <label>
                "Stream "
                <input name="stream" required maxlength="256" placeholder="4.21.0-0.okd-scos" />
            </label>
            " "
            <button type="submit">"Show"</button>
        </form>
    }
}

/// One job's history.
#[component]
pub fn JobHistoryPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        (
            query.read().get("stream").unwrap_or_default(),
            params.read().get("name").unwrap_or_default(),
        )
    };
    let page = Resource::new(key, |(stream, name)| async move {
        if stream.is_empty() {
            None
        } else {
            Some(api::job_history(stream, name).await)
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Reading the job's runs…"</p> }>
            {move || Suspend::new(async move {
                let (_, name) = key();
                match page.await {
                    None => view! {
                        <Title text=format!("Job {name}") />
                        <h1>"Job " <code>{name.clone()}</code></h1>
                        <p class="explain">"A job's history is per stream: which one?"</p>
                        <WhichStream action=format!("/jobs/{}", encode(&name)) />
                    }
                    .into_any(),
                    Some(Ok(page)) => view! { <JobView page /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobView(page: JobPage) -> impl IntoView {
    let p = page;
    let now = p.now;
    let kind = if p.blocking { "blocking" } else { "informing" };
    let stream_href = format!("/streams/{}", encode(&p.stream));
    let ranking_href = ranking_href(&p.stream);
    let feed_href = format!(
        "/streams/{}/jobs/{}/feed.atom",
        encode(&p.stream),
        encode(&p.name)
    );
    view! {
        <Title text=format!("{} in {}", p.name, p.stream) />
        <h1>"Job " <code>{p.name.clone()}</code></h1>
        <p class="explain">
            {format!("A {kind} job of ")}
            <a href=stream_href>{p.stream.clone()}</a>
            {format!(" (on its newest run). It {}.", p.streak.sentence())}
            " "
            <a href=ranking_href>"All jobs of the stream"</a>
            " · "
            <a class="feed" href=feed_href>"Failures as a feed"</a>
        </p>
        <StatsTable stats=p.stats.clone() />
        <RunStrip runs=p.runs.clone() />
        <RunsTable runs=p.runs now />
    }
}

#[component]
fn StatsTable(stats: Vec<JobStats>) -> impl IntoView {
    view! {
        <table class="job-stats">
            <caption>"Runs on releases created in the last…"</caption>
            <thead>
                <tr>
                    <th scope="col">"Days"</th>
                    <th scope="col">"Runs"</th>
                    <th scope="col">"Passed"</th>
                    <th scope="col">"Failed"</th>
                    <th scope="col" title="passed only on a retry">"Flaked"</th>
                    <th scope="col">"Pass rate"</th>
                    <th scope="col" title="passed only on a retry, of the finished runs">"Flake rate"</th>
                </tr>
            </thead>
            <tbody>
                {stats.into_iter().map(|s| view! {
                    <tr data-days=s.days>
                        <th scope="row">{s.days}</th>
                        <td>{s.runs}</td>
                        <td>{s.passed}</td>
                        <td>{s.failed}</td>
                        <td>{s.flaked}</td>
                        <td class="pass-rate">{rate(s.pass_rate())}</td>
                        <td class="flake-rate">{rate(s.flake_rate())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The state class of a run: passed, flaked, failed or pending.
fn run_class(r: &JobRun) -> &'static str {
    if r.flaked() {
        "flaked"
    } else if r.passed() {
        "passed"
    } else if r.failed() {
        "failed"
    } else {
        "pending"
    }
}

/// The newest runs as a strip of bars, oldest on the left, drawn on the server.
#[component]
fn RunStrip(runs: Vec<JobRun>) -> impl IntoView {
    let shown: Vec<JobRun> = runs.into_iter().take(STRIP_RUNS).collect();
    let width = shown.len() * 8;
    let bars: Vec<(usize, JobRun)> = shown.into_iter().rev().enumerate().collect();
    view! {
        <figure class="run-strip">
            <svg
                role="img"
                aria-label="The job's runs, oldest on the left"
                width=width
                height="28"
                viewBox=format!("0 0 {width} 28")
            >
                {bars.into_iter().map(|(i, r)| {
                    let class = run_class(&r);
                    let height = if r.failed() { 28 } else if r.passed() { 20 } else { 10 };
                    view! {
                        <rect class=format!("bar {class}") x=i * 8 y=28 - height width="6" height=height>
                            <title>{format!("{}: {} ({})", r.release, r.state, utc(r.created_at))}</title>
                        </rect>
                    }
                }).collect_view()}
            </svg>
            <figcaption>
                <span class="bar-key passed">"passed"</span> " "
                <span class="bar-key flaked">"passed on a retry"</span> " "
                <span class="bar-key failed">"failed"</span> " "
                <span class="bar-key pending">"pending"</span>
            </figcaption>
        </figure>
    }
}

#[component]
fn RunsTable(runs: Vec<JobRun>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="empty">"No run on a release of the last 30 days."</p> }
            .into_any();
    }
    view! {
        <table class="job-runs">
            <caption>"Runs, newest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"Release"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Run"</th>
                    <th scope="col">"Retries"</th>
                </tr>
            </thead>
            <tbody>
                {runs.into_iter().map(|r| {
                    let class = format!("run-state {}", run_class(&r));
                    let href = format!("/releases/{}", encode(&r.release));
                    let attempts = r.previous_attempt_urls.clone();
                    view! {
                        <tr data-release=r.release.clone() class=class>
                            <td><a href=href>{r.release.clone()}</a> " " <PhaseBadge phase=r.phase /></td>
                            <td><Age now at=r.created_at /></td>
                            <td><ExternalLink href=r.url.clone()>{r.state.as_str()}</ExternalLink></td>
                            <td>
                                {r.retries}
                                {attempts.into_iter().enumerate().map(|(i, u)| view! {
                                    " " <ExternalLink href=u>{format!("attempt {}", i + 1)}</ExternalLink>
                                }).collect_view()}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A stream's jobs ranked by what blocked acceptance.
#[component]
pub fn JobsPage() -> impl IntoView {
    let query = use_query_map();
    let stream = move || query.read().get("stream").unwrap_or_default();
    let ranking = Resource::new(stream, |stream| async move {
        if stream.is_empty() {
            None
        } else {
            Some(api::rank_jobs(stream).await)
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Ranking the jobs…"</p> }>
            {move || Suspend::new(async move {
                match ranking.await {
                    None => view! {
                        <Title text="What holds a stream back?" />
                        <h1>"What holds a stream back?"</h1>
                        <p class="explain">"A stream's verification jobs, ranked by how often they blocked acceptance: which stream?"</p>
                        <WhichStream action="/jobs".to_string() />
                    }
                    .into_any(),
                    Some(Ok(ranking)) => view! { <RankingView ranking /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RankingView(ranking: JobRanking) -> impl IntoView {
    let r = ranking;
    let stream = r.stream.clone();
    let blocked: u32 = r.jobs.iter().map(|j| j.blocked).sum();
    view! {
        <Title text=format!("Jobs of {}", r.stream) />
        <h1>"Jobs of " <a href=format!("/streams/{}", encode(&r.stream))>{r.stream.clone()}</a></h1>
        <p class="explain">
            {format!(
                "Over releases created in the last {} days, ranked by how many releases each blocked: a rejected release on which it was a failed blocking job ({} in all). A flake passed only on a retry.",
                r.days, blocked
            )}
        </p>
        {if r.jobs.is_empty() {
            view! { <p class="empty">{format!("No job ran on a release of the last {} days.", r.days)}</p> }.into_any()
        } else {
            view! {
                <table class="job-ranking">
                    <thead>
                        <tr>
                            <th scope="col">"Job"</th>
                            <th scope="col">"Kind"</th>
                            <th scope="col">"Blocked"</th>
                            <th scope="col">"Runs"</th>
                            <th scope="col">"Failed"</th>
                            <th scope="col">"Pass rate"</th>
                            <th scope="col">"Flake rate"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {r.jobs.into_iter().map(|j| view! {
                            <tr data-job=j.name.clone()>
                                <td><a href=job_href(&stream, &j.name)>{j.name.clone()}</a></td>
                                <td>{j.kind.as_str()}</td>
                                <td class="blocked">{j.blocked}</td>
                                <td>{j.stats.runs}</td>
                                <td>{j.stats.failed}</td>
                                <td class="pass-rate">{rate(j.stats.pass_rate())}</td>
                                <td class="flake-rate">{rate(j.stats.flake_rate())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
    }
}
