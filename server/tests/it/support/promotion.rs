//! Set-up shared by the promotion tests: CI releases listed, their gates recorded and their
//! payloads read from a real registry, a promotion target, and a user with an API token.
//!rs` and `registry.rs`.

use app::viewer::Role;
use chrono::Utc;
use server::events::{ingest, RC_RELEASE, RC_TAGS};
use server::ingest::payload::{Limits, PayloadRequest};
use server::secret::{new_api_token, random_secret};
use server::store::auth::{NewApiToken, NewUser};
use server::store::events::NewEvent;
use server::store::promotions::{NewTarget, WebhookChange};
use server::store::Store;

use super::payloads::reader;
use super::registry::Registry;

/// An input from the `origin` controller, received now.
pub fn event(kind: &str, subject: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        source: "origin".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload: payload.to_string(),
        received_at: Utc::now(),
        external_id: None,
    }
}

/// Lists `releases` (tag, pull spec, state of the blocking `aws` job) in `stream` as the
/// controller would, records their gates, and reads their payloads from `registry`.
pub async fn record_releases(
    store: &Store,
    registry: &Registry,
    stream: &str,
    releases: &[(&str, &str, &str)],
) {
    let tags: Vec<serde_json::Value> = releases
        .iter()
        .map(|(tag, spec, _)| {
            serde_json::json!({"name": tag, "phase": "Accepted", "pullSpec": spec,
                "downloadURL": ""})
        })
        .collect();
    ingest(
        store,
        event(
            RC_TAGS,
            stream,
            serde_json::json!({"name": stream, "tags": tags}),
        ),
    )
    .await
    .expect("tags");
    for (tag, spec, aws) in releases {
        ingest(
            store,
            event(
                RC_RELEASE,
                &format!("{stream}/{tag}"),
                serde_json::json!({"name": tag, "phase": "Accepted", "results": {"blockingJobs": {
                    "aws": {"state": aws, "url": "https://prow.ci.openshift.org/view/gs/aws"}}}}),
            ),
        )
        .await
        .expect("details");
        reader(registry, Limits::default())
            .read_into(
                store,
                &PayloadRequest {
                    pull_spec: spec.to_string(),
                    release: Some((stream.to_string(), tag.to_string())),
                },
            )
            .await
            .expect("payload read");
    }
}

/// A target `name` taking releases of `stream`, into `HOST/okd/scos-content` and
/// `HOST/okd/scos-release`, named `{version}-okd-scos.ec.{n}`.
pub async fn add_target(store: &Store, name: &str, stream: &str, host: &str) {
    store
        .upsert_target(
            &NewTarget {
                name: name.into(),
                source_stream: stream.into(),
                content_repo: format!("{host}/okd/scos-content"),
                release_repo: format!("{host}/okd/scos-release"),
                name_template: "{version}-okd-scos.ec.{n}".into(),
                webhook: WebhookChange::Keep,
            },
            Utc::now(),
        )
        .await
        .expect("target");
}

/// A user (no password) with one API token; returns the token.
pub async fn user_with_token(
    store: &Store,
    name: &str,
    role: Role,
    targets: Option<&[&str]>,
) -> String {
    let user = store
        .create_user(&NewUser {
            name: name.into(),
            password_hash: None,
            role,
            targets: targets.map(|t| t.iter().map(|s| s.to_string()).collect()),
            proxy_csrf: random_secret(),
            created_at: Utc::now(),
        })
        .await
        .expect("user");
    let token = new_api_token();
    store
        .create_api_token(&NewApiToken {
            user_id: user.id,
            name: "pipeline".into(),
            token_hash: token.hash.clone(),
            prefix: token.prefix.clone(),
            created_at: Utc::now(),
        })
        .await
        .expect("token");
    token.token
}
