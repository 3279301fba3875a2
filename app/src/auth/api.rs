//! Server functions of the sign-in, account and user-management pages. Who is asking
//! comes from the [`Viewer`] the server's middleware put in the request; what they may
//! see is decided here, the data comes from the [`crate::backend::Backend`].

use leptos::prelude::*;

use super::{Account, Guarded};
use crate::error::AppError;
use crate::model::account::UserInfo;
#[cfg(feature = "ssr")]
use crate::viewer::Viewer;

/// The cookie that carries a just-created API token to the account page, once.
pub const NEW_TOKEN_COOKIE: &str = "sg_new_token";

#[cfg(feature = "ssr")]
fn viewer() -> Option<Viewer> {
    use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<Viewer>().cloned())
}

/// The value of cookie `name` in this request.
#[cfg(feature = "ssr")]
pub(crate) fn request_cookie(name: &str) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// The signed-in user's account: who they are, their API tokens, and a token created just
/// before (taken from its one-minute cookie, which this answer removes).
#[server(endpoint = "account")]
pub async fn get_account() -> Result<Guarded<Account>, AppError> {
    let Some(viewer) = viewer() else {
        return Ok(Guarded::SignedOut);
    };
    let tokens = crate::backend::backend()?.api_tokens(&viewer.name).await?;
    let new_token = request_cookie(NEW_TOKEN_COOKIE);
    if new_token.is_some() {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            // no Secure flag: removing a cookie must work on plain-http installs too
            if let Ok(value) = http::HeaderValue::from_str(&format!(
                "{NEW_TOKEN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/account; Max-Age=0"
            )) {
                response.append_header(http::header::SET_COOKIE, value);
            }
        }
    }
    Ok(Guarded::Shown(Account {
        viewer,
        tokens,
        new_token,
    }))
}

/// Every user, for admins.
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Guarded<(crate::viewer::Viewer, Vec<UserInfo>)>, AppError> {
    let Some(viewer) = viewer() else {
        return Ok(Guarded::SignedOut);
    };
    if !viewer.is_admin() {
        return Ok(Guarded::Refused(format!(
            "{} {}; only admins manage users",
            viewer.name,
            match viewer.role {
                Some(role) => format!("is a {}", role.as_str()),
                None => "has no role".to_string(),
            }
        )));
    }
    let users = crate::backend::backend()?.users().await?;
    Ok(Guarded::Shown((viewer, users)))
}
