//! The store behind the UI: turns stored rows into the app's page models (the read side;
//! [`crate::site`] puts these behind [`app::backend::Backend`]). Internal errors are logged here once and reach the page only as a generic
//! message.

mod eras;
mod jobs;
mod search;
mod upgrade;

use std::sync::Arc;

use app::error::AppError;
use app::model::{
    BadgePage, BadgeStream, ChangedCommit, ChangedComponent, ChangedImage, Changelog, Comparison,
    ComponentHistory, ComponentInfo, Gate, GateChange, JobState, MirrorIntegrity, Overview,
    PayloadView, Phase, ReleaseDetail, ReleaseRef, ReleaseRow, StreamHealth, StreamKind,
    StreamPage, StreamSummary, UpgradeEdge, UpgradeRun, Variant,
};
use chrono::{Duration, Utc};

use app::model::promotion::PromotionTarget;

use crate::formats::release_controller as wire;
use crate::ingest::release_controller::PollRegistry;
use crate::provenance;
use crate::store::payloads::{ComponentSighting, ComponentStream};
use crate::store::queries::{RecentRow, ReleaseFullRow, StreamRow, UpgradeRow};
use crate::store::{Store, StoreError};

/// Releases per stream page.
pub const PER_PAGE: u32 = 50;
/// Releases in the overview chart.
const RECENT: i64 = 30;
/// Releases looked at to find the current streak.
const STREAK_WINDOW: i64 = 200;

/// The UI's backend over the store and the pollers' status.
#[derive(Clone)]
pub struct StoreBackend {
    store: Store,
    polls: PollRegistry,
    public_url: Option<String>,
    overview: Arc<std::sync::Mutex<Option<(std::time::Instant, Overview)>>>,
    eras: eras::Eras,
}

