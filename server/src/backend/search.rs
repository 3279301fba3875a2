//! Search answered from the store: what a query names, and where it first appeared in each
//! stream.

use app::model::search::{
    words, Appearance, Found, FoundKind, Query, ReleaseHit, SearchResults, Suggestion, MOST_FOUND,
    MOST_RELEASES, MOST_SUGGESTIONS,
};
use app::model::{Phase, StreamKind};
use app::widgets::{encode, release_href};

use super::StoreBackend;
use crate::store::search::{RefKind, SightingRow};
use crate::store::StoreError;

/// Most components a word search lists with their first appearances.
const MOST_COMPONENTS: usize = 5;

impl StoreBackend {
    /// Everything `query` (typed as `q`) finds.
    pub async fn search(&self, q: &str, query: Query) -> Result<SearchResults, StoreError> {
        let mut results = SearchResults {
            q: q.trim().to_string(),
            query: query.clone(),
            releases: Vec::new(),
            found: Vec::new(),
            more: false,
        };
        match &query {
            Query::Pull { repo, number } => {
                let rows = self
                    .store
                    .changelog_sightings(RefKind::Pull, &format!("{repo}#{number}"), false)
                    .await?;
                results.found = self.found(FoundKind::Pull, rows).await?;
            }
            Query::Bug(key) => {
                let rows = self
                    .store
                    .changelog_sightings(RefKind::Bug, key, false)
                    .await?;
                results.found = self.found(FoundKind::Bug, rows).await?;
            }
            Query::Commit(commit) => {
                let prefix = commit.len() < 40;
                let mut rows = self
                    .store
                    .changelog_sightings(RefKind::Commit, commit, prefix)
                    .await?;
                rows.extend(self.store.commit_sightings(commit, prefix).await?);
                rows.sort_by(|a, b| (a.created_at, &a.release).cmp(&(b.created_at, &b.release)));
                results.found = self.found(FoundKind::Commit, rows).await?;
            }
            Query::Digest(digest) => {
                let images = self.store.image_sightings(digest).await?;
                let payloads = self.store.payload_sightings(digest).await?;
                results.found = self.found(FoundKind::Payload, payloads).await?;
                results
                    .found
                    .extend(self.found(FoundKind::Image, images).await?);
            }
            Query::Words(text) => self.search_words(text, &mut results).await?,
        }
        if results.found.len() > MOST_FOUND {
            results.found.truncate(MOST_FOUND);
            results.more = true;
        }
        Ok(results)
    }

    /// A release name or its start, a component name or its start, words of a title.
    async fn search_words(
        &self,
        text: &str,
        results: &mut SearchResults,
    ) -> Result<(), StoreError> {
        let lower = text.to_lowercase();
        let mut releases = self
            .store
            .releases_starting(&lower, MOST_RELEASES + 1)
            .await?;
        results.more |= releases.len() > MOST_RELEASES;
        releases.truncate(MOST_RELEASES);
        results.releases = releases
            .into_iter()
            .map(|r| ReleaseHit {
                phase: r.phase,
                stream: r.stream,
                name: r.name,
                created_at: r.created_at,
            })
            .collect();
        let names = self
            .store
            .component_names(&lower, MOST_COMPONENTS + 1)
            .await?;
        results.more |= names.len() > MOST_COMPONENTS;
        for name in names.iter().take(MOST_COMPONENTS) {
            let rows = self.store.component_sightings(name).await?;
            results
                .found
                .extend(self.found(FoundKind::Component, rows).await?);
        }
        let pulls = self
            .store
            .pulls_titled(&words(text), MOST_FOUND + 1)
            .await?;
        results.more |= pulls.len() > MOST_FOUND;
        for (key, _) in pulls.iter().take(MOST_FOUND) {
            let rows = self
                .store
                .changelog_sightings(RefKind::Pull, key, false)
                .await?;
            results
                .found
                .extend(self.found(FoundKind::Pull, rows).await?);
        }
        Ok(())
    }

    /// `rows` (oldest first) grouped by key, each with its first release per stream.
    async fn found(
        &self,
        kind: FoundKind,
        rows: Vec<SightingRow>,
    ) -> Result<Vec<Found>, StoreError> {
        let mut found: Vec<Found> = Vec::new();
        for row in rows {
            let at = match found.iter().position(|f| f.key == row.key) {
                Some(at) => at,
                None => {
                    found.push(Found {
                        kind,
                        key: row.key.clone(),
                        title: String::new(),
                        url: None,
                        appearances: Vec::new(),
                    });
                    found.len() - 1
                }
            };
            let f = &mut found[at];
            if f.title.is_empty() {
                f.title.clone_from(&row.title);
            } else if kind == FoundKind::Commit && !f.title.split(", ").any(|t| t == row.title) {
                // a commit names every image built from it
                f.title = format!("{}, {}", f.title, row.title);
            }
            if f.url.is_none() && !row.url.is_empty() {
                f.url = Some(row.url.clone());
            }
            if f.appearances.iter().any(|a| a.stream == row.stream) {
                continue;
            }
            let stream_kind = row.stream_kind;
            let phase = row.phase;
            let accepted = match (stream_kind, phase) {
                (_, Phase::Accepted) => Some(row.release.clone()),
                (StreamKind::Ci | StreamKind::Nightly, _) => {
                    self.store
                        .first_accepted_since(&row.stream, row.created_at)
                        .await?
                }
                _ => None,
            };
            f.appearances.push(Appearance {
                stream: row.stream,
                stream_kind,
                release: row.release,
                phase,
                created_at: row.created_at,
                accepted,
            });
        }
        Ok(found)
    }

    /// What the search box offers while `q` is typed: releases and components starting with
    /// it and pull requests titled with its words; for a pull request, bug, commit or digest,
    /// the search itself.
    pub async fn suggestions(&self, q: &str) -> Result<Vec<Suggestion>, StoreError> {
        let Ok(query) = Query::parse(q) else {
            return Ok(Vec::new());
        };
        let text = match query {
            Query::Words(text) => text,
            other => {
                return Ok(vec![Suggestion {
                    kind: "search".to_string(),
                    label: format!("Which releases have {}?", other.describe()),
                    href: format!("/search?q={}", encode(q.trim())),
                }])
            }
        };
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        for r in self.store.releases_starting(&lower, 4).await? {
            out.push(Suggestion {
                kind: "release".to_string(),
                href: release_href(&r.stream, &r.name),
                label: r.name,
            });
        }
        for name in self.store.component_names(&lower, 3).await? {
            out.push(Suggestion {
                kind: "component".to_string(),
                href: format!("/components/{}", encode(&name)),
                label: name,
            });
        }
        let room = MOST_SUGGESTIONS.saturating_sub(out.len());
        for (key, title) in self.store.pulls_titled(&words(&text), room).await? {
            out.push(Suggestion {
                kind: "pull request".to_string(),
                href: format!("/search?q={}", encode(&key)),
                label: format!("{key}: {title}"),
            });
        }
        out.truncate(MOST_SUGGESTIONS);
        Ok(out)
    }
}
