//! Command line and environment configuration. Every option has a `STREAMGATE_*` (or
//! `DATABASE_URL`) variable; `server --help` lists them all, `.env.example` shows them.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use regex::Regex;

use crate::api::hooks::{HookSecrets, HOOKS};
use crate::auth::cli::{TokenAction, UserAction};
use crate::auth::proxy::{self, GroupRule, ProxyConfig, ProxyConfigError};
use crate::auth::AuthSettings;
use crate::ingest::payload::ReaderConfig;
use crate::ingest::payload_worker::WorkerConfig;
use crate::ingest::release_controller::{Controller, PollTiming};
use crate::oci::credentials::Credentials;

/// Streamgate: release dashboard and promotion console for OKD.
#[derive(Debug, Parser)]
#[command(name = "server", version, about, long_about = None)]
pub struct Cli {
    /// What to run; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the pages and APIs and poll the release-controllers (the default).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Rebuild the projected tables from the event log and exit.
    Reproject(DbArgs),
    /// Poll every configured release-controller once and exit.
    Poll(PollArgs),
    /// Serve the recorded demo data set in the release-controller's API format.
    Replay(ReplayArgs),
    /// Manage promotion targets (where releases of a CI stream are promoted to).
    #[command(subcommand)]
    Target(TargetCommand),
    /// Manage users: add, list, set a password, disable, enable.
    User(UserArgs),
    /// Manage API tokens: create (printed once), list, revoke.
    Token(TokenArgs),
}

/// `target` subcommands.
#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// Add a target or change one.
    Set(Box<TargetSetArgs>),
    /// List the targets.
    List(DbArgs),
    /// Remove a target (its promotions stay).
    Remove(TargetRemoveArgs),
}

/// Options of `target set`.
#[derive(Debug, Clone, Args)]
pub struct TargetSetArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The target stream, e.g. `4-scos-next`.
    pub name: String,
    /// The CI stream whose accepted releases it takes, e.g. `4.21.0-0.okd-scos`.
    #[arg(long)]
    pub source_stream: String,
    /// Where component images are copied, e.g. `quay.io/okd/scos-content`.
    #[arg(long)]
    pub content_repo: String,
    /// Where the release payload is pushed, e.g. `quay.io/okd/scos-release`.
    #[arg(long)]
    pub release_repo: String,
    /// The new release's name: `{version}` is the CI release's version, `{n}` counts up.
    #[arg(long, default_value = "{version}-okd-scos.ec.{n}")]
    pub name_template: String,
    /// Where to post a signed JSON notice of each finished promotion; a new signing secret
    /// is printed once. Not given: the target keeps its webhook; empty: it is removed.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// The namespace of the image stream each promoted release is adopted into as an
    /// ImageStreamTag, e.g. `origin` (with `--adopt-imagestream`; the server needs
    /// `--openshift-api-url`). Not given: kept; empty: removed.
    #[arg(long)]
    pub adopt_namespace: Option<String>,
    /// The image stream releases are adopted into, e.g. `release-scos`: a release becomes
    /// `release-scos:<name>`. Not given: kept; empty: removed.
    #[arg(long)]
    pub adopt_imagestream: Option<String>,
    /// The GitHub repository (`owner/name`) each promoted release's notes are published to
    /// as a release, e.g. `okd-project/okd-scos` (the server needs `--github-token-file`).
    /// Not given: kept; empty: removed.
    #[arg(long)]
    pub github_repo: Option<String>,
    /// The Tekton EventListener of OKD's release pipeline, when the pipeline promotes into
    /// this target: promotions start it and follow its result instead of copying and
    /// publishing themselves. Not given: kept as it is; empty: Streamgate promotes itself.
    #[arg(long)]
    pub pipeline_url: Option<String>,
}

/// Options of `target remove`.
#[derive(Debug, Clone, Args)]
pub struct TargetRemoveArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The target to remove.
    pub name: String,
}

