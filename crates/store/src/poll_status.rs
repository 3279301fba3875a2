//! Each controller's polling status as its poller last wrote it. On PostgreSQL only the
//! replica holding a controller's poll lock writes it; the others read it, so every replica
//! reports the same freshness.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::on_pool;
use app::model::PollStatus;

#[derive(sqlx::FromRow)]
struct Row {
    controller: String,
    holder: String,
    last_success_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    consecutive_failures: i32,
}

impl Store {
    /// Records `status` as written by `holder` (the replica polling the controller).
    pub async fn save_poll_status(
        &self,
        status: &PollStatus,
        holder: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query(
                "insert into poll_status (controller, holder, last_success_at, last_attempt_at, \
                 last_error, consecutive_failures, updated_at) values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (controller) do update set holder = excluded.holder, \
                 last_success_at = excluded.last_success_at, \
                 last_attempt_at = excluded.last_attempt_at, last_error = excluded.last_error, \
                 consecutive_failures = excluded.consecutive_failures, \
                 updated_at = excluded.updated_at",
            )
            .bind(&status.controller)
            .bind(holder)
            .bind(status.last_success_at)
            .bind(status.last_attempt_at)
            .bind(&status.last_error)
            .bind(i32::try_from(status.consecutive_failures).unwrap_or(i32::MAX))
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// A controller's stored status and the replica that wrote it.
    pub async fn poll_status(&self, controller: &str) -> StoreResult<Option<(PollStatus, String)>> {
        let row: Option<Row> = on_pool!(self, p => {
            sqlx::query_as(
                "select controller, holder, last_success_at, last_attempt_at, last_error, \
                 consecutive_failures from poll_status where controller = $1",
            )
            .bind(controller)
            .fetch_optional(p)
            .await?
        });
        Ok(row.map(|r| {
            (
                PollStatus {
                    controller: r.controller,
                    last_success_at: r.last_success_at,
                    last_attempt_at: r.last_attempt_at,
                    last_error: r.last_error,
                    consecutive_failures: u32::try_from(r.consecutive_failures).unwrap_or(0),
                },
                r.holder,
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    async fn round_trip(store: Store) {
        assert!(store.poll_status("origin").await.expect("read").is_none());
        let now = Utc::now();
        let mut status = PollStatus {
            controller: "origin".into(),
            last_success_at: Some(now),
            last_attempt_at: Some(now),
            last_error: None,
            consecutive_failures: 0,
        };
        store
            .save_poll_status(&status, "a", now)
            .await
            .expect("save");
        status.last_error = Some("timed out".into());
        status.consecutive_failures = 2;
        store
            .save_poll_status(&status, "b", now)
            .await
            .expect("overwrite");
        let (read, holder) = store
            .poll_status("origin")
            .await
            .expect("read")
            .expect("row");
        assert_eq!(holder, "b");
        assert_eq!(read.consecutive_failures, 2);
        assert_eq!(read.last_error.as_deref(), Some("timed out"));
        assert_eq!(
            read.last_success_at.map(|t| t.timestamp_micros()),
            Some(now.timestamp_micros())
        );
    }

    #[tokio::test]
    async fn round_trip_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        round_trip(store).await;
    }

    #[tokio::test]
    async fn round_trip_postgres() {
        round_trip(testing::postgres().await).await;
    }
}
