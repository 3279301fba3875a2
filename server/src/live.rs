//! Live updates: what changed, as soon as it is committed, for the pages' server-sent-event
//! streams (`GET /api/v1/live`, [`crate::api::live`]).
//!
//! Every process follows the event log by id ([`Live::run`]). On PostgreSQL it is woken by
//! `LISTEN` on the channel the appending replica announces each new id on (so a change
//! ingested by one replica reaches the clients of all of them) and also looks every few
//! seconds, in case a notification was missed while its connection was re-made; on SQLite,
//! the single process looks a few times a second. Each new event becomes a [`Change`] naming
//! what it is about, broadcast to this process's clients.
//!
//! Promotion progress is not in the log: the worker announces it with [`Live::progress`]
//! (`NOTIFY` on PostgreSQL, so every replica hears it); such changes carry no id and are not
//! replayed on resume.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::edge::peer::client_key;
use crate::events::{
    INTEGRITY_CHECKED, PAYLOAD_RELEASE, PROMOTION_REQUESTED, PROMOTION_STATE, RC_RELEASE,
    RC_RELEASE_FAILED, RC_STREAMS, RC_TAGS,
};
use crate::store::events::{EventHead, EVENTS_CHANNEL};
use crate::store::poll_lock::RELEASED_CHANNEL;
use crate::store::{Store, StoreResult};

/// PostgreSQL `NOTIFY` channel for promotion progress (payload: the promotion id).
pub const PROGRESS_CHANNEL: &str = "streamgate_progress";

/// Kind of the change that announces promotion progress.
pub const PROMOTION_PROGRESS: &str = "promotion.progress";

/// How many changes a slow client may fall behind before it is told to reload.
const BACKLOG: usize = 1024;

/// Which pages a change concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reach")]
pub enum Reach {
    /// Every page (the list of streams changed).
    Everywhere,
    /// A stream's pages: its release list changed (a new release, a phase).
    Stream {
        /// The stream.
        stream: String,
    },
    /// One release's page (its gates, payload, integrity).
    Release {
        /// The stream.
        stream: String,
        /// The release.
        release: String,
    },
    /// One promotion's page and the promotion list, and the stream it promotes into
    /// (where the release appears once it succeeded).
    Promotion {
        /// The promotion's id.
        promotion: i64,
        /// Its target (the stream promoted into), when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// Only unscoped followers (registry notifications, payload reads by digest).
    Elsewhere,
}

/// Something that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its event's id in the log; `None` for promotion progress, which is not logged.
    pub id: Option<i64>,
    /// The event kind (`rc.tags`, `promotion.state`, …) or [`PROMOTION_PROGRESS`].
    pub kind: String,
    /// What it concerns.
    #[serde(flatten)]
    pub reach: Reach,
}

impl Change {
    /// The change an appended event makes.
    pub fn of_event(head: &EventHead) -> Change {
        let split = |s: &str| {
            s.split_once('/')
                .map(|(stream, release)| Reach::Release {
                    stream: stream.to_string(),
                    release: release.to_string(),
                })
                .unwrap_or(Reach::Elsewhere)
        };
        let reach = match head.kind.as_str() {
            RC_STREAMS => Reach::Everywhere,
            RC_TAGS => Reach::Stream {
                stream: head.subject.clone(),
            },
            RC_RELEASE | RC_RELEASE_FAILED | PAYLOAD_RELEASE | INTEGRITY_CHECKED => {
                split(&head.subject)
            }
            // a requested promotion's id is its event's id; its subject the target
            PROMOTION_REQUESTED => Reach::Promotion {
                promotion: head.id,
                target: Some(head.subject.clone()),
            },
            // the target is filled in by the follower, which looks it up
            PROMOTION_STATE => head
                .subject
                .parse()
                .map(|promotion| Reach::Promotion {
                    promotion,
                    target: None,
                })
                .unwrap_or(Reach::Elsewhere),
            _ => Reach::Elsewhere,
        };
        Change {
            id: Some(head.id),
            kind: head.kind.clone(),
            reach,
        }
    }