/// How promotions run.
#[derive(Debug, Clone, Args)]
pub struct PromotionArgs {
    /// Do not run promotions (plans and the promote buttons are off).
    #[arg(long, env = "STREAMGATE_NO_PROMOTIONS")]
    pub no_promotions: bool,
    /// Blobs copied at the same time during a promotion.
    #[arg(long, env = "STREAMGATE_PROMOTION_JOBS", default_value_t = 8)]
    pub promotion_jobs: usize,
    /// A release signature store (`…/sha256=<hex>/signature-<n>`); with a keyring, every
    /// promotion requires a valid signature of the release's payload.
    #[arg(
        long,
        env = "STREAMGATE_SIGNATURE_STORE",
        requires = "signature_keyring"
    )]
    pub signature_store: Option<String>,
    /// The OpenPGP public keys (`gpg --export` output) release signatures must be made by.
    #[arg(
        long,
        env = "STREAMGATE_SIGNATURE_KEYRING",
        requires = "signature_store"
    )]
    pub signature_keyring: Option<std::path::PathBuf>,
    /// A GnuPG home holding the key that signs the releases Streamgate promotes (a mounted
    /// Secret will do: it is copied to a private directory at start-up). The key must have
    /// no passphrase. Needs --signing-key and --signature-store-dir.
    #[arg(
        long,
        env = "STREAMGATE_SIGNING_GNUPG_HOME",
        requires_all = ["signing_key", "signature_store_dir"]
    )]
    pub signing_gnupg_home: Option<std::path::PathBuf>,
    /// The key in --signing-gnupg-home that signs promoted releases: its fingerprint (or key
    /// id). The server does not start when the home has no such secret key or it cannot sign.
    #[arg(long, env = "STREAMGATE_SIGNING_KEY", requires = "signing_gnupg_home")]
    pub signing_key: Option<String>,
    /// A directory kept as a release signature store (`sha256=<hex>/signature-<n>`): signed
    /// releases' signatures are written there, never over another, and served read-only at
    /// `/signatures/sha256=<hex>/signature-<n>` for `oc` and clusters to verify.
    #[arg(long, env = "STREAMGATE_SIGNATURE_STORE_DIR")]
    pub signature_store_dir: Option<std::path::PathBuf>,
    /// For targets promoted by OKD's release pipeline: how long the pipeline may take to
    /// push the release before the promotion fails (`90m`, `3h`).
    #[arg(long, env = "STREAMGATE_PIPELINE_TIMEOUT", default_value = "3h", value_parser = parse_duration)]
    pub pipeline_timeout: Duration,
}

/// Options of `user`.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: UserAction,
}

/// Options of `token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: TokenAction,
}

/// Sign-in, sessions, and the trusted reverse proxy.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Do not mark the session cookie `Secure`: only for plain-http installs that are not
    /// reached as 127.0.0.1 or localhost (browsers accept `Secure` cookies there).
    #[arg(long, env = "STREAMGATE_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// A session ends this long after signing in.
    #[arg(long, env = "STREAMGATE_SESSION_TTL", default_value = "168h", value_parser = parse_duration)]
    pub session_ttl: Duration,
    /// A session ends after this long without a request.
    #[arg(long, env = "STREAMGATE_SESSION_IDLE", default_value = "24h", value_parser = parse_duration)]
    pub session_idle: Duration,
    /// Sign-in attempts a minute from one client address (an IPv6 client: its /64).
    #[arg(long, env = "STREAMGATE_SIGN_IN_PER_ADDRESS", default_value_t = std::num::NonZeroU32::new(20).unwrap_or(std::num::NonZeroU32::MIN))]
    pub sign_in_per_address: std::num::NonZeroU32,
    /// Sign-in attempts a minute for one user name from one client address.
    #[arg(long, env = "STREAMGATE_SIGN_IN_PER_NAME", default_value_t = std::num::NonZeroU32::new(10).unwrap_or(std::num::NonZeroU32::MIN))]
    pub sign_in_per_name: std::num::NonZeroU32,
    /// Passwords checked at once (argon2); a sign-in that finds no free turn within 2 s
    /// gets 503. Default: half the processors, at least 1.
    #[arg(long, env = "STREAMGATE_SIGN_IN_CONCURRENCY")]
    pub sign_in_concurrency: Option<std::num::NonZeroUsize>,
    /// Address or CIDR network of a trusted reverse proxy (oauth2-proxy) whose user and
    /// group headers are believed; repeat for several. Headers from other peers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "STREAMGATE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Header with the user name the proxy authenticated.
    #[arg(
        long,
        env = "STREAMGATE_PROXY_USER_HEADER",
        default_value = "X-Forwarded-User"
    )]
    pub proxy_user_header: String,
    /// Header with the user's groups (comma separated).
    #[arg(
        long,
        env = "STREAMGATE_PROXY_GROUPS_HEADER",
        default_value = "X-Forwarded-Groups"
    )]
    pub proxy_groups_header: String,
    /// A proxy group's role: GROUP=admin, GROUP=maintainer, or GROUP=maintainer:TARGET to
    /// limit it to a target (repeat the group for several targets).
    #[arg(
        long = "proxy-group",
        env = "STREAMGATE_PROXY_GROUPS",
        value_delimiter = ','
    )]
    pub proxy_groups: Vec<String>,
}

