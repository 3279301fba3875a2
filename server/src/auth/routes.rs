//! The browser's forms, posted by the pages without JavaScript and answered with
//! redirects: signing in and out, creating and revoking one's API tokens, and (admins)
//! managing users. Every form but sign-in goes through [`Write`], so it needs the session's
//! CSRF token; sign-in refuses cross-site posts by their `Origin`/`Sec-Fetch-Site`.
//! Mistakes in what was typed go back to the page as `?error=`; permission refusals are
//! 401/403 pages, too many sign-in attempts 429 with `Retry-After`, and a sign-in whose
//! password check finds no free turn 503 with `Retry-After`. Only local accounts sign in
//! here; the proxy's users come through the proxy.

use crate::percent::encode;
use app::viewer::{Role, SignedInWith};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::extract::{check_same_origin, NoFields, Refusal};
use super::{api, password, require_admin, session, AuthError, Write};
use crate::edge::answer::{local_path, Answer};
use crate::edge::peer::Peer;
use crate::secret::hash_secret;
use crate::store::auth::{Origin, UserChange};
use crate::AppState;

/// The form routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/sign-in", post(sign_in))
        .route("/auth/sign-out", post(sign_out))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/users", post(create_user))
        .route("/admin/users/{name}", post(change_user))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Where to go afterwards (a local path).
    #[serde(default)]
    pub next: Option<String>,
}

/// `POST /auth/sign-in`: checks the password and starts a session; redirects to `next`,
/// or back to the form with the reason.
pub async fn sign_in(
    State(state): State<AppState>,
    peer: Peer,
    uri: Uri,
    headers: HeaderMap,
    answer: Answer,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(form.next.as_deref().unwrap_or("/"));
    let answer = answer.coming_back_to(&next);
    let page = |error: AuthError| -> Response {
        Refusal {
            error,
            answer: answer.clone(),
        }
        .into_response()
    };
    // login CSRF: another site must not sign a visitor in as someone else
    let authority = uri.authority().map(|a| a.as_str());
    if let Err(e) = check_same_origin(&headers, authority, state.settings.public_url.as_deref()) {
        return page(e);
    }
    let name = form.name.trim().to_string();
    let settings = &state.auth.settings;
    let address = settings.proxy.client_ip(peer.0, &headers);
    if let Err(retry_after) = state.auth.limits.attempt(address, &name) {
        tracing::warn!(user = %name, ?address, "sign-in rate limited");
        return page(AuthError::RateLimited { retry_after });
    }
    match check_password(&state, &name, form.password).await {
        Ok(user) => {
            // a session this browser had before ends: one browser, one session
            if let Some(old) = session::cookie(&headers, session::COOKIE) {
                if let Err(e) = state.store.delete_session(&hash_secret(&old)).await {
                    return page(e.into());
                }
            }
            match session::start(&state.store, &user, settings).await {
                Ok(started) => {
                    tracing::info!(user = %user.name, "signed in");
                    match session::set_cookie(&started.id, settings) {
                        Ok(cookie) => (
                            AppendHeaders([(header::SET_COOKIE, cookie)]),
                            Redirect::to(&next),
                        )
                            .into_response(),
                        Err(e) => page(e),
                    }
                }
                Err(e) => page(e),
            }
        }
        Err(AuthError::Unauthenticated(reason)) if answer.is_page() => {
            tracing::info!(user = %name, reason = %reason, "sign-in refused");
            Redirect::to(&format!(
                "/sign-in?next={}&error={}",
                encode(&next),
                encode(&reason)
            ))
            .into_response()
        }
        Err(e) => page(e),
    }
}

