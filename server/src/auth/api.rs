//! The JSON API of accounts, for scripts and the console's own pages:
//!
//! | route | who | does |
//! |---|---|---|
//! | `GET /api/v1/me` | signed in | who you are, your role, targets and CSRF token |
//! | `GET /api/v1/tokens` | signed in | your API tokens (admins: everyone's) |
//! | `POST /api/v1/tokens` | signed in | `{"name"}` (admins may add `"user"`): a new token, shown once |
//! | `DELETE /api/v1/tokens/{id}` | owner or admin | revokes the token |
//! | `GET /api/v1/users` | admin | every user |
//! | `POST /api/v1/users` | admin | `{"name", "role", "targets"?, "password"}` (a local account), or `{"name"}` (the proxy identity `proxy:NAME`, ahead of its first visit) |
//! | `GET /api/v1/users/{name}` | admin | one user |
//! | `PATCH /api/v1/users/{name}` | admin | `{"role"?, "targets"?, "disabled"?, "password"?}` (`"targets": null`: every target) |
//!
//! Writes go through [`Write`]/[`Writer`]: with a session cookie they need the
//! `X-CSRF-Token` header, with an API token nothing more. None of these answers is cached.
//! API tokens belong to local accounts only: a proxy identity's rights live in the proxy's
//! groups, which a script's request does not carry.

use app::viewer::{Role, SignedInWith};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Deserializer, Serialize};

use super::extract::{no_store, Refusal};
use super::names::{valid_name, valid_target};
use super::{password, require_admin, AuthError, CurrentUser, Principal, Write, Writer};
use crate::secret;
use crate::store::auth::{ApiToken, NewApiToken, NewUser, Origin, User, UserChange, PROXY_PREFIX};
use crate::store::{Store, StoreError};
use crate::AppState;

/// The account routes of the JSON API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(get_me))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{name}", get(get_user).patch(update_user))
}

/// Targets typed into a form, separated by commas or spaces; none: every target.
pub fn split_targets(s: &str) -> Option<Vec<String>> {
    let targets: Vec<String> = s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    (!targets.is_empty()).then_some(targets)
}

fn check_targets(targets: &Option<Vec<String>>) -> Result<Option<Vec<String>>, AuthError> {
    let Some(list) = targets else {
        return Ok(None);
    };
    if let Some(bad) = list.iter().find(|t| !valid_target(t)) {
        return Err(AuthError::BadRequest(format!(
            "{bad:?} is not a target name (letters, digits, '.', '_', '-')"
        )));
    }
    let mut list = list.clone();
    list.sort();
    list.dedup();
    Ok(Some(list))
}

fn check_name(name: &str) -> Result<(), AuthError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(AuthError::BadRequest(format!(
            "{name:?} is not a user name (1-64 letters, digits, '.', '_', '-', '@', '+')"
        )))
    }
}

/// Who you are.
#[derive(Debug, Serialize, Deserialize)]
pub struct Me {
    /// User name; `proxy:NAME` through the trusted proxy.
    pub name: String,
    /// `maintainer` or `admin`; `null` for a proxy user in no mapped group.
    pub role: Option<String>,
    /// Targets a maintainer is limited to; `null`: every target.
    pub targets: Option<Vec<String>>,
    /// `password`, `proxy` or `token`.
    pub signed_in_with: String,
    /// The token state-changing requests with this session must carry (empty for tokens).
    pub csrf: String,
}

/// `GET /api/v1/me`.
pub async fn get_me(CurrentUser(user): CurrentUser) -> Response {
    no_store(
        Json(Me {
            name: user.name.clone(),
            role: user.role.map(|r| r.as_str().into()),
            targets: user.targets.clone(),
            signed_in_with: match user.with {
                SignedInWith::Password => "password",
                SignedInWith::Proxy => "proxy",
                SignedInWith::Token => "token",
            }
            .into(),
            csrf: user.csrf,
        })
        .into_response(),
    )
}