impl AuthArgs {
    /// The authentication settings.
    pub fn settings(&self) -> Result<AuthSettings, ConfigError> {
        let auth = |e: ProxyConfigError| ConfigError::Auth(e.to_string());
        Ok(AuthSettings {
            secure_cookies: !self.insecure_cookies,
            session_ttl: self.session_ttl,
            session_idle: self.session_idle,
            sign_in_per_address: self.sign_in_per_address,
            sign_in_per_name: self.sign_in_per_name,
            sign_in_concurrency: self
                .sign_in_concurrency
                .unwrap_or_else(crate::auth::limit::default_concurrency),
            sign_in_wait: AuthSettings::default().sign_in_wait,
            proxy: ProxyConfig {
                trusted: self
                    .trusted_proxies
                    .iter()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| proxy::parse_trusted(s))
                    .collect::<Result<_, _>>()
                    .map_err(auth)?,
                user_header: proxy::parse_header(&self.proxy_user_header).map_err(auth)?,
                groups_header: proxy::parse_header(&self.proxy_groups_header).map_err(auth)?,
                rules: self
                    .proxy_groups
                    .iter()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| GroupRule::parse(s))
                    .collect::<Result<_, _>>()
                    .map_err(auth)?,
            },
        })
    }
}

/// The database used when none is named.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://streamgate.db";

/// The database to use.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`. `serve --demo`
    /// uses `sqlite://streamgate-demo.db` unless another database is named.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Which release-controllers to poll, and how.