/// The local account `name` if `password` is its password. The argon2 check waits for its
/// turn among the few that may run at once, or is turned away ([`AuthError::Busy`]).
async fn check_password(
    state: &AppState,
    name: &str,
    password: String,
) -> Result<crate::store::auth::User, AuthError> {
    let wrong = || AuthError::Unauthenticated("wrong user name or password".into());
    let user = state
        .store
        .user_by_name(name)
        .await?
        .filter(|u| u.origin == Origin::Local);
    let checks = &state.auth.limits.verifications;
    let Some((user, phc)) = user.and_then(|u| u.password_hash.clone().map(|h| (u, h))) else {
        checks
            .run(move || password::waste_blocking(&password))
            .await?;
        return Err(wrong());
    };
    if !checks
        .run(move || password::verify_blocking(&password, &phc))
        .await??
    {
        return Err(wrong());
    }
    if user.disabled {
        return Err(AuthError::Unauthenticated(format!(
            "the account {} is disabled; ask an admin",
            user.name
        )));
    }
    Ok(user)
}

/// `POST /auth/sign-out`: ends the session and removes the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    answer: Answer,
    Write { user, .. }: Write<NoFields>,
) -> Result<Response, Refusal> {
    let mut headers = Vec::new();
    if let Some(hash) = &user.session {
        state
            .store
            .delete_session(hash)
            .await
            .map_err(|e| Refusal {
                error: e.into(),
                answer: answer.clone().coming_back_to("/"),
            })?;
        tracing::info!(user = %user.name, "signed out");
    }
    if let Ok(cookie) = session::clear_cookie(session::COOKIE, "/", &state.auth.settings) {
        headers.push((header::SET_COOKIE, cookie));
    }
    if user.with == SignedInWith::Proxy {
        // the proxy signs people in and out; its sign-out is its own page
        return Ok((AppendHeaders(headers), Redirect::to("/oauth2/sign_out")).into_response());
    }
    Ok((AppendHeaders(headers), Redirect::to("/")).into_response())
}

/// The form creating a token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// Its label.
    pub name: String,
}

fn back(path: &str, key: &str, message: &str) -> Response {
    Redirect::to(&format!("{path}?{key}={}", encode(message))).into_response()
}

/// `POST /account/tokens`: creates a token for the signed-in user and shows it on
/// `/account`, once (carried there by a one-minute cookie only that page reads).
pub async fn create_token(
    State(state): State<AppState>,
    answer: Answer,
    Write { user, body }: Write<TokenForm>,
) -> Result<Response, Refusal> {
    match api::issue_token(&state.store, &user, None, &body.name).await {
        Ok(created) => {
            let cookie =
                session::new_token_cookie(&created.token, &state.auth.settings).map_err(|e| {
                    Refusal {
                        error: e,
                        answer: answer.clone().coming_back_to("/account"),
                    }
                })?;
            let headers: [(header::HeaderName, HeaderValue); 1] = [(header::SET_COOKIE, cookie)];
            Ok((AppendHeaders(headers), Redirect::to("/account")).into_response())
        }
        Err(AuthError::BadRequest(m) | AuthError::Conflict(m)) => Ok(back("/account", "error", &m)),
        Err(error) => Err(Refusal {
            error,
            answer: answer.clone().coming_back_to("/account"),
        }),
    }
}

/// `POST /account/tokens/{id}/revoke`: revokes one of the user's tokens (admins: any).
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    answer: Answer,
    Write { user, .. }: Write<NoFields>,
) -> Result<Response, Refusal> {
    api::revoke(&state.store, &user, id)
        .await
        .map_err(|error| Refusal {
            error,
            answer: answer.clone().coming_back_to("/account"),
        })?;
    Ok(back("/account", "done", "token revoked"))
}

/// The form creating a user.
#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    /// Name.
    pub name: String,
    /// `maintainer` or `admin`; empty for a proxy identity.
    #[serde(default)]
    pub role: String,
    /// Targets, separated by commas or spaces; empty: every target.
    #[serde(default)]
    pub targets: String,
    /// Initial password; empty: the proxy identity `proxy:NAME`.
    #[serde(default)]
    pub password: String,
}

