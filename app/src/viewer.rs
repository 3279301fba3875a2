//! Who is looking at a page: nobody in particular, or a signed-in maintainer or admin, with
//! what they may do. The server resolves this for every request (session cookie, API token
//! or trusted proxy headers) and puts it in the request's extensions; pages read it with
//! [`get_viewer`].

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Promotes releases (to every target, or to the ones listed).
    Maintainer,
    /// Also manages users, tokens and promotion targets, and may override a gate.
    Admin,
}

impl Role {
    /// The role's name as stored and shown: `maintainer`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Maintainer => "maintainer",
            Role::Admin => "admin",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "maintainer" => Some(Role::Maintainer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How the user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignedInWith {
    /// A local account's password; a session cookie since.
    Password,
    /// The trusted reverse proxy's user and group headers.
    Proxy,
    /// An API token (scripts and pipelines).
    Token,
}

/// A signed-in user, as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// User name; `proxy:NAME` for someone the trusted proxy vouches for.
    pub name: String,
    /// What they may do; `None` for a proxy user in no mapped group, who may do what
    /// anonymous visitors may.
    pub role: Option<Role>,
    /// The promotion targets a maintainer is limited to; `None`: every target.
    pub targets: Option<Vec<String>>,
    /// The token every state-changing form of this user must carry.
    pub csrf: String,
    /// How they signed in.
    pub with: SignedInWith,
}

impl Viewer {
    /// Whether this user may promote to the target `target`.
    pub fn may_promote(&self, target: &str) -> bool {
        match self.role {
            Some(Role::Admin) => true,
            Some(Role::Maintainer) => self
                .targets
                .as_ref()
                .is_none_or(|targets| targets.iter().any(|t| t == target)),
            None => false,
        }
    }

    /// Whether this user is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// The role as shown: `maintainer`, `admin`, or `no role`.
    pub fn role_name(&self) -> &'static str {
        self.role.map_or("no role", Role::as_str)
    }
}

/// The user looking at the page, `None` when anonymous.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Viewer>().cloned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(role: Option<Role>, targets: Option<&[&str]>) -> Viewer {
        Viewer {
            name: "ada".into(),
            role,
            targets: targets.map(|t| t.iter().map(|s| s.to_string()).collect()),
            csrf: "x".into(),
            with: SignedInWith::Password,
        }
    }

    #[test]
    fn maintainers_are_limited_to_their_targets() {
        assert!(viewer(Some(Role::Maintainer), None).may_promote("4-scos-next"));
        let limited = viewer(Some(Role::Maintainer), Some(&["4-scos-next"]));
        assert!(limited.may_promote("4-scos-next"));
        assert!(!limited.may_promote("4-scos-stable"));
        assert!(viewer(Some(Role::Admin), Some(&[])).may_promote("4-scos-stable"));
        let nobody = viewer(None, None);
        assert!(!nobody.may_promote("4-scos-next") && !nobody.is_admin());
        assert_eq!(nobody.role_name(), "no role");
    }

    #[test]
    fn roles_round_trip_their_names() {
        for role in [Role::Maintainer, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
