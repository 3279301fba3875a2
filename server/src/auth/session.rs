//! Browser sessions: signing in stores a session (the hash of a random id, the user, a
//! CSRF token, when it ends) and sets the id in an `HttpOnly; SameSite=Lax; Path=/` cookie,
//! `Secure` unless configured off. A session ends at its expiry, after the idle timeout,
//! when the user signs out, is disabled or gets a new password.

use axum::http::{header, HeaderMap, HeaderValue};
use chrono::Utc;
use cookie::{Cookie, SameSite};

use super::{AuthError, AuthSettings};
use crate::secret::{hash_secret, random_secret};
use crate::store::auth::{Session, User};
use crate::store::Store;

/// The session cookie's name.
pub const COOKIE: &str = "sg_session";
/// The cookie that carries a just-created API token to the account page, once.
pub const NEW_TOKEN_COOKIE: &str = "sg_new_token";
/// Sessions are marked used at most this often (a write per request would be wasteful).
pub const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// A session just started: the id for the cookie, and what was stored.
#[derive(Debug)]
pub struct Started {
    /// The id (only ever in the cookie).
    pub id: String,
    /// The stored session.
    pub session: Session,
}

/// Starts a session for `user`, sweeping sessions that have ended.
pub async fn start(
    store: &Store,
    user: &User,
    settings: &AuthSettings,
) -> Result<Started, AuthError> {
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(settings.session_ttl)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let idle = chrono::Duration::from_std(settings.session_idle)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let swept = store.delete_stale_sessions(now, now - idle).await?;
    if swept > 0 {
        tracing::debug!(swept, "ended sessions removed");
    }
    let id = random_secret();
    let session = Session {
        id_hash: hash_secret(&id),
        user_id: user.id,
        csrf: random_secret(),
        created_at: now,
        expires_at: now + ttl,
        last_seen_at: now,
    };
    store.create_session(&session).await?;
    Ok(Started { id, session })
}

/// Whether `session` is still alive at `now`.
pub fn alive(session: &Session, settings: &AuthSettings, now: chrono::DateTime<Utc>) -> bool {
    let idle = chrono::Duration::from_std(settings.session_idle).unwrap_or(chrono::Duration::MAX);
    now < session.expires_at && now < session.last_seen_at + idle
}

fn cookie_value(cookie: Cookie<'_>) -> Result<HeaderValue, AuthError> {
    HeaderValue::from_str(&cookie.to_string()).map_err(|e| AuthError::Internal(e.to_string()))
}

/// The `Set-Cookie` value of a new session.
pub fn set_cookie(id: &str, settings: &AuthSettings) -> Result<HeaderValue, AuthError> {
    let max_age = cookie::time::Duration::seconds(
        i64::try_from(settings.session_ttl.as_secs()).unwrap_or(i64::MAX),
    );
    cookie_value(
        Cookie::build((COOKIE, id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(settings.secure_cookies)
            .max_age(max_age)
            .build(),
    )
}

/// The `Set-Cookie` value that removes cookie `name` (set with `path`).
pub fn clear_cookie(
    name: &'static str,
    path: &'static str,
    settings: &AuthSettings,
) -> Result<HeaderValue, AuthError> {
    cookie_value(
        Cookie::build((name, ""))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path(path)
            .secure(settings.secure_cookies)
            .max_age(cookie::time::Duration::ZERO)
            .build(),
    )
}

/// The `Set-Cookie` value that hands a just-created token to `/account`, for one minute.
pub fn new_token_cookie(token: &str, settings: &AuthSettings) -> Result<HeaderValue, AuthError> {
    cookie_value(
        Cookie::build((NEW_TOKEN_COOKIE, token.to_string()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/account")
            .secure(settings.secure_cookies)
            .max_age(cookie::time::Duration::minutes(1))
            .build(),
    )
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes_follow_the_settings() {
        let mut settings = AuthSettings::default();
        let value = set_cookie("abc", &settings).expect("cookie");
        let text = value.to_str().expect("ascii");
        for part in [
            "sg_session=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Secure",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        settings.secure_cookies = false;
        let text = set_cookie("abc", &settings).expect("cookie");
        assert!(!text.to_str().expect("ascii").contains("Secure"));
        let cleared = clear_cookie(COOKIE, "/", &settings).expect("cookie");
        assert!(cleared.to_str().expect("ascii").contains("Max-Age=0"));
    }

    #[test]
    fn finds_the_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; sg_session=xyz"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn sessions_end_at_expiry_or_after_idling() {
        let settings = AuthSettings::default();
        let now = Utc::now();
        let session = Session {
            id_hash: "h".into(),
            user_id: 1,
            csrf: "c".into(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(2),
            last_seen_at: now,
        };
        assert!(alive(&session, &settings, now + chrono::Duration::hours(1)));
        assert!(!alive(
            &session,
            &settings,
            now + chrono::Duration::hours(3)
        ));
        let idle = Session {
            expires_at: now + chrono::Duration::days(30),
            ..session
        };
        assert!(!alive(&idle, &settings, now + chrono::Duration::hours(25)));
    }
}