/// How long the front page's figures are reused: they summarise every stream, change at
/// most every poll, and are what every visitor opens first.
const OVERVIEW_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl StoreBackend {
    /// A backend over `store`, reporting `polls`.
    pub fn new(store: Store, polls: PollRegistry) -> Self {
        StoreBackend {
            store,
            polls,
            public_url: None,
            overview: Arc::default(),
            eras: eras::Eras::default(),
        }
    }

    /// Uses `url` as the address users reach Streamgate at.
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url;
        self
    }

    /// Every stream's summary, grouped by variant, computed afresh.
    async fn compute_overview(&self) -> Result<Overview, AppError> {
        let now = Utc::now();
        let mut scos = Vec::new();
        let mut fcos = Vec::new();
        let mut others = Vec::new();
        for s in self.store.streams().await.map_err(internal)? {
            let summary = self.summary(&s, now).await.map_err(internal)?;
            match summary.variant {
                Variant::OkdScos => scos.push(summary),
                Variant::OkdFcos => fcos.push(summary),
                Variant::Ocp => others.push(summary),
            }
        }
        for list in [&mut scos, &mut fcos, &mut others] {
            list.sort_by(display_order);
        }
        Ok(Overview {
            now,
            groups: vec![(Variant::OkdScos, scos), (Variant::OkdFcos, fcos)],
            others,
            polls: self.polls.all(),
        })
    }

    /// The store it reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The address users reach Streamgate at, when configured.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// A stream's summary as the overview shows it: latest and latest accepted release,
    /// health over the 14 days before `now`, and the recent releases.
    pub async fn summary(
        &self,
        s: &StreamRow,
        now: chrono::DateTime<Utc>,
    ) -> Result<StreamSummary, StoreError> {
        let recent_rows = self.store.recent_releases(&s.name, STREAK_WINDOW).await?;
        let latest_accepted = self.store.latest_release(&s.name, Some("Accepted")).await?;
        let counts = self
            .store
            .phase_counts_since(&s.name, now - Duration::days(14))
            .await?;
        let count_of = |phases: &[&str]| -> u32 {
            counts
                .iter()
                .filter(|(p, _)| phases.contains(&p.as_str()))
                .map(|(_, n)| u32::try_from(*n).unwrap_or(u32::MAX))
                .sum()
        };
        let mut streak: Option<(Phase, u32)> = None;
        for r in recent_rows
            .iter()
            .map(|r| r.phase)
            .filter(|p| p.is_terminal())
        {
            let outcome = if r == Phase::Accepted {
                Phase::Accepted
            } else {
                Phase::Rejected
            };
            match &mut streak {
                None => streak = Some((outcome, 1)),
                Some((p, n)) if *p == outcome => *n += 1,
                Some(_) => break,
            }
        }
        let (variant, kind) = (s.variant, s.kind);
        let era = match variant {
            Variant::Ocp => None,
            Variant::OkdFcos | Variant::OkdScos => self.era(&s.name).await?,
        };
        Ok(StreamSummary {
            era,
            name: s.name.clone(),
            controller: s.controller.clone(),
            variant,
            kind,
            listed_upstream: s.listed_upstream,
            release_count: u32::try_from(self.store.count_releases(&s.name, None).await?)
                .unwrap_or(u32::MAX),
            latest_accepted: latest_accepted.as_ref().map(|r| ReleaseRef {
                name: r.name.clone(),
                stream: r.stream.clone(),
                phase: r.phase,
                created_at: r.created_at,
            }),
            latest: recent_rows.first().map(release_ref),
            health: StreamHealth {
                accepted_14d: count_of(&["Accepted"]),
                rejected_14d: count_of(&["Rejected", "Failed"]),
                streak,
                last_accepted_at: latest_accepted.map(|r| r.created_at),
            },
            recent: recent_rows
                .iter()
                .take(RECENT as usize)
                .rev()
                .map(release_ref)
                .collect(),
        })
    }

    /// The era of the newest release of `stream` whose payload was read, with its name (kept
    /// while no payload is read or bound, see [`eras`]).
    async fn era(
        &self,
        stream: &str,
    ) -> Result<Option<(String, app::model::EraEvidence)>, StoreError> {
        let Some((release, created_at)) = self.store.newest_read_release(stream).await? else {
            return Ok(None);
        };
        let generation = eras::generation(&self.store);
        let era = match self.eras.get(stream, &release, generation) {
            Some(kept) => kept,
            None => {
                let era = self
                    .components(stream, &release, created_at)
                    .await?
                    .map(|(_, components)| app::model::EraEvidence::of(&components));
                self.eras.keep(stream, &release, generation, era);
                era
            }
        };
        Ok(era.map(|era| (release, era)))
    }

    /// Release `tag` (of `stream`, or the CI or nightly one among streams sharing the name),
    /// the other streams' releases of that name, and its stream's class.
    async fn find_release(
        &self,
        tag: &str,
        stream: Option<&str>,
    ) -> Result<(ReleaseFullRow, Vec<ReleaseFullRow>, (Variant, StreamKind)), StoreError> {
        let mut all = self.store.releases_named(tag).await?;
        if all.is_empty() {
            return Err(StoreError::NotFound(format!("release {tag}")));
        }
        let streams = self.store.streams().await?;
        let class_of = |name: &str| {
            streams
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.variant, s.kind))
                .unwrap_or_else(|| app::model::classify_stream("", name))
        };
        // a promoted release that kept its CI name: show the CI one (it has the gates) unless asked
        let index = match stream {
            Some(s) => all
                .iter()
                .position(|r| r.stream == s)
                .ok_or_else(|| StoreError::NotFound(format!("release {tag} in stream {s}")))?,
            None => all
                .iter()
                .position(|r| matches!(class_of(&r.stream).1, StreamKind::Ci | StreamKind::Nightly))
                .unwrap_or(0),
        };
        let r = all.swap_remove(index);
        let class = class_of(&r.stream);
        Ok((r, all, class))
    }

    /// One release with its gates, upgrade edges, neighbours and changelog; `stream` picks
    /// among streams sharing the tag name, otherwise the CI or nightly one is preferred
    /// (it has the gates). A missing release is [`StoreError::NotFound`].
    pub async fn release_detail(
        &self,
        tag: &str,
        stream: Option<&str>,
    ) -> Result<ReleaseDetail, StoreError> {
        let now = Utc::now();
        let (r, all, (variant, kind)) = self.find_release(tag, stream).await?;
        let gates = self
            .store
            .gates(&r.stream, &r.name)
            .await?
            .into_iter()
            .map(|g| Gate {
                kind: g.kind,
                retries: u32::try_from(g.retries).unwrap_or(0),
                previous_attempt_urls: serde_json::from_str(&g.previous_attempt_urls)
                    .unwrap_or_default(),
                name: g.name,
                state: g.state,
                url: g.url,
                transition_time: g.transition_time,
            })
            .collect();
        let mut upgrades_into = Vec::new();
        for u in self.store.upgrades(&r.name, true).await? {
            let other = self.store.stream_of(&u.from_tag).await?;
            upgrades_into.push(edge(u, other));
        }
        let mut upgrades_out = Vec::new();
        for u in self.store.upgrades(&r.name, false).await? {
            let other = self.store.stream_of(&u.to_tag).await?;
            upgrades_out.push(edge(u, other));
        }
        let neighbours = self
            .store
            .neighbours(&r.stream, &r.name, r.created_at)
            .await?;
        let declared_previous = self.store.declared_previous(&r.stream, &r.name).await?;
        let payload = self
            .payload_view(&r.stream, &r.name, r.created_at, neighbours.0.as_deref())
            .await?;
        let mirror = self
            .store
            .mirror_check(&r.stream, &r.name)
            .await?
            .map(|c| MirrorIntegrity {
                checked: u32::try_from(c.checked).unwrap_or(0),
                missing: serde_json::from_str(&c.missing).unwrap_or_default(),
                unreachable: serde_json::from_str(&c.unreachable).unwrap_or_default(),
                since: c.since,
            });
        let wire_changelog = r
            .changelog
            .as_deref()
            .and_then(|c| serde_json::from_str::<wire::ChangeLog>(c).ok());
        let since_accepted = self
            .store
            .since_accepted(&r.stream, &r.name, r.created_at)
            .await?
            .map(|row| since_accepted(row, wire_changelog.as_ref()));
        let changelog = wire_changelog.map(changelog);
        Ok(ReleaseDetail {
            since_accepted,
            now,
            phase: r.phase,
            has_details: r.details_at.is_some(),
            details_error: r.details_error.clone(),
            also_in: all.into_iter().map(|o| o.stream).collect(),
            name: r.name,
            stream: r.stream,
            variant,
            kind,
            pull_spec: r.pull_spec,
            created_at: r.created_at,
            first_seen_at: r.first_seen_at,
            expired_at: r.expired_at,
            gates,
            upgrades_into,
            upgrades_out,
            declared_previous,
            changelog,
            neighbours,
            payload,
            mirror,
        })
    }

    /// The components of release `stream/release`, created at `created_at`, with their
    /// provenance, if its payload was read.
    pub async fn components(
        &self,
        stream: &str,
        release: &str,
        created_at: chrono::DateTime<Utc>,
    ) -> Result<Option<(String, Vec<ComponentInfo>)>, StoreError> {
        let Some(p) = self.store.release_payload(stream, release).await? else {
            return Ok(None);
        };
        let ocp = provenance::first_sightings(
            self.store
                .ocp_sightings_of_payload(&p.payload.digest)
                .await?,
        );
        let evidence = self
            .evidence(stream, release, created_at, &p.platform_names())
            .await?;
        let components = provenance::infos(&p, &ocp, &evidence);
        Ok(Some((p.payload.digest, components)))
    }

    /// The OCP CI payloads release `stream/release`, created at `at`, is compared with on
    /// each of its `platforms`: the nearest in time of its minor within
    /// [`provenance::SAME_DAYS`] that has that platform, or what is missing.
    async fn evidence(
        &self,
        stream: &str,
        release: &str,
        at: chrono::DateTime<Utc>,
        platforms: &[&str],
    ) -> Result<provenance::Evidence, StoreError> {
        /// OCP CI payloads read at most, looking for one per platform.
        const LOOKS: usize = 6;
        let Some(minor) =
            app::model::minor_version(release).or_else(|| app::model::minor_version(stream))
        else {
            return Ok(provenance::missing(None, 0));
        };
        let candidates = self
            .store
            .ocp_payloads_between(
                &minor,
                at - provenance::SAME_DAYS,
                at + provenance::SAME_DAYS,
            )
            .await?;
        if candidates.is_empty() {
            let read = self.store.ocp_payload_count(&minor).await?;
            return Ok(provenance::missing(Some(&minor), read));
        }
        let mut evidence = provenance::missing(Some(&minor), 0);
        for near in provenance::nearest_first(at, candidates)
            .into_iter()
            .take(LOOKS)
        {
            if let Some(p) = self.store.payload(&near.payload_digest).await? {
                provenance::compare_with(&mut evidence, &near.release, &near.stream, &p);
            }
            if platforms
                .iter()
                .all(|platform| evidence.compared.contains_key(*platform))
            {
                break;
            }
        }
        Ok(evidence)
    }

    /// What the release page shows of a payload: its components (marked changed against
    /// release `previous` of the same stream), its failed read, or that it is not read.
    async fn payload_view(
        &self,
        stream: &str,
        release: &str,
        created_at: chrono::DateTime<Utc>,
        previous: Option<&str>,
    ) -> Result<PayloadView, StoreError> {
        let Some((digest, mut components)) = self.components(stream, release, created_at).await?
        else {
            return Ok(
                match self.store.release_payload_failure(stream, release).await? {
                    Some(f) => PayloadView::Failed {
                        message: f.message,
                        at: f.failed_at,
                    },
                    None => PayloadView::NotRead,
                },
            );
        };
        let before = match previous {
            Some(p) => self.store.release_payload(stream, p).await?,
            None => None,
        };
        if let Some(before) = &before {
            for c in &mut components {
                c.changed = Some(
                    !before
                        .components
                        .iter()
                        .any(|b| b.name == c.name && b.image_digest == c.digest),
                );
            }
        }
        Ok(PayloadView::Read {
            digest,
            components,
            previous_read: before.is_some(),
        })
    }

    /// Two releases compared; either missing is [`StoreError::NotFound`].
    pub async fn comparison(&self, from: &str, to: &str) -> Result<Comparison, StoreError> {
        let (a, _, _) = self.find_release(from, None).await?;
        let (b, _, _) = self.find_release(to, None).await?;
        let old = self.components(&a.stream, &a.name, a.created_at).await?;
        let new = self.components(&b.stream, &b.name, b.created_at).await?;
        let a_gates = self.store.gates(&a.stream, &a.name).await?;
        let b_gates = self.store.gates(&b.stream, &b.name).await?;
        let payloads_read = (old.is_some(), new.is_some());
        let d = match (old, new) {
            (Some((_, old)), Some((_, new))) => provenance::diff(old, new),
            _ => provenance::Diff::default(),
        };
        let mut gates: Vec<GateChange> = Vec::new();
        for g in &b_gates {
            let before = a_gates.iter().find(|o| o.name == g.name);
            if before.map(|o| &o.state) != Some(&g.state) {
                gates.push(GateChange {
                    name: g.name.clone(),
                    from: before.map(|o| o.state),
                    to: Some(g.state),
                });
            }
        }
        for g in a_gates
            .iter()
            .filter(|g| !b_gates.iter().any(|n| n.name == g.name))
        {
            gates.push(GateChange {
                name: g.name.clone(),
                from: Some(g.state),
                to: None,
            });
        }
        gates.sort_by(|x, y| x.name.cmp(&y.name));
        let reference = |r: &ReleaseFullRow| ReleaseRef {
            name: r.name.clone(),
            stream: r.stream.clone(),
            phase: r.phase,
            created_at: r.created_at,
        };
        Ok(Comparison {
            now: Utc::now(),
            from: reference(&a),
            to: reference(&b),
            payloads_read,
            added: d.added,
            removed: d.removed,
            changed: d.changed,
            unchanged: d.unchanged,
            gates,
        })
    }

    /// Component `name` across the releases of `stream`, by default the newest OKD/SCOS CI
    /// stream carrying it (then any OKD stream, then any).
    pub async fn history(
        &self,
        name: &str,
        stream: Option<&str>,
    ) -> Result<ComponentHistory, StoreError> {
        let streams = self.store.streams_with_component(name).await?;
        let rank = |s: &ComponentStream| match (s.variant, s.kind) {
            (Variant::OkdScos, StreamKind::Ci) => 0,
            (Variant::OkdScos, _) => 1,
            (Variant::OkdFcos, _) => 2,
            _ => 3,
        };
        let chosen = match stream {
            Some(s) => streams
                .iter()
                .find(|c| c.name == s)
                .ok_or_else(|| StoreError::NotFound(format!("component {name} in stream {s}")))?,
            // `streams` is newest first; the first of the best rank wins
            None => streams
                .iter()
                .min_by_key(|s| rank(s))
                .ok_or_else(|| StoreError::NotFound(format!("component {name}")))?,
        };
        let ocp = provenance::first_sightings(self.store.ocp_sightings_of_component(name).await?);
        let images = self.store.ocp_images_of_component(name).await?;
        let sightings = self.store.component_in_stream(&chosen.name, name).await?;
        let evidence = |s: &ComponentSighting| {
            let minor = app::model::minor_version(&s.release)
                .or_else(|| app::model::minor_version(&chosen.name));
            provenance::component_evidence(
                name,
                &s.platform,
                minor.as_deref(),
                s.created_at,
                &images,
            )
        };
        Ok(ComponentHistory {
            now: Utc::now(),
            name: name.to_string(),
            stream: chosen.name.clone(),
            streams: streams
                .iter()
                .filter(|s| s.name != chosen.name)
                .map(|s| s.name.clone())
                .collect(),
            entries: provenance::history(sightings, &ocp, evidence),
        })
    }
}

