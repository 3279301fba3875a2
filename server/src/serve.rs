//! Running the server and the one-shot subcommands: start-up order, workers, graceful
//! shutdown, and logging set-up.

use std::net::SocketAddr;

use leptos::config::get_configuration;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{ConfigError, PollArgs, ServeArgs, TargetCommand};
use crate::events::EventError;
use crate::ingest::payload::PayloadReader;
use crate::ingest::payload_worker::PayloadWorker;
use crate::ingest::release_controller::{Controller, PollError, PollRegistry, PollTiming, Poller};
use crate::store::promotions::NewTarget;
use crate::store::{Store, StoreError};
use crate::{demo, router, AppState, Settings};

/// Why the server could not start or a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Replaying the log failed.
    #[error(transparent)]
    Events(#[from] EventError),
    /// A poll failed.
    #[error(transparent)]
    Poll(#[from] PollError),
    /// An account command failed.
    #[error(transparent)]
    Accounts(#[from] crate::auth::cli::CliError),
    /// The demo accounts could not be created.
    #[error("demo accounts: {0}")]
    DemoUsers(#[from] crate::auth::AuthError),
    /// The database is a demo database, or the demo would write into a real one.
    #[error(transparent)]
    DemoGuard(#[from] demo::guard::GuardError),
    /// The demo data could not be loaded.
    #[cfg(feature = "demo")]
    #[error("demo: {0}")]
    Demo(#[from] demo::DemoError),
    /// The demo was asked of a build without it.
    #[error(
        "this server was built without the demo (cargo feature `demo`); build it with \
         `--features demo`, or run `./dev demo`"
    )]
    NoDemo,
    /// A promotion target is not valid.
    #[error("promotion target: {0}")]
    Target(String),
    /// Adoption or GitHub release settings cannot be used.
    #[error("publishing settings: {0}")]
    Publishing(#[from] crate::promote::publishing::PublishError),
    /// The release signing key or the signature store is unusable.
    #[error("release signing: {0}")]
    Signing(#[from] crate::promote::signing::SigningError),
    /// The demo registry could not be seeded.
    #[cfg(feature = "demo")]
    #[error(transparent)]
    DemoRegistry(#[from] demo::registry::SeedError),
    /// Leptos' site configuration is unusable.
    #[error("site configuration: {0}")]
    Site(String),
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Sets up `tracing`: `RUST_LOG` filters (default `info`), JSON lines when asked.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn open(url: &str) -> Result<Store, ServeError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    tracing::info!(backend = store.backend(), url = %crate::store::redact_url(url), "store ready");
    Ok(store)
}

/// `migrate`: applies migrations.
pub async fn migrate(url: &str) -> Result<(), ServeError> {
    let store = open(url).await?;
    store.close().await;
    Ok(())
}

/// `reproject`: rebuilds the tables from the log.
pub async fn reproject(url: &str) -> Result<(), ServeError> {
    let store = open(url).await?;
    let stats = crate::events::reproject(&store).await?;
    tracing::info!(
        events = stats.events,
        skipped = stats.skipped,
        "tables rebuilt from the event log"
    );
    println!(
        "replayed {} events ({} skipped)",
        stats.events, stats.skipped
    );
    store.close().await;
    Ok(())
}

/// `poll`: polls every configured controller once.
pub async fn poll_once(args: &PollArgs) -> Result<(), ServeError> {
    let store = open(&args.db.database_url).await?;
    let registry = PollRegistry::default();
    for controller in args.controllers()? {
        let poller = Poller::new(store.clone(), controller, args.timing(), registry.clone())?;
        let report = poller.poll_and_record().await?;
        println!(
            "{}: {} requests, {} events, {} streams",
            poller.controller().name,
            report.requests,
            report.events,
            report.streams
        );
    }
    store.close().await;
    Ok(())
}

/// `target set|list|remove`: manages promotion targets.
pub async fn target(cmd: TargetCommand) -> Result<(), ServeError> {
    match cmd {
        TargetCommand::Set(args) => {
            let args = *args;
            let store = open(&args.db.database_url).await?;
            let target = crate::promote::targets::checked_target(NewTarget {
                name: args.name,
                source_stream: args.source_stream,
                content_repo: args.content_repo,
                release_repo: args.release_repo,
                name_template: args.name_template,
                webhook: crate::promote::targets::webhook_change(args.webhook_url),
            })
            .map_err(ServeError::Target)?;
            let change = crate::promote::target_publishing::PublishingChange {
                adopt_namespace: args.adopt_namespace,
                adopt_imagestream: args.adopt_imagestream,
                github_repo: args.github_repo,
            };
            let publishing = crate::promote::target_publishing::checked_publishing(
                &store,
                &target.name,
                &change,
            )
            .await?
            .map_err(ServeError::Target)?;
            let pipeline = crate::promote::targets::pipeline_change(args.pipeline_url)
                .map_err(ServeError::Target)?;
            let mut saved = crate::promote::targets::save_target(&store, &target).await?;
            crate::promote::targets::apply_pipeline(&store, &mut saved, pipeline.clone()).await?;
            match pipeline {
                Some(Some(url)) => println!(
                    "promotions into {} start OKD's release pipeline at {url} and follow it",
                    target.name
                ),
                Some(None) => println!("Streamgate promotes into {} itself", target.name),
                None => {}
            }
            crate::promote::target_publishing::save_publishing(&store, &target.name, &publishing)
                .await?;
            if let Some((ns, is)) = publishing.adoption() {
                println!("releases are adopted into {ns}/{is}");
            }
            if let Some(repo) = &publishing.github_repo {
                println!("release notes are published as GitHub releases of {repo}");
            }
            println!(
                "target {}: releases of {} to {} (images to {}, named {})",
                target.name,
                target.source_stream,
                target.release_repo,
                target.content_repo,
                target.name_template
            );
            if let Some(secret) = saved.webhook_secret {
                println!(
                    "webhook set; notices carry X-Streamgate-Signature: sha256=<HMAC-SHA256 of \
                     the body>, keyed with this secret (shown once): {secret}"
                );
            }
            store.close().await;
        }
        TargetCommand::List(db) => {
            let store = open(&db.database_url).await?;
            let hooks = store.target_webhooks().await?;
            for t in store.targets().await? {
                let hook = hooks
                    .iter()
                    .find(|h| h.name == t.name)
                    .map(|h| crate::promote::webhook::mask(&h.webhook_url))
                    .unwrap_or_default();
                let promoter = t
                    .pipeline_url
                    .as_deref()
                    .map_or_else(|| "streamgate".to_string(), |u| format!("pipeline {u}"));
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.source_stream,
                    t.content_repo,
                    t.release_repo,
                    t.name_template,
                    promoter,
                    hook
                );
            }
            store.close().await;
        }
        TargetCommand::Remove(args) => {
            let store = open(&args.db.database_url).await?;
            store.delete_target(&args.name).await?;
            println!("target {} removed", args.name);
            store.close().await;
        }
    }
    Ok(())
}

/// `replay`: serves the demo data set in the release-controller's format, clock at now.
#[cfg(feature = "demo")]
pub async fn replay(addr: SocketAddr) -> Result<(), ServeError> {
    use crate::replay;
    let now = chrono::Utc::now();
    let dataset = replay::dataset::Dataset::demo(now).map_err(demo::DemoError::from)?;
    let state = replay::ReplayState::new(dataset, now);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io {
            context: format!("binding {addr}"),
            source,
        })?;
    tracing::info!("replay release-controllers on http://{addr}/origin and http://{addr}/ocp");
    replay::serve(listener, state)
        .await
        .map_err(|source| ServeError::Io {
            context: "serving replay".into(),
            source,
        })
}

/// `replay`, in a build without the demo: refused.
#[cfg(not(feature = "demo"))]
pub async fn replay(_addr: SocketAddr) -> Result<(), ServeError> {
    Err(ServeError::NoDemo)
}

/// `serve`: the whole server.
pub async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let conf = get_configuration(None).map_err(|e| ServeError::Site(e.to_string()))?;
    let leptos = conf.leptos_options;
    let addr = args.addr.unwrap_or(leptos.site_addr);
    crate::example_secrets::refuse_examples(&args)?;
    let store = open_for(&args).await?;
    let polls = PollRegistry::default();
    let (stop, stopped) = watch::channel(false);
    // every background task, waited for at shutdown
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();

    let sources = sources(&args, &store, &polls).await?;
    let mut state = AppState::new(store.clone(), polls.clone(), leptos);
    state.live = crate::live::Live::new(
        store.clone(),
        crate::live::LiveConfig {
            max_per_client: args.limits.live_max_per_client.max(1),
            max_total: args.limits.live_max_total.max(1),
            ..crate::live::LiveConfig::default()
        },
    );
    state.shutting_down = stopped.clone();
    tasks.push(tokio::spawn(state.live.clone().run(stopped.clone())));
    if args.no_poll {
        tracing::info!("polling disabled");
    } else {
        for controller in sources.controllers {
            tracing::info!(controller = %controller.name, url = %controller.base_url, "polling");
            let poller = Poller::new(store.clone(), controller, sources.timing, polls.clone())?
                .with_takeover_signal(state.live.poll_released());
            tasks.push(tokio::spawn(poller.run(stopped.clone())));
        }
    }
    state.settings = settings(&args)?;
    state.auth = crate::auth::Auth::new(auth_settings(&args)?);
    for hook in crate::api::hooks::HOOKS {
        if state.settings.hooks.enabled(hook) {
            tracing::info!(hook, "webhook enabled at /api/v1/hooks/{hook}");
        }
    }
    tasks.extend(start_payloads(
        &args,
        &store,
        &state,
        sources.seeding,
        &stopped,
    )?);
    if args.promotion.no_promotions {
        tracing::info!("promotions disabled");
    } else {
        let (promotions, worker) = start_promotions(&args, &store, &state, stopped.clone()).await?;
        tasks.push(worker);
        state.promotions = Some(promotions);
    }
    listen(&args, addr, router(state), stop).await?;
    tracing::info!(
        tasks = tasks.len(),
        "requests finished; waiting for pollers and workers"
    );
    let grace = args.shutdown_grace;
    let waited = tokio::time::timeout(grace, futures_util::future::join_all(tasks)).await;
    if waited.is_err() {
        tracing::warn!(
            ?grace,
            "background work cut off at the end of the grace period"
        );
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The store `serve` runs on: the demo's own database for `--demo` unless one is named,
/// claimed for the demo; any other refused if it is a demo database.
async fn open_for(args: &ServeArgs) -> Result<Store, ServeError> {
    let url = if args.demo && args.poll.db.database_url == crate::config::DEFAULT_DATABASE_URL {
        demo::guard::DEMO_DATABASE_URL
    } else {
        args.poll.db.database_url.as_str()
    };
    let store = open(url).await?;
    if args.demo {
        demo::guard::claim_for_demo(&store).await?;
    } else {
        demo::guard::refuse_demo(&store).await?;
    }
    Ok(store)
}

/// What to poll: the configured release-controllers, or the demo's (loaded first, with
/// its accounts, targets and registry seeding).
struct Sources {
    controllers: Vec<Controller>,
    timing: PollTiming,
    /// What payload reading waits for first: the demo registry's seeding.
    seeding: Option<Seeding>,
}

/// A task to finish before payloads are read.
type Seeding = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn sources(
    args: &ServeArgs,
    store: &Store,
    polls: &PollRegistry,
) -> Result<Sources, ServeError> {
    if !args.demo {
        return Ok(Sources {
            controllers: args.poll.controllers()?,
            timing: args.poll.timing(),
            seeding: None,
        });
    }
    demo_sources(args, store, polls).await
}

#[cfg(feature = "demo")]
async fn demo_sources(
    args: &ServeArgs,
    store: &Store,
    polls: &PollRegistry,
) -> Result<Sources, ServeError> {
    crate::auth::demo::ensure_users(store).await?;
    if let Some(host) = args.demo_registry() {
        demo::ensure_targets(store, host).await?;
    }
    let loaded = demo::load(store, polls, &args.poll, args.demo_registry()).await?;
    Ok(Sources {
        controllers: loaded.controllers,
        timing: loaded.timing,
        seeding: loaded.seeding.map(|seeding| -> Seeding {
            Box::pin(async move {
                let _ = seeding.finished().await;
            })
        }),
    })
}

#[cfg(not(feature = "demo"))]
async fn demo_sources(
    _args: &ServeArgs,
    _store: &Store,
    _polls: &PollRegistry,
) -> Result<Sources, ServeError> {
    Err(ServeError::NoDemo)
}

/// The request-facing settings of `args`.
fn settings(args: &ServeArgs) -> Result<Settings, ServeError> {
    Ok(Settings {
        stale_after: args.stale_after,
        public_url: args
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_string()),
        hooks: args.registry.hook_secrets()?,
        max_request_body: usize::try_from(args.limits.max_request_body).unwrap_or(usize::MAX),
        signature_dir: args
            .promotion
            .signature_store_dir
            .as_deref()
            .map(crate::promote::signature_dir::SignatureDir::open)
            .transpose()?,
    })
}

/// The key that signs promoted releases, refused unless the home has it and it can sign.
async fn release_signer(
    args: &ServeArgs,
    store: Option<&crate::promote::signature_dir::SignatureDir>,
) -> Result<
    Option<(
        crate::promote::signing::Signer,
        crate::promote::signature_dir::SignatureDir,
    )>,
    ServeError,
> {
    use crate::promote::signing::Signer;
    let (Some(home), Some(key)) = (
        &args.promotion.signing_gnupg_home,
        &args.promotion.signing_key,
    ) else {
        return Ok(None);
    };
    let store = store.cloned().ok_or_else(|| {
        ServeError::Signing(crate::promote::signing::SigningError::Store {
            path: "--signature-store-dir".to_string(),
            reason: "a signing key needs a signature store directory".to_string(),
        })
    })?;
    let signer = Signer::load(home, key).await?;
    signer.check().await?;
    tracing::info!(
        key = %key,
        home = %home.display(),
        store = %store.root().display(),
        "promoted releases are signed"
    );
    Ok(Some((signer, store)))
}

/// The sign-in settings of `args`, with what they trust said in the log.
fn auth_settings(args: &ServeArgs) -> Result<crate::auth::AuthSettings, ServeError> {
    let auth = args.auth.settings()?;
    if !auth.proxy.trusted.is_empty() {
        tracing::info!(
            proxies = ?auth.proxy.trusted,
            user_header = %auth.proxy.user_header,
            groups_header = %auth.proxy.groups_header,
            "trusting reverse proxy headers from these peers only"
        );
    }
    if !auth.secure_cookies {
        tracing::warn!("session cookies are not marked Secure (--insecure-cookies)");
    }
    Ok(auth)
}

/// The payload worker and the mirror-integrity checker, unless payload reading is off or
/// the demo has no registry to read from; the demo's payloads are read once its registry
/// holds them all.
fn start_payloads(
    args: &ServeArgs,
    store: &Store,
    state: &AppState,
    seeding: Option<Seeding>,
    stopped: &watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, ServeError> {
    if args.registry.no_payloads {
        tracing::info!("payload reading disabled");
        if let Some(seeding) = seeding {
            tokio::spawn(seeding);
        }
        return Ok(Vec::new());
    }
    if args.demo && args.demo_registry().is_none() && !args.registry.registry_configured() {
        // the demo's releases name no registry that exists
        tracing::info!("demo: payload reading off (no registry configured)");
        return Ok(Vec::new());
    }
    let integrity = tokio::spawn(crate::ingest::integrity::run(
        PayloadReader::new(args.reader_config()?),
        store.clone(),
        args.registry.integrity_interval,
        stopped.clone(),
    ));
    let worker = PayloadWorker::new(
        store.clone(),
        PayloadReader::new(args.reader_config()?),
        state.payload_wake.clone(),
        args.registry.worker_config(),
    );
    tracing::info!(
        interval = ?args.registry.payload_interval,
        concurrency = args.registry.payload_concurrency,
        "reading release payloads"
    );
    let stopped = stopped.clone();
    let reading = tokio::spawn(async move {
        if let Some(seeding) = seeding {
            seeding.await;
        }
        worker.run(stopped).await;
    });
    Ok(vec![integrity, reading])
}

/// Serves `app` on `addr` until a shutdown signal, which `stop` passes on to every
/// background task; in-flight requests get the grace period.
async fn listen(
    args: &ServeArgs,
    addr: SocketAddr,
    app: axum::Router,
    stop: watch::Sender<bool>,
) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io {
            context: format!("binding {addr}"),
            source,
        })?;
    tracing::info!("serving on http://{addr}");
    let grace = args.shutdown_grace;
    let listening = crate::listen::ListenConfig {
        header_read_timeout: args.limits.header_read_timeout,
        grace,
    };
    let ended = crate::listen::serve(listener, app, listening, async move {
        shutdown_signal().await;
        // /readyz turns 503, live streams end, pollers and workers stop taking work
        let _ = stop.send(true);
    })
    .await;
    if ended == crate::listen::Ended::CutOff {
        tracing::warn!(
            ?grace,
            "in-flight requests cut off at the end of the grace period"
        );
    }
    Ok(())
}

/// The promotion planner and worker, over the registry settings of `args`.
async fn start_promotions(
    args: &ServeArgs,
    store: &Store,
    state: &AppState,
    stopped: watch::Receiver<bool>,
) -> Result<(crate::promote::Promotions, tokio::task::JoinHandle<()>), ServeError> {
    use crate::promote::copy::{Copier, CopyConfig};
    use crate::promote::notify::Notifier;
    use crate::promote::plan::Planner;
    use crate::promote::signature::SignatureStore;
    use crate::promote::verification::SignatureCheck;
    use crate::promote::worker::{PromotionWorker, WorkerConfig as PromotionWorkerConfig};

    let reader = args.reader_config()?;
    let copier = Copier::new(CopyConfig {
        credentials: reader.credentials.clone(),
        insecure_hosts: reader.insecure_hosts.clone(),
        jobs: args.promotion.promotion_jobs.max(1),
        timeout: reader.timeout,
    });
    let signatures = match (
        &args.promotion.signature_store,
        &args.promotion.signature_keyring,
    ) {
        (Some(url), Some(keyring)) => {
            tracing::info!(store = %url, keyring = %keyring.display(), "promotions require a valid release signature");
            Some(SignatureCheck::new(
                SignatureStore::new(url.clone(), std::time::Duration::from_secs(30))
                    .map_err(|e| ServeError::Target(e.to_string()))?,
                keyring.clone(),
            ))
        }
        _ => None,
    };
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    if !store.is_shared() {
        // one process per SQLite file: whatever held a lease before has died
        let freed = store.release_all_leases().await?;
        if freed > 0 {
            tracing::info!(
                promotions = freed,
                "resuming promotions of the previous run"
            );
        }
    }
    let planner = Planner::new(store.clone(), copier.clone(), signatures.clone());
    let worker = PromotionWorker::new(
        store.clone(),
        copier,
        signatures,
        Notifier::new(store.clone(), state.settings.public_url.clone()),
        wake.clone(),
        PromotionWorkerConfig {
            shutdown_grace: args.shutdown_grace.mul_f64(0.75),
            pipeline_timeout: args.promotion.pipeline_timeout,
            ..PromotionWorkerConfig::default()
        },
    )
    .with_live(state.live.clone())
    .with_publishing(crate::promote::publishing::Publishing::new(
        store.clone(),
        crate::backend::StoreBackend::new(store.clone(), state.polls.clone()),
        &args.publish,
        state.settings.public_url.as_deref(),
    )?);
    let worker = match release_signer(args, state.settings.signature_dir.as_ref()).await? {
        Some((signer, store)) => worker.with_signing(signer, store),
        None => {
            tracing::info!(
                "no release signing key: promoted releases get an unsigned signature message"
            );
            worker
        }
    };
    let task = tokio::spawn(worker.run(stopped));
    Ok((crate::promote::Promotions { planner, wake }, task))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
