//! The real poller against the replay release-controllers over real HTTP on loopback, on
//! SQLite and on PostgreSQL: history accumulates and outlives upstream, repeat polls write
//! nothing, only needed requests are made, and upstream failures lose nothing.

use crate::support::stores::{postgres, sqlite};
use app::model::{GateKind, JobState, Phase};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use server::events;
use server::ingest::release_controller::{Controller, PollError, PollRegistry, PollTiming, Poller};
use server::replay::{self, dataset::Dataset, Fault, ReplayState};
use server::store::Store;

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .expect("valid time")
}

struct Upstream {
    state: ReplayState,
    origin: Controller,
}

async fn upstream(now: DateTime<Utc>) -> Upstream {
    let state = ReplayState::new(Dataset::demo(anchor()).expect("demo data"), now);
    let (addr, _task) = replay::start(state.clone()).await.expect("replay starts");
    Upstream {
        state,
        origin: Controller {
            name: "origin".into(),
            base_url: format!("http://{addr}/origin"),
            include: regex::Regex::new("scos").ok(),
            exclude: None,
        },
    }
}

fn timing() -> PollTiming {
    PollTiming {
        interval: Duration::from_secs(1),
        request_timeout: Duration::from_millis(1500),
        max_backoff: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(2),
        lock_retry: Duration::from_millis(200),
        ..PollTiming::default()
    }
}

fn poller(store: &Store, up: &Upstream) -> Poller {
    Poller::new(
        store.clone(),
        up.origin.clone(),
        timing(),
        PollRegistry::default(),
    )
    .expect("poller")
}

/// Steps the virtual clock through the history and polls at each step.
async fn play(store: &Store, up: &Upstream, until: DateTime<Utc>) {
    let p = poller(store, up);
    let times: Vec<_> = up
        .state
        .dataset()
        .event_times(chrono::Duration::hours(6))
        .into_iter()
        .filter(|t| *t <= until)
        .collect();
    for t in times.into_iter().chain([until]) {
        up.state.set_now(t);
        p.poll_once().await.expect("poll succeeds");
    }
}

async fn history_accumulates_and_outlives_upstream(store: Store) {
    let up = upstream(anchor()).await;
    play(&store, &up, anchor()).await;

    let stream = "4.21.0-0.okd-scos";
    let stored = store.count_releases(stream, None).await.expect("count");
    let listed = up
        .state
        .dataset()
        .tags("origin", stream, anchor(), &[])
        .expect("stream")
        .tags
        .len();
    assert!(
        stored as usize > listed,
        "Streamgate keeps more ({stored}) than upstream lists ({listed})"
    );
    let rows = store
        .stream_releases(stream, None, 1000, 0)
        .await
        .expect("rows");
    let expired = rows.iter().filter(|r| r.expired_at.is_some()).count();
    assert_eq!(
        expired,
        stored as usize - listed,
        "exactly the pruned tags are marked expired"
    );
    // an expired release keeps its gates
    let old = rows
        .iter()
        .find(|r| r.expired_at.is_some())
        .expect("an expired release");
    assert!(!store
        .gates(stream, &old.name)
        .await
        .expect("gates")
        .is_empty());
    // rejected releases carry the failed blocking job with its URL
    let rejected = rows
        .iter()
        .find(|r| r.phase == Phase::Rejected)
        .expect("a rejected release");
    let gates = store.gates(stream, &rejected.name).await.expect("gates");
    let failed = gates
        .iter()
        .find(|g| g.kind == GateKind::Blocking && g.state == JobState::Failed)
        .expect("failed blocking job");
    assert!(failed
        .url
        .starts_with("https://prow.ci.openshift.org/view/gs/"));
    // the stream's upstream phases agree with what was stored for listed tags
    for tag in up
        .state
        .dataset()
        .tags("origin", stream, anchor(), &[])
        .expect("stream")
        .tags
    {
        let row = rows
            .iter()
            .find(|r| r.name == tag.name)
            .expect("listed tag stored");
        assert_eq!(row.phase, Phase::from_upstream(&tag.phase), "{}", tag.name);
    }

    // a repeat poll when nothing changed writes nothing, and asks only for what may change
    let events_before = store.event_count().await.expect("count");
    let dump_before = store.projection_dump().await.expect("dump");
    up.state.clear_requests();
    let report = poller(&store, &up).poll_once().await.expect("repeat poll");
    assert_eq!(report.events, 0);
    assert_eq!(store.event_count().await.expect("count"), events_before);
    assert_eq!(store.projection_dump().await.expect("dump"), dump_before);
    let requests = up.state.requests();
    let detail_requests = requests.iter().filter(|r| r.contains("/release/")).count();
    let unsettled = up
        .state
        .dataset()
        .controller("origin")
        .expect("origin")
        .streams
        .iter()
        .filter(|s| up.origin.wants(&s.name))
        .flat_map(|s| {
            up.state
                .dataset()
                .tags("origin", &s.name, anchor(), &[])
                .map(|t| t.tags)
                .unwrap_or_default()
        })
        .filter(|t| !matches!(t.phase.as_str(), "Accepted" | "Rejected" | "Failed"))
        .count();
    assert_eq!(
        detail_requests, unsettled,
        "details only for releases still changing: {requests:?}"
    );

    // replaying the log rebuilds the same tables
    let stats = events::reproject(&store).await.expect("reproject");
    assert_eq!(stats.skipped, 0);
    assert_eq!(store.projection_dump().await.expect("dump"), dump_before);
}

