//! The one data layer: a [`Store`] over SQLite (the embedded default) or PostgreSQL, chosen
//! from the database URL at start-up.
//!
//! Query bodies are written once and expanded for both pools by the [`on_pool!`] and
//! [`on_tx!`] macros; where the dialects differ, each gets its own branch. Each aggregate has
//! its own file: [`events`] (the append-only log), [`releases`] (streams, releases, gates and
//! upgrade edges as projected from the log), [`payloads`] (release payloads read from
//! registries), [`registry_events`] (registry notifications), [`queries`] (the read models the pages use) and [`api_queries`] (the reads
//! only the JSON API and the feeds make).

pub mod api_queries;
pub mod auth;
pub mod events;
pub mod evidence;
pub mod integrity;
pub mod jobs;
pub mod payloads;
pub mod poll_lock;
pub mod poll_status;
pub mod promotions;
pub mod publishing;
pub mod queries;
pub mod registry_events;
pub mod releases;
pub mod replicas;
pub mod search;
pub mod settings;
pub mod since;
pub mod upgrades;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Postgres, Sqlite, Transaction};

/// Errors of the data layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The write conflicts with what is stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored value could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database URL names no supported backend.
    #[error("unsupported database url (use sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Text the database cannot hold (PostgreSQL refuses NUL characters): it came from
    /// outside, so it is refused like any malformed input.
    #[error("{0}")]
    InvalidText(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Sqlx(#[source] sqlx::Error),
}

/// PostgreSQL's `character_not_in_repertoire`: from a Rust string, only a NUL causes it.
const PG_INVALID_TEXT: &str = "22021";

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let invalid_text = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == PG_INVALID_TEXT);
        if invalid_text {
            StoreError::InvalidText(
                "text with a NUL character cannot be stored or looked up".into(),
            )
        } else {
            StoreError::Sqlx(e)
        }
    }
}

impl StoreError {
    /// Whether the error is a unique-constraint violation, on either backend.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sqlx(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Result alias for the data layer.
pub type StoreResult<T> = Result<T, StoreError>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Store {
    /// SQLite file (WAL), the single-process default.
    Sqlite(SqlitePool),
    /// PostgreSQL, for installs with several replicas.
    Postgres(PgPool),
}

/// A write transaction on either backend.
pub enum Tx {
    /// SQLite transaction, begun with `BEGIN IMMEDIATE`.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs one query body against whichever pool the store holds.
#[macro_export]
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}

/// Runs one query body against whichever transaction is open; `$conn` is the connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Store {
    /// Which database this is (its file, or its server and name): two handles on one
    /// database have the same identity.
    pub fn identity(&self) -> String {
        match self {
            Store::Sqlite(pool) => {
                format!("sqlite:{}", pool.connect_options().get_filename().display())
            }
            Store::Postgres(pool) => {
                let o = pool.connect_options();
                format!(
                    "postgres://{}:{}/{}",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                )
            }
        }
    }

