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

use crate::store::registry_events::NewRegistryEvent;
use crate::store::releases::{DetailsBatch, NewGate, NewRelease, NewUpgrade, ReleaseDetails};
use crate::store::search::NewChangeRef;
use crate::store::{StoreResult, Tx};

/// Rows kept before [`Deferred::is_full`] says to write them.
const MOST_ROWS: usize = 50_000;

/// The pending writes; see the module.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    details: DetailsBatch,
    gates: HashMap<(String, String), Vec<NewGate>>,
    refs: HashMap<(String, String), Vec<NewChangeRef>>,
    upgrades: HashMap<(String, String), NewUpgrade>,
    registry: Vec<NewRegistryEvent>,
    rows: usize,
}

impl Deferred {
    /// A release's details, applied after those kept before them.
    pub fn details(&mut self, d: ReleaseDetails) {
        self.rows += 1;
        self.details.add(d);
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

    /// Writes the kept details now, before something that reads or writes release rows.
    pub async fn write_details(&mut self, tx: &mut Tx) -> StoreResult<()> {
        if self.details.is_empty() {
            return Ok(());
        }
        tx.apply_details_batch(&mut self.details).await
    }

    /// `stream/release`'s gates become `gates`.
    pub fn gates(&mut self, stream: &str, release: &str, gates: Vec<NewGate>) {
        self.rows += gates.len() + 1;
        self.gates
            .insert((stream.to_string(), release.to_string()), gates);
    }

    /// `stream/release`'s changelog references become `refs`.
    pub fn refs(&mut self, stream: &str, release: &str, refs: Vec<NewChangeRef>) {
        self.rows += refs.len() + 1;
        self.refs
            .insert((stream.to_string(), release.to_string()), refs);
    }

    /// The newest results of the edges in `upgrades`.
    pub fn upgrades(&mut self, upgrades: Vec<NewUpgrade>) {
        self.rows += upgrades.len();
        for u in upgrades {
            self.upgrades.insert((u.from.clone(), u.to.clone()), u);
        }
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
            gates,
            refs,
            upgrades,
            registry,
            ..
        } = std::mem::take(self);
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
        let upgrades: Vec<NewUpgrade> = upgrades.into_values().collect();
        tx.upsert_upgrades(&upgrades).await?;
        tx.insert_registry_events(&registry).await?;
        Ok(())
    }
}