/// A user as the API shows them.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserView {
    /// Name; `proxy:NAME` for a proxy identity.
    pub name: String,
    /// `local` (a password account) or `proxy` (signs in through the trusted proxy).
    pub origin: String,
    /// A local account's `maintainer` or `admin`; `null` for a proxy identity, whose
    /// groups give the role on each request.
    pub role: Option<String>,
    /// Targets a maintainer is limited to; `null`: every target.
    pub targets: Option<Vec<String>>,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// Whether the user has a password (else they come through the proxy).
    pub has_password: bool,
    /// Creation time.
    pub created_at: chrono::DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            name: u.name.clone(),
            origin: u.origin.as_str().into(),
            role: u.role.map(|r| r.as_str().into()),
            targets: u.targets.clone(),
            disabled: u.disabled,
            has_password: u.password_hash.is_some(),
            created_at: u.created_at,
        }
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedToken {
    /// Row id (to revoke it).
    pub id: i64,
    /// Owner.
    pub user: String,
    /// Label.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// The token; send it as `Authorization: Bearer <token>`.
    pub token: String,
}

/// Creates a token named `name` for `owner` (default: `by`), which only an admin may
/// do for someone else.
pub async fn issue_token(
    store: &Store,
    by: &Principal,
    owner: Option<&str>,
    name: &str,
) -> Result<CreatedToken, AuthError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AuthError::BadRequest(
            "give the token a name of 1-100 characters".into(),
        ));
    }
    let owner = match owner.filter(|o| *o != by.name) {
        Some(other) => {
            require_admin(by)?;
            let owner = store
                .user_by_name(other)
                .await?
                .ok_or_else(|| AuthError::NotFound(format!("user {other:?}")))?;
            if owner.origin != Origin::Local {
                return Err(AuthError::BadRequest(no_tokens_for(&owner.name)));
            }
            owner.id
        }
        None if by.with == SignedInWith::Proxy => {
            return Err(AuthError::Forbidden(no_tokens_for(&by.name)));
        }
        None => by.user_id,
    };
    let new = secret::new_api_token();
    let stored = store
        .create_api_token(&NewApiToken {
            user_id: owner,
            name: name.to_string(),
            token_hash: new.hash,
            prefix: new.prefix,
            created_at: Utc::now(),
        })
        .await?;
    tracing::info!(by = %by.name, owner = %stored.user, token = stored.id, "api token created");
    Ok(CreatedToken {
        id: stored.id,
        user: stored.user,
        name: stored.name,
        prefix: stored.prefix,
        token: new.token,
    })
}

/// Why a proxy identity gets no API token.
pub fn no_tokens_for(name: &str) -> String {
    format!(
        "{name} signs in through the proxy, whose groups give the role on each request; \
         api tokens belong to local accounts (ask an admin for one for scripts)"
    )
}

/// Revokes token `id` on behalf of `by`: their own, or any for an admin.
pub async fn revoke(store: &Store, by: &Principal, id: i64) -> Result<ApiToken, AuthError> {
    let token = store
        .api_token(id)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("api token {id}")))?;
    if token.user_id != by.user_id && !by.is_admin() {
        return Err(AuthError::Forbidden(format!(
            "api token {id} belongs to someone else; only admins may revoke it"
        )));
    }
    let revoked = store.revoke_api_token(id, Utc::now()).await?;
    tracing::info!(by = %by.name, owner = %revoked.user, token = id, "api token revoked");
    Ok(revoked)
}

/// `GET /api/v1/tokens`: the caller's tokens; an admin's answer has everyone's.
pub async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AuthError> {
    let owner = (!user.is_admin()).then_some(user.user_id);
    let tokens = state.store.list_api_tokens(owner).await?;
    Ok(no_store(
        Json(serde_json::json!({ "tokens": tokens })).into_response(),
    ))
}

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
pub struct NewTokenBody {
    /// Label.
    pub name: String,
    /// Owner, when an admin creates a token for someone else.
    #[serde(default)]
    pub user: Option<String>,
}

