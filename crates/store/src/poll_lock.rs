//! One poller per controller across replicas. On PostgreSQL a replica polls a controller
//! only while it holds a session advisory lock keyed by the controller's name, on a
//! connection of its own: when the replica dies its connection closes, PostgreSQL frees the
//! lock, and a standby that retries every few seconds takes over. On SQLite there is one
//! process, which always polls.

use sqlx::{Connection, PgConnection, PgPool};

use super::{Store, StoreResult};

/// PostgreSQL `NOTIFY` channel on which a replica that stops announces it freed a poll lock
/// (payload: the controller), so a standby takes it at once instead of at its next retry.
pub const RELEASED_CHANNEL: &str = "streamgate_poll_released";

/// A controller's poll lock, as one replica sees it.
pub struct PollLock {
    pool: Option<PgPool>,
    controller: String,
    conn: Option<PgConnection>,
    held: bool,
}

impl PollLock {
    /// The lock of `controller` in `store`'s database.
    pub fn new(store: &Store, controller: &str) -> PollLock {
        PollLock {
            pool: match store {
                Store::Postgres(pool) => Some(pool.clone()),
                Store::Sqlite(_) => None,
            },
            controller: controller.to_string(),
            conn: None,
            held: false,
        }
    }

    /// Whether this replica holds the lock (as last seen).
    pub fn held(&self) -> bool {
        self.held || self.pool.is_none()
    }

    /// Takes the lock if it is free; `Ok(false)` while another replica holds it.
    pub async fn try_acquire(&mut self) -> StoreResult<bool> {
        let Some(pool) = &self.pool else {
            return Ok(true);
        };
        if self.held {
            return Ok(true);
        }
        if self.conn.is_none() {
            let options = pool.connect_options();
            self.conn = Some(PgConnection::connect_with(&options).await?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        let taken: Result<bool, sqlx::Error> = sqlx::query_scalar(
            "select pg_try_advisory_lock(hashtext('streamgate.poll'), hashtext($1))",
        )
        .bind(&self.controller)
        .fetch_one(&mut *conn)
        .await;
        match taken {
            Ok(taken) => {
                self.held = taken;
                Ok(taken)
            }
            Err(e) => {
                self.conn = None;
                Err(e.into())
            }
        }
    }

    /// Checks that the lock is still held: its connection answers. When it does not,
    /// PostgreSQL has freed the lock (or will, once it notices), so this replica stops
    /// polling and becomes a standby.
    pub async fn still_held(&mut self) -> bool {
        if self.pool.is_none() {
            return true;
        }
        let alive = match self.conn.as_mut() {
            Some(conn) if self.held => conn.ping().await.is_ok(),
            _ => false,
        };
        if !alive {
            self.held = false;
            self.conn = None;
        }
        alive
    }

    /// Frees the lock and closes its connection.
    pub async fn release(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if self.held {
                let _ = sqlx::query(
                    "select pg_advisory_unlock(hashtext('streamgate.poll'), hashtext($1))",
                )
                .bind(&self.controller)
                .execute(&mut conn)
                .await;
                let _ = sqlx::query("select pg_notify($1, $2)")
                    .bind(RELEASED_CHANNEL)
                    .bind(&self.controller)
                    .execute(&mut conn)
                    .await;
            }
            let _ = conn.close().await;
        }
        self.held = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_and_taken_over_when_it_goes() {
        let store = crate::testing::postgres().await;
        let mut a = PollLock::new(&store, "origin");
        let mut b = PollLock::new(&store, "origin");
        let mut other = PollLock::new(&store, "ocp");
        assert!(a.try_acquire().await.expect("a tries"));
        assert!(!b.try_acquire().await.expect("b tries"));
        assert!(other
            .try_acquire()
            .await
            .expect("another controller's lock is free"));
        assert!(a.still_held().await);
        a.release().await;
        assert!(!a.held());
        assert!(b.try_acquire().await.expect("b takes over"));
        // a holder whose connection is gone frees the lock
        drop(b);
        let mut c = PollLock::new(&store, "origin");
        let mut taken = false;
        for _ in 0..50 {
            if c.try_acquire().await.expect("c tries") {
                taken = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(taken, "the lock of a dropped connection is freed");
    }

    #[tokio::test]
    async fn sqlite_always_polls() {
        let (store, _dir) = crate::testing::sqlite().await;
        let mut lock = PollLock::new(&store, "origin");
        assert!(lock.try_acquire().await.expect("acquires"));
        assert!(lock.still_held().await && lock.held());
    }
}
