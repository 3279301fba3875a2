//! Adoption: the published release becomes the ImageStreamTag `<imagestream>:<name>` in a
//! namespace of an OpenShift cluster (`origin/release-scos:4.21.0-okd-scos.ec.3`), which is
//! what the release pipeline's channel-update step does and what the release-controller
//! watches. The tag is created through the OpenShift image API
//! (`POST /apis/image.openshift.io/v1/namespaces/{ns}/imagestreamtags`) with a bearer
//! token read from a mounted Secret at each use.
//!
//! `201` is adopted. `409 AlreadyExists` is read back (`GET …/imagestreamtags/<is>:<name>`)
//! and accepted only when the tag names the same digest, so adopting again after a restart
//! is harmless and a tag is never moved. `401`/`403` say the token may not tag in that
//! namespace; other refusals carry the API's own `Status` message; server errors and
//! unanswered requests are retried with backoff, then given up.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::publish_http::{http_client, read_text, send, short_text, PublishError};
use super::token_file::read_token;

/// Who the token is for, in errors.
const SERVICE: &str = "the OpenShift API";

/// An OpenShift API server that image stream tags are created in.
#[derive(Clone)]
pub struct OpenShiftApi {
    base: String,
    token_file: PathBuf,
    http: reqwest::Client,
}

/// A release to adopt: the ImageStreamTag `namespace/imagestream:name` pointing at
/// `repository@digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Namespace of the image stream, e.g. `origin`.
    pub namespace: String,
    /// The image stream, e.g. `release-scos`.
    pub imagestream: String,
    /// The release name: the tag.
    pub name: String,
    /// The release repository, without tag or digest.
    pub repository: String,
    /// The published payload's digest (`sha256:…`).
    pub digest: String,
}

impl Adoption {
    /// `namespace/imagestream:name`, as the promotion shows it.
    pub fn reference(&self) -> String {
        format!("{}/{}:{}", self.namespace, self.imagestream, self.name)
    }

    /// The `ImageStreamTag` object created: `tag.from` names the payload by digest, and
    /// `referencePolicy: Source` keeps pulls going to the release repository.
    pub fn image_stream_tag(&self) -> serde_json::Value {
        json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStreamTag",
            "metadata": {
                "name": format!("{}:{}", self.imagestream, self.name),
                "namespace": self.namespace,
            },
            "tag": {
                "name": self.name,
                "from": {
                    "kind": "DockerImage",
                    "name": format!("{}@{}", self.repository, self.digest),
                },
                "referencePolicy": {"type": "Source"},
            },
        })
    }
}

/// What an existing ImageStreamTag points at (the fields read back after a `409`).
#[derive(Debug, Deserialize)]
struct ExistingTag {
    #[serde(default)]
    tag: Option<ExistingReference>,
    #[serde(default)]
    image: Option<ExistingImage>,
}

#[derive(Debug, Deserialize)]
struct ExistingReference {
    #[serde(default)]
    from: Option<ObjectReference>,
}

#[derive(Debug, Deserialize)]
struct ObjectReference {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct ExistingImage {
    #[serde(default)]
    metadata: Option<ObjectReference>,
}

impl ExistingTag {
    /// The digest the tag names: its `tag.from`'s `@sha256:…`, else the image's name.
    fn digest(&self) -> Option<&str> {
        self.tag
            .as_ref()
            .and_then(|t| t.from.as_ref())
            .and_then(|f| f.name.rsplit_once('@'))
            .map(|(_, digest)| digest)
            .or_else(|| {
                self.image
                    .as_ref()
                    .and_then(|i| i.metadata.as_ref())
                    .map(|m| m.name.as_str())
                    .filter(|n| n.starts_with("sha256:"))
            })
    }
}

/// A Kubernetes `Status` answer (`kind: Status`), for its reason and message.
#[derive(Debug, Default, Deserialize)]
struct Status {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

impl OpenShiftApi {
    /// A client of the API server at `base` (`https://api.example.org:6443`), with the
    /// token in `token_file` and, when given, the PEM certificates in `ca_file` trusted
    /// for its TLS.
    pub fn new(
        base: &str,
        token_file: PathBuf,
        ca_file: Option<&std::path::Path>,
        timeout: Duration,
    ) -> Result<OpenShiftApi, PublishError> {
        Ok(OpenShiftApi {
            base: base.trim_end_matches('/').to_string(),
            token_file,
            http: http_client(ca_file, timeout)?,
        })
    }

    fn collection(&self, namespace: &str) -> String {
        format!(
            "{}/apis/image.openshift.io/v1/namespaces/{namespace}/imagestreamtags",
            self.base
        )
    }