    /// Promotion `id` made progress.
    pub fn progress(id: i64) -> Change {
        Change {
            id: None,
            kind: PROMOTION_PROGRESS.to_string(),
            reach: Reach::Promotion {
                promotion: id,
                target: None,
            },
        }
    }
}

/// What a follower wants to hear about: everything (no field), a stream, one release of a
/// stream, or one promotion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// A stream's changes, and those that concern every page.
    pub stream: Option<String>,
    /// With `stream`: only this release's changes and the stream's list changes.
    pub release: Option<String>,
    /// One promotion's state changes and progress.
    pub promotion: Option<i64>,
}

impl Scope {
    /// Refuses combinations that name no page.
    pub fn check(&self) -> Result<(), String> {
        let too_long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.len() > 256);
        if too_long(&self.stream) || too_long(&self.release) {
            return Err("stream and release names are at most 256 bytes".into());
        }
        if self.release.is_some() && self.stream.is_none() {
            return Err("release needs stream (a release is followed within its stream)".into());
        }
        if self.promotion.is_some() && (self.stream.is_some() || self.release.is_some()) {
            return Err("promotion cannot be combined with stream or release".into());
        }
        if self.promotion.is_some_and(|p| p <= 0) {
            return Err("promotion must be a positive id".into());
        }
        Ok(())
    }

    /// Whether a follower of this scope hears about `change`.
    pub fn matches(&self, change: &Change) -> bool {
        if let Some(p) = self.promotion {
            return matches!(change.reach, Reach::Promotion { promotion, .. } if promotion == p);
        }
        let Some(stream) = &self.stream else {
            return true;
        };
        match &change.reach {
            Reach::Everywhere => true,
            Reach::Stream { stream: s } => s == stream,
            Reach::Release {
                stream: s,
                release: r,
            } => s == stream && self.release.as_ref().is_none_or(|want| want == r),
            Reach::Promotion { target, .. } => target.as_ref() == Some(stream),
            Reach::Elsewhere => false,
        }
    }
}

/// How often the log is looked at without being told, and how many followers are let in.
#[derive(Debug, Clone, Copy)]
pub struct LiveConfig {
    /// On SQLite, between looks.
    pub sqlite_interval: Duration,
    /// On PostgreSQL, between looks when no notification came.
    pub postgres_fallback: Duration,
    /// Streams open at once from one client (an IPv4 address or an IPv6 /64).
    pub max_per_client: usize,
    /// Streams open at once on this process.
    pub max_total: usize,
}

/// Default [`LiveConfig::max_per_client`]: a browser opens at most six connections to a
/// host, so this leaves room for several people behind one address.
pub const DEFAULT_MAX_PER_CLIENT: usize = 50;

/// Default [`LiveConfig::max_total`]: about 40 MB of idle streams.
pub const DEFAULT_MAX_TOTAL: usize = 2000;

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            sqlite_interval: Duration::from_millis(250),
            postgres_fallback: Duration::from_secs(5),
            max_per_client: DEFAULT_MAX_PER_CLIENT,
            max_total: DEFAULT_MAX_TOTAL,
        }
    }
}

/// Why a follower was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The client has [`LiveConfig::max_per_client`] streams open already.
    #[error("this client has {0} live streams open already, the most allowed")]
    PerClient(usize),
    /// The process has [`LiveConfig::max_total`] streams open already.
    #[error("this server has {0} live streams open, the most it serves")]
    Total(usize),
}

/// The live-update hub of one process; cheap to clone.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: LiveConfig,
    changes: broadcast::Sender<Arc<Change>>,
    /// The id of the newest event broadcast.
    head: AtomicI64,
    /// Followers connected now.
    followers: AtomicUsize,
    /// Followers connected now, by client ([`client_key`]).
    per_client: Mutex<HashMap<IpAddr, usize>>,
    /// Turns true at shutdown: every follower's stream ends.
    closing: watch::Sender<bool>,
    /// Woken when another replica freed a poll lock on its way out.
    poll_released: Arc<tokio::sync::Notify>,
}

