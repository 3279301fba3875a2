//! What changed in a stream since its previous accepted release: the release to compare
//! with, how many releases came after it, the pull requests their changelogs name, and the
//! components whose image differs between the two payloads.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::on_pool;

/// A stream's previous accepted release and what came after it, up to a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinceAcceptedRow {
    /// The previous accepted release.
    pub release: String,
    /// Its changelog (normalised JSON), when read.
    pub changelog: Option<String>,
    /// Releases after it up to and including the one asked about.
    pub releases: i64,
    /// Of those, the ones whose changelog has been read.
    pub with_changelog: i64,
    /// Distinct pull requests their changelogs name.
    pub pulls: i64,
    /// Components of the release asked about whose image is not the previous accepted
    /// release's image of that name; `None` unless both payloads have been read.
    pub new_images: Option<i64>,
}

/// The releases of stream `$1` after release `$3` (created at `$2`) up to release `$5`
/// (created at `$4`), in (created_at, name) order; columns of table `t` (`"rel."`, or `""`).
fn between(t: &str) -> String {
    format!(
        "{t}stream = $1 and {t}created_at >= $2 and {t}created_at <= $4 \
         and ({t}created_at > $2 or ({t}created_at = $2 and {t}name > $3)) \
         and ({t}created_at < $4 or ({t}created_at = $4 and {t}name <= $5))"
    )
}

impl Store {
    /// What changed in `stream` from its accepted release before `name` (created at
    /// `created_at`) up to `name`; `None` when no earlier release was accepted.
    pub async fn since_accepted(
        &self,
        stream: &str,
        name: &str,
        created_at: DateTime<Utc>,
    ) -> StoreResult<Option<SinceAcceptedRow>> {
        let previous: Option<(String, DateTime<Utc>, Option<String>)> = on_pool!(self, p => {
            sqlx::query_as(
                "select name, created_at, changelog from releases where stream = $1 \
                 and phase = 'Accepted' \
                 and created_at <= $2 and (created_at < $2 or (created_at = $2 and name < $3)) \
                 order by created_at desc, name desc limit 1",
            )
            .bind(stream)
            .bind(created_at)
            .bind(name)
            .fetch_optional(p)
            .await?
        });
        let Some((release, since, changelog)) = previous else {
            return Ok(None);
        };
        let after = between("");
        let (releases, with_changelog, pulls): (i64, i64, i64) = on_pool!(self, p => {
            let (releases, with_changelog): (i64, i64) = sqlx::query_as(&format!(
                "select count(*), count(changelog) from releases where {after}"
            ))
            .bind(stream)
            .bind(since)
            .bind(&release)
            .bind(created_at)
            .bind(name)
            .fetch_one(p)
            .await?;
            let pulls: i64 = sqlx::query_scalar(&format!(
                "select count(distinct r.key) from releases rel join changelog_refs r \
                 on r.stream = rel.stream and r.release = rel.name and r.kind = 'pull' \
                 where {}",
                between("rel.")
            ))
            .bind(stream)
            .bind(since)
            .bind(&release)
            .bind(created_at)
            .bind(name)
            .fetch_one(p)
            .await?;
            (releases, with_changelog, pulls)
        });
        let new_images: Option<i64> = on_pool!(self, p => {
            sqlx::query_scalar(
                "select (select count(*) from payload_components a \
                 where a.payload_digest = now.payload_digest and not exists ( \
                   select 1 from payload_components b where b.payload_digest = was.payload_digest \
                   and b.name = a.name and b.image_digest = a.image_digest)) \
                 from release_payloads now, release_payloads was \
                 where now.stream = $1 and now.release = $2 \
                 and was.stream = $1 and was.release = $3",
            )
            .bind(stream)
            .bind(name)
            .bind(&release)
            .fetch_optional(p)
            .await?
        });
        Ok(Some(SinceAcceptedRow {
            release,
            changelog,
            releases,
            with_changelog,
            pulls,
            new_images,
        }))
    }
}
