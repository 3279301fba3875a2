//! Shared set-up of the HTTP tests: a SQLite store filled by the real poller from the replay
//! release-controller, and the real router over it.

pub use super::http::{get, get_with};

use chrono::{DateTime, TimeZone, Utc};
use leptos::prelude::LeptosOptions;
use server::ingest::release_controller::{Controller, PollRegistry, PollTiming, Poller};
use server::replay::{self, dataset::Dataset, ReplayState};
use server::store::Store;
use server::{router, AppState};

pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .expect("valid time")
}

/// A router over a filled store.
pub struct Fixture {
    pub app: axum::Router,
    pub store: Store,
    pub polls: PollRegistry,
    _dir: Option<tempfile::TempDir>,
}

/// The 4.21 OKD/SCOS CI stream and 4-scos-stable, played up to [`anchor`], on SQLite.
pub async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

/// As [`fixture`], with `adjust` applied to the state before the router is built.
pub async fn fixture_with(adjust: impl FnOnce(&mut AppState)) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}/p.db", dir.path().display()))
        .await
        .expect("db");
    store.migrate().await.expect("migrate");
    fill(store, Some(dir), adjust).await
}

/// As [`fixture`], on a fresh PostgreSQL database named `sg_<name>` (re-created each run).
pub async fn postgres_fixture(name: &str) -> Fixture {
    let admin = std::env::var("STREAMGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let store = server::store::fresh_postgres(&admin, &format!("sg_{name}"))
        .await
        .expect("postgres reachable for tests");
    fill(store, None, |_| {}).await
}

/// Plays the demo data set's history into `store` through the real poller, then builds the
/// router over it.
pub async fn fill(
    store: Store,
    dir: Option<tempfile::TempDir>,
    adjust: impl FnOnce(&mut AppState),
) -> Fixture {
    let state = ReplayState::new(Dataset::demo(anchor()).expect("demo data"), anchor());
    let (addr, _task) = replay::start(state.clone()).await.expect("replay");
    let polls = PollRegistry::default();
    let controller = Controller {
        name: "origin".into(),
        base_url: format!("http://{addr}/origin"),
        include: regex::Regex::new("^4\\.21\\.0-0\\.okd-scos$|^4-scos-stable$").ok(),
        exclude: None,
    };
    let poller = Poller::new(
        store.clone(),
        controller,
        PollTiming::default(),
        polls.clone(),
    )
    .expect("poller");
    for t in state
        .dataset()
        .event_times(chrono::Duration::hours(12))
        .into_iter()
        .filter(|t| *t <= anchor())
        .chain([anchor()])
    {
        state.set_now(t);
        poller.poll_and_record().await.expect("poll");
    }
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut app_state = AppState::new(store.clone(), polls.clone(), leptos);
    adjust(&mut app_state);
    Fixture {
        app: router(app_state),
        store,
        polls,
        _dir: dir,
    }
}
