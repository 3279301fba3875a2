//! Several replicas on one PostgreSQL database: three real `server` processes poll the same
//! release-controller (the replay, in the upstream format) on loopback. Exactly one polls at a
//! time; when it is killed another takes over within seconds; the log ends up with exactly
//! the events a single poller makes of the same upstream history, none lost and none twice;
//! and a server-sent-event client of one replica hears of changes another replica ingested.

use crate::support::stores;

use std::time::{Duration, Instant};

use crate::support::process::ServerProcess;
use crate::support::sse::Follower;
use chrono::{DateTime, TimeZone, Utc};
use server::ingest::release_controller::{Controller, PollRegistry, PollTiming, Poller};
use server::replay::{self, dataset::Dataset, ReplayState};
use server::store::Store;

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .expect("valid time")
}

/// One replica: `server serve` polling `controller` every second, trying the poll lock
/// every `retry`.
struct Replica(ServerProcess);

impl Replica {
    fn start(db: &str, controller: &str, retry: &str, log: &std::path::Path) -> Replica {
        let controller = format!("origin={controller}");
        Replica(ServerProcess::start(
            &[
                "--no-payloads",
                "--no-promotions",
                "--database-url",
                db,
                "--controller",
                &controller,
                "--include",
                "origin=scos",
                // the replay has no rate limit to be polite to
                "--controller-rate",
                "0",
                "--poll-interval",
                "1s",
                "--poll-lock-retry",
                retry,
            ],
            log,
        ))
    }

    /// This replica's role for the controller, as `/readyz` says.
    async fn role(&self) -> Option<String> {
        let body: serde_json::Value = reqwest::get(format!("{}/readyz", self.0.url))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        body["controllers"][0]["role"].as_str().map(str::to_string)
    }
}

/// The ids of the events after `after`.
async fn ids_after(store: &Store, after: i64) -> Vec<i64> {
    let mut tx = store.begin().await.expect("tx");
    let ids = tx
        .events_after(after, 10_000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.id)
        .collect();
    tx.commit().await.expect("end");
    ids
}

/// Waits until exactly one live replica polls; returns its index.
async fn poller_of(replicas: &[Option<Replica>], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let mut polling = Vec::new();
        for (i, r) in replicas.iter().enumerate() {
            if let Some(r) = r {
                if r.role().await.as_deref() == Some("polling") {
                    polling.push(i);
                }
            }
        }
        if polling.len() == 1 {
            return polling[0];
        }
        assert!(polling.len() <= 1, "two replicas poll at once: {polling:?}");
        assert!(Instant::now() < deadline, "no replica took over polling");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every event's (kind, subject, content hash), sorted: equal lists mean the same inputs
/// were stored, each as often.
async fn inputs(store: &Store) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut tx = store.begin().await.expect("tx");
    let mut after = 0;
    loop {
        let batch = tx.events_after(after, 500).await.expect("events");
        let Some(last) = batch.last() else { break };
        after = last.id;
        out.extend(
            batch
                .into_iter()
                .map(|e| (e.kind, e.subject, e.content_hash)),
        );
    }
    tx.commit().await.expect("end");
    out.sort();
    out
}

