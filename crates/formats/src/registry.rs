//! Registry notifications: the CNCF distribution envelope (`docker-registry`, Harbor, …) and
//! Quay's `repo_push` webhook, as they arrive on `/api/v1/hooks/*`.
//!
//! A distribution envelope batches events of every kind; only pushes and deletes of
//! manifests and tags say something about releases, so only those are kept
//! ([`DistributionEvent::is_manifest_change`]): each becomes one `registry.event` in the
//! log, deduplicated by the registry's own event id. Pulls, blob uploads and mounts are
//! acknowledged and dropped — a promotion produces hundreds of them and the log would hold
//! nothing a release page could use. Quay's `repo_push` has no id, digest or timestamp; its
//! dedup key is a hash of what it says plus a five-minute window of its arrival
//! ([`QuayPush::dedup_key`]), so retried deliveries collapse while a later re-push of the
//! same tag is a new event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Content type of distribution 2.x notifications.
pub const DISTRIBUTION_EVENTS_V1: &str = "application/vnd.docker.distribution.events.v1+json";
/// Content type of distribution 3.x notifications.
pub const DISTRIBUTION_EVENTS_V2: &str = "application/vnd.docker.distribution.events.v2+json";

/// Width of the window within which identical Quay deliveries count as one.
pub const QUAY_DEDUP_WINDOW_SECS: i64 = 300;

/// One distribution notification event, as much of it as Streamgate uses. The raw event is
/// what the log stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionEvent {
    /// Unique per event: the dedup key.
    pub id: String,
    /// RFC 3339 time of the event.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// `push`, `pull`, `mount` or `delete`.
    pub action: String,
    /// What was pushed, pulled or deleted.
    pub target: Target,
    /// The request that caused it.
    #[serde(default)]
    pub request: Option<RequestInfo>,
}

/// The target of a distribution event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Media type (absent on deletes).
    #[serde(default)]
    pub media_type: Option<String>,
    /// Digest (absent on tag and repository deletes).
    #[serde(default)]
    pub digest: Option<String>,
    /// Repository path, e.g. `okd/scos-release`.
    pub repository: String,
    /// `…/v2/<repo>/manifests/<digest>` or `…/blobs/<digest>`.
    #[serde(default)]
    pub url: Option<String>,
    /// Set only when a manifest was pushed or pulled by tag, or a tag deleted.
    #[serde(default)]
    pub tag: Option<String>,
}

/// The request behind a distribution event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    /// The registry host the client spoke to.
    #[serde(default)]
    pub host: Option<String>,
}

impl DistributionEvent {
    /// Whether this is a push of a manifest (image, index, by tag or digest) or a delete
    /// (manifest by digest, or tag): the events that change what a tag points at.
    pub fn is_manifest_change(&self) -> bool {
        match self.action.as_str() {
            "push" => {
                self.target
                    .url
                    .as_deref()
                    .is_some_and(|u| u.contains("/manifests/"))
                    || self.target.media_type.as_deref().is_some_and(|t| {
                        t.contains("manifest") || t == crate::media_type::OCI_INDEX
                    })
            }
            "delete" => self.target.tag.is_some() || self.target.digest.is_some(),
            _ => false,
        }
    }

    /// The event's own time, when it parses.
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.timestamp
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Checks what the projection relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("event without id".into());
        }
        if self.action.trim().is_empty() {
            return Err(format!("event {} without action", self.id));
        }
        if self.target.repository.trim().is_empty() {
            return Err(format!("event {} without target.repository", self.id));
        }
        Ok(())
    }
}

/// One event of an envelope: parsed, and its raw JSON for the log.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    /// The parsed event.
    pub event: DistributionEvent,
    /// The event as received, re-serialized on its own.
    pub raw: String,
}

#[derive(Deserialize)]
struct Envelope {
    events: Vec<serde_json::Value>,
}

/// Parses a notification envelope; every event must parse, or nothing is taken. The message
/// says which event failed and why.
pub fn parse_envelope(body: &[u8]) -> Result<Vec<ReceivedEvent>, String> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| format!("malformed notification envelope: {e}"))?;
    envelope
        .events
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let event: DistributionEvent = serde_json::from_value(value.clone())
                .map_err(|e| format!("malformed notification events[{i}]: {e}"))?;
            event
                .validate()
                .map_err(|e| format!("malformed notification events[{i}]: {e}"))?;
            let raw = serde_json::to_string(&value)
                .map_err(|e| format!("malformed notification events[{i}]: {e}"))?;
            Ok(ReceivedEvent { event, raw })
        })
        .collect()
}

/// A Quay `repo_push` notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuayPush {
    /// `<namespace>/<name>`.
    pub repository: String,
    /// `<SERVER_HOSTNAME>/<namespace>/<name>`.
    pub docker_url: String,
    /// The tags written by the push: a list, or (before 2014) a map tag → image id.
    pub updated_tags: UpdatedTags,
}