    /// Connects to `url`: `sqlite://path` (created if missing, WAL) or `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Applies every pending migration of the backend's folder.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Store::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// The backend's name, for logs and `/readyz`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Begins a write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`)
    /// so a transaction that reads before it writes cannot fail to upgrade its lock.
    pub async fn begin(&self) -> StoreResult<Tx> {
        match self {
            Store::Sqlite(pool) => Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Store::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    /// Checks that the database answers and every migration has been applied.
    pub async fn ready(&self) -> StoreResult<()> {
        let expected = match self {
            Store::Sqlite(_) => SQLITE_MIGRATIONS.iter().count(),
            Store::Postgres(_) => POSTGRES_MIGRATIONS.iter().count(),
        } as i64;
        let applied: i64 = on_pool!(self, p => {
            sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
                .fetch_one(p)
                .await?
        });
        if applied < expected {
            return Err(StoreError::Conflict(format!(
                "{applied} of {expected} migrations applied"
            )));
        }
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics at once (`ANALYZE`), as autovacuum does on
    /// its own after enough changes: for a benchmark right after a bulk load. SQLite keeps
    /// planning without statistics, as a fresh install does.
    pub async fn analyze(&self) -> StoreResult<()> {
        if let Store::Postgres(p) = self {
            sqlx::query("analyze").execute(p).await?;
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Creates database `name` afresh (dropping an earlier one) on the PostgreSQL server that
/// `admin_url` points at, and returns a migrated store on it. For tests and benchmarks,
/// which each need a clean database; `name` must be a plain lowercase identifier.
pub async fn fresh_postgres(admin_url: &str, name: &str) -> StoreResult<Store> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Conflict(format!(
            "not a plain database name: {name:?}"
        )));
    }
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_string())
        .ok_or_else(|| StoreError::UnsupportedUrl(redact_url(admin_url)))?;
    let admin = PgPool::connect(admin_url).await?;
    let template = migrated_template(&admin, &base).await?;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&admin)
        .await?;
    sqlx::query(&format!("create database {name} template {template}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let store = Store::connect(&format!("{base}/{name}")).await?;
    store.migrate().await?;
    Ok(store)
}

/// The name of a database holding every PostgreSQL migration and nothing else, created on
/// first use: `sg_template_<checksum of the migrations>`, so a changed migration gets a new
/// template and copies are never made from a stale one. Copying it (`create database …
/// template …`) takes a few milliseconds where migrating takes hundreds. An advisory lock
/// keeps concurrent test runs from building it twice.
async fn migrated_template(admin: &PgPool, base: &str) -> StoreResult<String> {
    use sha2::{Digest, Sha256};
    let mut sum = Sha256::new();
    for migration in POSTGRES_MIGRATIONS.iter() {
        sum.update(migration.version.to_be_bytes());
        sum.update(&migration.checksum);
    }
    let checksum = sum.finalize();
    let name = format!(
        "sg_template_{}",
        checksum[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut lock = admin.acquire().await?;
    sqlx::query("select pg_advisory_lock(7310513)")
        .execute(&mut *lock)
        .await?;
    let built = async {
        let exists: Option<i32> =
            sqlx::query_scalar("select 1 from pg_database where datname = $1")
                .bind(&name)
                .fetch_optional(&mut *lock)
                .await?;
        if exists.is_none() {
            let building = format!("{name}_building");
            sqlx::query(&format!("drop database if exists {building} with (force)"))
                .execute(&mut *lock)
                .await?;
            sqlx::query(&format!("create database {building}"))
                .execute(&mut *lock)
                .await?;
            let store = Store::connect(&format!("{base}/{building}")).await?;
            store.migrate().await?;
            store.close().await;
            // the closed pool's server processes may take a moment to exit; until they
            // have, PostgreSQL refuses the rename (object in use)
            let rename = format!("alter database {building} rename to {name}");
            let mut tries = 0;
            loop {
                match sqlx::query(&rename).execute(&mut *lock).await {
                    Ok(_) => break,
                    Err(e) if tries < 50 && is_object_in_use(&e) => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        StoreResult::Ok(())
    }
    .await;
    sqlx::query("select pg_advisory_unlock(7310513)")
        .execute(&mut *lock)
        .await?;
    built.map(|()| name)
}

/// `sql` as this transaction's database is best given it. SQLite looks a numbered parameter's
/// name up in a list as long as the statement's parameters, each time one is bound — a
/// hundred-row insert spends more time there than inserting — so where `$1, $2, …` appear once
/// each and in order, SQLite gets plain `?`s, which it numbers the same way without a name.
pub(crate) fn positional<'s>(tx: &Tx, sql: &'s str) -> std::borrow::Cow<'s, str> {
    if !matches!(tx, Tx::Sqlite(_)) {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1u32;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |n| n);
        match rest[at + 1..at + 1 + digits].parse::<u32>() {
            Ok(n) if n == expected => {
                out.push('?');
                expected += 1;
            }
            // out of order, repeated or not a parameter: leave the statement as it is
            _ => return std::borrow::Cow::Borrowed(sql),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Deletes the rows of `table` (keyed by `stream`, `release` first) that belong to the given
/// releases: a statement per stream and hundred releases, each going through the key's index.
pub(crate) async fn delete_by_release<'r>(
    tx: &mut Tx,
    table: &str,
    releases: impl Iterator<Item = (&'r str, &'r str)>,
) -> StoreResult<()> {
    let mut by_stream: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (stream, release) in releases {
        by_stream.entry(stream).or_default().push(release);
    }
    for (stream, names) in by_stream {
        for chunk in names.chunks(100) {
            let sql = match tx {
                Tx::Sqlite(_) => {
                    let list: Vec<String> = (2..2 + chunk.len()).map(|k| format!("${k}")).collect();
                    format!(
                        "delete from {table} where stream = $1 and release in ({})",
                        list.join(", ")
                    )
                }
                // a join with the list, which PostgreSQL answers by looking each release up
                // in the (stream, release) index even when its statistics are out of date
                // (as they are while the log is replayed); `release in (…)` made it read
                // every row of the stream
                Tx::Postgres(_) => format!(
                    "delete from {table} t using (values {}) v (s, r) \
                     where t.stream = v.s and t.release = v.r",
                    values_rows(chunk.len(), 1, 1)
                ),
            };
            let sql = positional(tx, &sql);
            on_tx!(tx, c => {
                let mut q = sqlx::query(&sql).bind(stream);
                for name in chunk {
                    q = q.bind(*name);
                }
                q.execute(c).await?.rows_affected()
            });
        }
    }
    Ok(())
}

/// The `values` list of a multi-row insert: `rows` tuples, each the `shared` leading
/// parameters (`$1`…, the same in every row) then `per_row` parameters of its own, numbered
/// on from there: `values_rows(2, 1, 2)` is `($1, $2, $3), ($1, $4, $5)`.
pub(crate) fn values_rows(rows: usize, shared: usize, per_row: usize) -> String {
    let shared: Vec<String> = (1..=shared).map(|k| format!("${k}")).collect();
    let first = shared.len() + 1;
    (0..rows)
        .map(|i| {
            let own = first + i * per_row;
            let columns: Vec<String> = shared
                .iter()
                .cloned()
                .chain((own..own + per_row).map(|k| format!("${k}")))
                .collect();
            format!("({})", columns.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// PostgreSQL's `object_in_use`: a database still has sessions.
fn is_object_in_use(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "55006")
}

/// Hides the password of a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(any(test, feature = "testing"))]
#[allow(
    clippy::expect_used,
    reason = "test set-up: a store that cannot be opened fails the test that asked for it"
)]
pub mod testing {
    //! Opens a fresh store on each backend for the store stories.
    use super::*;

    /// A fresh SQLite store in a temporary directory (kept alive by the returned guard).
    pub async fn sqlite() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/test.db", dir.path().display());
        let store = Store::connect(&url).await.expect("sqlite connects");
        store.migrate().await.expect("migrates");
        (store, dir)
    }

    /// A fresh PostgreSQL database on the local server (`STREAMGATE_TEST_PG`, default
    /// `postgres://postgres@127.0.0.1:5432/test`); names are numbered per call and re-created by the next run, so runs leave a bounded set.
    pub async fn postgres() -> Store {
        let admin_url = std::env::var("STREAMGATE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let name = format!(
            "sg_test_{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        fresh_postgres(&admin_url, &name)
            .await
            .expect("postgres reachable for tests")
    }

    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_gets_plain_placeholders_only_when_they_are_in_order() {
        let (sqlite, _dir) = testing::sqlite().await;
        let tx = sqlite.begin().await.expect("begin");
        assert_eq!(
            positional(&tx, "insert into t values ($1, $2), ($3, $4)"),
            "insert into t values (?, ?), (?, ?)"
        );
        for kept in [
            "update t set a = $2 where b = $1",
            "select $1, $1",
            "select '$'",
            "select 1",
        ] {
            assert_eq!(positional(&tx, kept), kept);
        }
        drop(tx);
        let pg = testing::postgres().await;
        let tx = pg.begin().await.expect("begin");
        assert_eq!(positional(&tx, "values ($1, $2)"), "values ($1, $2)");
        drop(tx);
    }

    #[test]
    fn values_rows_share_the_leading_parameters() {
        assert_eq!(values_rows(2, 1, 2), "($1, $2, $3), ($1, $4, $5)");
        assert_eq!(
            values_rows(2, 2, 3),
            "($1, $2, $3, $4, $5), ($1, $2, $6, $7, $8)"
        );
        assert_eq!(values_rows(1, 0, 1), "($1)");
    }

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact_url("postgres://sg:secret@db:5432/sg"),
            "postgres://sg:***@db:5432/sg"
        );
        assert_eq!(
            redact_url("sqlite://streamgate.db"),
            "sqlite://streamgate.db"
        );
    }

    #[tokio::test]
    async fn both_backends_migrate_and_report_ready() {
        let (sqlite, _dir) = testing::sqlite().await;
        sqlite.ready().await.expect("sqlite ready");
        let pg = testing::postgres().await;
        pg.ready().await.expect("postgres ready");
        // applying again is a no-op
        pg.migrate().await.expect("idempotent");
    }

    #[tokio::test]
    async fn text_with_nul_is_refused_as_input_not_failed_as_a_database_error() {
        let (sqlite, _dir) = testing::sqlite().await;
        assert!(matches!(sqlite.stream("a\0b").await, Ok(None)));
        let pg = testing::postgres().await;
        let err = pg.stream("a\0b").await.expect_err("postgres refuses nul");
        assert!(matches!(err, StoreError::InvalidText(_)), "{err}");
        // anything else stays a database error
        let err = StoreError::from(sqlx::Error::RowNotFound);
        assert!(matches!(err, StoreError::Sqlx(_)), "{err}");
    }

    #[tokio::test]
    async fn rejects_unknown_url_scheme() {
        let err = Store::connect("mysql://x").await.expect_err("unsupported");
        assert!(err.to_string().contains("unsupported database url"));
    }
}
