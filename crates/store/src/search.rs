//! What search looks up: the pull requests, bugs and commits each release's changelog names
//! (`changelog_refs`, projected with the release's details), pull request titles by word
//! (SQLite FTS5, PostgreSQL GIN full-text), release names and component names by their
//! start, commits and digests in the payload tables. Every lookup goes through an index.
//!
//! Prefix lookups compare bytes on both databases (PostgreSQL with collation "C", whose
//! indexes the migration adds), so a prefix means the same whatever the server's locale.

use app::model::{Phase, StreamKind};
use chrono::{DateTime, Utc};

use super::{Store, StoreResult, Tx};
use crate::{on_pool, on_tx};

/// Rows per insert statement when a release's references are stored.
const REF_ROWS: usize = 100;
/// Most rows one lookup reads (sightings are a few per stream; a component's are one per
/// payload read).
const MOST_SIGHTINGS: i64 = 5_000;
/// Most title matches read before their keys are told apart, newest first.
const MOST_TITLE_MATCHES: i64 = 500;

/// What a changelog names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// A pull request, keyed `org/repo#N`.
    Pull,
    /// A bug, keyed by its upper-case key.
    Bug,
    /// A commit an image was built from, keyed by its 40 lower-case hex digits.
    Commit,
}

impl RefKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Pull => "pull",
            RefKind::Bug => "bug",
            RefKind::Commit => "commit",
        }
    }
}

/// One reference a release's changelog makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChangeRef {
    /// What it names.
    pub kind: RefKind,
    /// Its key.
    pub key: String,
    /// The change's subject (for a commit: the images built from it).
    pub title: String,
    /// Where it lives (pull request, bug or repository URL), or empty.
    pub url: String,
}

/// Something found in one release.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SightingRow {
    /// The key found (pull request, bug, commit, component or digest).
    pub key: String,
    /// Its title: a change's subject, a component's name.
    pub title: String,
    /// Where it lives, or empty.
    pub url: String,
    /// The release's stream.
    pub stream: String,
    /// That stream's kind.
    #[sqlx(try_from = "String")]
    pub stream_kind: StreamKind,
    /// The release.
    pub release: String,
    /// The release's phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// When the release was created.
    pub created_at: DateTime<Utc>,
}

/// A release whose name starts with a prefix.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NamedReleaseRow {
    /// Its stream.
    pub stream: String,
    /// Its name.
    pub name: String,
    /// Its phase.
    #[sqlx(try_from = "String")]
    pub phase: Phase,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Every string that starts with `prefix` sorts at or after it and before this bound, when
/// strings compare by bytes.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The columns a sighting from the payload tables selects, `key` and `title` given.
const PAYLOAD_SIGHTING: &str = "'' as url, rp.stream, s.kind as stream_kind, rp.release, \
     rel.phase, rel.created_at from payload_components pc \
     join release_payloads rp on rp.payload_digest = pc.payload_digest \
     join releases rel on rel.stream = rp.stream and rel.name = rp.release \
     join streams s on s.name = rp.stream";

impl Tx {
    /// Replaces the references each release's changelog makes, for several releases at once;
    /// a reference a changelog makes twice is stored once.
    pub async fn replace_changelog_refs_of(
        &mut self,
        releases: &[(&str, &str, &[NewChangeRef])],
    ) -> StoreResult<()> {
        crate::delete_by_release(
            self,
            "changelog_refs",
            releases.iter().map(|(s, r, _)| (*s, *r)),
        )
        .await?;
        let mut rows: Vec<(&str, &str, &NewChangeRef)> = Vec::new();
        for (stream, release, refs) in releases {
            let first = rows.len();
            for r in refs.iter() {
                if !rows[first..]
                    .iter()
                    .any(|(_, _, u)| u.kind == r.kind && u.key == r.key)
                {
                    rows.push((stream, release, r));
                }
            }
        }
        for chunk in rows.chunks(REF_ROWS) {
            let sql = format!(
                "insert into changelog_refs (stream, release, kind, key, title, url) values {}",
                crate::values_rows(chunk.len(), 0, 6)
            );
            let sql = crate::positional(self, &sql);
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql);
                for (stream, release, r) in chunk {
                    q = q
                        .bind(*stream)
                        .bind(*release)
                        .bind(r.kind.as_str())
                        .bind(&r.key)
                        .bind(&r.title)
                        .bind(&r.url);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }
}

impl Store {
    /// `column` compared by bytes: as it is on SQLite, with collation "C" on PostgreSQL
    /// (matching the migration's indexes).
    fn bytes(&self, column: &str) -> String {
        match self {
            Store::Sqlite(_) => column.to_string(),
            Store::Postgres(_) => format!("({column} collate \"C\")"),
        }
    }

