//! Mirror-integrity checks of promoted releases: what to check, and the latest result of
//! each, as projected from `integrity.checked` events.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, Tx};
use crate::{on_pool, on_tx};

/// One check's outcome, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MirrorCheck {
    /// The payload digest the release points at.
    pub payload_digest: String,
    /// References checked (the payload and each component image).
    pub checked: i64,
    /// References the registry says do not exist.
    pub missing: Vec<String>,
    /// References that could not be checked (registry down, refused).
    pub unreachable: Vec<String>,
}

impl MirrorCheck {
    /// Whether everything resolved.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.unreachable.is_empty()
    }
}

/// A stored check.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MirrorCheckRow {
    /// Stream.
    pub stream: String,
    /// Release.
    pub release: String,
    /// Payload digest.
    pub payload_digest: String,
    /// References checked.
    pub checked: i64,
    /// Missing references (JSON array).
    pub missing: String,
    /// Unreachable references (JSON array).
    pub unreachable: String,
    /// Whether everything resolved.
    pub ok: bool,
    /// When this result was first seen.
    pub since: DateTime<Utc>,
}

/// A promoted release whose payload has been read.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PromotedPayload {
    /// Stream.
    pub stream: String,
    /// Release.
    pub release: String,
    /// The pull spec the payload was read from.
    pub pull_spec: String,
    /// Its digest.
    pub payload_digest: String,
}

const CHECK_COLUMNS: &str =
    "stream, release, payload_digest, checked, missing, unreachable, ok, since";

impl Tx {
    /// Records the latest check of a release (replacing the earlier one).
    pub async fn record_mirror_check(
        &mut self,
        stream: &str,
        release: &str,
        check: &MirrorCheck,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let missing = serde_json::to_string(&check.missing).unwrap_or_else(|_| "[]".into());
        let unreachable = serde_json::to_string(&check.unreachable).unwrap_or_else(|_| "[]".into());
        on_tx!(self, c => {
            sqlx::query(
                "insert into mirror_checks (stream, release, payload_digest, checked, missing, \
                 unreachable, ok, since) values ($1, $2, $3, $4, $5, $6, $7, $8) \
                 on conflict (stream, release) do update set payload_digest = excluded.payload_digest, \
                 checked = excluded.checked, missing = excluded.missing, \
                 unreachable = excluded.unreachable, ok = excluded.ok, since = excluded.since",
            )
            .bind(stream)
            .bind(release)
            .bind(&check.payload_digest)
            .bind(check.checked)
            .bind(&missing)
            .bind(&unreachable)
            .bind(check.ok())
            .bind(at)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}

impl Store {
    /// Releases of stable and next streams whose payload has been read: what mirror
    /// integrity checks.
    pub async fn promoted_payloads(&self) -> StoreResult<Vec<PromotedPayload>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PromotedPayload>(
                "select rp.stream, rp.release, rp.pull_spec, rp.payload_digest \
                 from release_payloads rp join streams s on s.name = rp.stream \
                 where s.kind in ('stable', 'next') order by rp.stream, rp.release",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The component image references of a payload.
    pub async fn component_images(&self, payload_digest: &str) -> StoreResult<Vec<String>> {
        let rows = on_pool!(self, p => {
            sqlx::query_scalar(
                "select image from payload_components where payload_digest = $1 order by name",
            )
            .bind(payload_digest)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The latest check of a release.
    pub async fn mirror_check(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Option<MirrorCheckRow>> {
        let sql =
            format!("select {CHECK_COLUMNS} from mirror_checks where stream = $1 and release = $2");
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, MirrorCheckRow>(&sql)
                .bind(stream)
                .bind(release)
                .fetch_optional(p)
                .await?
        });
        Ok(row)
    }

    /// Every release whose latest check failed.
    pub async fn failing_mirror_checks(&self) -> StoreResult<Vec<MirrorCheckRow>> {
        let sql = format!(
            "select {CHECK_COLUMNS} from mirror_checks where not ok order by stream, release"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, MirrorCheckRow>(&sql).fetch_all(p).await?
        });
        Ok(rows)
    }
}
