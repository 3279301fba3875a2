//! What several server processes on one database need from it: whether there can be other
//! processes at all (PostgreSQL; a SQLite file has one), NOTIFY and LISTEN to tell each
//! other about changes, and the pool's figures for the metrics. Callers never match on the
//! backend.

use sqlx::postgres::PgListener;

use super::{Store, StoreResult};

/// A notification another process (or this one) sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel it was sent on.
    pub channel: String,
    /// What it says.
    pub payload: String,
}

/// A connection listening on some channels.
pub struct Listener(PgListener);

impl Listener {
    /// The next notification; `None` when the connection was lost (the next call makes it
    /// again, so whatever was sent meanwhile must be looked up another way).
    pub async fn recv(&mut self) -> StoreResult<Option<Notification>> {
        Ok(self.0.try_recv().await?.map(|n| Notification {
            channel: n.channel().to_string(),
            payload: n.payload().to_string(),
        }))
    }
}

/// How many connections the pool holds, how many of them are idle, and the most it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: usize,
    /// The most connections the pool opens.
    pub max: u32,
}

impl Store {
    /// Whether other processes may share this database (PostgreSQL): then changes must be
    /// announced to them. A SQLite file belongs to one process.
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Sends `payload` on `channel` to every process listening; `false` when the database
    /// has no other processes to tell (SQLite), and nothing was sent.
    pub async fn notify(&self, channel: &str, payload: &str) -> StoreResult<bool> {
        match self {
            Store::Postgres(pool) => {
                sqlx::query("select pg_notify($1, $2)")
                    .bind(channel)
                    .bind(payload)
                    .execute(pool)
                    .await?;
                Ok(true)
            }
            Store::Sqlite(_) => Ok(false),
        }
    }

    /// A listener on `channels`; `None` when the database has no other processes (SQLite).
    pub async fn listen(&self, channels: &[&str]) -> StoreResult<Option<Listener>> {
        match self {
            Store::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen_all(channels.iter().copied()).await?;
                Ok(Some(Listener(listener)))
            }
            Store::Sqlite(_) => Ok(None),
        }
    }

    /// The pool's figures now.
    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle, max) =
            crate::on_pool!(self, p => (p.size(), p.num_idle(), p.options().get_max_connections()));
        PoolStats { size, idle, max }
    }
}
