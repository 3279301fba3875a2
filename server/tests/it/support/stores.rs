//! Fresh stores for the store-facing tests: a SQLite file in a temporary directory, or a
//! PostgreSQL database re-created by each run.

use std::sync::atomic::{AtomicU32, Ordering};

use server::store::Store;

/// A migrated SQLite store; keep the directory alive as long as the store.
pub async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .expect("sqlite");
    store.migrate().await.expect("migrate");
    (store, dir)
}

/// A migrated PostgreSQL database `sg_<prefix>_<n>` on `STREAMGATE_TEST_PG` (default
/// `postgres://postgres@127.0.0.1:5432/test`), numbered per call and re-created by the next
/// run, so runs leave a bounded set behind.
pub async fn postgres(prefix: &str) -> Store {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin_url = std::env::var("STREAMGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("sg_{prefix}_{}", N.fetch_add(1, Ordering::SeqCst));
    server::store::fresh_postgres(&admin_url, &name)
        .await
        .expect("postgres reachable")
}