#[tokio::test]
async fn history_accumulates_and_outlives_upstream_on_sqlite() {
    let (store, _dir) = sqlite().await;
    history_accumulates_and_outlives_upstream(store).await;
}

#[tokio::test]
async fn history_accumulates_and_outlives_upstream_on_postgres() {
    history_accumulates_and_outlives_upstream(postgres("ingest").await).await;
}

async fn upstream_failures_lose_nothing(store: Store) {
    let up = upstream(anchor()).await;
    let p = poller(&store, &up);
    p.poll_once().await.expect("first poll");
    let dump = store.projection_dump().await.expect("dump");
    let events_before = store.event_count().await.expect("count");
    up.state.set_now(anchor() + chrono::Duration::hours(12));

    // 5xx on the stream list
    up.state.inject(Fault {
        path_contains: "/releasestreams/all".into(),
        status: Some(503),
        retry_after: None,
        body: None,
        delay_ms: None,
        times: 1,
    });
    let err = p.poll_once().await.expect_err("503 fails the poll");
    assert!(
        matches!(err, PollError::Status { status: 503, .. }),
        "{err}"
    );
    // malformed JSON on one stream's tags: that stream fails, nothing of it is written
    up.state.inject(Fault {
        path_contains: "4.21.0-0.okd-scos/tags".into(),
        status: None,
        retry_after: None,
        body: Some("{\"name\": \"4.21.0-0.okd-scos\", \"tags\": [".into()),
        delay_ms: None,
        times: 1,
    });
    let err = p.poll_once().await.expect_err("malformed fails the stream");
    assert!(err.to_string().contains("malformed"), "{err}");
    // a timeout
    up.state.inject(Fault {
        path_contains: "/releasestreams/all".into(),
        status: None,
        retry_after: None,
        body: None,
        delay_ms: Some(2500),
        times: 1,
    });
    let err = p.poll_once().await.expect_err("timeout fails the poll");
    assert!(err.to_string().contains("timed out"), "{err}");
    // nothing stored before was lost or altered by the failures
    let after = store.projection_dump().await.expect("dump");
    for row in &dump {
        if row.starts_with("StreamRow") {
            assert!(after.contains(row), "lost {row}");
        }
    }
    assert!(store.event_count().await.expect("count") >= events_before);

    // 429 with Retry-After is honoured, then the poll goes through
    up.state.inject(Fault {
        path_contains: "/releasestreams/all".into(),
        status: Some(429),
        retry_after: Some(1),
        body: None,
        delay_ms: None,
        times: 1,
    });
    let started = std::time::Instant::now();
    p.poll_once().await.expect("poll after waiting as asked");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After"
    );

    // a dead upstream
    let dead = Controller {
        base_url: "http://127.0.0.1:9/origin".into(),
        ..up.origin.clone()
    };
    let registry = PollRegistry::default();
    let dead_poller = Poller::new(store.clone(), dead, timing(), registry.clone()).expect("poller");
    let err = dead_poller
        .poll_and_record()
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, PollError::Transport { .. }), "{err}");
    let status = registry.get("origin").expect("status");
    assert_eq!(status.consecutive_failures, 1);
    assert!(status.last_success_at.is_none() && status.last_error.is_some());
    assert!(
        store
            .count_releases("4.21.0-0.okd-scos", None)
            .await
            .expect("count")
            > 0
    );
}

#[tokio::test]
async fn upstream_failures_lose_nothing_on_sqlite() {
    let (store, _dir) = sqlite().await;
    upstream_failures_lose_nothing(store).await;
}

#[tokio::test]
async fn upstream_failures_lose_nothing_on_postgres() {
    upstream_failures_lose_nothing(postgres("ingest").await).await;
}