/// `POST /admin/users` (admins): creates a user.
pub async fn create_user(
    State(state): State<AppState>,
    answer: Answer,
    Write { user, body }: Write<NewUserForm>,
) -> Result<Response, Refusal> {
    let refuse = |error| Refusal {
        error,
        answer: answer.clone().coming_back_to("/admin/users"),
    };
    require_admin(&user).map_err(refuse)?;
    let new = api::NewUserBody {
        name: body.name,
        role: Some(body.role).filter(|r| !r.is_empty()),
        targets: api::split_targets(&body.targets),
        password: Some(body.password).filter(|p| !p.is_empty()),
    };
    match api::add_user(&state.store, &new).await {
        Ok(created) => Ok(back(
            "/admin/users",
            "done",
            &format!("created {}", created.name),
        )),
        Err(AuthError::BadRequest(m) | AuthError::Conflict(m)) => {
            Ok(back("/admin/users", "error", &m))
        }
        Err(e) => Err(refuse(e)),
    }
}

/// The form changing a user; `action` says what: `update` (role and targets), `disable`,
/// `enable` or `password`.
#[derive(Debug, Deserialize)]
pub struct ChangeUserForm {
    /// What to change.
    pub action: String,
    /// New role (`update`).
    #[serde(default)]
    pub role: Option<String>,
    /// New targets (`update`), comma or space separated; empty: every target.
    #[serde(default)]
    pub targets: Option<String>,
    /// New password (`password`).
    #[serde(default)]
    pub password: Option<String>,
}

/// `POST /admin/users/{name}` (admins): changes a user.
pub async fn change_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    answer: Answer,
    Write { user, body }: Write<ChangeUserForm>,
) -> Result<Response, Refusal> {
    let refuse = |error| Refusal {
        error,
        answer: answer.clone().coming_back_to("/admin/users"),
    };
    require_admin(&user).map_err(refuse)?;
    let done = body.action_done();
    let change = match body.action.as_str() {
        "update" => {
            let role = body.role.as_deref().unwrap_or("");
            let Some(role) = Role::parse(role) else {
                return Ok(back(
                    "/admin/users",
                    "error",
                    &format!("unknown role {role:?}"),
                ));
            };
            UserChange {
                role: Some(role),
                targets: Some(api::split_targets(body.targets.as_deref().unwrap_or(""))),
                ..UserChange::default()
            }
        }
        "disable" => UserChange {
            disabled: Some(true),
            ..UserChange::default()
        },
        "enable" => UserChange {
            disabled: Some(false),
            ..UserChange::default()
        },
        "password" => {
            let hashed = password::hash_password(body.password.unwrap_or_default()).await;
            match hashed {
                Ok(h) => UserChange {
                    password_hash: Some(h),
                    ..UserChange::default()
                },
                Err(e) => {
                    return Ok(back(
                        "/admin/users",
                        "error",
                        &AuthError::from(e).to_string(),
                    ))
                }
            }
        }
        other => {
            return Ok(back(
                "/admin/users",
                "error",
                &format!("unknown action {other:?}"),
            ))
        }
    };
    match api::change(&state.store, &user, &name, change).await {
        Ok(changed) => Ok(back(
            "/admin/users",
            "done",
            &format!("{done} {}", changed.name),
        )),
        Err(AuthError::BadRequest(m) | AuthError::Conflict(m)) => {
            Ok(back("/admin/users", "error", &m))
        }
        Err(e) => Err(refuse(e)),
    }
}

impl ChangeUserForm {
    fn action_done(&self) -> &'static str {
        match self.action.as_str() {
            "disable" => "disabled",
            "enable" => "enabled",
            "password" => "set the password of",
            _ => "updated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_always_a_local_path() {
        assert_eq!(local_path("/releases/x?y=1"), "/releases/x?y=1");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\r\nLocation: x",
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }
}
