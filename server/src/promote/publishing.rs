//! What follows a published payload, when its target asks for it: adoption into an
//! OpenShift image stream ([`super::adoption`]) and the release notes as a GitHub release
//! ([`super::github_release`]). Both run after the payload is verified and before the
//! promotion is recorded as published, so a promotion resumed after a restart does them
//! again (each is harmless to repeat). A step that fails does not fail the promotion: the
//! release is published whatever a cluster or GitHub answers, and the promotion shows
//! which step failed and why (a `promotion.step` event; the last outcome of a step wins).
//!
//! The server's settings ([`PublishArgs`]) name the API servers and the token files (mounted
//! Secrets); the targets name where their releases go (`origin/release-scos`,
//! `okd-project/okd-scos`).

use std::path::PathBuf;
use std::time::Duration;

use app::model::promotion::{PublishStep, TargetPublishing};
use chrono::Utc;

use super::adoption::{Adoption, OpenShiftApi};
use super::github_release::{GitHub, NewRelease};
use super::plan::repository;
pub use super::publish_http::PublishError;
use super::PromoteError;
use crate::backend::StoreBackend;
use crate::events::{self, PROMOTION_STEP};
use crate::store::events::NewEvent;
use crate::store::promotions::PromotionRow;
use crate::store::publishing::NewPublishStep;
use crate::store::Store;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where published releases are adopted and announced (`serve` options).
#[derive(Debug, Clone, clap::Args)]
pub struct PublishArgs {
    /// The OpenShift API server that promoted releases are tagged into as ImageStreamTags
    /// (`https://api.cluster.example.org:6443`), for targets with an adoption namespace
    /// and image stream.
    #[arg(
        long,
        env = "STREAMGATE_OPENSHIFT_API_URL",
        requires = "openshift_token_file"
    )]
    pub openshift_api_url: Option<String>,
    /// A file holding the bearer token for the OpenShift API (a mounted Secret, readable
    /// by the server only); read at each use, never logged or stored.
    #[arg(
        long,
        env = "STREAMGATE_OPENSHIFT_TOKEN_FILE",
        requires = "openshift_api_url"
    )]
    pub openshift_token_file: Option<PathBuf>,
    /// PEM certificates trusted for the OpenShift API's TLS, besides the system's (the
    /// cluster's CA, e.g. a service account's `ca.crt`).
    #[arg(long, env = "STREAMGATE_OPENSHIFT_CA_FILE")]
    pub openshift_ca_file: Option<PathBuf>,
    /// GitHub's REST API, for targets that publish their release notes as GitHub releases
    /// (a GitHub Enterprise server: `https://HOST/api/v3`).
    #[arg(
        long,
        env = "STREAMGATE_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
    /// A file holding the GitHub token that publishes releases (a mounted Secret,
    /// readable by the server only; the token needs `contents: write` on the repositories);
    /// read at each use, never logged or stored.
    #[arg(long, env = "STREAMGATE_GITHUB_TOKEN_FILE")]
    pub github_token_file: Option<PathBuf>,
}

