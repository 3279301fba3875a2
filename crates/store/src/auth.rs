//! Users, browser sessions and API tokens. These rows are credentials, not projections:
//! nothing here is written to the event log, and reprojecting leaves these tables alone.
//! Session ids and tokens are stored only as sha256 hashes; passwords only as argon2 PHC
//! strings, hashed by the caller.
//!
//! A user is a **local account** (a password, a role an admin gives) or a **proxy
//! identity**: someone the trusted proxy vouched for, stored under the name `proxy:NAME`
//! so that it can never be a local account's row (local names have no `:`). A proxy
//! identity's row holds what must outlive a request — its id, its CSRF token, whether an
//! admin disabled it — but no role: that comes from the proxy's groups on every request.

use app::viewer::Role;
use chrono::{DateTime, Utc};

use super::{Store, StoreError, StoreResult};
use crate::on_pool;

/// What the name of a proxy identity starts with: the proxy's `ada` is the user
/// `proxy:ada`.
pub const PROXY_PREFIX: &str = "proxy:";

/// The user name of the proxy's user `name`.
pub fn proxy_key(name: &str) -> String {
    format!("{PROXY_PREFIX}{name}")
}

/// Where a user comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A local account: signs in with a password, has the role an admin gave it.
    Local,
    /// Someone the trusted proxy vouches for: the proxy's groups give the role.
    Proxy,
}

impl Origin {
    /// The origin's name as stored: `local`, `proxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Proxy => "proxy",
        }
    }
}

/// What the `role` column holds for a proxy identity, whose role is never stored.
const NO_ROLE: &str = "none";

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique name; `proxy:NAME` for a proxy identity.
    pub name: String,
    /// Local account or proxy identity.
    pub origin: Origin,
    /// argon2 PHC string; `None` for proxy identities (and for a local account made
    /// without one, which then cannot sign in with a password).
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// What a local account may do; `None` for a proxy identity, whose role comes from the
    /// proxy's groups on each request.
    pub role: Option<Role>,
    /// The promotion targets a maintainer is limited to; `None`: every target (and for a
    /// proxy identity: not stored).
    pub targets: Option<Vec<String>>,
    /// Disabled users cannot sign in, and their sessions and tokens stop working.
    pub disabled: bool,
    /// The CSRF token of the requests this user makes through the trusted proxy.
    #[serde(skip)]
    pub proxy_csrf: String,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user was last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    origin: String,
    password_hash: Option<String>,
    role: String,
    targets: Option<String>,
    disabled: bool,
    proxy_csrf: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> StoreResult<User> {
        let origin = match r.origin.as_str() {
            "local" => Origin::Local,
            "proxy" => Origin::Proxy,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "user {}: origin {other:?}",
                    r.name
                )))
            }
        };
        let (role, targets) = match origin {
            // whatever the row says, a proxy identity's role is the proxy's to give
            Origin::Proxy => (None, None),
            Origin::Local => {
                let role = Role::parse(&r.role).ok_or_else(|| {
                    StoreError::Corrupt(format!("user {}: role {:?}", r.name, r.role))
                })?;
                let targets = r
                    .targets
                    .as_deref()
                    .map(serde_json::from_str::<Vec<String>>)
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("user {}: targets: {e}", r.name)))?;
                (Some(role), targets)
            }
        };
        Ok(User {
            id: r.id,
            name: r.name,
            origin,
            password_hash: r.password_hash,
            role,
            targets,
            disabled: r.disabled,
            proxy_csrf: r.proxy_csrf,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const USER_COLUMNS: &str = "id, name, origin, password_hash, role, targets, disabled, \
                            proxy_csrf, created_at, updated_at";

/// A local account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique name (no `:`).
    pub name: String,
    /// argon2 PHC string; without one the account cannot sign in with a password.
    pub password_hash: Option<String>,
    /// Role.
    pub role: Role,
    /// Targets a maintainer is limited to; `None`: every target.
    pub targets: Option<Vec<String>>,
    /// The user's proxy CSRF token (random).
    pub proxy_csrf: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Changes to a user; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New role.
    pub role: Option<Role>,
    /// New target limit (`Some(None)`: every target).
    pub targets: Option<Option<Vec<String>>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
}

impl UserChange {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.role.is_none()
            && self.targets.is_none()
            && self.disabled.is_none()
            && self.password_hash.is_none()
    }
}

