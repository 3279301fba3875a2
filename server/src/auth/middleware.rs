//! Resolves who made each request, once, before any handler runs: an API token
//! (`Authorization: Bearer sg_…`), the trusted proxy's headers (from a trusted peer only),
//! or the session cookie, in that order. Tokens and sessions belong to local accounts and
//! carry the role an admin gave; a proxy request is the proxy identity `proxy:NAME`, with
//! the role its groups map to on this very request, or no role at all (it reads what
//! anonymous visitors read, and is refused 403 elsewhere). The resolved [`Principal`] and
//! the UI's [`Viewer`] go into the request's extensions, where the extractors and Leptos'
//! server functions find them. A token that is unknown, revoked or whose user is disabled
//! (or a proxy identity) is refused with 401 on any route; an ended session makes the
//! request anonymous and removes the cookie. The registry webhooks keep their own secrets
//! and are skipped, as are the static files and health probes.

use app::viewer::{SignedInWith, Viewer};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::session::{self, COOKIE, TOUCH_EVERY};
use super::{AuthError, Principal};
use crate::edge::peer::Peer;
use crate::secret::{hash_secret, looks_like_api_token, random_secret};
use crate::store::auth::{Origin, User};
use crate::AppState;

/// Set in the extensions when the request carried a session cookie that no longer
/// works; the 401 of [`super::CurrentUser`] then says so.
#[derive(Debug, Clone, Copy)]
pub struct SessionEnded;

/// Paths that need no user: the registry webhooks (they authenticate themselves), the
/// site's static files and the health probes.
const SKIPPED: [&str; 4] = ["/api/v1/hooks/", "/pkg/", "/healthz", "/readyz"];

/// The middleware: `axum::middleware::from_fn_with_state(state, resolve)`.
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // probes send no credentials; an admin reading /readyz does, and sees its details
    let credentials = request.headers().contains_key(header::AUTHORIZATION)
        || request.headers().contains_key(header::COOKIE);
    let detailed_readyz = path == "/readyz" && credentials;
    if SKIPPED.iter().any(|p| path.starts_with(p)) && !detailed_readyz {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let peer = Peer::of(&parts);
    let outcome = identify(&state, &parts.headers, peer).await;
    let mut clear = false;
    match outcome {
        Ok(Identified::User(principal)) => {
            parts.extensions.insert::<Viewer>(principal.viewer());
            parts.extensions.insert(principal);
        }
        Ok(Identified::Anonymous) => {}
        Ok(Identified::Ended) => {
            parts.extensions.insert(SessionEnded);
            clear = true;
        }
        Err(e) => return e.into_response(),
    }
    request = Request::from_parts(parts, body);
    let mut response = next.run(request).await;
    if clear {
        if let Ok(value) = session::clear_cookie(COOKIE, "/", &state.auth.settings) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

enum Identified {
    User(Principal),
    Anonymous,
    Ended,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    peer: Peer,
) -> Result<Identified, AuthError> {
    if let Some(token) = bearer(headers) {
        return by_token(state, token).await.map(Identified::User);
    }
    let settings = &state.auth.settings;
    if let Some(identity) = settings.proxy.identity(peer.0, headers) {
        return by_proxy(state, &identity).await;
    }
    match session::cookie(headers, COOKIE) {
        Some(id) => by_session(state, &id).await,
        None => Ok(Identified::Anonymous),
    }
}

/// The principal of a local account (a token's or a session's).
fn principal(user: &User, with: SignedInWith, csrf: String, session: Option<String>) -> Principal {
    Principal {
        user_id: user.id,
        name: user.name.clone(),
        role: user.role,
        targets: user.targets.clone(),
        with,
        csrf,
        session,
    }
}

async fn by_token(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    if !looks_like_api_token(token) {
        return Err(AuthError::Unauthenticated(
            "the bearer token is not a streamgate api token (sg_…)".into(),
        ));
    }
    let Some(found) = state.store.api_token_by_hash(&hash_secret(token)).await? else {
        return Err(AuthError::Unauthenticated("unknown api token".into()));
    };
    if found.revoked_at.is_some() {
        return Err(AuthError::Unauthenticated(format!(
            "api token {}… was revoked",
            found.prefix
        )));
    }
    let user = state.store.user_by_id(found.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(AuthError::Unauthenticated(format!(
            "the owner of api token {}… is disabled",
            found.prefix
        )));
    };
    if user.origin != Origin::Local {
        // its rights are in the proxy's groups, which a script's request does not carry
        return Err(AuthError::Unauthenticated(format!(
            "api token {}… belongs to {}, who signs in through the proxy; \
             api tokens work for local accounts only",
            found.prefix, user.name
        )));
    }
    let now = Utc::now();
    if found.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY) {
        state.store.touch_api_token(found.id, now).await?;
    }
    Ok(principal(&user, SignedInWith::Token, String::new(), None))
}

async fn by_proxy(
    state: &AppState,
    identity: &super::proxy::ProxyIdentity,
) -> Result<Identified, AuthError> {
    if !super::names::valid_name(&identity.user) {
        tracing::warn!(user = %identity.user, "proxy user name is not usable; treated as anonymous");
        return Ok(Identified::Anonymous);
    }
    let user = state
        .store
        .proxy_user(&identity.user, &random_secret(), Utc::now())
        .await?;
    if user.disabled {
        tracing::debug!(user = %user.name, "proxy user is disabled");
        return Ok(Identified::Anonymous);
    }
    // the groups of this request, and nothing stored, say what the user may do
    let (role, targets) = match &identity.mapped {
        Some((role, targets)) => (Some(*role), targets.clone()),
        None => (None, Some(Vec::new())),
    };
    Ok(Identified::User(Principal {
        user_id: user.id,
        name: user.name,
        role,
        targets,
        with: SignedInWith::Proxy,
        csrf: user.proxy_csrf,
        session: None,
    }))
}

async fn by_session(state: &AppState, id: &str) -> Result<Identified, AuthError> {
    let id_hash = hash_secret(id);
    let Some(stored) = state.store.session(&id_hash).await? else {
        return Ok(Identified::Ended);
    };
    let now = Utc::now();
    if !session::alive(&stored, &state.auth.settings, now) {
        state.store.delete_session(&id_hash).await?;
        return Ok(Identified::Ended);
    }
    let user = state.store.user_by_id(stored.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled && u.origin == Origin::Local) else {
        state.store.delete_session(&id_hash).await?;
        return Ok(Identified::Ended);
    };
    if now - stored.last_seen_at > TOUCH_EVERY {
        state.store.touch_session(&id_hash, now).await?;
    }
    Ok(Identified::User(principal(
        &user,
        SignedInWith::Password,
        stored.csrf,
        Some(id_hash),
    )))
}