#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// A release-controller as NAME=URL; repeat for several.
    #[arg(
        long = "controller",
        env = "STREAMGATE_CONTROLLERS",
        value_delimiter = ',',
        default_values_t = [
            "origin=https://amd64.origin.releases.ci.openshift.org".to_string(),
            "ocp=https://amd64.ocp.releases.ci.openshift.org".to_string(),
        ]
    )]
    pub controllers: Vec<String>,
    /// Only streams matching REGEX, as NAME=REGEX per controller; a controller without one
    /// is polled for every stream. Default: every stream of origin (OKD's CI, nightly and
    /// promoted streams of every variant and major) and OCP's CI streams `N.M.0-0.ci`.
    #[arg(
        long = "include",
        env = "STREAMGATE_STREAM_INCLUDE",
        value_delimiter = ',',
        default_values_t = [DEFAULT_OCP_INCLUDE.to_string()]
    )]
    pub include: Vec<String>,
    /// Skip streams matching REGEX, as NAME=REGEX per controller.
    #[arg(
        long = "exclude",
        env = "STREAMGATE_STREAM_EXCLUDE",
        value_delimiter = ','
    )]
    pub exclude: Vec<String>,
    /// Time between polls (e.g. `90s`, `5m`).
    #[arg(long, env = "STREAMGATE_POLL_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Timeout of each request to a controller.
    #[arg(long, env = "STREAMGATE_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Longest wait between polls after repeated failures.
    #[arg(long, env = "STREAMGATE_MAX_BACKOFF", default_value = "15m", value_parser = parse_duration)]
    pub max_backoff: Duration,
    /// On PostgreSQL with several replicas: how often a standby tries to take a
    /// controller's poll lock, and so how soon it takes over when the polling replica dies.
    #[arg(long, env = "STREAMGATE_POLL_LOCK_RETRY", default_value = "2s", value_parser = parse_duration)]
    pub poll_lock_retry: Duration,
    /// Largest answer read from a release-controller (e.g. `32MiB`); a larger one fails
    /// the poll.
    #[arg(long, env = "STREAMGATE_MAX_UPSTREAM_BODY", default_value = "32MiB", value_parser = parse_size)]
    pub max_upstream_body: u64,
    /// Most requests a second to one release-controller, so that a first poll of every
    /// stream is spread out instead of meeting its rate limit (429); 0: no limit.
    #[arg(long, env = "STREAMGATE_CONTROLLER_RATE", default_value_t = 4)]
    pub controller_rate: u32,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Polling and database options.
    #[command(flatten)]
    pub poll: PollArgs,
    /// Address to listen on (defaults to Leptos' site address, 127.0.0.1:3000).
    #[arg(long, env = "STREAMGATE_ADDR")]
    pub addr: Option<std::net::SocketAddr>,
    /// Do not poll; serve what is stored.
    #[arg(long, env = "STREAMGATE_NO_POLL")]
    pub no_poll: bool,
    /// Load the demo data set: start the replay release-controllers on loopback, play their
    /// history into the store, and keep polling them instead of the real controllers.
    #[arg(long, env = "STREAMGATE_DEMO")]
    pub demo: bool,
    /// With `--demo`: a registry (HOST:PORT, plain HTTP, e.g. a local `docker-registry`) to
    /// push the demo releases' payload and component images to; the demo's pull specs then
    /// name it, so payloads are read and releases can be promoted.
    #[arg(long, env = "STREAMGATE_DEMO_REGISTRY", requires = "demo")]
    pub demo_registry: Option<String>,
    /// Badges say "data stale" when no poll succeeded for this long.
    #[arg(long, env = "STREAMGATE_STALE_AFTER", default_value = "6h", value_parser = parse_duration)]
    pub stale_after: Duration,
    /// The URL users reach Streamgate at (for badge snippets and feed links); taken from
    /// each request's Host header when unset.
    #[arg(long, env = "STREAMGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log format: `text`, or `json` (one object per line, for log collectors).
    #[arg(long, env = "STREAMGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// At shutdown, how long in-flight requests and the current promotion step may take
    /// to finish before they are cut off (a cut-off promotion resumes on another replica or
    /// at the next start).
    #[arg(long, env = "STREAMGATE_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Payload reading and registry webhooks.
    #[command(flatten)]
    pub registry: Box<RegistryArgs>,
    /// Promotions.
    #[command(flatten)]
    pub promotion: PromotionArgs,
    /// Adoption and GitHub releases after a promotion publishes.
    #[command(flatten)]
    pub publish: crate::promote::publishing::PublishArgs,
    /// Sign-in, sessions and the trusted proxy.
    #[command(flatten)]
    pub auth: Box<AuthArgs>,
    /// Limits on what one client may hold or send.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Limits on what one client may hold or send, so slow or greedy clients cannot exhaust
/// the server.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// A connection that has not sent a request's whole header within this long is closed.
    #[arg(long, env = "STREAMGATE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// The largest request body any route takes (`4096`, `512KiB`, `1MiB`); larger ones
    /// get 413.
    #[arg(long, env = "STREAMGATE_MAX_REQUEST_BODY", default_value = "1MiB", value_parser = parse_size)]
    pub max_request_body: u64,
    /// Live-update streams one client (an IPv4 address or an IPv6 /64) may hold open;
    /// more get 429.
    #[arg(long, env = "STREAMGATE_LIVE_MAX_PER_CLIENT", default_value_t = crate::live::DEFAULT_MAX_PER_CLIENT)]
    pub live_max_per_client: usize,
    /// Live-update streams this process holds open at once; more get 503.
    #[arg(long, env = "STREAMGATE_LIVE_MAX_TOTAL", default_value_t = crate::live::DEFAULT_MAX_TOTAL)]
    pub live_max_total: usize,
}