fn http_url(what: &str, url: &str) -> Result<(), PublishError> {
    let ok = reqwest::Url::parse(url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if ok {
        Ok(())
    } else {
        Err(PublishError::Settings(format!(
            "{what} {url:?} is not an http(s) URL"
        )))
    }
}

/// Runs the steps after publishing and records how they ended.
#[derive(Clone)]
pub struct Publishing {
    store: Store,
    backend: StoreBackend,
    openshift: Option<OpenShiftApi>,
    github: Option<GitHub>,
    public_url: String,
}

impl Publishing {
    /// The steps as `args` set them up; `public_url` is the base of links in the notes.
    pub fn new(
        store: Store,
        backend: StoreBackend,
        args: &PublishArgs,
        public_url: Option<&str>,
    ) -> Result<Publishing, PublishError> {
        let openshift = match (&args.openshift_api_url, &args.openshift_token_file) {
            (Some(url), Some(token_file)) => {
                http_url("--openshift-api-url", url)?;
                Some(OpenShiftApi::new(
                    url,
                    token_file.clone(),
                    args.openshift_ca_file.as_deref(),
                    TIMEOUT,
                )?)
            }
            _ => None,
        };
        let github = match &args.github_token_file {
            Some(token_file) => {
                http_url("--github-api-url", &args.github_api_url)?;
                Some(GitHub::new(
                    &args.github_api_url,
                    token_file.clone(),
                    TIMEOUT,
                )?)
            }
            None => None,
        };
        Ok(Publishing {
            store,
            backend,
            openshift,
            github,
            public_url: public_url
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
        })
    }

    /// The steps `publishing` asks for, for promotion `row` whose payload `digest` is
    /// published; each outcome is recorded. Only recording can fail this.
    pub async fn after_publish(
        &self,
        row: &PromotionRow,
        publishing: &TargetPublishing,
        digest: &str,
    ) -> Result<(), PromoteError> {
        if let Some((namespace, imagestream)) = publishing.adoption() {
            let adoption = Adoption {
                namespace: namespace.to_string(),
                imagestream: imagestream.to_string(),
                name: row.name.clone(),
                repository: repository(&row.release_repo).to_string(),
                digest: digest.to_string(),
            };
            let outcome = match &self.openshift {
                Some(api) => api.adopt(&adoption).await,
                None => Err(PublishError::NotConfigured(format!(
                    "the target adopts releases into {namespace}/{imagestream}, but the \
                     server has no OpenShift API (--openshift-api-url, --openshift-token-file)"
                ))),
            };
            let step = match outcome {
                Ok(reference) => NewPublishStep {
                    step: PublishStep::Adoption,
                    done: true,
                    detail: format!("adopted as the ImageStreamTag {reference}"),
                    reference: Some(reference),
                },
                Err(e) => NewPublishStep {
                    step: PublishStep::Adoption,
                    done: false,
                    detail: format!("not adopted into {}: {e}", adoption.reference()),
                    reference: None,
                },
            };
            self.record(row, &step).await?;
        }
        if let Some(repo) = &publishing.github_repo {
            let outcome = match &self.github {
                Some(github) => {
                    // the row as it is now, with its published pull spec
                    let current = self
                        .store
                        .promotion(row.id)
                        .await?
                        .unwrap_or_else(|| row.clone());
                    let body = super::notes::release_notes(
                        &self.store,
                        &self.backend,
                        &current,
                        &self.public_url,
                    )
                    .await?;
                    github
                        .publish(&NewRelease {
                            repository: repo.clone(),
                            name: row.name.clone(),
                            body,
                        })
                        .await
                }
                None => Err(PublishError::NotConfigured(format!(
                    "the target publishes releases to {repo} on GitHub, but the server has no \
                     GitHub token (--github-token-file)"
                ))),
            };
            let step = match outcome {
                Ok(url) => NewPublishStep {
                    step: PublishStep::GithubRelease,
                    done: true,
                    detail: format!("published as a GitHub release of {repo}"),
                    reference: Some(url),
                },
                Err(e) => NewPublishStep {
                    step: PublishStep::GithubRelease,
                    done: false,
                    detail: format!("not published as a GitHub release of {repo}: {e}"),
                    reference: None,
                },
            };
            self.record(row, &step).await?;
        }
        Ok(())
    }

    /// Records a step's outcome once per outcome (a resumed job repeating it changes
    /// nothing; a different outcome replaces it).
    async fn record(&self, row: &PromotionRow, step: &NewPublishStep) -> Result<(), PromoteError> {
        if step.done {
            tracing::info!(promotion = row.id, step = step.step.as_str(), detail = %step.detail, "published release step done");
        } else {
            tracing::warn!(promotion = row.id, step = step.step.as_str(), detail = %step.detail, "published release step failed; the release stays published");
        }
        let payload =
            serde_json::to_string(step).map_err(|e| PromoteError::Invalid(e.to_string()))?;
        let hash = crate::secret::hash_secret(&payload);
        events::ingest(
            &self.store,
            NewEvent {
                source: "streamgate".to_string(),
                kind: PROMOTION_STEP.to_string(),
                subject: row.id.to_string(),
                external_id: Some(format!(
                    "{}:{}:{}",
                    row.id,
                    step.step.as_str(),
                    hash.get(..16).unwrap_or(&hash)
                )),
                payload,
                received_at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promote::publish_http::{http_client, short_text};

    #[test]
    fn errors_say_what_failed_and_where() {
        let denied = PublishError::Denied {
            service: "the OpenShift API",
            status: 403,
            scope: "image stream tags in namespace origin".into(),
        };
        assert_eq!(
            denied.to_string(),
            "the OpenShift API refused the token (403) for image stream tags in namespace origin"
        );
        assert!(!denied.is_transient());
        let elsewhere = PublishError::TagElsewhere {
            tag: "origin/release-scos:4.21.0-okd-scos.ec.0".into(),
            found: "sha256:01".into(),
            wanted: "sha256:02".into(),
        };
        assert_eq!(
            elsewhere.to_string(),
            "origin/release-scos:4.21.0-okd-scos.ec.0 already exists and names sha256:01, not \
             sha256:02; it was left as it is"
        );
        assert!(PublishError::Unavailable {
            service: "GitHub",
            reason: "502".into()
        }
        .is_transient());
        assert_eq!(short_text("a\nb\tc "), "a b c");
    }

    #[test]
    fn settings_are_checked_when_the_server_starts() {
        let args = PublishArgs {
            openshift_api_url: Some("ftp://api.example.org".into()),
            openshift_token_file: Some("/run/secrets/token".into()),
            openshift_ca_file: None,
            github_api_url: "https://api.github.com".into(),
            github_token_file: None,
        };
        assert!(http_url(
            "--openshift-api-url",
            args.openshift_api_url.as_deref().unwrap()
        )
        .is_err());
        assert!(http_url("--github-api-url", &args.github_api_url).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, "not a certificate").unwrap();
        let e = http_client(Some(&ca), TIMEOUT).unwrap_err();
        assert!(e.to_string().contains("holds no PEM certificates"), "{e}");
        let e = http_client(Some(&dir.path().join("absent")), TIMEOUT).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }
}