/// One release whose details cannot be read (a truncated answer, a server error for it)
/// is recorded against that release and read again next poll; the stream's other releases
/// are read and the poll succeeds.
async fn one_failing_release_fails_only_itself(store: Store) {
    let up = upstream(anchor()).await;
    let stream = "4.21.0-0.okd-scos";
    let listed = up
        .state
        .dataset()
        .tags("origin", stream, anchor(), &[])
        .expect("stream")
        .tags;
    let (truncated, erroring) = (listed[0].name.clone(), listed[1].name.clone());
    up.state.inject(Fault {
        path_contains: format!("/release/{truncated}"),
        status: None,
        retry_after: None,
        body: Some(format!("{{\"name\": \"{truncated}\", \"phase\": \"Acc")),
        delay_ms: None,
        times: 1,
    });
    up.state.inject(Fault {
        path_contains: format!("/release/{erroring}"),
        status: Some(500),
        retry_after: None,
        body: None,
        delay_ms: None,
        times: 1,
    });
    let p = poller(&store, &up);
    let report = p.poll_once().await.expect("the poll succeeds");
    assert_eq!(report.release_failures, 2, "{report:?}");
    let row = |name: String| {
        let store = store.clone();
        async move {
            let rows = store.releases_named(&name).await.expect("rows");
            rows.into_iter()
                .find(|r| r.stream == stream)
                .expect("stored")
        }
    };
    let t = row(truncated.clone()).await;
    assert!(t.details_at.is_none());
    assert!(
        t.details_error
            .as_deref()
            .is_some_and(|e| e.contains("malformed")),
        "{t:?}"
    );
    let e = row(erroring.clone()).await;
    assert!(
        e.details_error
            .as_deref()
            .is_some_and(|e| e.contains("500")),
        "{e:?}"
    );
    let others = listed[2..]
        .iter()
        .map(|t| t.name.clone())
        .collect::<Vec<_>>();
    assert!(!others.is_empty());
    for name in others {
        let r = row(name).await;
        assert!(r.details_at.is_some() && r.details_error.is_none(), "{r:?}");
    }
    let backend = server::backend::StoreBackend::new(store.clone(), PollRegistry::default());
    let page = backend
        .release(&truncated, Some(stream))
        .await
        .expect("release page");
    assert!(page.details_error.is_some() && !page.has_details);

    // the next poll reads both, and their errors are gone
    let report = p.poll_once().await.expect("second poll");
    assert_eq!(report.release_failures, 0);
    for name in [truncated, erroring] {
        let r = row(name).await;
        assert!(r.details_at.is_some() && r.details_error.is_none(), "{r:?}");
    }
}

#[tokio::test]
async fn one_failing_release_fails_only_itself_on_sqlite() {
    let (store, _dir) = sqlite().await;
    one_failing_release_fails_only_itself(store).await;
}

#[tokio::test]
async fn one_failing_release_fails_only_itself_on_postgres() {
    one_failing_release_fails_only_itself(postgres("ingest").await).await;
}

/// A controller that answers `429` (Retry-After 60, too long to wait) beyond five
/// requests a second: an unpaced first poll of a stream's history runs into it, the same
/// poll paced at four requests a second never does.
#[tokio::test]
async fn a_first_poll_is_paced_under_the_controllers_rate_limit() {
    let up = upstream(anchor()).await;
    let controller = Controller {
        include: regex::Regex::new("^4-scos-stable$").ok(),
        ..up.origin.clone()
    };
    up.state.limit_rate(Some(5));

    let (store, _dir) = sqlite().await;
    let unpaced =
        Poller::new(store, controller.clone(), timing(), PollRegistry::default()).expect("poller");
    let err = unpaced.poll_once().await.expect_err("meets the limit");
    assert!(err.to_string().contains("rate limiting"), "{err}");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (store, _dir) = sqlite().await;
    let paced = PollTiming {
        max_rate: 4,
        ..timing()
    };
    let started = std::time::Instant::now();
    let report = Poller::new(store.clone(), controller, paced, PollRegistry::default())
        .expect("poller")
        .poll_once()
        .await
        .expect("a paced poll is never refused");
    assert!(
        report.requests > 5,
        "enough requests to meet the limit: {report:?}"
    );
    let least = Duration::from_millis(u64::from(report.requests - 4) * 250);
    assert!(
        started.elapsed() >= least,
        "spread over {:?}",
        started.elapsed()
    );
    assert!(
        store
            .count_releases("4-scos-stable", None)
            .await
            .expect("count")
            > 0
    );
}

#[tokio::test]
async fn pending_release_is_followed_until_decided() {
    let (store, _dir) = sqlite().await;
    let up = upstream(anchor()).await;
    play(&store, &up, anchor() - chrono::Duration::days(3)).await;
    let stream = "4.21.0-0.okd-scos";
    let newest = store
        .latest_release(stream, None)
        .await
        .expect("latest")
        .expect("a release");
    // move a day on: whatever was running has been decided, and new releases appeared
    let later = anchor() - chrono::Duration::days(2);
    up.state.set_now(later);
    poller(&store, &up).poll_once().await.expect("poll");
    let rows = store
        .stream_releases(stream, None, 1000, 0)
        .await
        .expect("rows");
    let same = rows
        .iter()
        .find(|r| r.name == newest.name)
        .expect("still stored");
    let upstream_phase = up
        .state
        .dataset()
        .release_info("origin", stream, &newest.name, later)
        .map(|i| Phase::from_upstream(&i.phase))
        .unwrap_or(same.phase);
    assert_eq!(same.phase, upstream_phase);
    let details = store.releases_named(&newest.name).await.expect("row");
    assert_eq!(
        details[0].details_phase.as_deref(),
        Some(upstream_phase.as_str())
    );
}
