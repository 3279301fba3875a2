//! Keeping the demo out of real installs. The demo writes accounts with published
//! passwords (`admin` / `admin-demo`) and a made-up history, so a database it used is
//! marked as a demo database, `serve --demo` uses its own file by default and never writes
//! into a database that already holds real data, and `serve` without `--demo` refuses to
//! start on a demo database — or on any database where a demo account still signs in with
//! its published password.

use super::ANCHOR_KEY;
use crate::auth::demo::DEMO_USERS;
use crate::auth::password;
use crate::store::Store;

/// The setting that says what a database is for.
pub const PURPOSE_KEY: &str = "database_purpose";

/// [`PURPOSE_KEY`]'s value in a demo database.
pub const DEMO_PURPOSE: &str = "demo";

/// The database `serve --demo` uses when none is named.
pub const DEMO_DATABASE_URL: &str = "sqlite://streamgate-demo.db";

/// Why the server will not start on this database.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// `serve` without `--demo` on a demo database.
    #[error(
        "this is a demo database (made by `serve --demo`, with demo accounts whose passwords are \
         published); serve it with --demo, or set DATABASE_URL to another database"
    )]
    DemoDatabase,
    /// A demo account signs in with its published password.
    #[error(
        "user {0:?} signs in with the demo password printed in the README; change it \
         (`server user set-password {0} --password-stdin`) or disable the account \
         (`server user disable {0}`) before serving"
    )]
    DemoPassword(String),
    /// `serve --demo` on a database with real data.
    #[error(
        "--demo will not write demo accounts and data into this database, which already holds \
         data and is not a demo database; leave DATABASE_URL unset (the demo then uses \
         {DEMO_DATABASE_URL}) or name an empty database"
    )]
    NotADemoDatabase,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Whether this database was made by the demo.
pub async fn is_demo_database(store: &Store) -> Result<bool, GuardError> {
    Ok(
        store.setting(PURPOSE_KEY).await?.as_deref() == Some(DEMO_PURPOSE)
            || store.setting(ANCHOR_KEY).await?.is_some(),
    )
}

/// Before `serve --demo` writes anything: marks an empty or demo database as a demo
/// database, and refuses one that holds real data.
pub async fn claim_for_demo(store: &Store) -> Result<(), GuardError> {
    if !is_demo_database(store).await? {
        let empty = store.last_event_id().await? == 0 && store.list_users().await?.is_empty();
        if !empty {
            return Err(GuardError::NotADemoDatabase);
        }
    }
    store.set_setting(PURPOSE_KEY, DEMO_PURPOSE).await?;
    Ok(())
}

/// Before `serve` without `--demo`: refuses a demo database, and any database where a
/// demo account still has its published password.
pub async fn refuse_demo(store: &Store) -> Result<(), GuardError> {
    if is_demo_database(store).await? {
        return Err(GuardError::DemoDatabase);
    }
    for (name, published, _) in DEMO_USERS {
        let Some(user) = store.user_by_name(name).await? else {
            continue;
        };
        let Some(hash) = user.password_hash.filter(|_| !user.disabled) else {
            continue;
        };
        if password::verify_password(published.to_string(), hash)
            .await
            .unwrap_or(false)
        {
            return Err(GuardError::DemoPassword(name.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    async fn guard_story(store: Store) {
        // an empty database may serve either way; once the demo claimed it, only the demo
        refuse_demo(&store).await.expect("an empty database serves");
        claim_for_demo(&store)
            .await
            .expect("an empty database becomes a demo database");
        crate::auth::demo::ensure_users(&store)
            .await
            .expect("demo users");
        assert!(matches!(
            refuse_demo(&store).await,
            Err(GuardError::DemoDatabase)
        ));
        claim_for_demo(&store)
            .await
            .expect("a demo database stays one");
    }

    async fn real_database_story(store: Store) {
        // a real database with a user who took a demo name and password is refused ...
        let hash = password::hash_password("admin-demo".into())
            .await
            .expect("hash");
        store
            .create_user(&crate::store::auth::NewUser {
                name: "admin".into(),
                password_hash: Some(hash),
                role: app::viewer::Role::Admin,
                targets: None,
                proxy_csrf: "x".into(),
                created_at: chrono::Utc::now(),
            })
            .await
            .expect("user");
        assert!(matches!(
            refuse_demo(&store).await,
            Err(GuardError::DemoPassword(name)) if name == "admin"
        ));
        // ... and the demo will not write into it
        assert!(matches!(
            claim_for_demo(&store).await,
            Err(GuardError::NotADemoDatabase)
        ));
        assert_eq!(store.setting(PURPOSE_KEY).await.expect("read"), None);
        // a new password makes it a real database again
        let hash = password::hash_password("a long real password".into())
            .await
            .expect("hash");
        let change = crate::store::auth::UserChange {
            password_hash: Some(hash),
            ..crate::store::auth::UserChange::default()
        };
        store
            .update_user("admin", &change, chrono::Utc::now())
            .await
            .expect("new password");
        refuse_demo(&store).await.expect("serves");
    }

    #[tokio::test]
    async fn guard_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        guard_story(store).await;
    }

    #[tokio::test]
    async fn guard_story_on_postgres() {
        guard_story(testing::postgres().await).await;
    }

    #[tokio::test]
    async fn real_database_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        real_database_story(store).await;
    }

    #[tokio::test]
    async fn real_database_story_on_postgres() {
        real_database_story(testing::postgres().await).await;
    }
}