/// `updated_tags` in either of its forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UpdatedTags {
    /// Current Quay: tag names.
    List(Vec<String>),
    /// Legacy Quay: tag → image id (not a manifest digest).
    Map(BTreeMap<String, String>),
}

impl QuayPush {
    /// Parses and checks a `repo_push` body.
    pub fn parse(body: &[u8]) -> Result<QuayPush, String> {
        let push: QuayPush = serde_json::from_slice(body)
            .map_err(|e| format!("malformed quay repo_push notification: {e}"))?;
        push.validate()?;
        Ok(push)
    }

    /// Checks what the projection relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.repository.trim().is_empty() {
            return Err("malformed quay repo_push notification: empty repository".into());
        }
        if self.tags().iter().any(|t| t.trim().is_empty()) {
            return Err("malformed quay repo_push notification: empty tag name".into());
        }
        Ok(())
    }

    /// The pushed tags, sorted, without repeats.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = match &self.updated_tags {
            UpdatedTags::List(l) => l.clone(),
            UpdatedTags::Map(m) => m.keys().cloned().collect(),
        };
        tags.sort();
        tags.dedup();
        tags
    }

    /// The registry host, from `docker_url`.
    pub fn host(&self) -> Option<String> {
        self.docker_url
            .split('/')
            .next()
            .filter(|h| !h.is_empty())
            .map(str::to_string)
    }

    /// Dedup key of a delivery received at `at`: a hash of the image URL, the tags and the
    /// five-minute window of `at`.
    pub fn dedup_key(&self, at: DateTime<Utc>) -> String {
        let window = at.timestamp().div_euclid(QUAY_DEDUP_WINDOW_SECS);
        let text = format!("{}\n{}\n{window}", self.docker_url, self.tags().join(","));
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_manifest_pushes_and_deletes_only() {
        let event = |action: &str, target: serde_json::Value| -> DistributionEvent {
            serde_json::from_value(
                serde_json::json!({"id": "x", "action": action, "target": target}),
            )
            .expect("parses")
        };
        let manifest = serde_json::json!({"repository": "ocp/release", "digest": "sha256:aa",
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "tag": "4.15.0",
            "url": "http://r/v2/ocp/release/manifests/sha256:aa"});
        let index = serde_json::json!({"repository": "ocp/release", "digest": "sha256:aa",
            "mediaType": crate::media_type::OCI_INDEX});
        let blob = serde_json::json!({"repository": "ocp/release", "digest": "sha256:bb",
            "mediaType": "application/octet-stream", "url": "http://r/v2/ocp/release/blobs/sha256:bb"});
        assert!(event("push", manifest.clone()).is_manifest_change());
        assert!(event("push", index).is_manifest_change());
        assert!(!event("pull", manifest).is_manifest_change());
        assert!(!event("push", blob.clone()).is_manifest_change());
        assert!(!event("mount", blob).is_manifest_change());
        assert!(
            event("delete", serde_json::json!({"repository": "r", "tag": "t"}))
                .is_manifest_change()
        );
        assert!(!event("delete", serde_json::json!({"repository": "r"})).is_manifest_change());
    }

    #[test]
    fn quay_dedup_key_collapses_retries_within_the_window() {
        let push = QuayPush::parse(
            br#"{"repository": "okd/scos-release", "docker_url": "quay.io/okd/scos-release",
            "updated_tags": ["b", "a"]}"#,
        )
        .expect("parses");
        assert_eq!(push.tags(), ["a", "b"]);
        assert_eq!(push.host().as_deref(), Some("quay.io"));
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        let key = push.dedup_key(t("2026-11-25T09:00:10Z"));
        assert_eq!(key, push.dedup_key(t("2026-11-25T09:04:59Z")));
        assert_ne!(key, push.dedup_key(t("2026-11-25T09:05:00Z")));
        let legacy = QuayPush::parse(
            br#"{"repository": "okd/scos-release", "docker_url": "quay.io/okd/scos-release",
            "updated_tags": {"b": "img1", "a": "img2"}}"#,
        )
        .expect("parses");
        assert_eq!(key, legacy.dedup_key(t("2026-11-25T09:00:10Z")));
        assert!(
            QuayPush::parse(br#"{"repository": "", "docker_url": "q", "updated_tags": []}"#)
                .is_err()
        );
    }

    #[test]
    fn envelope_errors_name_the_event() {
        let err = parse_envelope(br#"{"events": [{"id": "a", "action": "push", "target": {"repository": "r"}}, {"id": "b"}]}"#)
            .expect_err("second event lacks action");
        assert!(err.contains("events[1]"), "{err}");
        assert!(parse_envelope(b"{\"events\": ").is_err());
        assert!(parse_envelope(br#"{"events": []}"#)
            .expect("empty")
            .is_empty());
    }
}

#[cfg(test)]
mod properties;