/// How release payloads are read, and who may call the registry webhooks.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry credentials: a Docker/Podman `auth.json`.
    #[arg(long, env = "STREAMGATE_REGISTRY_AUTH_FILE")]
    pub registry_auth_file: Option<std::path::PathBuf>,
    /// A registry (HOST[:PORT]) spoken to over plain HTTP; repeat for several.
    #[arg(
        long = "insecure-registry",
        env = "STREAMGATE_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// Do not read release payloads.
    #[arg(long, env = "STREAMGATE_NO_PAYLOADS")]
    pub no_payloads: bool,
    /// Time between rounds of the payload reader (a webhook wakes it early).
    #[arg(long, env = "STREAMGATE_PAYLOAD_INTERVAL", default_value = "2m", value_parser = parse_duration)]
    pub payload_interval: Duration,
    /// Time between mirror-integrity checks of promoted releases (every digest they
    /// reference must still resolve in its registry).
    #[arg(long, env = "STREAMGATE_INTEGRITY_INTERVAL", default_value = "6h", value_parser = parse_duration)]
    pub integrity_interval: Duration,
    /// Payloads read at the same time.
    #[arg(long, env = "STREAMGATE_PAYLOAD_CONCURRENCY", default_value_t = 4)]
    pub payload_concurrency: usize,
    /// How long a payload whose read failed is left alone before it is tried again.
    #[arg(long, env = "STREAMGATE_PAYLOAD_RETRY_AFTER", default_value = "1h", value_parser = parse_duration)]
    pub payload_retry_after: Duration,
    /// A webhook secret as HOOK=SECRET (hooks: `registry`, `quay`); a hook without a
    /// secret is disabled. Repeat for several.
    #[arg(
        long = "hook-secret",
        env = "STREAMGATE_HOOK_SECRETS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub hook_secrets: Vec<String>,
}

impl ServeArgs {
    /// The demo registry, when the demo runs with one.
    pub fn demo_registry(&self) -> Option<&str> {
        self.demo_registry
            .as_deref()
            .map(str::trim)
            .filter(|h| self.demo && !h.is_empty())
    }

    /// The payload reader's configuration: the registry options, plus the demo registry
    /// spoken to over plain HTTP.
    pub fn reader_config(&self) -> Result<ReaderConfig, ConfigError> {
        let mut config = self.registry.reader_config()?;
        if let Some(host) = self.demo_registry() {
            if !config.insecure_hosts.iter().any(|h| h == host) {
                config.insecure_hosts.push(host.to_string());
            }
        }
        Ok(config)
    }
}

impl RegistryArgs {
    /// Whether a registry is configured at all (the demo reads payloads only then).
    pub fn registry_configured(&self) -> bool {
        self.registry_auth_file.is_some() || !self.insecure_registries.is_empty()
    }

    /// The payload reader's configuration.
    pub fn reader_config(&self) -> Result<ReaderConfig, ConfigError> {
        let credentials = match &self.registry_auth_file {
            Some(path) => Credentials::from_auth_file(path)
                .map_err(|e| ConfigError::AuthFile(e.to_string()))?,
            None => Credentials::default(),
        };
        Ok(ReaderConfig {
            credentials,
            insecure_hosts: self
                .insecure_registries
                .iter()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect(),
            ..ReaderConfig::default()
        })
    }

    /// The payload worker's timing.
    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            interval: self.payload_interval,
            concurrency: self.payload_concurrency.max(1),
            retry_after: self.payload_retry_after,
            ..WorkerConfig::default()
        }
    }

    /// The webhook secrets.
    pub fn hook_secrets(&self) -> Result<HookSecrets, ConfigError> {
        let mut out = HookSecrets::default();
        // an empty entry (an empty variable in a manifest) configures nothing
        for s in self.hook_secrets.iter().filter(|s| !s.trim().is_empty()) {
            let (hook, secret) = pair(s).map_err(|_| ConfigError::Pair("HOOK=***".into()))?;
            if !HOOKS.contains(&hook.as_str()) {
                return Err(ConfigError::UnknownHook(hook));
            }
            out.insert(hook, secret);
        }
        Ok(out)
    }
}

/// Options of `replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Address to listen on.
    #[arg(long, env = "STREAMGATE_REPLAY_ADDR", default_value = "127.0.0.1:3100")]
    pub addr: std::net::SocketAddr,
}

/// A configuration value that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not `NAME=VALUE`.
    #[error("expected NAME=VALUE, got {0:?}")]
    Pair(String),
    /// A bad regular expression.
    #[error("invalid stream filter for {name}: {reason}")]
    Regex {
        /// Controller.
        name: String,
        /// Why.
        reason: String,
    },
    /// A bad URL.
    #[error("invalid controller url {0:?}: must start with http:// or https://")]
    Url(String),
    /// A filter for a controller that is not configured.
    #[error("stream filter names unknown controller {0:?}")]
    UnknownController(String),
    /// A webhook secret for a hook that does not exist.
    #[error("hook secret names unknown hook {0:?} (hooks: registry, quay)")]
    UnknownHook(String),
    /// The registry auth file is unusable.
    #[error("registry auth file: {0}")]
    AuthFile(String),
    /// A sign-in or proxy setting is unusable.
    #[error("{0}")]
    Auth(String),
    /// A secret is one of the published examples.
    #[error("{0} is an example value from the documentation; set a secret of your own")]
    ExampleSecret(String),
}