/// `POST /api/v1/tokens`: `201` with the token, shown this once.
pub async fn create_token(
    State(state): State<AppState>,
    Write { user, body }: Write<NewTokenBody>,
) -> Result<Response, AuthError> {
    let created = issue_token(&state.store, &user, body.user.as_deref(), &body.name).await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(created)).into_response(),
    ))
}

/// `DELETE /api/v1/tokens/{id}`: the revoked token.
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Writer(user): Writer,
) -> Result<Json<ApiToken>, AuthError> {
    Ok(Json(revoke(&state.store, &user, id).await?))
}

/// Body of `POST /api/v1/users`.
#[derive(Debug, Deserialize)]
pub struct NewUserBody {
    /// Name.
    pub name: String,
    /// `maintainer` or `admin`, for a local account; absent for a proxy identity.
    #[serde(default)]
    pub role: Option<String>,
    /// Targets a maintainer is limited to; absent or `null`: every target.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// Password of a local account; absent: the proxy identity `proxy:NAME`, made ahead of
    /// its first visit.
    #[serde(default)]
    pub password: Option<String>,
}

/// Creates a user (checked: name, role, targets, password): with a password, a local
/// account with a role; without one and without a role, the proxy identity `proxy:NAME`,
/// which the proxy's groups give a role on each request.
pub async fn add_user(store: &Store, new: &NewUserBody) -> Result<User, AuthError> {
    let name = new.name.trim();
    let role = new
        .role
        .as_deref()
        .map(|role| {
            Role::parse(role).ok_or_else(|| {
                AuthError::BadRequest(format!("unknown role {role:?} (roles: maintainer, admin)"))
            })
        })
        .transpose()?;
    let Some(password) = &new.password else {
        return add_proxy_user(store, name, new).await;
    };
    check_name(name)?;
    let Some(role) = role else {
        return Err(AuthError::BadRequest(format!(
            "give {name} a role (maintainer or admin)"
        )));
    };
    let targets = check_targets(&new.targets)?;
    let password_hash = Some(password::hash_password(password.clone()).await?);
    let user = store
        .create_user(&NewUser {
            name: name.to_string(),
            password_hash,
            role,
            targets,
            proxy_csrf: secret::random_secret(),
            created_at: Utc::now(),
        })
        .await?;
    tracing::info!(user = %user.name, role = role.as_str(), "user created");
    Ok(user)
}

/// Creates the proxy identity of `name` (`ada` or `proxy:ada`) ahead of its first visit.
async fn add_proxy_user(store: &Store, name: &str, new: &NewUserBody) -> Result<User, AuthError> {
    let bare = name.strip_prefix(PROXY_PREFIX).unwrap_or(name);
    check_name(bare)?;
    if new.role.is_some() || new.targets.is_some() {
        return Err(AuthError::BadRequest(format!(
            "{bare} has no password, so they sign in through the proxy as {PROXY_PREFIX}{bare}, \
             whose groups give the role on each request (--proxy-group); \
             leave out the role and targets, or give a password for a local account"
        )));
    }
    let user = store
        .create_proxy_user(bare, &secret::random_secret(), Utc::now())
        .await?;
    tracing::info!(user = %user.name, "proxy identity created");
    Ok(user)
}

