//! Registry webhooks: `POST /api/v1/hooks/registry` takes CNCF distribution notification
//! envelopes, `POST /api/v1/hooks/quay` Quay `repo_push` notifications.
//!
//! Each hook is enabled by a shared secret (`--hook-secret registry=…`, `quay=…`) and answers
//! `403` while it has none. The registry hook wants `Authorization: Bearer <secret>`, the
//! header distribution sends from its endpoint configuration; Quay cannot set headers, so its
//! hook also takes `?secret=<secret>`. Secrets are compared in constant time, before a byte of
//! the body is read. Bodies over [`MAX_BODY`] get `413` as soon as the limit is passed; a
//! body that does not parse gets `400` and nothing is stored. What is stored goes through
//! [`crate::events::ingest`], so a re-delivered event changes nothing, and the answer is `202`
//! with `{"accepted", "duplicates", "ignored"}`. A pushed manifest whose `repository:tag` or
//! digest is a known release's pull spec wakes the payload worker.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::edge::error::{ApiError, ApiQuery, ErrorBody};
use crate::events::{self, EventError, QUAY_PUSH, REGISTRY_EVENT};
use crate::formats::registry::{self, QuayPush, DISTRIBUTION_EVENTS_V1, DISTRIBUTION_EVENTS_V2};
use crate::store::events::NewEvent;
use crate::AppState;

/// Name (and event source) of the distribution hook.
pub const REGISTRY_HOOK: &str = "registry";
/// Name (and event source) of the Quay hook.
pub const QUAY_HOOK: &str = "quay";
/// The hooks there are.
pub const HOOKS: &[&str] = &[REGISTRY_HOOK, QUAY_HOOK];
/// Largest body a hook takes.
pub const MAX_BODY: usize = 1 << 20;

/// Shared secrets by hook name; a hook without one is disabled.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HookSecrets {
    by_hook: BTreeMap<String, String>,
}

impl std::fmt::Debug for HookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_hook.keys()).finish()
    }
}

impl HookSecrets {
    /// Every hook with its secret.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_hook.iter().map(|(h, s)| (h.as_str(), s.as_str()))
    }

    /// Sets the secret of `hook`.
    pub fn insert(&mut self, hook: impl Into<String>, secret: impl Into<String>) {
        self.by_hook.insert(hook.into(), secret.into());
    }

    /// Whether `hook` has a secret.
    pub fn enabled(&self, hook: &str) -> bool {
        self.by_hook.contains_key(hook)
    }

    /// Checks `presented` against the secret of `hook`.
    fn check(&self, hook: &str, presented: Option<&str>) -> Result<(), ApiError> {
        let Some(secret) = self.by_hook.get(hook) else {
            return Err(ApiError::Forbidden(format!(
                "the {hook} hook is disabled: no secret is configured for it \
                 (--hook-secret {hook}=SECRET)"
            )));
        };
        let Some(presented) = presented else {
            return Err(ApiError::Unauthorized(if hook == QUAY_HOOK {
                "missing hook secret: add ?secret=<secret> to the notification url".to_string()
            } else {
                "missing hook secret: send Authorization: Bearer <secret>".to_string()
            }));
        };
        // hashing first makes the comparison independent of the lengths too
        let (want, got) = (
            Sha256::digest(secret.as_bytes()),
            Sha256::digest(presented.as_bytes()),
        );
        let equal = want.as_slice().ct_eq(got.as_slice());
        if bool::from(equal) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(format!(
                "wrong secret for the {hook} hook"
            )))
        }
    }
}

/// The hook routes, with their body limit.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/hooks/registry",
            post(receive_registry_events).fallback(post_only),
        )
        .route(
            "/api/v1/hooks/quay",
            post(receive_quay_push).fallback(post_only),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

async fn post_only(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {} (use POST)",
        uri.path()
    ))
}

/// Proof that a delivery carries the registry hook's secret: checked from the headers, so
/// that an unauthorized body is never read.
pub struct RegistryHookSecret;

impl FromRequestParts<AppState> for RegistryHookSecret {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .settings
            .hooks
            .check(REGISTRY_HOOK, bearer(&parts.headers))?;
        Ok(RegistryHookSecret)
    }
}

/// Proof that a delivery carries the Quay hook's secret (`?secret=` or a bearer header).
pub struct QuayHookSecret;

impl FromRequestParts<AppState> for QuayHookSecret {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiQuery(query) = ApiQuery::<SecretQuery>::from_request_parts(parts, state).await?;
        let presented = query.secret.as_deref().or_else(|| bearer(&parts.headers));
        state.settings.hooks.check(QUAY_HOOK, presented)?;
        Ok(QuayHookSecret)
    }
}

/// What a hook did with a delivery.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HookSummary {
    /// Events stored.
    pub accepted: u64,
    /// Events stored before (re-deliveries).
    pub duplicates: u64,
    /// Events that say nothing about releases (pulls, blob pushes, mounts), not stored.
    pub ignored: u64,
}

/// `?secret=` of the Quay hook.
#[derive(Debug, Deserialize)]
pub struct SecretQuery {
    /// The hook's secret.
    pub secret: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn check_content_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), ApiError> {
    let given = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if accepted.iter().any(|a| a.eq_ignore_ascii_case(essence)) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "content type {given:?} is not accepted (use {})",
            accepted.join(", ")
        )))
    }
}

fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("body is larger than {MAX_BODY} bytes"))
        } else {
            ApiError::BadRequest(crate::edge::error::lowercase_first(&r.body_text()))
        }
    })
}