fn pair(s: &str) -> Result<(String, String), ConfigError> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| ConfigError::Pair(s.to_string()))
}

/// The default include filter: OCP's CI streams of any major (`4.21.0-0.ci`, `5.0.0-0.ci`),
/// which OKD's components are compared with; OCP's nightlies and promoted streams are not
/// OKD's business.
pub const DEFAULT_OCP_INCLUDE: &str = r"ocp=^\d+\.\d+\.0-0\.ci$";

impl PollArgs {
    /// The configured controllers with their filters.
    pub fn controllers(&self) -> Result<Vec<Controller>, ConfigError> {
        let mut out: Vec<Controller> = Vec::new();
        for c in &self.controllers {
            let (name, url) = pair(c)?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Url(url));
            }
            out.push(Controller {
                name,
                base_url: url,
                include: None,
                exclude: None,
            });
        }
        for (filters, include) in [(&self.include, true), (&self.exclude, false)] {
            for f in filters {
                let (name, re) = pair(f)?;
                let regex = Regex::new(&re).map_err(|e| ConfigError::Regex {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
                match out.iter_mut().find(|c| c.name == name) {
                    Some(c) if include => c.include = Some(regex),
                    Some(c) => c.exclude = Some(regex),
                    // defaults name both controllers; a user who configures only one is fine
                    None if !include || self.include_is_default() => {}
                    None => return Err(ConfigError::UnknownController(name)),
                }
            }
        }
        Ok(out)
    }

    fn include_is_default(&self) -> bool {
        self.include.len() == 1 && self.include[0] == DEFAULT_OCP_INCLUDE
    }

    /// Poll timing.
    pub fn timing(&self) -> PollTiming {
        PollTiming {
            interval: self.poll_interval,
            request_timeout: self.request_timeout,
            max_backoff: self.max_backoff,
            lock_retry: self.poll_lock_retry,
            max_body: self.max_upstream_body,
            max_rate: self.controller_rate,
            ..PollTiming::default()
        }
    }
}

/// Parses `250ms`, `90s`, `5m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| (&s[..i], &s[i..]));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 90s, 5m, 1h"))?;
    let too_long = || format!("invalid duration {s:?}: too long");
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(too_long),
        "h" => n
            .checked_mul(3600)
            .map(Duration::from_secs)
            .ok_or_else(too_long),
        other => Err(format!(
            "invalid duration unit {other:?} in {s:?}: use ms, s, m or h"
        )),
    }
}

