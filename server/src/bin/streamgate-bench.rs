//! Ingest benchmark: plays the demo history and a 10x larger generated one from the replay
//! release-controllers into SQLite and PostgreSQL with the real poller, and reports events
//! per second against a baseline measured in the same run: the same playback with the
//! answers fetched and parsed but not stored. It also checks that a repeat poll with nothing
//! changed writes nothing. Run through `bench/run` (or `./dev bench`).
//!
//! `streamgate-bench scale <database-url>` instead fills a database with the scale data
//! set of the search and job-page benchmark (see [`scale`]) and prints what to ask of it.

use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use server::formats::release_controller as wire;
use server::ingest::release_controller::{Controller, PollRegistry, PollTiming, Poller};
use server::replay::{self, dataset::Dataset, ReplayState};
use server::store::Store;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Msg(String),
}

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Msg(e.to_string())
}

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

struct Run {
    seconds: f64,
    events: i64,
    requests: u64,
    /// The requests made at each clock step, for the baseline.
    steps: Vec<(DateTime<Utc>, Vec<String>)>,
}

fn controllers(addr: std::net::SocketAddr) -> Vec<Controller> {
    ["origin", "ocp"]
        .into_iter()
        .map(|n| Controller {
            name: n.into(),
            base_url: format!("http://{addr}/{n}"),
            include: None,
            exclude: None,
        })
        .collect()
}

/// Plays the whole history into `store` and returns the time, events and requests.
async fn play(
    state: &ReplayState,
    addr: std::net::SocketAddr,
    store: &Store,
) -> Result<Run, BenchError> {
    let times: Vec<_> = state
        .dataset()
        .event_times(chrono::Duration::hours(6))
        .into_iter()
        .filter(|t| *t <= anchor())
        .chain([anchor()])
        .collect();
    let registry = PollRegistry::default();
    let mut pollers = Vec::new();
    for c in controllers(addr) {
        let clock = state.clone();
        pollers.push(
            Poller::new(store.clone(), c, PollTiming::default(), registry.clone())
                .map_err(err)?
                .with_clock(std::sync::Arc::new(move || clock.now())),
        );
    }
    let started = Instant::now();
    let mut requests = 0u64;
    let mut steps = Vec::new();
    for t in times {
        state.set_now(t);
        let before = state.requests().len();
        for p in &pollers {
            let report = p.poll_once().await.map_err(err)?;
            requests += u64::from(report.requests);
        }
        steps.push((t, state.requests()[before..].to_vec()));
    }
    let seconds = started.elapsed().as_secs_f64();
    let events = store.event_count().await.map_err(err)?;
    // a repeat poll when nothing changed must write nothing
    for p in &pollers {
        let report = p.poll_once().await.map_err(err)?;
        if report.events != 0 {
            return Err(err(format!("repeat poll wrote {} events", report.events)));
        }
    }
    if store.event_count().await.map_err(err)? != events {
        return Err(err("repeat poll changed the event count"));
    }
    Ok(Run {
        seconds,
        events,
        requests,
        steps,
    })
}

