//! Promotion targets as typed by an admin (API, form or command line): checked, trimmed and
//! stored, with a webhook's address and new signing secret answered only to the request
//! that set them.

use app::model::promotion::PromotionTarget;
use serde::Serialize;

use super::plan::validate_template;
use super::webhook;
use crate::store::promotions::{NewTarget, WebhookChange};
use crate::store::{Store, StoreError};

/// The answer to a saved target: the target as admins see it, and a webhook set by this
/// request in full with its new signing secret, shown only here.
#[derive(Debug, Serialize)]
pub struct SavedTarget {
    /// The target.
    #[serde(flatten)]
    pub target: PromotionTarget,
    /// The webhook's address, when this request set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The webhook's signing secret, when this request set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// What a typed webhook field asks for: nothing (keep), blank (remove) or an address (set,
/// with a new secret).
pub fn webhook_change(typed: Option<String>) -> WebhookChange {
    match typed.map(|u| u.trim().to_string()) {
        None => WebhookChange::Keep,
        Some(url) if url.is_empty() => WebhookChange::Remove,
        Some(url) => WebhookChange::Set {
            url,
            secret: webhook::new_secret(),
        },
    }
}

/// A target as typed (API, form or command line) made ready to store: fields trimmed and
/// checked; the error says what is wrong.
pub fn checked_target(t: NewTarget) -> Result<NewTarget, String> {
    let target = NewTarget {
        name: t.name.trim().to_string(),
        source_stream: t.source_stream.trim().to_string(),
        content_repo: t.content_repo.trim().to_string(),
        release_repo: t.release_repo.trim().to_string(),
        name_template: t.name_template.trim().to_string(),
        webhook: t.webhook,
    };
    validate_target(&target)?;
    Ok(target)
}

/// Checks a target before it is stored; the message says what is wrong (never the
/// webhook's address, which would end up in logs and redirects).
fn validate_target(t: &NewTarget) -> Result<(), String> {
    let name_ok = !t.name.is_empty()
        && t.name.len() <= 100
        && t.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !name_ok {
        return Err(format!(
            "target name {:?} must be 1–100 letters, digits, '.', '-' or '_'",
            t.name
        ));
    }
    if t.source_stream.trim().is_empty() {
        return Err("source_stream is required".to_string());
    }
    for (field, repo) in [
        ("content_repo", &t.content_repo),
        ("release_repo", &t.release_repo),
    ] {
        let spec_ok = repo.contains('/')
            && !repo.contains('@')
            && oci_client::Reference::try_from(format!("{repo}:x").as_str()).is_ok();
        if !spec_ok {
            return Err(format!(
                "{field} {repo:?} is not a repository (registry/path, no tag or digest)"
            ));
        }
    }
    validate_template(&t.name_template).map_err(|e| e.to_string())?;
    if let WebhookChange::Set { url, .. } = &t.webhook {
        let ok = reqwest::Url::parse(url)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err("webhook_url is not an http(s) URL".to_string());
        }
    }
    Ok(())
}

/// Stores a checked target; answers with it as admins see it and the webhook it set, if any.
pub async fn save_target(store: &Store, target: &NewTarget) -> Result<SavedTarget, StoreError> {
    store.upsert_target(target, chrono::Utc::now()).await?;
    let mut saved = store
        .target(&target.name)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("promotion target {}", target.name)))?;
    saved.webhook_masked = store
        .target_webhook(&target.name)
        .await?
        .map(|w| webhook::mask(&w.webhook_url));
    let (webhook_url, webhook_secret) = match &target.webhook {
        WebhookChange::Set { url, secret } => (Some(url.clone()), Some(secret.clone())),
        WebhookChange::Keep | WebhookChange::Remove => (None, None),
    };
    Ok(SavedTarget {
        target: saved,
        webhook_url,
        webhook_secret,
    })
}

/// What a typed release pipeline field asks for: nothing (keep), blank (Streamgate promotes
/// itself: `Some(None)`) or an EventListener's address (`Some(Some(url))`), checked.
pub fn pipeline_change(typed: Option<String>) -> Result<Option<Option<String>>, String> {
    match typed.map(|u| u.trim().to_string()) {
        None => Ok(None),
        Some(url) if url.is_empty() => Ok(Some(None)),
        Some(url) => {
            super::pipeline::check_url(&url)?;
            Ok(Some(Some(url)))
        }
    }
}

/// Applies a [`pipeline_change`] to the saved target `saved` (which must exist by now).
pub async fn apply_pipeline(
    store: &Store,
    saved: &mut SavedTarget,
    change: Option<Option<String>>,
) -> Result<(), StoreError> {
    if let Some(url) = change {
        store
            .set_target_pipeline(&saved.target.name, url.as_deref(), chrono::Utc::now())
            .await?;
        saved.target.pipeline_url = url;
    }
    Ok(())
}