    async fn sightings(&self, sql: &str, binds: &[&str]) -> StoreResult<Vec<SightingRow>> {
        let rows = on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, SightingRow>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.bind(MOST_SIGHTINGS).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Releases whose changelog names `key` of `kind` (or, with `prefix`, a key starting
    /// with it), oldest release first.
    pub async fn changelog_sightings(
        &self,
        kind: RefKind,
        key: &str,
        prefix: bool,
    ) -> StoreResult<Vec<SightingRow>> {
        let end = prefix_end(key);
        let (cond, binds) = if prefix {
            (
                "r.key >= $2 and r.key < $3",
                vec![kind.as_str(), key, end.as_str()],
            )
        } else {
            ("r.key = $2", vec![kind.as_str(), key])
        };
        let sql = format!(
            "select r.key, r.title, r.url, r.stream, s.kind as stream_kind, r.release, \
             rel.phase, rel.created_at from changelog_refs r \
             join releases rel on rel.stream = r.stream and rel.name = r.release \
             join streams s on s.name = r.stream \
             where r.kind = $1 and {cond} order by rel.created_at, rel.name limit ${}",
            binds.len() + 1
        );
        self.sightings(&sql, &binds).await
    }

    /// The pull requests (key, title) whose title has every word of `words` (the last one
    /// as a prefix, as typed), the most recently stored first, at most `limit`.
    pub async fn pulls_titled(
        &self,
        words: &[String],
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let last = words.len() - 1;
        let keys: Vec<(String, String)> = match self {
            Store::Sqlite(p) => {
                let query: Vec<String> = words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| format!("\"{w}\"{}", if i == last { "*" } else { "" }))
                    .collect();
                sqlx::query_as(
                    "select r.key, r.title from changelog_titles t join changelog_refs r on r.id = t.rowid \
                     where changelog_titles match $1 order by t.rowid desc limit $2",
                )
                .bind(query.join(" "))
                .bind(MOST_TITLE_MATCHES)
                .fetch_all(p)
                .await?
            }
            Store::Postgres(p) => {
                let query: Vec<String> = words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| format!("'{w}'{}", if i == last { ":*" } else { "" }))
                    .collect();
                sqlx::query_as(
                    "select key, title from changelog_refs where kind = 'pull' and \
                     to_tsvector('simple', title) @@ to_tsquery('simple', $1) \
                     order by id desc limit $2",
                )
                .bind(query.join(" & "))
                .bind(MOST_TITLE_MATCHES)
                .fetch_all(p)
                .await?
            }
        };
        let mut unique: Vec<(String, String)> = Vec::new();
        for (key, title) in keys {
            if unique.len() >= limit {
                break;
            }
            if !unique.iter().any(|(k, _)| *k == key) {
                unique.push((key, title));
            }
        }
        Ok(unique)
    }

