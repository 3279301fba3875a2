//! Loading the demo: the replay controllers started, their history played into the store,
//! the demo's targets and registry noted.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;

use super::registry;
use crate::config::PollArgs;
use crate::ingest::release_controller::{Controller, PollError, PollRegistry, PollTiming, Poller};
use crate::replay::{self, ReplayState};
use crate::store::{Store, StoreError};

/// Why the demo could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A replay controller could not be polled.
    #[error(transparent)]
    Poll(#[from] PollError),
    /// The demo registry could not be planned or seeded.
    #[error(transparent)]
    Registry(#[from] registry::SeedError),
    /// Binding the replay controllers failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The demo data set could not be built from its data file.
    #[error(transparent)]
    Data(#[from] replay::DataError),
    /// Playing the history failed; the message says where.
    #[error("{0}")]
    Load(String),
}

use super::ANCHOR_KEY;
const PLAYED_KEY: &str = "demo_played_until";
const REGISTRY_KEY: &str = "demo_registry";

/// The demo registry being seeded in the background.
pub struct Seeding {
    task: tokio::task::JoinHandle<Result<registry::SeedReport, registry::SeedError>>,
}

impl Seeding {
    /// Waits until the registry holds every payload (log lines say how it went).
    pub async fn finished(self) -> Result<registry::SeedReport, DemoError> {
        let report = self
            .task
            .await
            .map_err(|e| DemoError::Load(format!("seeding the registry: {e}")))?
            .inspect_err(|e| tracing::error!(error = %e, "seeding the demo registry failed"))?;
        tracing::info!(
            components = report.components_pushed,
            payload_tags = report.payloads_pushed,
            already_there = report.skipped,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "demo registry seeded"
        );
        Ok(report)
    }
}

/// A loaded demo: the controllers to keep polling and how often.
pub struct Loaded {
    /// Replay controllers on loopback.
    pub controllers: Vec<Controller>,
    /// Poll timing for the live phase.
    pub timing: PollTiming,
    /// The replay's state (its clock follows real time after loading).
    pub replay: ReplayState,
    /// The demo registry's seeding, when there is one: payloads are readable once it
    /// finished.
    pub seeding: Option<Seeding>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Starts the replay controllers, plays the history not yet played into `store`, and
/// returns the controllers to poll from now on. With `registry` (`HOST:PORT`, plain HTTP)
/// the releases' payloads are pushed there in the background ([`Loaded::seeding`]) and the
/// pull specs name it.
pub async fn load(
    store: &Store,
    polls: &PollRegistry,
    args: &PollArgs,
    registry: Option<&str>,
) -> Result<Loaded, DemoError> {
    let now = Utc::now();
    let anchor = match store
        .setting(ANCHOR_KEY)
        .await?
        .as_deref()
        .and_then(parse_time)
    {
        Some(a) => a,
        None => {
            store.set_setting(ANCHOR_KEY, &now.to_rfc3339()).await?;
            now
        }
    };
    let mut dataset = replay::dataset::Dataset::demo(anchor)?;
    let seeding = match registry {
        Some(host) => {
            note_registry(store, host).await?;
            let seed = registry::Seed::plan(&dataset, host)?;
            seed.apply(&mut dataset);
            let (images, tags) = seed.counts();
            tracing::info!(
                registry = host,
                images,
                payload_tags = tags,
                "seeding the demo registry"
            );
            Some(tokio::spawn(async move { seed.push().await }))
        }
        None => None,
    };
    let times = dataset.event_times(chrono::Duration::hours(6));
    let state = ReplayState::new(dataset, times.first().copied().unwrap_or(now));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| DemoError::Io {
            context: "binding the demo replay".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| DemoError::Io {
        context: "demo replay address".into(),
        source,
    })?;
    let server_state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = replay::serve(listener, server_state).await {
            tracing::error!(error = %e, "demo replay stopped");
        }
    });
    let controllers: Vec<Controller> = ["origin", "ocp"]
        .into_iter()
        .map(|name| Controller {
            name: name.to_string(),
            base_url: format!("http://{addr}/{name}"),
            include: None,
            exclude: None,
        })
        .collect();
    let timing = PollTiming {
        interval: args.poll_interval.min(Duration::from_secs(30)),
        request_timeout: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(5),
        lock_retry: args.poll_lock_retry,
        max_body: args.max_upstream_body,
        // the replay controllers are on loopback and have no rate limit
        max_rate: 0,
    };
    let played = store
        .setting(PLAYED_KEY)
        .await?
        .as_deref()
        .and_then(parse_time);
    let pending: Vec<DateTime<Utc>> = times
        .into_iter()
        .filter(|t| played.is_none_or(|p| *t > p) && *t <= now)
        .chain(std::iter::once(now))
        .collect();
    let pollers = controllers
        .iter()
        .map(|c| {
            let replay_clock = state.clone();
            Poller::new(store.clone(), c.clone(), timing, polls.clone())
                .map(|p| p.with_clock(Arc::new(move || replay_clock.now())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    tracing::info!(
        steps = pending.len(),
        "playing the demo history into the store"
    );
    let started = std::time::Instant::now();
    for (i, t) in pending.iter().enumerate() {
        state.set_now(*t);
        for p in &pollers {
            if let Err(e) = p.poll_and_record().await {
                return Err(DemoError::Load(format!("step {i} at {t}: {e}")));
            }
        }
    }
    store.set_setting(PLAYED_KEY, &now.to_rfc3339()).await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo history loaded"
    );
    // from here on the replay's clock follows real time
    let clock = state.clone();
    tokio::spawn(async move {
        loop {
            clock.set_now(Utc::now());
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    Ok(Loaded {
        controllers,
        timing,
        replay: state,
        seeding: seeding.map(|task| Seeding { task }),
    })
}

/// Remembers which registry the demo's history names, and warns when it played before
/// with another one: releases read then keep the payloads (and digests) they were read with.
async fn note_registry(store: &Store, host: &str) -> Result<(), DemoError> {
    let before = store.setting(REGISTRY_KEY).await?;
    let played = store.setting(PLAYED_KEY).await?.is_some();
    if played && before.as_deref() != Some(host) {
        tracing::warn!(
            registry = host,
            before = before.as_deref().unwrap_or("none"),
            "this database played the demo with another registry: releases read before keep \
             their old pull specs and payloads (start from a fresh database to avoid it)"
        );
    }
    if before.as_deref() != Some(host) {
        store.set_setting(REGISTRY_KEY, host).await?;
    }
    Ok(())
}

/// Promotion targets for the demo registry, unless targets exist already (an admin's own
/// stay as they are): the newest OKD/SCOS CI stream to `4-scos-next`, the one before to
/// `4-scos-stable`, both into `<host>/okd/…` so promotions mount within the registry.
pub async fn ensure_targets(store: &Store, host: &str) -> Result<(), DemoError> {
    if !store.targets().await?.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    for (name, source, template) in [
        (
            "4-scos-next",
            "4.21.0-0.okd-scos",
            "{version}-okd-scos.ec.{n}",
        ),
        (
            "4-scos-stable",
            "4.20.0-0.okd-scos",
            "{version}-okd-scos.{n}",
        ),
    ] {
        store
            .upsert_target(
                &crate::store::promotions::NewTarget {
                    name: name.to_string(),
                    source_stream: source.to_string(),
                    content_repo: format!("{host}/okd/scos-content"),
                    release_repo: format!("{host}/okd/scos-release"),
                    name_template: template.to_string(),
                    webhook: crate::store::promotions::WebhookChange::Keep,
                },
                now,
            )
            .await?;
    }
    tracing::info!("demo: promotion targets 4-scos-next and 4-scos-stable in {host}");
    Ok(())
}
