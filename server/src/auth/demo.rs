//! Demo accounts for `serve --demo`: an admin and a maintainer with known passwords, so
//! promotion can be tried locally. Created once, left alone afterwards, and never without
//! `--demo`.

use app::viewer::Role;
use chrono::Utc;

use super::{password, AuthError};
use crate::secret;
use crate::store::auth::NewUser;
use crate::store::Store;

/// The demo accounts: name, password, role.
pub const DEMO_USERS: [(&str, &str, Role); 2] = [
    ("admin", "admin-demo", Role::Admin),
    ("maintainer", "maintainer-demo", Role::Maintainer),
];

/// Creates the demo accounts that do not exist yet, and logs how to sign in.
pub async fn ensure_users(store: &Store) -> Result<(), AuthError> {
    for (name, pass, role) in DEMO_USERS {
        if store.user_by_name(name).await?.is_none() {
            let hash = password::hash_password(pass.to_string()).await?;
            let created = store
                .create_user(&NewUser {
                    name: name.to_string(),
                    password_hash: Some(hash),
                    role,
                    targets: None,
                    proxy_csrf: secret::random_secret(),
                    created_at: Utc::now(),
                })
                .await;
            match created {
                Ok(_) => {}
                // another replica created it meanwhile
                Err(e) if e.is_unique_violation() => {}
                Err(crate::store::StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::warn!(
            user = name,
            password = pass,
            role = role.as_str(),
            "demo account: sign in at /sign-in"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[tokio::test]
    async fn demo_accounts_are_created_once() {
        let (store, _dir) = testing::sqlite().await;
        ensure_users(&store).await.expect("created");
        let first = store
            .user_by_name("admin")
            .await
            .expect("read")
            .expect("exists");
        ensure_users(&store).await.expect("again");
        let again = store
            .user_by_name("admin")
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(first, again);
        assert_eq!(store.list_users().await.expect("listed").len(), 2);
        let maintainer = store
            .user_by_name("maintainer")
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(maintainer.role, Some(Role::Maintainer));
    }
}