/// A browser session as stored (the id itself is only in the user's cookie).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// sha256 of the session id, hex.
    pub id_hash: String,
    /// The signed-in user.
    pub user_id: i64,
    /// The session's CSRF token.
    pub csrf: String,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    /// When the session ends whatever happens.
    pub expires_at: DateTime<Utc>,
    /// When the session was last used (to within a minute).
    pub last_seen_at: DateTime<Utc>,
}

/// An API token as listed (its secret is never stored).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ApiToken {
    /// Row id, used to revoke it.
    pub id: i64,
    /// Owner's id.
    #[serde(skip)]
    pub user_id: i64,
    /// Owner's name.
    #[sqlx(rename = "user_name")]
    pub user: String,
    /// Label given at creation.
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use (to within a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked token is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub name: String,
    /// sha256 of the token, hex.
    pub token_hash: String,
    /// Display prefix.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

const TOKEN_SELECT: &str = "select t.id, t.user_id, u.name as user_name, t.name, t.prefix, \
                            t.created_at, t.last_used_at, t.revoked_at \
                            from api_tokens t join users u on u.id = t.user_id";

fn conflict_on_unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    let e = StoreError::from(e);
    if e.is_unique_violation() {
        StoreError::Conflict(what())
    } else {
        e
    }
}