fn release_ref(r: &RecentRow) -> ReleaseRef {
    ReleaseRef {
        name: r.name.clone(),
        stream: r.stream.clone(),
        phase: r.phase,
        created_at: r.created_at,
    }
}

/// `NotFound` stays a 404; anything else is logged and reported as unavailable.
/// A store failure as a page sees it: not found, or a generic message (logged here).
pub fn page_error(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound(what) => AppError::NotFound(what),
        e => internal(e),
    }
}

/// A store failure that is never the visitor's fault, logged here once.
pub fn internal(e: StoreError) -> AppError {
    // text the database cannot hold came with the request
    if let StoreError::InvalidText(why) = e {
        return AppError::BadRequest(why);
    }
    tracing::error!(error = %e, "store error while rendering a page");
    AppError::Unavailable("the database did not answer; try again shortly".to_string())
}

/// Orders streams for display: stable, next, CI, nightly; newer minors first.
fn display_order(a: &StreamSummary, b: &StreamSummary) -> std::cmp::Ordering {
    let minor = |s: &StreamSummary| {
        app::model::minor_version(&s.name)
            .and_then(|m| {
                m.split_once('.')
                    .and_then(|(x, y)| Some((x.parse::<u32>().ok()?, y.parse::<u32>().ok()?)))
            })
            .unwrap_or((0, 0))
    };
    a.kind
        .cmp(&b.kind)
        .then(minor(b).cmp(&minor(a)))
        .then(a.name.cmp(&b.name))
}