fn stored(e: EventError) -> ApiError {
    match e {
        EventError::Malformed { .. } | EventError::UnknownKind(_) => {
            ApiError::BadRequest(e.to_string())
        }
        EventError::Store(e) => e.into(),
        EventError::Replay(_) => ApiError::Internal(e.to_string()),
    }
}

/// Stores one event; counts it.
async fn store_event(
    state: &AppState,
    event: NewEvent,
    summary: &mut HookSummary,
) -> Result<bool, ApiError> {
    match events::ingest(&state.store, event).await.map_err(stored)? {
        Some(_) => {
            summary.accepted += 1;
            Ok(true)
        }
        None => {
            summary.duplicates += 1;
            Ok(false)
        }
    }
}

/// Takes a CNCF distribution notification envelope (`{"events": [...]}`, content type
/// `application/vnd.docker.distribution.events.v1+json`, `…v2+json` or `application/json`);
/// stores its manifest pushes and deletes. Send `Authorization: Bearer <secret>`.
#[utoipa::path(
    post,
    path = "/api/v1/hooks/registry",
    tag = "hooks",
    request_body(content = String, description = "a distribution notification envelope",
        content_type = "application/vnd.docker.distribution.events.v1+json"),
    responses(
        (status = 202, description = "stored; re-delivered events count as duplicates", body = HookSummary),
        (status = 400, description = "the body does not parse; nothing was stored", body = ErrorBody),
        (status = 401, description = "missing or wrong bearer secret", body = ErrorBody),
        (status = 403, description = "the hook has no secret configured", body = ErrorBody),
        (status = 413, description = "the body is larger than 1 MiB", body = ErrorBody),
        (status = 415, description = "another content type", body = ErrorBody)
    )
)]
pub async fn receive_registry_events(
    _secret: RegistryHookSecret,
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<HookSummary>), ApiError> {
    check_content_type(
        &headers,
        &[
            DISTRIBUTION_EVENTS_V1,
            DISTRIBUTION_EVENTS_V2,
            "application/json",
        ],
    )?;
    let raw = body(raw)?;
    let received = registry::parse_envelope(&raw).map_err(ApiError::BadRequest)?;
    let now = Utc::now();
    let mut summary = HookSummary::default();
    let mut wake = false;
    for r in received {
        if !r.event.is_manifest_change() {
            summary.ignored += 1;
            continue;
        }
        let event = NewEvent {
            source: REGISTRY_HOOK.to_string(),
            kind: REGISTRY_EVENT.to_string(),
            subject: r.event.target.repository.clone(),
            payload: r.raw,
            received_at: now,
            external_id: Some(r.event.id.clone()),
        };
        let new = store_event(&state, event, &mut summary).await?;
        if new && r.event.action == "push" {
            let target = &r.event.target;
            wake |= state
                .store
                .releases_matching_image(
                    &target.repository,
                    target.tag.as_deref(),
                    target.digest.as_deref(),
                )
                .await?
                > 0;
        }
    }
    if wake {
        state.payload_wake.notify_one();
    }
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// Takes a Quay `repo_push` notification (`application/json`). Quay cannot send headers:
/// put the secret in the notification URL as `?secret=<secret>` (a bearer header works too).
#[utoipa::path(
    post,
    path = "/api/v1/hooks/quay",
    tag = "hooks",
    params(("secret" = Option<String>, Query, description = "the hook's secret")),
    request_body(content = String, description = "a Quay repo_push notification",
        content_type = "application/json"),
    responses(
        (status = 202, description = "stored; re-delivered events count as duplicates", body = HookSummary),
        (status = 400, description = "the body does not parse; nothing was stored", body = ErrorBody),
        (status = 401, description = "missing or wrong secret", body = ErrorBody),
        (status = 403, description = "the hook has no secret configured", body = ErrorBody),
        (status = 413, description = "the body is larger than 1 MiB", body = ErrorBody),
        (status = 415, description = "another content type", body = ErrorBody)
    )
)]
pub async fn receive_quay_push(
    _secret: QuayHookSecret,
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<HookSummary>), ApiError> {
    check_content_type(&headers, &["application/json"])?;
    let raw = body(raw)?;
    let push = QuayPush::parse(&raw).map_err(ApiError::BadRequest)?;
    let payload = String::from_utf8(raw.to_vec())
        .map_err(|_| ApiError::BadRequest("body is not utf-8".to_string()))?;
    let now = Utc::now();
    let mut summary = HookSummary::default();
    let event = NewEvent {
        source: QUAY_HOOK.to_string(),
        kind: QUAY_PUSH.to_string(),
        subject: push.repository.clone(),
        payload,
        received_at: now,
        external_id: Some(push.dedup_key(now)),
    };
    if store_event(&state, event, &mut summary).await? {
        let mut wake = false;
        for tag in push.tags() {
            wake |= state
                .store
                .releases_matching_image(&push.repository, Some(&tag), None)
                .await?
                > 0;
        }
        if wake {
            state.payload_wake.notify_one();
        }
    }
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked_and_never_printed() {
        let mut secrets = HookSecrets::default();
        secrets.insert(REGISTRY_HOOK, "s3cret");
        assert!(secrets.check(REGISTRY_HOOK, Some("s3cret")).is_ok());
        assert!(matches!(
            secrets.check(REGISTRY_HOOK, Some("s3cre")),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            secrets.check(REGISTRY_HOOK, None),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            secrets.check(QUAY_HOOK, Some("s3cret")),
            Err(ApiError::Forbidden(_))
        ));
        assert!(!format!("{secrets:?}").contains("s3cret"));
    }
}
