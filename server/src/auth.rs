//! Who may do what. Anonymous visitors read everything public; **maintainers** promote
//! (to every target, or to the ones they are limited to); **admins** also manage users,
//! tokens and promotion targets and may override a gate.
//!
//! A request proves who made it in one of three ways, resolved once per request by
//! [`middleware::resolve`], which puts a [`Principal`] and the UI's [`app::viewer::Viewer`]
//! into the request's extensions:
//! - a **session cookie** set by signing in with a password ([`session`], [`password`]);
//! - an **API token** (`Authorization: Bearer sg_…`, [`secret`]) for scripts;
//! - the **trusted reverse proxy**'s user and group headers, honoured only from the
//!   configured proxy addresses ([`proxy`]).
//!
//! Handlers ask for what they need with the extractors of [`extract`]: [`MaybeUser`],
//! [`CurrentUser`] (401 when anonymous), and for state-changing requests [`Writer`] and
//! [`Write`], which also refuse cross-site requests and check the CSRF token of
//! cookie- and proxy-authenticated requests. [`require_admin`] and [`require_promoter`]
//! answer 403 with the reason. Sign-in attempts are rate limited per client and per client
//! and user name, and only a few passwords are checked at once ([`limit`]).
//!
//! Local accounts (a password, a role an admin gives) and the people the proxy vouches for
//! are separate: the proxy's `ada` is the user `proxy:ada`, never the local `ada`, and
//! their role comes from the proxy's groups on every request, never from what is stored.

pub mod api;
pub mod cli;
pub mod demo;
pub mod extract;
pub mod limit;
pub mod middleware;
pub mod names;
pub mod password;
pub mod proxy;
pub mod routes;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use app::viewer::{Role, SignedInWith, Viewer};
use axum::response::{IntoResponse, Response};
use axum::Router;

pub use extract::{CurrentUser, MaybeUser, Write, Writer};

use crate::edge::error::ApiError;
use crate::store::StoreError;
use crate::AppState;

/// How sign-in, sessions and the trusted proxy behave.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Mark the session cookie `Secure` (off only for plain-http installs; browsers accept
    /// `Secure` cookies from `http://127.0.0.1` and `http://localhost` anyway).
    pub secure_cookies: bool,
    /// A session ends this long after signing in.
    pub session_ttl: Duration,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// The trusted reverse proxy.
    pub proxy: proxy::ProxyConfig,
    /// Sign-in attempts per minute from one client (an IPv4 address, an IPv6 /64).
    pub sign_in_per_address: std::num::NonZeroU32,
    /// Sign-in attempts per minute for one user name from one client.
    pub sign_in_per_name: std::num::NonZeroU32,
    /// Passwords checked at once (argon2 runs on the blocking pool).
    pub sign_in_concurrency: std::num::NonZeroUsize,
    /// How long a sign-in waits for a password check to start before it is turned away.
    pub sign_in_wait: Duration,
}

/// `n` attempts a minute (`n` is never zero here).
const fn per_minute(n: u32) -> std::num::NonZeroU32 {
    match std::num::NonZeroU32::new(n) {
        Some(n) => n,
        None => std::num::NonZeroU32::MIN,
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            secure_cookies: true,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            session_idle: Duration::from_secs(24 * 3600),
            proxy: proxy::ProxyConfig::default(),
            sign_in_per_address: per_minute(20),
            sign_in_per_name: per_minute(10),
            sign_in_concurrency: limit::default_concurrency(),
            sign_in_wait: Duration::from_secs(2),
        }
    }
}

/// The authentication state every handler can reach (part of [`AppState`]).
#[derive(Debug, Clone)]
pub struct Auth {
    /// Settings.
    pub settings: Arc<AuthSettings>,
    /// Sign-in rate limits.
    pub limits: Arc<limit::SignInLimits>,
}

impl Auth {
    /// Authentication with `settings`.
    pub fn new(settings: AuthSettings) -> Auth {
        let limits = limit::SignInLimits::new(
            settings.sign_in_per_address,
            settings.sign_in_per_name,
            settings.sign_in_concurrency,
            settings.sign_in_wait,
        );
        Auth {
            settings: Arc::new(settings),
            limits: Arc::new(limits),
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth::new(AuthSettings::default())
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's row id.
    pub user_id: i64,
    /// User name; `proxy:NAME` for someone the trusted proxy vouches for.
    pub name: String,
    /// Role; `None` for a proxy user in no mapped group, who may do what anonymous
    /// visitors may.
    pub role: Option<Role>,
    /// Promotion targets a maintainer is limited to; `None`: every target.
    pub targets: Option<Vec<String>>,
    /// How the request was authenticated.
    pub with: SignedInWith,
    /// The CSRF token state-changing requests must carry (empty for API tokens, which
    /// need none).
    pub csrf: String,
    /// The hash of the session id, for a session.
    pub session: Option<String>,
}

impl Principal {
    /// The UI's view of this user.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            name: self.name.clone(),
            role: self.role,
            targets: self.targets.clone(),
            csrf: self.csrf.clone(),
            with: self.with,
        }
    }

    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// What the user is, for messages: `a maintainer`, `an admin`, `without a role`.
    fn role_text(&self) -> &'static str {
        match self.role {
            Some(Role::Admin) => "an admin",
            Some(Role::Maintainer) => "a maintainer",
            None => "without a role (no proxy group of theirs is mapped to one)",
        }
    }

    /// Whether the user may promote to `target`.
    pub fn may_promote(&self, target: &str) -> bool {
        self.viewer().may_promote(target)
    }
}