/// The page models, as the app's [`app::backend::Backend`] asks for them (the server
/// functions' backend, [`crate::site::SiteBackend`], answers with these).
impl StoreBackend {
    pub async fn overview(&self) -> Result<Overview, AppError> {
        if let Ok(cached) = self.overview.lock() {
            if let Some((at, overview)) = cached
                .as_ref()
                .filter(|(at, _)| at.elapsed() < OVERVIEW_FRESH_FOR)
            {
                let mut overview = overview.clone();
                // ages are relative to `now`; keep them true for the reused figures
                overview.now += chrono::Duration::from_std(at.elapsed()).unwrap_or_default();
                overview.polls = self.polls.all();
                return Ok(overview);
            }
        }
        let started = std::time::Instant::now();
        let overview = self.compute_overview().await?;
        if let Ok(mut cached) = self.overview.lock() {
            *cached = Some((started, overview.clone()));
        }
        Ok(overview)
    }

    pub async fn stream_page(
        &self,
        stream: &str,
        phase: Option<Phase>,
        page: u32,
    ) -> Result<StreamPage, AppError> {
        let now = Utc::now();
        let row = self
            .store
            .stream(stream)
            .await
            .map_err(internal)?
            .ok_or_else(|| AppError::NotFound(format!("stream {stream}")))?;
        let summary = self.summary(&row, now).await.map_err(internal)?;
        let phase_str = phase.map(|p| p.as_str());
        // every release of the stream: the summary counted them already
        let total = match phase_str {
            None => i64::from(summary.release_count),
            Some(_) => self
                .store
                .count_releases(stream, phase_str)
                .await
                .map_err(internal)?,
        };
        let pages = u32::try_from(total)
            .unwrap_or(u32::MAX)
            .div_ceil(PER_PAGE)
            .max(1);
        if page > pages {
            return Err(AppError::NotFound(format!(
                "page {page} of stream {stream} (it has {pages})"
            )));
        }
        let offset = i64::from(page - 1) * i64::from(PER_PAGE);
        let rows = self
            .store
            .stream_releases(stream, phase_str, i64::from(PER_PAGE), offset)
            .await
            .map_err(internal)?;
        let graph = if matches!(summary.kind, StreamKind::Stable | StreamKind::Next) {
            Some(self.upgrade_graph(stream).await.map_err(internal)?)
        } else {
            None
        };
        Ok(StreamPage {
            now,
            graph,
            poll: self.polls.get(&row.controller),
            stream: summary,
            phase,
            page,
            per_page: PER_PAGE,
            total: u32::try_from(total).unwrap_or(u32::MAX),
            releases: rows
                .into_iter()
                .map(|r| ReleaseRow {
                    phase: r.phase,
                    name: r.name,
                    created_at: r.created_at,
                    blocking_passed: u32::try_from(r.blocking_passed).unwrap_or(0),
                    blocking_total: u32::try_from(r.blocking_total).unwrap_or(0),
                    expired_at: r.expired_at,
                })
                .collect(),
        })
    }

