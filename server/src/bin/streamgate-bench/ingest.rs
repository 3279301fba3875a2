//! Ingest: plays the demo history and a 10x larger generated one from the replay
//! release-controllers into SQLite and PostgreSQL with the real poller, and reports events
//! per second against a baseline measured in the same run: the same playback with the
//! answers fetched and parsed but not stored. It also checks that a repeat poll with nothing
//! changed writes nothing.

use std::time::Instant;

use chrono::{DateTime, Utc};
use server::formats::release_controller as wire;
use server::ingest::release_controller::{Controller, PollRegistry, PollTiming, Poller};
use server::replay::{self, dataset::Dataset, ReplayState};
use server::store::Store;

use crate::{anchor, err, tempfile_dir, BenchError};

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

pub async fn run() -> Result<(), BenchError> {
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