/// Counts a follower while it is connected.
pub struct Follower {
    live: Live,
    client: Option<IpAddr>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.live.inner.followers.fetch_sub(1, Ordering::AcqRel);
        if let Some(client) = self.client {
            let mut counts = self.live.inner.lock_clients();
            if let Some(n) = counts.get_mut(&client) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(&client);
                }
            }
        }
        crate::metrics::get().live_followers.dec();
    }
}

impl Inner {
    fn lock_clients(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // the map holds plain counts: a panic elsewhere cannot leave it half-changed
        self.per_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Live {
    /// A hub over `store`; nothing is broadcast until [`Live::run`] runs.
    pub fn new(store: Store, config: LiveConfig) -> Live {
        let (changes, _) = broadcast::channel(BACKLOG);
        let (closing, _) = watch::channel(false);
        Live {
            inner: Arc::new(Inner {
                store,
                config,
                changes,
                head: AtomicI64::new(0),
                followers: AtomicUsize::new(0),
                per_client: Mutex::new(HashMap::new()),
                closing,
                poll_released: Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    /// The store followed.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Starts following: the receiver hears every change broadcast from now on. Not
    /// counted against any client's limit (for the process's own use).
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<Change>>, Follower) {
        self.inner.followers.fetch_add(1, Ordering::AcqRel);
        crate::metrics::get().live_followers.inc();
        (
            self.inner.changes.subscribe(),
            Follower {
                live: self.clone(),
                client: None,
            },
        )
    }

    /// Lets a follower from `client` in, within the per-client and total limits; unknown
    /// clients are counted together.
    pub fn admit(
        &self,
        client: Option<IpAddr>,
    ) -> Result<(broadcast::Receiver<Arc<Change>>, Follower), Refused> {
        let key = client_key(client);
        let config = &self.inner.config;
        {
            let mut counts = self.inner.lock_clients();
            let mine = counts.entry(key).or_insert(0);
            if *mine >= config.max_per_client {
                return Err(Refused::PerClient(config.max_per_client));
            }
            let total = self.inner.followers.fetch_add(1, Ordering::AcqRel);
            if total >= config.max_total {
                self.inner.followers.fetch_sub(1, Ordering::AcqRel);
                if *mine == 0 {
                    counts.remove(&key);
                }
                return Err(Refused::Total(config.max_total));
            }
            *mine += 1;
        }
        crate::metrics::get().live_followers.inc();
        Ok((
            self.inner.changes.subscribe(),
            Follower {
                live: self.clone(),
                client: Some(key),
            },
        ))
    }

    /// Woken when a replica that stops has freed a poll lock: standby pollers wait on it as
    /// well as on their retry interval (PostgreSQL only).
    pub fn poll_released(&self) -> Arc<tokio::sync::Notify> {
        self.inner.poll_released.clone()
    }

    /// Turns true when the process shuts down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// Followers connected to this process now.
    pub fn followers(&self) -> usize {
        self.inner.followers.load(Ordering::Relaxed)
    }

    /// The id of the newest event broadcast so far.
    pub fn head(&self) -> i64 {
        self.inner.head.load(Ordering::Acquire)
    }

    /// Announces that promotion `id` made progress, to the followers of every replica.
    pub async fn progress(&self, id: i64) {
        match self
            .inner
            .store
            .notify(PROGRESS_CHANNEL, &id.to_string())
            .await
        {
            Ok(true) => {}
            // no other replica: this process's followers are all there is
            Ok(false) => {
                let _ = self.inner.changes.send(Arc::new(Change::progress(id)));
            }
            Err(e) => {
                tracing::debug!(promotion = id, error = %e, "announcing progress failed");
            }
        }
    }

    /// Follows the log until `stop` turns true, then ends every follower's stream.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            match self.inner.store.last_event_id().await {
                Ok(id) => {
                    self.inner.head.store(id, Ordering::Release);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: reading the log's head failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => { self.close(); return; }
                    }
                }
            }
        }
        if self.inner.store.is_shared() {
            self.follow_notifications(&mut stop).await;
        } else {
            self.follow_by_looking(&mut stop).await;
        }
        self.close();
    }

    /// Ends every follower's stream.
    pub fn close(&self) {
        let _ = self.inner.closing.send(true);
    }

    async fn follow_by_looking(&self, stop: &mut watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.inner.config.sqlite_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.catch_up_logged().await,
                _ = stop.changed() => return,
            }
        }
    }

    async fn follow_notifications(&self, stop: &mut watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.inner.config.postgres_fallback);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let channels = [EVENTS_CHANNEL, PROGRESS_CHANNEL, RELEASED_CHANNEL];
            let mut listener = match self.inner.store.listen(&channels).await {
                Ok(Some(l)) => l,
                Ok(None) => return self.follow_by_looking(stop).await,
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: LISTEN failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            // whatever was appended before the listener was in place
            self.catch_up_logged().await;
            loop {
                tokio::select! {
                    received = listener.recv() => match received {
                        Ok(Some(n)) if n.channel == RELEASED_CHANNEL => {
                            self.inner.poll_released.notify_waiters();
                        }
                        Ok(Some(n)) if n.channel == PROGRESS_CHANNEL => {
                            if let Ok(id) = n.payload.parse::<i64>() {
                                let _ = self.inner.changes.send(Arc::new(Change::progress(id)));
                            }
                        }
                        Ok(Some(n)) => {
                            // one read covers a burst: later ids it already read are skipped
                            let seen = n.payload.parse::<i64>().is_ok_and(|id| id <= self.head());
                            if !seen {
                                self.catch_up_logged().await;
                            }
                        }
                        // the connection was lost; the next receive re-makes it
                        Ok(None) => self.catch_up_logged().await,
                        Err(e) => {
                            tracing::warn!(error = %e, "live updates: listening failed");
                            break;
                        }
                    },
                    _ = tick.tick() => self.catch_up_logged().await,
                    _ = stop.changed() => return,
                }
            }
        }
    }

    async fn catch_up_logged(&self) {
        if let Err(e) = self.catch_up().await {
            tracing::warn!(error = %e, "live updates: reading the log failed");
        }
    }

    /// Broadcasts every event after the head; returns how many.
    pub async fn catch_up(&self) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let after = self.head();
            let heads = self.inner.store.event_heads_after(after, 500).await?;
            let Some(last) = heads.last().map(|h| h.id) else {
                return Ok(total);
            };
            total += heads.len();
            for head in &heads {
                let mut change = Change::of_event(head);
                if let Reach::Promotion {
                    promotion,
                    target: target @ None,
                } = &mut change.reach
                {
                    // state changes name only the promotion; its page and its target's
                    // stream pages both follow it
                    *target = self
                        .inner
                        .store
                        .promotion(*promotion)
                        .await
                        .ok()
                        .flatten()
                        .map(|row| row.target);
                }
                let _ = self.inner.changes.send(Arc::new(change));
            }
            if self.inner.head.swap(last, Ordering::AcqRel) < last {
                // another replica's events too: pages rendered before them are stale, and
                // what was worked out from payloads before a payload it read or bound
                crate::edge::page_cache::log_advanced(&self.inner.store);
                if heads
                    .iter()
                    .any(|h| crate::events::payload_generation::changes_payloads(&h.kind))
                {
                    crate::events::payload_generation::payloads_changed(&self.inner.store);
                }
            }
            if heads.len() < 500 {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(id: i64, kind: &str, subject: &str) -> EventHead {
        EventHead {
            id,
            kind: kind.into(),
            subject: subject.into(),
        }
    }

    #[test]
    fn events_reach_their_pages() {
        let tags = Change::of_event(&head(1, RC_TAGS, "4-scos-next"));
        let gate = Change::of_event(&head(2, RC_RELEASE, "4-scos-next/4.21.0-0.okd-scos-1"));
        let streams = Change::of_event(&head(3, RC_STREAMS, "all"));
        let promotion = Change::of_event(&head(4, PROMOTION_REQUESTED, "4-scos-stable"));
        let state = Change::of_event(&head(5, PROMOTION_STATE, "4"));
        let push = Change::of_event(&head(6, crate::events::REGISTRY_EVENT, "okd/scos"));

        let everything = Scope::default();
        let stream = Scope {
            stream: Some("4-scos-next".into()),
            ..Scope::default()
        };
        let release = Scope {
            release: Some("4.21.0-0.okd-scos-1".into()),
            ..stream.clone()
        };
        let other_release = Scope {
            release: Some("4.21.0-0.okd-scos-2".into()),
            ..stream.clone()
        };
        let followed = Scope {
            promotion: Some(4),
            ..Scope::default()
        };

        for c in [&tags, &gate, &streams, &promotion, &state, &push] {
            assert!(everything.matches(c), "{c:?}");
        }
        assert!(stream.matches(&tags) && stream.matches(&gate) && stream.matches(&streams));
        assert!(!stream.matches(&promotion) && !stream.matches(&push));
        let target = Scope {
            stream: Some("4-scos-stable".into()),
            ..Scope::default()
        };
        assert!(
            target.matches(&promotion),
            "the target's stream follows its promotions"
        );
        assert!(release.matches(&tags) && release.matches(&gate));
        assert!(other_release.matches(&tags) && !other_release.matches(&gate));
        assert!(followed.matches(&promotion) && followed.matches(&state));
        assert!(followed.matches(&Change::progress(4)));
        assert!(!followed.matches(&Change::progress(5)) && !followed.matches(&tags));
        let elsewhere = Scope {
            stream: Some("4-scos-stable".into()),
            ..Scope::default()
        };
        assert!(!elsewhere.matches(&tags) && !elsewhere.matches(&gate));
    }

    #[test]
    fn scopes_that_name_no_page_are_refused() {
        let release_alone = Scope {
            release: Some("x".into()),
            ..Scope::default()
        };
        assert!(release_alone.check().unwrap_err().contains("needs stream"));
        let both = Scope {
            stream: Some("s".into()),
            promotion: Some(1),
            ..Scope::default()
        };
        assert!(both.check().unwrap_err().contains("cannot be combined"));
        let negative = Scope {
            promotion: Some(-1),
            ..Scope::default()
        };
        assert!(negative.check().is_err());
        assert!(Scope::default().check().is_ok());
    }

    #[test]
    fn change_serializes_flat() {
        let c = Change::of_event(&head(9, RC_RELEASE, "s/r"));
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"id": 9, "kind": "rc.release", "reach": "release", "stream": "s", "release": "r"})
        );
    }

    async fn follows_the_log(store: Store) {
        let live = Live::new(store.clone(), LiveConfig::default());
        let (stop_tx, stop) = watch::channel(false);
        let (mut rx, _follower) = live.subscribe();
        let task = tokio::spawn(live.clone().run(stop));
        let event = crate::store::events::NewEvent {
            source: "test".into(),
            kind: RC_TAGS.into(),
            subject: "4-scos-next".into(),
            payload: r#"{"name":"4-scos-next","tags":[]}"#.into(),
            received_at: chrono::Utc::now(),
            external_id: None,
        };
        // give the follower time to read the (empty) head
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = crate::events::ingest(&store, event)
            .await
            .expect("ingests")
            .expect("new");
        let change = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("heard in time")
            .expect("open");
        assert_eq!(change.id, Some(id));
        assert_eq!(
            change.reach,
            Reach::Stream {
                stream: "4-scos-next".into()
            }
        );
        live.progress(7).await;
        let change = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("progress heard in time")
            .expect("open");
        assert_eq!(*change, Change::progress(7));
        let mut closing = live.closing();
        stop_tx.send(true).expect("stops");
        task.await.expect("ends");
        assert!(*closing.borrow_and_update());
    }

    #[tokio::test]
    async fn follows_the_log_sqlite() {
        let (store, _dir) = crate::store::testing::sqlite().await;
        follows_the_log(store).await;
    }

    #[tokio::test]
    async fn follows_the_log_postgres() {
        follows_the_log(crate::store::testing::postgres().await).await;
    }
}