/// Waits until the replicas' log holds what the single reference poller stored.
async fn converge(replicas: &Store, reference: &Store, within: Duration) {
    let want = inputs(reference).await;
    let deadline = Instant::now() + within;
    loop {
        let got = inputs(replicas).await;
        if got == want {
            return;
        }
        if Instant::now() > deadline {
            let extra: Vec<_> = got.iter().filter(|e| !want.contains(e)).collect();
            let missing: Vec<_> = want.iter().filter(|e| !got.contains(e)).collect();
            panic!(
                "replicas stored {} inputs, a single poller {}; extra {extra:?}, missing {missing:?}",
                got.len(),
                want.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The URL of a PostgreSQL store, for the replicas' `--database-url`.
fn url_of(store: &Store) -> String {
    match store {
        Store::Postgres(pool) => {
            let o = pool.connect_options();
            format!(
                "postgres://{}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database().expect("database name")
            )
        }
        Store::Sqlite(_) => unreachable!("a PostgreSQL store"),
    }
}

#[tokio::test]
async fn replicas_share_polling_fail_over_and_hear_each_other() {
    let store = stores::postgres("replicas").await;
    let db = url_of(&store);
    let dir = tempfile::tempdir().expect("tempdir");

    // the upstream: the replay controller, its clock stepped by the test
    let times: Vec<DateTime<Utc>> = Dataset::demo(anchor())
        .expect("demo data")
        .event_times(chrono::Duration::hours(6))
        .into_iter()
        .filter(|t| *t <= anchor())
        .collect();
    let steps = [
        times[times.len() - 6],
        times[times.len() - 3],
        times[times.len() - 1],
    ];
    let state = ReplayState::new(Dataset::demo(anchor()).expect("demo data"), steps[0]);
    let (addr, _task) = replay::start(state.clone()).await.expect("replay starts");
    let base_url = format!("http://{addr}/origin");

    // the reference: one poller, polling once per step, into its own store
    let (reference, _ref_dir) = stores::sqlite().await;
    let single = Poller::new(
        reference.clone(),
        Controller {
            name: "origin".into(),
            base_url: base_url.clone(),
            include: regex::Regex::new("scos").ok(),
            exclude: None,
        },
        PollTiming::default(),
        PollRegistry::default(),
    )
    .expect("poller");
    single.poll_once().await.expect("reference polls");

    let mut replicas: Vec<Option<Replica>> = (0..3)
        .map(|i| {
            Some(Replica::start(
                &db,
                &base_url,
                "250ms",
                &dir.path().join(format!("replica-{i}.log")),
            ))
        })
        .collect();
    for r in replicas.iter().flatten() {
        r.0.ready().await;
    }
    let first = poller_of(&replicas, Duration::from_secs(20)).await;
    converge(&store, &reference, Duration::from_secs(20)).await;
    // it stays the only one: standbys keep standing by
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(poller_of(&replicas, Duration::from_secs(1)).await, first);

    // a client of a standby hears what the polling replica ingests
    let standby = (first + 1) % 3;
    let mut follower = Follower::open(&replicas[standby].as_ref().expect("up").0.url, "").await;
    let (event, ready_at, _) = follower
        .next(Duration::from_secs(5))
        .await
        .expect("greeting");
    assert_eq!(event, "ready");
    state.set_now(steps[1]);
    single.poll_once().await.expect("reference polls");
    converge(&store, &reference, Duration::from_secs(20)).await;
    let heard = follower.changes(Duration::from_secs(3)).await;
    let new_ids = ids_after(&store, ready_at.expect("ready has an id")).await;
    assert!(!new_ids.is_empty(), "the step brought new upstream data");
    assert_eq!(
        heard, new_ids,
        "the standby's client hears every change, in order, once"
    );

    // the polling replica dies; another takes over within seconds
    let killed_at = Instant::now();
    replicas[first].take().expect("up").0.kill();
    let second = poller_of(&replicas, Duration::from_secs(15)).await;
    let failover = killed_at.elapsed();
    assert_ne!(second, first);
    assert!(
        failover < Duration::from_secs(10),
        "took over after {failover:?}"
    );

    state.set_now(steps[2]);
    single.poll_once().await.expect("reference polls");
    converge(&store, &reference, Duration::from_secs(20)).await;

    // a client that reconnects with Last-Event-ID gets what it missed from the log
    let last = *new_ids.last().expect("ids");
    let survivor = &replicas[second].as_ref().expect("up").0.url;
    let response = reqwest::Client::new()
        .get(format!("{survivor}/api/v1/live"))
        .header("last-event-id", last.to_string())
        .send()
        .await
        .expect("resumes");
    let mut resumed = Follower::from(response);
    let replayed = resumed.changes(Duration::from_secs(2)).await;
    let missed = ids_after(&store, last).await;
    assert!(!missed.is_empty());
    assert_eq!(replayed, missed);
}

#[tokio::test]
async fn a_replica_that_stops_hands_polling_over_at_once() {
    let store = stores::postgres("handover").await;
    let db = url_of(&store);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = ReplayState::new(Dataset::demo(anchor()).expect("demo data"), anchor());
    let (addr, _task) = replay::start(state).await.expect("replay starts");
    let base_url = format!("http://{addr}/origin");
    // standbys retry only every minute: a quick takeover is the stopping replica's notice
    let mut replicas: Vec<Option<Replica>> = (0..2)
        .map(|i| {
            Some(Replica::start(
                &db,
                &base_url,
                "60s",
                &dir.path().join(format!("replica-{i}.log")),
            ))
        })
        .collect();
    for r in replicas.iter().flatten() {
        r.0.ready().await;
    }
    let first = poller_of(&replicas, Duration::from_secs(20)).await;
    // the standby has tried once and now waits for its next retry
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopped_at = Instant::now();
    let status = replicas[first]
        .take()
        .expect("up")
        .0
        .terminate(Duration::from_secs(30));
    assert!(status.success(), "a clean exit: {status:?}");
    let second = poller_of(&replicas, Duration::from_secs(10)).await;
    assert_ne!(second, first);
    let took = stopped_at.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "handed over after {took:?}, not at the next retry a minute later"
    );
}