/// Applies `change` to user `name` on behalf of the admin `by`, who may not disable
/// themselves or take away their own admin role (someone must remain able to manage).
pub async fn change(
    store: &Store,
    by: &Principal,
    name: &str,
    mut change: UserChange,
) -> Result<User, AuthError> {
    require_admin(by)?;
    if name == by.name
        && (change.disabled == Some(true) || change.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(AuthError::BadRequest(
            "you cannot disable yourself or give up your own admin role".into(),
        ));
    }
    if let Some(targets) = &change.targets {
        change.targets = Some(check_targets(targets)?);
    }
    if change.is_empty() {
        return Err(AuthError::BadRequest("nothing to change".into()));
    }
    let user = store
        .update_user(name, &change, Utc::now())
        .await
        .map_err(|e| match e {
            // a proxy identity has no role, targets or password to change
            StoreError::Conflict(why) => AuthError::BadRequest(why),
            e => e.into(),
        })?;
    tracing::info!(by = %by.name, user = %user.name, "user changed");
    Ok(user)
}

/// `GET /api/v1/users` (admins).
pub async fn list_users(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<serde_json::Value>, AuthError> {
    require_admin(&user)?;
    let users: Vec<UserView> = state
        .store
        .list_users()
        .await?
        .iter()
        .map(UserView::from)
        .collect();
    Ok(Json(serde_json::json!({ "users": users })))
}

/// `GET /api/v1/users/{name}` (admins).
pub async fn get_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<UserView>, AuthError> {
    require_admin(&user)?;
    let found = state
        .store
        .user_by_name(&name)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("user {name:?}")))?;
    Ok(Json(UserView::from(&found)))
}

/// `POST /api/v1/users` (admins): `201` with the user.
pub async fn create_user(
    State(state): State<AppState>,
    Write { user, body }: Write<NewUserBody>,
) -> Result<Response, AuthError> {
    require_admin(&user)?;
    let created = add_user(&state.store, &body).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&created))).into_response())
}

/// `Some(value)` for a present field, `null` included: tells `"targets": null` (every
/// target) from an absent field (no change).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Body of `PATCH /api/v1/users/{name}`; absent fields stay as they are.
#[derive(Debug, Deserialize)]
pub struct UserPatch {
    /// New role.
    #[serde(default)]
    pub role: Option<String>,
    /// New targets; `null`: every target.
    #[serde(default, deserialize_with = "present")]
    pub targets: Option<Option<Vec<String>>>,
    /// Disable or enable.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// New password.
    #[serde(default)]
    pub password: Option<String>,
}

/// `PATCH /api/v1/users/{name}` (admins).
pub async fn update_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Write { user, body }: Write<UserPatch>,
) -> Result<Json<UserView>, AuthError> {
    require_admin(&user)?;
    let role = body
        .role
        .as_deref()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                AuthError::BadRequest(format!("unknown role {r:?} (roles: maintainer, admin)"))
            })
        })
        .transpose()?;
    let password_hash = match body.password {
        Some(p) => Some(password::hash_password(p).await?),
        None => None,
    };
    let changed = change(
        &state.store,
        &user,
        &name,
        UserChange {
            role,
            targets: body.targets,
            disabled: body.disabled,
            password_hash,
        },
    )
    .await?;
    Ok(Json(UserView::from(&changed)))
}

impl From<Refusal> for AuthError {
    fn from(r: Refusal) -> Self {
        r.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_targets_are_checked() {
        assert!(valid_name("ada") && valid_name("ada.lovelace@example.org"));
        assert!(!valid_name("") && !valid_name("a b") && !valid_name(&"x".repeat(65)));
        assert!(valid_target("4-scos-next") && !valid_target("4 scos"));
        assert_eq!(
            split_targets("4-scos-next, 4-scos-stable"),
            Some(vec!["4-scos-next".into(), "4-scos-stable".into()])
        );
        assert_eq!(split_targets("  "), None);
    }

    #[test]
    fn a_patch_tells_null_targets_from_absent_ones() {
        let p: UserPatch = serde_json::from_str(r#"{"targets": null}"#).expect("json");
        assert_eq!(p.targets, Some(None));
        let p: UserPatch = serde_json::from_str(r#"{"disabled": true}"#).expect("json");
        assert_eq!(p.targets, None);
    }
}