/// Parses a byte count: `4096`, `512KiB`, `32MiB`, `1GiB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| (&s[..i], s[i..].trim()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected e.g. 4096, 512KiB, 32MiB"))?;
    let shift = match unit {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        other => {
            return Err(format!(
                "invalid size unit {other:?} in {s:?}: use KiB, MiB or GiB"
            ))
        }
    };
    n.checked_mul(1 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid size {s:?}: must be between 1 byte and 16 EiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("5MB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn default_controllers_are_origin_and_ocp_with_filters() {
        let cli = Cli::parse_from(["server", "poll"]);
        let Some(Command::Poll(args)) = cli.command else {
            panic!("poll")
        };
        let cs = args.controllers().expect("valid");
        assert_eq!(cs.len(), 2);
        // every stream the origin controller lists, promoted ones included
        for stream in [
            "4.21.0-0.okd-scos",
            "4.21.0-0.okd-scos-nightly",
            "4.22.0-0.okd-scos",
            "5.0.0-0.okd-scos",
            "5.0.0-0.okd-scos-nightly",
            "4.15.0-0.okd",
            "4.14.0-0.okd",
            "4-scos-next",
            "4-scos-stable",
            "5-scos-next",
            "4-stable",
        ] {
            assert!(cs[0].wants(stream), "origin {stream}");
        }
        // OCP's CI streams of any major, nothing else of OCP's
        for stream in ["4.21.0-0.ci", "4.14.0-0.ci", "5.0.0-0.ci", "10.1.0-0.ci"] {
            assert!(cs[1].wants(stream), "ocp {stream}");
        }
        for stream in [
            "4.21.0-0.nightly",
            "4-stable",
            "4.21.0-0.ci-arm64",
            "x4.21.0-0.ci",
        ] {
            assert!(!cs[1].wants(stream), "ocp {stream}");
        }
    }

    #[test]
    fn rejects_bad_controller_config() {
        let cli = Cli::parse_from(["server", "poll", "--controller", "origin=ftp://x"]);
        let Some(Command::Poll(args)) = cli.command else {
            panic!("poll")
        };
        assert!(matches!(args.controllers(), Err(ConfigError::Url(_))));
        let cli = Cli::parse_from([
            "server",
            "poll",
            "--controller",
            "a=http://x",
            "--include",
            "b=okd",
        ]);
        let Some(Command::Poll(args)) = cli.command else {
            panic!("poll")
        };
        assert!(matches!(
            args.controllers(),
            Err(ConfigError::UnknownController(_))
        ));
        let cli = Cli::parse_from([
            "server",
            "poll",
            "--controller",
            "a=http://x",
            "--include",
            "a=(",
        ]);
        let Some(Command::Poll(args)) = cli.command else {
            panic!("poll")
        };
        assert!(matches!(args.controllers(), Err(ConfigError::Regex { .. })));
    }

    #[test]
    fn auth_options_parse() {
        let cli = Cli::parse_from([
            "server",
            "serve",
            "--insecure-cookies",
            "--trusted-proxy",
            "10.0.0.0/8",
            "--proxy-group",
            "okd-admins=admin",
            "--proxy-group",
            "scos=maintainer:4-scos-next",
            "--session-idle",
            "30m",
        ]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve")
        };
        let s = args.auth.settings().expect("valid");
        assert!(!s.secure_cookies);
        assert_eq!(s.session_idle, Duration::from_secs(1800));
        assert_eq!(s.proxy.rules.len(), 2);
        assert!(s.proxy.trusts("10.1.2.3".parse().expect("ip")));
        let cli = Cli::parse_from(["server", "serve", "--proxy-group", "x=root"]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve")
        };
        assert!(matches!(args.auth.settings(), Err(ConfigError::Auth(_))));
        let cli = Cli::parse_from([
            "server",
            "user",
            "add",
            "ada",
            "--role",
            "maintainer",
            "--target",
            "a,b",
        ]);
        let Some(Command::User(UserArgs {
            action: UserAction::Add { targets, .. },
            ..
        })) = cli.command
        else {
            panic!("user add")
        };
        assert_eq!(targets, ["a", "b"]);
    }

    #[test]
    fn registry_options_parse() {
        let cli = Cli::parse_from([
            "server",
            "serve",
            "--insecure-registry",
            "127.0.0.1:5000",
            "--insecure-registry",
            "localhost:5001",
            "--hook-secret",
            "registry=abc",
            "--hook-secret",
            "quay=d=ef",
        ]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve")
        };
        let r = &args.registry;
        assert!(r.registry_configured() && !r.no_payloads);
        assert_eq!(
            r.reader_config().expect("valid").insecure_hosts,
            ["127.0.0.1:5000", "localhost:5001"]
        );
        let hooks = r.hook_secrets().expect("valid");
        assert!(hooks.enabled("registry") && hooks.enabled("quay"));
        assert_eq!(args.demo_registry(), None);
        let cli = Cli::parse_from(["server", "serve", "--hook-secret", "github=x"]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve")
        };
        assert!(matches!(
            args.registry.hook_secrets(),
            Err(ConfigError::UnknownHook(_))
        ));
    }

    #[test]
    fn demo_registry_is_read_over_plain_http() {
        let cli = Cli::parse_from([
            "server",
            "serve",
            "--demo",
            "--demo-registry",
            "127.0.0.1:5123",
        ]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.demo_registry(), Some("127.0.0.1:5123"));
        assert!(!args.registry.registry_configured());
        assert_eq!(
            args.reader_config().expect("valid").insecure_hosts,
            ["127.0.0.1:5123"]
        );
        assert!(
            Cli::try_parse_from(["server", "serve", "--demo-registry", "127.0.0.1:1"]).is_err()
        );
    }
}