    pub async fn release(
        &self,
        tag: &str,
        stream: Option<&str>,
    ) -> Result<ReleaseDetail, AppError> {
        self.release_detail(tag, stream).await.map_err(|e| match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            e => internal(e),
        })
    }

    pub async fn compare(&self, from: &str, to: &str) -> Result<Comparison, AppError> {
        self.comparison(from, to).await.map_err(page_error)
    }

    pub async fn upgrade(
        &self,
        from: &str,
        to: &str,
    ) -> Result<app::model::upgrade::UpgradeAnswer, AppError> {
        self.upgrade_answer(from, to).await.map_err(page_error)
    }

    pub async fn component_history(
        &self,
        name: &str,
        stream: Option<&str>,
    ) -> Result<ComponentHistory, AppError> {
        self.history(name, stream).await.map_err(page_error)
    }

    pub async fn job(
        &self,
        stream: &str,
        name: &str,
    ) -> Result<app::model::jobs::JobPage, AppError> {
        self.job_page(stream, name).await.map_err(page_error)
    }

    pub async fn jobs(&self, stream: &str) -> Result<app::model::jobs::JobRanking, AppError> {
        self.job_ranking(stream).await.map_err(page_error)
    }

    /// What `q` finds; a query that cannot be searched for is [`AppError::BadRequest`].
    pub async fn find(&self, q: &str) -> Result<app::model::search::SearchResults, AppError> {
        let query = app::model::search::Query::parse(q).map_err(AppError::BadRequest)?;
        self.search(q, query).await.map_err(page_error)
    }

    pub async fn suggest(&self, q: &str) -> Result<Vec<app::model::search::Suggestion>, AppError> {
        self.suggestions(q).await.map_err(page_error)
    }

    pub async fn targets(&self) -> Result<Vec<PromotionTarget>, AppError> {
        self.store.targets().await.map_err(internal)
    }

    pub async fn badge_page(&self) -> Result<BadgePage, AppError> {
        let mut streams: Vec<(Variant, StreamKind, BadgeStream)> = self
            .store
            .streams()
            .await
            .map_err(internal)?
            .iter()
            .map(|s| {
                let (variant, kind) = (s.variant, s.kind);
                (
                    variant,
                    kind,
                    BadgeStream {
                        label: badge_label(&s.controller, &s.name),
                        name: s.name.clone(),
                    },
                )
            })
            .collect();
        streams.sort_by(|a, b| {
            let rank = |v: Variant| match v {
                Variant::OkdScos => 0,
                Variant::OkdFcos => 1,
                Variant::Ocp => 2,
            };
            rank(a.0)
                .cmp(&rank(b.0))
                .then(a.1.cmp(&b.1))
                .then(b.2.name.cmp(&a.2.name))
        });
        Ok(BadgePage {
            streams: streams.into_iter().map(|(_, _, s)| s).collect(),
            base_url: self.public_url.clone().unwrap_or_default(),
        })
    }

    pub async fn api_tokens(
        &self,
        name: &str,
    ) -> Result<Vec<app::model::account::TokenInfo>, AppError> {
        let Some(user) = self.store.user_by_name(name).await.map_err(internal)? else {
            return Ok(Vec::new());
        };
        let tokens = self
            .store
            .list_api_tokens(Some(user.id))
            .await
            .map_err(internal)?;
        Ok(tokens
            .into_iter()
            .map(|t| app::model::account::TokenInfo {
                id: t.id,
                name: t.name,
                prefix: t.prefix,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    pub async fn users(&self) -> Result<Vec<app::model::account::UserInfo>, AppError> {
        let users = self.store.list_users().await.map_err(internal)?;
        Ok(users
            .into_iter()
            .map(|u| app::model::account::UserInfo {
                has_password: u.password_hash.is_some(),
                proxy: u.origin == crate::store::auth::Origin::Proxy,
                name: u.name,
                role: u.role,
                targets: u.targets,
                disabled: u.disabled,
            })
            .collect())
    }
}

/// The default left-hand text of a stream's badge: `OKD/SCOS 4-scos-stable`.
pub fn badge_label(controller: &str, stream: &str) -> String {
    match app::model::classify_stream(controller, stream).0 {
        Variant::Ocp => format!("OCP {stream}"),
        v => format!("{} {stream}", v.label()),
    }
}

fn edge(u: UpgradeRow, other_stream: Option<String>) -> UpgradeEdge {
    let runs: Vec<serde_json::Value> = serde_json::from_str(&u.runs).unwrap_or_default();
    UpgradeEdge {
        from: u.from_tag,
        to: u.to_tag,
        success: u32::try_from(u.success).unwrap_or(0),
        failure: u32::try_from(u.failure).unwrap_or(0),
        total: u32::try_from(u.total).unwrap_or(0),
        runs: runs
            .into_iter()
            .map(|r| UpgradeRun {
                state: JobState::parse(r["state"].as_str().unwrap_or_default()),
                url: r["url"].as_str().unwrap_or_default().to_string(),
            })
            .collect(),
        other_stream,
    }
}

fn images(list: Option<Vec<wire::ChangeLogImage>>) -> Vec<ChangedImage> {
    list.unwrap_or_default()
        .into_iter()
        .map(|i| ChangedImage {
            name: i.name,
            path: i.path,
            full_change_log: i.full_change_log,
            commits: i
                .commits
                .unwrap_or_default()
                .into_iter()
                .map(|c| ChangedCommit {
                    subject: c.subject,
                    pull_url: c.pull_url,
                    pull_id: c.pull_id,
                    issues: c.issues.unwrap_or_default().into_iter().collect(),
                })
                .collect(),
        })
        .collect()
}

/// The machine OS component of a changelog: (name, version).
fn machine_os(c: &wire::ChangeLog) -> Option<(String, String)> {
    c.components
        .iter()
        .flatten()
        .find(|comp| app::model::is_machine_os(&comp.name))
        .map(|comp| (comp.name.clone(), comp.version.clone()))
}

fn since_accepted(
    row: crate::store::since::SinceAcceptedRow,
    now: Option<&wire::ChangeLog>,
) -> app::model::SinceAccepted {
    let count = |n: i64| u32::try_from(n).unwrap_or(0);
    let was = row
        .changelog
        .as_deref()
        .and_then(|c| serde_json::from_str::<wire::ChangeLog>(c).ok())
        .as_ref()
        .and_then(machine_os);
    let os = match (was, now.and_then(machine_os)) {
        (Some((_, was)), Some((name, now))) => Some((name, was, now)),
        _ => None,
    };
    app::model::SinceAccepted {
        release: row.release,
        releases: count(row.releases),
        pulls: count(row.pulls),
        unread: count(row.releases - row.with_changelog),
        new_images: row.new_images.map(count),
        os,
    }
}

fn changelog(c: wire::ChangeLog) -> Changelog {
    Changelog {
        from: c.from.name,
        digest: Some(c.to.digest).filter(|d| !d.is_empty()),
        promoted_from: c.to.promoted_from.filter(|p| !p.is_empty()),
        components: c
            .components
            .unwrap_or_default()
            .into_iter()
            .map(|comp| ChangedComponent {
                name: comp.name,
                version: comp.version,
                from: comp.from.filter(|f| !f.is_empty()),
                diff_url: comp.diff_url,
            })
            .collect(),
        new_images: images(c.new_images),
        removed_images: images(c.removed_images),
        updated_images: images(c.updated_images),
        rebuilt_images: images(c.rebuilt_images),
    }
}