    /// Creates the ImageStreamTag (or finds it there, naming the same digest); answers
    /// `namespace/imagestream:name`.
    pub async fn adopt(&self, adoption: &Adoption) -> Result<String, PublishError> {
        let token = read_token("OpenShift API", &self.token_file).await?;
        let body = adoption.image_stream_tag();
        let url = self.collection(&adoption.namespace);
        let (status, text) = send(
            SERVICE,
            "adoption",
            || {
                self.http
                    .post(&url)
                    .header(reqwest::header::AUTHORIZATION, token.bearer())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .json(&body)
            },
            |status, _, text| {
                (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
                    .then(|| format!("{status}: {}", status_message(text)))
            },
        )
        .await?;
        match status {
            StatusCode::CREATED | StatusCode::OK => Ok(adoption.reference()),
            StatusCode::CONFLICT => self.existing(adoption, &token).await,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(PublishError::Denied {
                service: SERVICE,
                status: status.as_u16(),
                scope: format!("image stream tags in namespace {}", adoption.namespace),
            }),
            status => Err(PublishError::Refused {
                service: SERVICE,
                status: status.as_u16(),
                message: status_message(&text),
            }),
        }
    }

    /// After `409`: the existing tag, accepted when it names the same digest.
    async fn existing(
        &self,
        adoption: &Adoption,
        token: &super::token_file::Token,
    ) -> Result<String, PublishError> {
        let url = format!(
            "{}/{}:{}",
            self.collection(&adoption.namespace),
            adoption.imagestream,
            adoption.name
        );
        let response = self
            .http
            .get(&url)
            .header(reqwest::header::AUTHORIZATION, token.bearer())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| PublishError::unanswered(SERVICE, &e))?;
        let status = response.status();
        let text = read_text(SERVICE, response).await?;
        if !status.is_success() {
            return Err(PublishError::Refused {
                service: SERVICE,
                status: status.as_u16(),
                message: format!(
                    "{} exists but cannot be read: {}",
                    adoption.reference(),
                    status_message(&text)
                ),
            });
        }
        let existing: ExistingTag =
            serde_json::from_str(&text).map_err(|e| PublishError::Unexpected {
                service: SERVICE,
                reason: format!(
                    "the ImageStreamTag {} does not parse: {e}",
                    adoption.reference()
                ),
            })?;
        match existing.digest() {
            Some(digest) if digest == adoption.digest => Ok(adoption.reference()),
            found => Err(PublishError::TagElsewhere {
                tag: adoption.reference(),
                found: found.unwrap_or("no image").to_string(),
                wanted: adoption.digest.clone(),
            }),
        }
    }
}

/// A `Status` answer's reason and message, or the start of whatever else was answered.
fn status_message(text: &str) -> String {
    match serde_json::from_str::<Status>(text) {
        Ok(s) if !s.message.is_empty() || !s.reason.is_empty() => {
            short_text(&format!("{}: {}", s.reason, s.message))
        }
        _ => short_text(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adoption() -> Adoption {
        Adoption {
            namespace: "origin".into(),
            imagestream: "release-scos".into(),
            name: "4.21.0-okd-scos.ec.3".into(),
            repository: "quay.io/okd/scos-release".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        }
    }

    #[test]
    fn the_request_is_an_image_stream_tag_naming_the_payload_by_digest() {
        let a = adoption();
        assert_eq!(
            a.image_stream_tag(),
            json!({
                "apiVersion": "image.openshift.io/v1",
                "kind": "ImageStreamTag",
                "metadata": {"name": "release-scos:4.21.0-okd-scos.ec.3", "namespace": "origin"},
                "tag": {
                    "name": "4.21.0-okd-scos.ec.3",
                    "from": {"kind": "DockerImage",
                        "name": format!("quay.io/okd/scos-release@sha256:{}", "ab".repeat(32))},
                    "referencePolicy": {"type": "Source"}
                }
            })
        );
        assert_eq!(a.reference(), "origin/release-scos:4.21.0-okd-scos.ec.3");
    }

    #[test]
    fn an_existing_tag_is_read_by_its_from_or_its_image() {
        let by_from: ExistingTag = serde_json::from_value(json!({
            "kind": "ImageStreamTag",
            "tag": {"name": "x", "from": {"kind": "DockerImage", "name": "quay.io/a/b@sha256:01"}},
            "image": {"metadata": {"name": "sha256:02"}}
        }))
        .unwrap();
        assert_eq!(by_from.digest(), Some("sha256:01"));
        let by_image: ExistingTag = serde_json::from_value(json!({
            "kind": "ImageStreamTag", "tag": null,
            "image": {"metadata": {"name": "sha256:02"}}
        }))
        .unwrap();
        assert_eq!(by_image.digest(), Some("sha256:02"));
        let by_tag: ExistingTag = serde_json::from_value(json!({
            "tag": {"from": {"kind": "DockerImage", "name": "quay.io/a/b:latest"}}
        }))
        .unwrap();
        assert_eq!(by_tag.digest(), None);
    }

    #[test]
    fn status_answers_give_their_reason_and_message() {
        let conflict = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "namespaces \"origin\" not found",
            "reason": "NotFound", "details": {"name": "origin", "kind": "namespaces"},
            "code": 404});
        assert_eq!(
            status_message(&conflict.to_string()),
            "NotFound: namespaces \"origin\" not found"
        );
        assert_eq!(
            status_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(status_message(&"x".repeat(1000)).chars().count(), 301);
    }
}