/// Refuses anyone but an admin, with the reason.
pub fn require_admin(user: &Principal) -> Result<(), AuthError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AuthError::Forbidden(format!(
            "{} is {}; only admins may do this",
            user.name,
            user.role_text()
        )))
    }
}

/// Refuses anyone who may not promote to `target`, with the reason.
pub fn require_promoter(user: &Principal, target: &str) -> Result<(), AuthError> {
    if user.may_promote(target) {
        return Ok(());
    }
    if user.role.is_none() {
        return Err(AuthError::Forbidden(format!(
            "{} is {}; only maintainers and admins may promote",
            user.name,
            user.role_text()
        )));
    }
    let allowed = user.targets.as_deref().unwrap_or_default().join(", ");
    Err(AuthError::Forbidden(if allowed.is_empty() {
        format!("{} may not promote to any target", user.name)
    } else {
        format!(
            "{} may not promote to {target}; they may promote to {allowed}",
            user.name
        )
    }))
}

/// Why an authentication or permission check failed, answered with its status and the
/// `{"errors":[{"detail": "…"}]}` envelope.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No or unusable credentials (401); the message says which.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed (403); the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// Too many sign-in attempts (429).
    #[error("too many sign-in attempts; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// When to try again.
        retry_after: Duration,
    },
    /// Too many passwords are being checked right now (503).
    #[error("too many sign-ins are being checked right now; try again in {} s", retry_after.as_secs().max(1))]
    Busy {
        /// When to try again.
        retry_after: Duration,
    },
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such user or token (404).
    #[error("{0} not found")]
    NotFound(String),
    /// The name is taken (409).
    #[error("{0}")]
    Conflict(String),
    /// Something failed inside (500); logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AuthError::NotFound(what),
            StoreError::Conflict(what) => AuthError::Conflict(what),
            StoreError::InvalidText(why) => AuthError::BadRequest(why),
            e => AuthError::Internal(e.to_string()),
        }
    }
}

impl From<limit::CheckError> for AuthError {
    fn from(e: limit::CheckError) -> Self {
        match e {
            limit::CheckError::Busy { retry_after } => AuthError::Busy { retry_after },
            e => AuthError::Internal(e.to_string()),
        }
    }
}

impl From<password::PasswordError> for AuthError {
    fn from(e: password::PasswordError) -> Self {
        match e {
            password::PasswordError::Weak(why) => AuthError::BadRequest(why),
            e => AuthError::Internal(e.to_string()),
        }
    }
}

/// Every authentication failure is answered as the [`ApiError`] of the same meaning (its
/// status, message and `Retry-After` kept), so the HTTP mapping lives in one place.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated(m) => ApiError::Unauthorized(m),
            AuthError::Forbidden(m) => ApiError::Forbidden(m),
            e @ AuthError::RateLimited { .. } => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: e.retry_after(),
            },
            e @ AuthError::Busy { .. } => ApiError::Busy {
                message: e.to_string(),
                retry_after: e.retry_after(),
            },
            AuthError::BadRequest(m) => ApiError::BadRequest(m),
            AuthError::Conflict(m) => ApiError::Conflict(m),
            AuthError::NotFound(m) => ApiError::NotFound(m),
            AuthError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl AuthError {
    /// When a refused attempt may try again (zero for failures that are not limits).
    fn retry_after(&self) -> Duration {
        match self {
            AuthError::RateLimited { retry_after } | AuthError::Busy { retry_after } => {
                *retry_after
            }
            _ => Duration::ZERO,
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// The sign-in, account and user-management routes: browser forms and the JSON API.
pub fn router() -> Router<AppState> {
    routes::router().merge(api::router())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue, StatusCode};

    fn principal(role: Option<Role>, targets: Option<&[&str]>) -> Principal {
        Principal {
            user_id: 1,
            name: "bob".into(),
            role,
            targets: targets.map(|t| t.iter().map(|s| s.to_string()).collect()),
            with: SignedInWith::Password,
            csrf: "c".into(),
            session: None,
        }
    }

    #[test]
    fn refusals_say_why() {
        let limited = principal(Some(Role::Maintainer), Some(&["4-scos-next"]));
        assert!(require_promoter(&limited, "4-scos-next").is_ok());
        let err = require_promoter(&limited, "4-scos-stable").expect_err("other target");
        assert_eq!(
            err.to_string(),
            "bob may not promote to 4-scos-stable; they may promote to 4-scos-next"
        );
        assert_eq!(ApiError::from(err).status(), StatusCode::FORBIDDEN);
        let err = require_admin(&limited).expect_err("not admin");
        assert_eq!(
            err.to_string(),
            "bob is a maintainer; only admins may do this"
        );
        assert!(require_admin(&principal(Some(Role::Admin), None)).is_ok());
        assert!(require_promoter(&principal(Some(Role::Maintainer), None), "any").is_ok());
        let nobody = principal(None, None);
        let err = require_promoter(&nobody, "any").expect_err("no role");
        assert!(
            err.to_string().starts_with("bob is without a role"),
            "{err}"
        );
        assert!(require_admin(&nobody).is_err());
    }

    #[test]
    fn rate_limit_answers_429_with_retry_after() {
        let response = AuthError::RateLimited {
            retry_after: Duration::from_millis(2500),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(3u64))
        );
    }
}
