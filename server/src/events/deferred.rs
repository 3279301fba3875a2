//! Writes of the projection that the next event of the same subject replaces, kept in
//! memory and written together: a release's details (folded as applying them in turn would
//! leave the row), its gates and changelog references (its newest details replace them), an
//! upgrade edge's results (its newest report replaces them), and registry events (inserted
//! once, the first of a key kept).
//!
//! Nothing the projection reads in between depends on them — except the release rows. A tag
//! list folds its phases into the details kept for the releases it lists ([`Deferred::listed`])
//! and writes the rest of their rows itself; the other kinds of event that read or write
//! release rows have the details written before they are projected
//! ([`Deferred::write_details`]). Writing them at the end of a batch, or every so
//! often while the log is replayed, gives the same tables as writing each at once, in a
//! handful of statements instead of several per event.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::formats::release_controller::{ChangeLog, UpgradeHistory, VerificationJobsSummary};
use crate::store::registry_events::NewRegistryEvent;
use crate::store::releases::{
    DetailsBatch, LiveRelease, NewGate, NewRelease, NewUpgrade, ReleaseDetails,
};
use crate::store::search::NewChangeRef;
use crate::store::{StoreResult, Tx};

/// Rows kept before [`Deferred::is_full`] says to write them.
const MOST_ROWS: usize = 50_000;

/// A release: its stream and name.
type Key = (String, String);

/// The pending writes; see the module. What a later event replaces is kept as read and made
/// into rows only when written.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    details: DetailsBatch,
    /// The newest changelog of each release, not yet folded into `details`.
    logs: HashMap<Key, ChangeLog>,
    /// The newest job results of each release.
    results: HashMap<Key, Option<VerificationJobsSummary>>,
    /// Changelog references, made from `logs` when the details are written.
    refs: HashMap<Key, Vec<NewChangeRef>>,
    /// The newest report of each upgrade edge (from, to), and when it came.
    upgrades: HashMap<Key, (UpgradeHistory, DateTime<Utc>)>,
    registry: Vec<NewRegistryEvent>,
    rows: usize,
    /// What the transaction knows of the release rows it wrote: see [`Known`].
    known: Known,
}

/// What a transaction wrote of streams and release rows, so that it need not read it back:
/// the streams it found or made (with their controller), and each stream's live releases as
/// its last tag list left them. The live releases are forgotten as soon as anything else
/// writes release rows ([`Deferred::write_details`]).
#[derive(Debug, Default)]
pub(super) struct Known {
    /// Each stream's controller.
    streams: HashMap<String, String>,
    live: HashMap<String, Vec<LiveRelease>>,
}

impl Known {
    /// Whether `stream` is known to belong to `controller`.
    pub fn stream(&self, stream: &str, controller: &str) -> bool {
        self.streams.get(stream).is_some_and(|c| c == controller)
    }

    /// `stream` belongs to `controller`.
    pub fn found_stream(&mut self, stream: &str, controller: &str) {
        self.streams
            .insert(stream.to_string(), controller.to_string());
    }

    /// The live releases of `stream` as its last tag list left them, if nothing wrote
    /// release rows since; taken (the caller puts what it leaves back with [`Known::left`]).
    pub fn take_live(&mut self, stream: &str) -> Option<Vec<LiveRelease>> {
        self.live.remove(stream)
    }

    /// `stream`'s live releases are now `live`.
    pub fn left(&mut self, stream: String, live: Vec<LiveRelease>) {
        self.live.insert(stream, live);
    }
}

impl Deferred {
    /// A release's details, applied after those kept before them: its row's fields, its
    /// changelog (when it has one), its job results and the upgrade runs it reports.
    pub fn details(
        &mut self,
        d: ReleaseDetails,
        changelog: Option<ChangeLog>,
        results: Option<VerificationJobsSummary>,
        upgrades: impl Iterator<Item = UpgradeHistory>,
    ) {
        let key = (d.stream.clone(), d.name.clone());
        let seen = d.seen_at;
        self.rows += 1;
        self.details.add(d);
        if let Some(log) = changelog {
            self.logs.insert(key.clone(), log);
        }
        self.rows += 1 + results.as_ref().map_or(0, |r| {
            [&r.blocking_jobs, &r.informing_jobs, &r.async_jobs]
                .into_iter()
                .flatten()
                .map(|jobs| jobs.len())
                .sum()
        });
        self.results.insert(key, results);
        for u in upgrades {
            self.rows += 1;
            self.upgrades
                .insert((u.from.clone(), u.to.clone()), (u, seen));
        }
    }

    /// A tag list's rows: the phases of releases with details kept are folded into them
    /// (at each row's `seen_at`); returns the rows that are theirs (to be written keeping the
    /// phase) and the others.
    pub fn listed<'a>(
        &mut self,
        rows: &'a [NewRelease],
    ) -> (Vec<&'a NewRelease>, Vec<&'a NewRelease>) {
        rows.iter()
            .partition(|r| self.details.listed(&r.stream, &r.name, r.phase, r.seen_at))
    }

    /// Writes the kept details now, before something that reads or writes release rows:
    /// their changelogs go in with them, and the references those name are made.
    pub async fn write_details(&mut self, tx: &mut Tx) -> StoreResult<()> {
        // the rows change under what the last tag lists left
        self.known.live.clear();
        if self.details.is_empty() {
            return Ok(());
        }
        for ((stream, name), log) in self.logs.drain() {
            self.details
                .set_changelog(&stream, &name, super::normalize_changelog(&log));
            self.refs
                .insert((stream, name), super::changelog_refs::changelog_refs(&log));
        }
        tx.apply_details_batch(&mut self.details).await
    }

    /// What the transaction knows of the rows it wrote.
    pub fn known(&mut self) -> &mut Known {
        &mut self.known
    }

    /// A registry event to insert.
    pub fn registry_event(&mut self, event: NewRegistryEvent) {
        self.rows += 1;
        self.registry.push(event);
    }

    /// Whether enough is kept that it should be written now.
    pub fn is_full(&self) -> bool {
        self.rows >= MOST_ROWS
    }

    /// Writes everything kept, in `tx`, and forgets it.
    pub async fn write(&mut self, tx: &mut Tx) -> StoreResult<()> {
        self.write_details(tx).await?;
        let Deferred {
            results,
            refs,
            upgrades,
            registry,
            known,
            ..
        } = std::mem::take(self);
        // still true: nothing kept is about streams or release rows
        self.known = known;
        let gates: Vec<(Key, Vec<NewGate>)> = results
            .into_iter()
            .map(|(key, results)| (key, super::new_gates(results.as_ref())))
            .collect();
        let gates: Vec<(&str, &str, &[NewGate])> = gates
            .iter()
            .map(|((s, r), g)| (s.as_str(), r.as_str(), g.as_slice()))
            .collect();
        tx.replace_gates_of(&gates).await?;
        let refs: Vec<(&str, &str, &[NewChangeRef])> = refs
            .iter()
            .map(|((s, r), g)| (s.as_str(), r.as_str(), g.as_slice()))
            .collect();
        tx.replace_changelog_refs_of(&refs).await?;
        let upgrades: Vec<NewUpgrade> = upgrades
            .into_values()
            .map(|(u, seen)| super::new_upgrade(&u, seen))
            .collect();
        tx.upsert_upgrades(&upgrades).await?;
        tx.insert_registry_events(&registry).await?;
        Ok(())
    }
}
