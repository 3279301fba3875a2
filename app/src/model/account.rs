//! Accounts as the account and admin pages list them: API tokens (never their secret) and
//! users.

use serde::{Deserialize, Serialize};

use crate::viewer::Role;

/// An API token as the account page lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Id, to revoke it.
    pub id: i64,
    /// Label.
    pub name: String,
    /// The token's first characters.
    pub prefix: String,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last use.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Revocation time; a revoked token is refused.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A user as the admin page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Name; `proxy:NAME` for someone the trusted proxy vouches for.
    pub name: String,
    /// A local account's role; `None` for a proxy identity, whose groups give it one.
    pub role: Option<Role>,
    /// Targets a maintainer is limited to; `None`: every target.
    pub targets: Option<Vec<String>>,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// Whether the user has a password.
    pub has_password: bool,
    /// Whether this is a proxy identity (signs in through the trusted proxy).
    pub proxy: bool,
}