impl Store {
    /// Creates a local account; `Conflict` when the name is taken.
    pub async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        let targets = new
            .targets
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sql = format!(
            "insert into users (name, origin, password_hash, role, targets, disabled, \
             proxy_csrf, created_at, updated_at) values ($1, 'local', $2, $3, $4, $5, $6, $7, $7) \
             returning {USER_COLUMNS}"
        );
        let row: UserRow = on_pool!(self, p => {
            sqlx::query_as(&sql)
                .bind(&new.name)
                .bind(&new.password_hash)
                .bind(new.role.as_str())
                .bind(&targets)
                .bind(false)
                .bind(&new.proxy_csrf)
                .bind(new.created_at)
                .fetch_one(p)
                .await
                .map_err(|e| conflict_on_unique(e, || format!("user {:?} already exists", new.name)))?
        });
        row.try_into()
    }

    /// The user named `name`.
    pub async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from users where name = $1");
        let row: Option<UserRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(name).fetch_optional(p).await?
        });
        row.map(User::try_from).transpose()
    }

    /// The user with row id `id`.
    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from users where id = $1");
        let row: Option<UserRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        row.map(User::try_from).transpose()
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("select {USER_COLUMNS} from users order by name");
        let rows: Vec<UserRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).fetch_all(p).await?
        });
        rows.into_iter().map(User::try_from).collect()
    }

    /// Applies `change` to the user named `name`; disabling one also ends their sessions.
    /// `NotFound` when there is no such user.
    pub async fn update_user(
        &self,
        name: &str,
        change: &UserChange,
        at: DateTime<Utc>,
    ) -> StoreResult<User> {
        let Some(user) = self.user_by_name(name).await? else {
            return Err(StoreError::NotFound(format!("user {name:?}")));
        };
        let only_enabling =
            change.role.is_none() && change.targets.is_none() && change.password_hash.is_none();
        if user.origin == Origin::Proxy && !only_enabling {
            return Err(StoreError::Conflict(format!(
                "{name} signs in through the proxy, whose groups give the role; \
                 it has no role, targets or password here, and can only be disabled or enabled"
            )));
        }
        let role = change.role.or(user.role).map_or(NO_ROLE, Role::as_str);
        let targets = change.targets.clone().unwrap_or(user.targets);
        let targets = targets
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let disabled = change.disabled.unwrap_or(user.disabled);
        let password_hash = change.password_hash.clone().or(user.password_hash);
        let sql = format!(
            "update users set role = $2, targets = $3, disabled = $4, password_hash = $5, \
             updated_at = $6 where id = $1 returning {USER_COLUMNS}"
        );
        let row: UserRow = on_pool!(self, p => {
            sqlx::query_as(&sql)
                .bind(user.id)
                .bind(role)
                .bind(&targets)
                .bind(disabled)
                .bind(&password_hash)
                .bind(at)
                .fetch_one(p)
                .await?
        });
        if disabled || change.password_hash.is_some() {
            self.delete_sessions_of(user.id).await?;
        }
        row.try_into()
    }

    /// Creates the proxy identity of the proxy's user `name` ahead of its first visit (so
    /// that an admin can disable it); `Conflict` when it exists.
    pub async fn create_proxy_user(
        &self,
        name: &str,
        proxy_csrf: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<User> {
        let key = proxy_key(name);
        let sql = format!(
            "insert into users (name, origin, password_hash, role, targets, disabled, \
             proxy_csrf, created_at, updated_at) \
             values ($1, 'proxy', null, $2, null, $3, $4, $5, $5) returning {USER_COLUMNS}"
        );
        let row: UserRow = on_pool!(self, p => {
            sqlx::query_as(&sql)
                .bind(&key)
                .bind(NO_ROLE)
                .bind(false)
                .bind(proxy_csrf)
                .bind(at)
                .fetch_one(p)
                .await
                .map_err(|e| conflict_on_unique(e, || format!("user {key:?} already exists")))?
        });
        row.try_into()
    }

    /// The proxy identity of the proxy's user `name`, created on its first visit with
    /// `proxy_csrf` as its CSRF token. Never a local account, whatever its name.
    pub async fn proxy_user(
        &self,
        name: &str,
        proxy_csrf: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<User> {
        let key = proxy_key(name);
        let select =
            format!("select {USER_COLUMNS} from users where name = $1 and origin = 'proxy'");
        let found: Option<UserRow> = on_pool!(self, p => {
            sqlx::query_as(&select).bind(&key).fetch_optional(p).await?
        });
        if let Some(row) = found {
            return row.try_into();
        }
        // two replicas may see the same newcomer at once: the second insert does nothing
        on_pool!(self, p => {
            sqlx::query(
                "insert into users (name, origin, password_hash, role, targets, disabled, \
                 proxy_csrf, created_at, updated_at) \
                 values ($1, 'proxy', null, $2, null, $3, $4, $5, $5) \
                 on conflict (name) do nothing",
            )
            .bind(&key)
            .bind(NO_ROLE)
            .bind(false)
            .bind(proxy_csrf)
            .bind(at)
            .execute(p)
            .await?
            .rows_affected()
        });
        let row: Option<UserRow> = on_pool!(self, p => {
            sqlx::query_as(&select).bind(&key).fetch_optional(p).await?
        });
        row.ok_or_else(|| StoreError::Conflict(format!("{key:?} is not a proxy identity")))?
            .try_into()
    }

    /// Stores a new session.
    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query(
                "insert into sessions (id_hash, user_id, csrf, created_at, expires_at, \
                 last_seen_at) values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&session.id_hash)
            .bind(session.user_id)
            .bind(&session.csrf)
            .bind(session.created_at)
            .bind(session.expires_at)
            .bind(session.last_seen_at)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, expired or not.
    pub async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let s = on_pool!(self, p => {
            sqlx::query_as(
                "select id_hash, user_id, csrf, created_at, expires_at, last_seen_at \
                 from sessions where id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(p)
            .await?
        });
        Ok(s)
    }

    /// Records that a session was used at `at`.
    pub async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query("update sessions set last_seen_at = $2 where id_hash = $1")
                .bind(id_hash)
                .bind(at)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Ends one session; whether it existed.
    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let n = on_pool!(self, p => {
            sqlx::query("delete from sessions where id_hash = $1")
                .bind(id_hash)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Ends every session of a user.
    pub async fn delete_sessions_of(&self, user_id: i64) -> StoreResult<u64> {
        let n = on_pool!(self, p => {
            sqlx::query("delete from sessions where user_id = $1")
                .bind(user_id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Deletes sessions that expired before `expired_before` or were idle since before
    /// `idle_before`; how many.
    pub async fn delete_stale_sessions(
        &self,
        expired_before: DateTime<Utc>,
        idle_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let n = on_pool!(self, p => {
            sqlx::query("delete from sessions where expires_at < $1 or last_seen_at < $2")
                .bind(expired_before)
                .bind(idle_before)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Stores a new API token.
    pub async fn create_api_token(&self, new: &NewApiToken) -> StoreResult<ApiToken> {
        let id: i64 = on_pool!(self, p => {
            sqlx::query_scalar(
                "insert into api_tokens (user_id, name, token_hash, prefix, created_at) \
                 values ($1, $2, $3, $4, $5) returning id",
            )
            .bind(new.user_id)
            .bind(&new.name)
            .bind(&new.token_hash)
            .bind(&new.prefix)
            .bind(new.created_at)
            .fetch_one(p)
            .await
            .map_err(|e| conflict_on_unique(e, || "token already exists".to_string()))?
        });
        self.api_token(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("api token {id}")))
    }

    /// The API token with row id `id`.
    pub async fn api_token(&self, id: i64) -> StoreResult<Option<ApiToken>> {
        let sql = format!("{TOKEN_SELECT} where t.id = $1");
        let t = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        Ok(t)
    }

    /// The API token whose secret hashes to `token_hash`.
    pub async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let sql = format!("{TOKEN_SELECT} where t.token_hash = $1");
        let t = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(token_hash).fetch_optional(p).await?
        });
        Ok(t)
    }

    /// The tokens of one user (`Some`) or of everyone (`None`), newest first.
    pub async fn list_api_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiToken>> {
        let t = match user_id {
            Some(user_id) => {
                let sql = format!("{TOKEN_SELECT} where t.user_id = $1 order by t.id desc");
                on_pool!(self, p => {
                    sqlx::query_as(&sql).bind(user_id).fetch_all(p).await?
                })
            }
            None => {
                let sql = format!("{TOKEN_SELECT} order by t.id desc");
                on_pool!(self, p => { sqlx::query_as(&sql).fetch_all(p).await? })
            }
        };
        Ok(t)
    }

    /// Revokes a token (a second revocation keeps the first time); `NotFound` when there
    /// is no such token.
    pub async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<ApiToken> {
        let n = on_pool!(self, p => {
            sqlx::query(
                "update api_tokens set revoked_at = coalesce(revoked_at, $2) where id = $1",
            )
            .bind(id)
            .bind(at)
            .execute(p)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("api token {id}")));
        }
        self.api_token(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("api token {id}")))
    }

    /// Records that a token was used at `at`.
    pub async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query("update api_tokens set last_used_at = $2 where id = $1")
                .bind(id)
                .bind(at)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testing;

    fn new_user(name: &str, role: Role, targets: Option<Vec<String>>) -> NewUser {
        NewUser {
            name: name.into(),
            password_hash: Some("$argon2id$stand-in".into()),
            role,
            targets,
            proxy_csrf: format!("csrf-{name}"),
            created_at: Utc::now(),
        }
    }

    /// Users, sessions and tokens through their whole life.
    async fn auth_story(store: Store) {
        let now = Utc::now();
        let ada = store
            .create_user(&new_user("ada", Role::Admin, None))
            .await
            .expect("created");
        let bob = store
            .create_user(&new_user(
                "bob",
                Role::Maintainer,
                Some(vec!["4-scos-next".into()]),
            ))
            .await
            .expect("created");
        assert_eq!(
            bob.targets.as_deref(),
            Some(&["4-scos-next".to_string()][..])
        );
        let again = store
            .create_user(&new_user("ada", Role::Maintainer, None))
            .await
            .expect_err("taken");
        assert!(matches!(again, StoreError::Conflict(_)), "{again}");
        let names: Vec<String> = store
            .list_users()
            .await
            .expect("listed")
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["ada", "bob"]);

        // sessions: stored by hash, touched, ended
        let session = Session {
            id_hash: "h1".into(),
            user_id: bob.id,
            csrf: "c1".into(),
            created_at: now,
            expires_at: now + Duration::hours(1),
            last_seen_at: now,
        };
        store.create_session(&session).await.expect("stored");
        let later = now + Duration::minutes(5);
        store.touch_session("h1", later).await.expect("touched");
        let got = store.session("h1").await.expect("read").expect("exists");
        assert_eq!(got.user_id, bob.id);
        assert_eq!(got.last_seen_at.timestamp(), later.timestamp());
        assert_eq!(store.session("nope").await.expect("read"), None);

        // changing the user: disabling ends their sessions
        let bob = store
            .update_user(
                "bob",
                &UserChange {
                    targets: Some(None),
                    disabled: Some(true),
                    ..UserChange::default()
                },
                later,
            )
            .await
            .expect("updated");
        assert!(bob.disabled && bob.targets.is_none());
        assert_eq!(store.session("h1").await.expect("read"), None);
        let missing = store
            .update_user("carol", &UserChange::default(), later)
            .await
            .expect_err("no such user");
        assert!(matches!(missing, StoreError::NotFound(_)));

        // stale sessions are swept
        for (hash, expires, seen) in [
            ("old", now - Duration::hours(1), now - Duration::hours(2)),
            ("idle", now + Duration::hours(1), now - Duration::days(2)),
            ("fresh", now + Duration::hours(1), now),
        ] {
            store
                .create_session(&Session {
                    id_hash: hash.into(),
                    user_id: ada.id,
                    csrf: "c".into(),
                    created_at: now - Duration::days(3),
                    expires_at: expires,
                    last_seen_at: seen,
                })
                .await
                .expect("stored");
        }
        let swept = store
            .delete_stale_sessions(now, now - Duration::days(1))
            .await
            .expect("swept");
        assert_eq!(swept, 2);
        assert!(store.delete_session("fresh").await.expect("deleted"));
        assert!(!store.delete_session("fresh").await.expect("gone"));

        // tokens: found by hash, listed per user, revoked once
        let token = store
            .create_api_token(&NewApiToken {
                user_id: ada.id,
                name: "ci".into(),
                token_hash: "th1".into(),
                prefix: "sg_abcd".into(),
                created_at: now,
            })
            .await
            .expect("stored");
        assert_eq!(token.user, "ada");
        let found = store
            .api_token_by_hash("th1")
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(found.id, token.id);
        store.touch_api_token(token.id, later).await.expect("used");
        assert_eq!(
            store
                .list_api_tokens(Some(ada.id))
                .await
                .expect("listed")
                .len(),
            1
        );
        assert!(store
            .list_api_tokens(Some(bob.id))
            .await
            .expect("listed")
            .is_empty());
        assert_eq!(store.list_api_tokens(None).await.expect("listed").len(), 1);
        let revoked = store
            .revoke_api_token(token.id, later)
            .await
            .expect("revoked");
        assert!(revoked.revoked_at.is_some());
        let again = store
            .revoke_api_token(token.id, later + Duration::hours(1))
            .await
            .expect("revoked again");
        assert_eq!(again.revoked_at, revoked.revoked_at);
        assert!(matches!(
            store.revoke_api_token(999, later).await,
            Err(StoreError::NotFound(_))
        ));

        // proxy identities: their own names, created on first sight, no stored role, and a
        // local account of the same name is another user
        let carol = store.proxy_user("carol", "pc", now).await.expect("created");
        assert_eq!(
            (carol.name.as_str(), carol.origin, carol.role),
            ("proxy:carol", Origin::Proxy, None)
        );
        assert!(carol.password_hash.is_none() && carol.targets.is_none());
        let again = store
            .proxy_user("carol", "other", later)
            .await
            .expect("found");
        assert_eq!(again, carol, "the first csrf token stays");
        let proxy_bob = store.proxy_user("bob", "pb", now).await.expect("created");
        assert_ne!(proxy_bob.id, bob.id);
        assert!(
            !proxy_bob.disabled,
            "the local bob's state is not the proxy's"
        );
        let bob_again = store
            .user_by_name("bob")
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(bob_again.origin, Origin::Local);
        assert_eq!(bob_again.role, Some(Role::Maintainer));
        let refused = store
            .update_user(
                "proxy:carol",
                &UserChange {
                    role: Some(Role::Admin),
                    ..UserChange::default()
                },
                later,
            )
            .await
            .expect_err("no role for proxy identities");
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
        let disabled = store
            .update_user(
                "proxy:carol",
                &UserChange {
                    disabled: Some(true),
                    ..UserChange::default()
                },
                later,
            )
            .await
            .expect("disabled");
        assert!(disabled.disabled && disabled.role.is_none());
        assert!(
            store
                .proxy_user("carol", "pc", later)
                .await
                .expect("found")
                .disabled
        );
        let early = store
            .create_proxy_user("dora", "pd", now)
            .await
            .expect("created ahead");
        assert_eq!(early.name, "proxy:dora");
        assert!(matches!(
            store.create_proxy_user("dora", "pd", now).await,
            Err(StoreError::Conflict(_))
        ));
    }

    /// An install from before proxy identities: users without a password were the proxy's
    /// users, with the role an admin or the last group sync wrote.
    async fn upgrade_story(store: Store) {
        let now = Utc::now();
        let undo = [
            "delete from _sqlx_migrations where version = 10",
            "alter table users drop column origin",
        ];
        for sql in undo {
            on_pool!(&store, p => {
                sqlx::query(sql).execute(p).await.expect("undone");
            });
        }
        for (name, hash, role, disabled) in [
            ("ada", Some("$argon2id$stand-in"), "admin", false),
            ("bob", None, "admin", false),
            ("eve", None, "maintainer", true),
        ] {
            on_pool!(&store, p => {
                sqlx::query(
                    "insert into users (name, password_hash, role, targets, disabled, \
                     proxy_csrf, created_at, updated_at) values ($1, $2, $3, '[\"x\"]', $4, \
                     'c', $5, $5)",
                )
                .bind(name)
                .bind(hash)
                .bind(role)
                .bind(disabled)
                .bind(now)
                .execute(p)
                .await
                .expect("old row");
            });
        }
        store.migrate().await.expect("migrated again");
        let ada = store
            .user_by_name("ada")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!((ada.origin, ada.role), (Origin::Local, Some(Role::Admin)));
        assert_eq!(store.user_by_name("bob").await.expect("read"), None);
        let bob = store.proxy_user("bob", "new", now).await.expect("found");
        assert_eq!(bob.name, "proxy:bob");
        assert_eq!(
            (bob.role, bob.targets),
            (None, None),
            "the stored role is gone"
        );
        assert_eq!(bob.proxy_csrf, "c", "the same row");
        let eve = store.proxy_user("eve", "new", now).await.expect("found");
        assert!(eve.disabled, "an admin's block stays");
    }

    #[tokio::test]
    async fn upgrade_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        upgrade_story(store).await;
    }

    #[tokio::test]
    async fn upgrade_story_on_postgres() {
        upgrade_story(testing::postgres().await).await;
    }

    #[tokio::test]
    async fn auth_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        auth_story(store).await;
    }

    #[tokio::test]
    async fn auth_story_on_postgres() {
        auth_story(testing::postgres().await).await;
    }
}