/// The baseline: the same requests, fetched and parsed, nothing stored.
async fn fetch_only(
    state: &ReplayState,
    addr: std::net::SocketAddr,
    steps: &[(DateTime<Utc>, Vec<String>)],
) -> Result<f64, BenchError> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    for (t, paths) in steps {
        state.set_now(*t);
        for p in paths {
            let body = client
                .get(format!("http://{addr}{p}"))
                .send()
                .await
                .map_err(err)?
                .text()
                .await
                .map_err(err)?;
            if p.contains("/release/") {
                let _: wire::ApiReleaseInfo = serde_json::from_str(&body).map_err(err)?;
            } else if p.contains("/tags") {
                let _: wire::ApiRelease = serde_json::from_str(&body).map_err(err)?;
            } else {
                let _: wire::ReleaseStreams = serde_json::from_str(&body).map_err(err)?;
            }
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn run() -> Result<(), BenchError> {
    let pg_url = std::env::var("STREAMGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let dir = tempfile_dir()?;
    println!("| data set | backend | tags | events | requests | seconds | events/s | baseline s (fetch+parse only) | ratio (store / baseline) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, factor) in [("demo", 1usize), ("10x", 10)] {
        let dataset = if factor == 1 {
            Dataset::demo(anchor())
        } else {
            Dataset::scaled(anchor(), factor)
        }
        .map_err(err)?;
        let tags = dataset.tag_count();
        let state = ReplayState::new(dataset, anchor());
        let (addr, _task) = replay::start(state.clone()).await.map_err(err)?;
        for backend in ["sqlite", "postgres"] {
            let store = match backend {
                "sqlite" => {
                    let store = Store::connect(&format!("sqlite://{dir}/bench-{label}.db"))
                        .await
                        .map_err(err)?;
                    store.migrate().await.map_err(err)?;
                    store
                }
                _ => server::store::fresh_postgres(&pg_url, &format!("sg_bench_{label}"))
                    .await
                    .map_err(err)?,
            };
            state.clear_requests();
            let result = play(&state, addr, &store).await?;
            // the same requests at the same clock steps, fetched and parsed but not stored
            let baseline = fetch_only(&state, addr, &result.steps).await?;
            println!(
                "| {label} | {backend} | {tags} | {} | {} | {:.2} | {:.0} | {:.2} | {:.2} |",
                result.events,
                result.requests,
                result.seconds,
                result.events as f64 / result.seconds,
                baseline,
                result.seconds / baseline
            );
            store.close().await;
        }
    }
    println!("\nrepeat poll with nothing changed: 0 events written (checked for every row above)");
    let result = badge_cost(&dir, &pg_url).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A stream's tag list with `n` tags, one a day backwards from the anchor, mixed phases.
fn synthetic_tags(stream: &str, n: usize) -> String {
    let tags: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let t = anchor() - chrono::Duration::hours(i as i64);
            let name = format!("{stream}-{}", t.format("%Y-%m-%d-%H%M%S"));
            let phase = if i % 3 == 1 { "Rejected" } else { "Accepted" };
            serde_json::json!({"name": name, "phase": phase, "pullSpec": format!("example.org/r:{name}"), "downloadURL": ""})
        })
        .collect();
    serde_json::json!({"name": stream, "tags": tags}).to_string()
}

/// What a badge asks of the store (stream, latest accepted, latest) for a stream of 10 and
/// one of 10,000 releases: the cost must not grow with the stream.
async fn badge_cost(dir: &str, pg_url: &str) -> Result<(), BenchError> {
    println!("\n## Badge queries: 10 vs 10,000 releases (2,000 badge lookups each, uncached)\n");
    println!("| backend | 10 releases µs/badge | 10,000 releases µs/badge | ratio (10,000 / 10) |");
    println!("|---|---|---|---|");
    for backend in ["sqlite", "postgres"] {
        let store = match backend {
            "sqlite" => {
                let store = Store::connect(&format!("sqlite://{dir}/bench-badges.db"))
                    .await
                    .map_err(err)?;
                store.migrate().await.map_err(err)?;
                store
            }
            _ => server::store::fresh_postgres(pg_url, "sg_bench_badges")
                .await
                .map_err(err)?,
        };
        for (stream, n) in [("9.9.0-0.okd-scos", 10usize), ("9.8.0-0.okd-scos", 10_000)] {
            let event = server::store::events::NewEvent {
                source: "bench".into(),
                kind: server::events::RC_TAGS.into(),
                subject: stream.into(),
                payload: synthetic_tags(stream, n),
                received_at: anchor(),
                external_id: None,
            };
            server::events::ingest(&store, event).await.map_err(err)?;
        }
        let mut per_badge = Vec::new();
        for stream in ["9.9.0-0.okd-scos", "9.8.0-0.okd-scos"] {
            let started = Instant::now();
            for _ in 0..2000 {
                store.stream(stream).await.map_err(err)?;
                store
                    .latest_release(stream, Some("Accepted"))
                    .await
                    .map_err(err)?;
                store.latest_release(stream, None).await.map_err(err)?;
            }
            per_badge.push(started.elapsed().as_secs_f64() * 1e6 / 2000.0);
        }
        println!(
            "| {backend} | {:.0} | {:.0} | {:.2} |",
            per_badge[0],
            per_badge[1],
            per_badge[1] / per_badge[0]
        );
        store.close().await;
    }
    Ok(())
}

fn tempfile_dir() -> Result<String, BenchError> {
    let dir = std::env::temp_dir().join(format!("streamgate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(err)?;
    Ok(dir.display().to_string())
}

/// Releases of the scale data set's one stream, one an hour back from now.
const SCALE_RELEASES: usize = 10_000;
/// Distinct verification jobs of the stream.
const SCALE_JOBS: usize = 200;
/// Jobs each release runs (one blocking): each job runs on every tenth release.
const SCALE_JOBS_PER_RELEASE: usize = 20;
/// Pull requests each release's changelog names.
const SCALE_PULLS_PER_RELEASE: usize = 3;
const SCALE_STREAM: &str = "4.21.0-0.okd-scos";
const SCALE_REPOS: [&str; 8] = [
    "installer",
    "machine-config-operator",
    "cluster-network-operator",
    "ovn-kubernetes",
    "cluster-ingress-operator",
    "console",
    "oc",
    "cluster-version-operator",
];
const SCALE_WORDS: [&str; 12] = [
    "bootstrap",
    "timeout",
    "retry",
    "ingress",
    "certificate",
    "rotation",
    "upgrade",
    "metrics",
    "leak",
    "proxy",
    "etcd",
    "route",
];

/// The scale data set, ingested as the poller would record it: one tag list of
/// [`SCALE_RELEASES`] releases and each release's details, with [`SCALE_JOBS_PER_RELEASE`] of
/// [`SCALE_JOBS`] jobs and a changelog naming [`SCALE_PULLS_PER_RELEASE`] pull requests (one
/// in three fixing a bug). Prints the queries to measure, as shell assignments.
async fn scale(url: &str) -> Result<(), BenchError> {
    let store = if url.starts_with("sqlite:") {
        let store = Store::connect(url).await.map_err(err)?;
        store.migrate().await.map_err(err)?;
        store
    } else {
        let (base, name) = url
            .rsplit_once('/')
            .ok_or_else(|| err("no database name"))?;
        server::store::fresh_postgres(&format!("{base}/test"), name)
            .await
            .map_err(err)?
    };
    let now = Utc::now();
    let names: Vec<String> = (0..SCALE_RELEASES)
        .map(|i| {
            let t = now - chrono::Duration::hours(i as i64 + 1);
            format!("{SCALE_STREAM}-{}", t.format("%Y-%m-%d-%H%M%S"))
        })
        .collect();
    let phase = |i: usize| if i % 3 == 1 { "Rejected" } else { "Accepted" };
    let event = |kind: &str, subject: &str, payload: String| server::store::events::NewEvent {
        source: "bench".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload,
        received_at: now,
        external_id: None,
    };
    let tags: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| serde_json::json!({"name": n, "phase": phase(i), "pullSpec": format!("example.org/r:{n}"), "downloadURL": ""}))
        .collect();
    let list = serde_json::json!({"name": SCALE_STREAM, "tags": tags}).to_string();
    server::events::ingest(&store, event(server::events::RC_TAGS, SCALE_STREAM, list))
        .await
        .map_err(err)?;
    let started = Instant::now();
    for (i, name) in names.iter().enumerate() {
        let jobs: serde_json::Map<String, serde_json::Value> = (0..SCALE_JOBS_PER_RELEASE)
            .map(|k| {
                let job = (i * SCALE_JOBS_PER_RELEASE + k) % SCALE_JOBS;
                let failed = (i + job).is_multiple_of(7);
                let retries = u32::from((i + job).is_multiple_of(5));
                (
                    format!("e2e-scale-{job:03}"),
                    serde_json::json!({"state": if failed { "Failed" } else { "Succeeded" },
                        "retries": retries, "url": format!("https://prow.example/{i}/{job}")}),
                )
            })
            .collect();
        let commits: Vec<serde_json::Value> = (0..SCALE_PULLS_PER_RELEASE)
            .map(|k| {
                let n = i * SCALE_PULLS_PER_RELEASE + k;
                let repo = SCALE_REPOS[n % SCALE_REPOS.len()];
                let words = format!(
                    "{} {} {}",
                    SCALE_WORDS[n % 12],
                    SCALE_WORDS[(n / 12) % 12],
                    SCALE_WORDS[(n / 144) % 12]
                );
                let subject = if n.is_multiple_of(3) {
                    format!("OCPBUGS-{}: fix {words}", 10_000 + n)
                } else {
                    format!("NO-JIRA: {words}")
                };
                let issues = if n.is_multiple_of(3) {
                    serde_json::json!({format!("OCPBUGS-{}", 10_000 + n): "https://issues.redhat.com/browse/x"})
                } else {
                    serde_json::json!({})
                };
                serde_json::json!({"repo": repo, "subject": subject, "pullID": n + 1,
                    "pullURL": format!("https://github.com/openshift/{repo}/pull/{}", n + 1),
                    "issues": issues})
            })
            .collect();
        let images: Vec<serde_json::Value> = commits
            .iter()
            .map(|c| {
                let repo = c["repo"].as_str().unwrap_or("installer");
                serde_json::json!({"name": repo,
                    "path": format!("https://github.com/openshift/{repo}/tree/{:040x}", i * 7 + 1),
                    "commits": [c]})
            })
            .collect();
        let info = serde_json::json!({"name": name, "phase": phase(i),
            "results": {"blockingJobs": {}, "informingJobs": jobs},
            "changeLogJson": {"from": {"name": "x", "created": "2026-01-01T00:00:00Z", "digest": ""},
                "to": {"name": name, "created": "2026-01-01T00:00:00Z", "digest": ""},
                "updatedImages": images}});
        server::events::ingest(
            &store,
            event(
                server::events::RC_RELEASE,
                &format!("{SCALE_STREAM}/{name}"),
                info.to_string(),
            ),
        )
        .await
        .map_err(err)?;
    }
    eprintln!(
        "scale data set: {SCALE_RELEASES} releases ingested in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // what autovacuum does on its own soon after a load this size
    store.analyze().await.map_err(err)?;
    // a fix from the middle of the history, and the words of another's title
    let n = (SCALE_RELEASES / 2) * SCALE_PULLS_PER_RELEASE;
    let repo = SCALE_REPOS[n % SCALE_REPOS.len()];
    println!("STREAM={SCALE_STREAM}");
    println!("PULL=openshift/{repo}%23{}", n + 1);
    println!("BUG=OCPBUGS-{}", 10_000 + n);
    println!("WORDS=etcd+proxy+rout");
    println!(
        "PREFIX={}",
        &names[SCALE_RELEASES / 2][..SCALE_STREAM.len() + 8]
    );
    println!("JOB=e2e-scale-007");
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, url] = args.as_slice() {
        if mode == "scale" {
            return match scale(url).await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench failed: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
    }
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