    /// Releases whose payload has a component built from `commit` (or, with `prefix`, from
    /// a commit starting with it), oldest first; the title is the component's name.
    pub async fn commit_sightings(
        &self,
        commit: &str,
        prefix: bool,
    ) -> StoreResult<Vec<SightingRow>> {
        let column = self.bytes("pc.commit_id");
        let end = prefix_end(commit);
        let (cond, binds) = if prefix {
            (
                format!("{column} >= $1 and {column} < $2"),
                vec![commit, end.as_str()],
            )
        } else {
            (format!("{column} = $1"), vec![commit])
        };
        let sql = format!(
            "select pc.commit_id as key, pc.name as title, {PAYLOAD_SIGHTING} where {cond} \
             order by rel.created_at, rel.name, pc.name limit ${}",
            binds.len() + 1
        );
        self.sightings(&sql, &binds).await
    }

    /// Releases whose payload has component `name`, oldest first.
    pub async fn component_sightings(&self, name: &str) -> StoreResult<Vec<SightingRow>> {
        let column = self.bytes("pc.name");
        let sql = format!(
            "select pc.name as key, pc.name as title, {PAYLOAD_SIGHTING} where {column} = $1 \
             order by rel.created_at, rel.name limit $2"
        );
        self.sightings(&sql, &[name]).await
    }

    /// Releases whose payload has a component image of `digest`, oldest first.
    pub async fn image_sightings(&self, digest: &str) -> StoreResult<Vec<SightingRow>> {
        let sql = format!(
            "select pc.image_digest as key, pc.name as title, {PAYLOAD_SIGHTING} \
             where pc.image_digest = $1 order by rel.created_at, rel.name, pc.name limit $2"
        );
        self.sightings(&sql, &[digest]).await
    }

    /// Releases whose payload is `digest`, oldest first.
    pub async fn payload_sightings(&self, digest: &str) -> StoreResult<Vec<SightingRow>> {
        let sql = "select rp.payload_digest as key, rp.pull_spec as title, '' as url, rp.stream, \
             s.kind as stream_kind, rp.release, rel.phase, rel.created_at from release_payloads rp \
             join releases rel on rel.stream = rp.stream and rel.name = rp.release \
             join streams s on s.name = rp.stream \
             where rp.payload_digest = $1 order by rel.created_at, rel.name limit $2";
        self.sightings(sql, &[digest]).await
    }

    /// Component names starting with `prefix`, in order, at most `limit`.
    pub async fn component_names(&self, prefix: &str, limit: usize) -> StoreResult<Vec<String>> {
        let column = self.bytes("name");
        let sql = format!(
            "select distinct {column} as name from payload_components where {column} >= $1 \
             and {column} < $2 order by 1 limit $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let names = on_pool!(self, p => {
            sqlx::query_scalar(&sql)
                .bind(prefix)
                .bind(prefix_end(prefix))
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        Ok(names)
    }

    /// Releases whose name starts with `prefix`, the greatest name first (the newest, for
    /// dated CI tags), at most `limit`.
    pub async fn releases_starting(
        &self,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<NamedReleaseRow>> {
        let column = self.bytes("name");
        let sql = format!(
            "select stream, name, phase, created_at from releases where {column} >= $1 and \
             {column} < $2 order by {column} desc, stream limit $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, NamedReleaseRow>(&sql)
                .bind(prefix)
                .bind(prefix_end(prefix))
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    /// Every stored changelog reference, one line each, for comparing projections.
    pub async fn changelog_ref_dump(&self) -> StoreResult<Vec<String>> {
        let rows: Vec<(String, String, String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "select stream, release, kind, key, title, url from changelog_refs \
                 order by stream, release, kind, key",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .iter()
            .map(|r| format!("changelog_ref {r:?}"))
            .collect())
    }

    /// The first accepted release of `stream` created at or after `since`.
    pub async fn first_accepted_since(
        &self,
        stream: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let name = on_pool!(self, p => {
            sqlx::query_scalar(
                "select name from releases where stream = $1 and phase = 'Accepted' and \
                 created_at >= $2 order by created_at, name limit 1",
            )
            .bind(stream)
            .bind(since)
            .fetch_optional(p)
            .await?
        });
        Ok(name)
    }
}
