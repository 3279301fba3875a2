//! The release notes published as a GitHub release of the target's repository
//! (`okd-project/okd-scos`), as OKD's releases are: `POST /repos/{owner}/{repo}/releases`
//! with the release name as tag and title, the notes as body, and `prerelease` for `ec`
//! and `rc` names. The token is read from a mounted Secret at each use and sent as
//! `Authorization: Bearer …` with GitHub's versioned media type.
//!
//! `201` is published. `422` with an `already_exists` error means a release of that tag is
//! there (a promotion resumed after a restart): it is looked up by tag and taken as done.
//! `401`/`403` say the token may not publish to the repository; other refusals carry
//! GitHub's own message; server errors, rate limits and unanswered requests are retried
//! with backoff, then given up.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::publish_http::{http_client, read_text, send, short_text, PublishError};
use super::token_file::{read_token, Token};

/// Who the token is for, in errors.
const SERVICE: &str = "GitHub";

/// GitHub's REST API version sent with every request.
pub const API_VERSION: &str = "2022-11-28";

/// The longest body GitHub takes for a release, in characters.
pub const MAX_BODY: usize = 125_000;

/// GitHub's REST API (`https://api.github.com`, or a GitHub Enterprise `…/api/v3`).
#[derive(Clone)]
pub struct GitHub {
    base: String,
    token_file: PathBuf,
    http: reqwest::Client,
}

/// A release to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    /// `owner/name`.
    pub repository: String,
    /// The release name: tag and title.
    pub name: String,
    /// The release notes (Markdown).
    pub body: String,
}

impl NewRelease {
    /// The request body of `POST /repos/{owner}/{repo}/releases`; a body longer than GitHub
    /// takes is cut, saying so.
    pub fn request_body(&self) -> serde_json::Value {
        json!({
            "tag_name": self.name,
            "name": self.name,
            "body": capped_body(&self.body),
            "prerelease": is_prerelease(&self.name),
            "draft": false,
        })
    }
}

/// Whether a release name is an early candidate or a release candidate
/// (`4.21.0-okd-scos.ec.3`, `4.21.0-okd-scos.rc.1`, `4.21.0-rc.0`).
pub fn is_prerelease(name: &str) -> bool {
    name.split(['.', '-'])
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| matches!(w[0], "ec" | "rc") && w[1].bytes().all(|b| b.is_ascii_digit()))
}

fn capped_body(body: &str) -> String {
    const NOTE: &str = "\n\n… (cut: the notes are longer than a GitHub release takes)";
    if body.chars().count() <= MAX_BODY {
        return body.to_string();
    }
    let keep = MAX_BODY - NOTE.chars().count();
    let mut out: String = body.chars().take(keep).collect();
    out.push_str(NOTE);
    out
}

/// The parts of a release GitHub answers that Streamgate keeps.
#[derive(Debug, Deserialize)]
struct Release {
    html_url: String,
}

/// A GitHub error answer: `{"message", "errors": [{"code", …}], "documentation_url"}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
}

impl ErrorAnswer {
    fn parse(text: &str) -> ErrorAnswer {
        serde_json::from_str(text).unwrap_or_else(|_| ErrorAnswer {
            message: short_text(text),
            errors: Vec::new(),
        })
    }

    fn already_exists(&self) -> bool {
        self.errors.iter().any(|e| e.code == "already_exists")
    }
}

impl GitHub {
    /// A client of the API at `base`, with the token in `token_file`.
    pub fn new(base: &str, token_file: PathBuf, timeout: Duration) -> Result<GitHub, PublishError> {
        Ok(GitHub {
            base: base.trim_end_matches('/').to_string(),
            token_file,
            http: http_client(None, timeout)?,
        })
    }

    fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &Token,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header(reqwest::header::AUTHORIZATION, token.bearer())
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// Publishes `release`, or finds it published; answers the release's page.
    pub async fn publish(&self, release: &NewRelease) -> Result<String, PublishError> {
        let token = read_token("GitHub", &self.token_file).await?;
        let url = format!("{}/repos/{}/releases", self.base, release.repository);
        let body = release.request_body();
        let (status, text) = send(
            SERVICE,
            "GitHub release",
            || {
                self.request(reqwest::Method::POST, &url, &token)
                    .json(&body)
            },
            |status, headers, text| {
                let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                    || (status == StatusCode::FORBIDDEN
                        && headers
                            .get("x-ratelimit-remaining")
                            .is_some_and(|v| v.as_bytes() == b"0"));
                (status.is_server_error() || rate_limited)
                    .then(|| format!("{status}: {}", ErrorAnswer::parse(text).message))
            },
        )
        .await?;
        match status {
            StatusCode::CREATED | StatusCode::OK => read_release(&text),
            StatusCode::UNPROCESSABLE_ENTITY if ErrorAnswer::parse(&text).already_exists() => {
                self.existing(release, &token).await
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(PublishError::Denied {
                service: SERVICE,
                status: status.as_u16(),
                scope: format!("releases of {}", release.repository),
            }),
            status => Err(PublishError::Refused {
                service: SERVICE,
                status: status.as_u16(),
                message: short_text(&ErrorAnswer::parse(&text).message),
            }),
        }
    }

    /// After `already_exists`: the release of that tag.
    async fn existing(&self, release: &NewRelease, token: &Token) -> Result<String, PublishError> {
        let url = format!(
            "{}/repos/{}/releases/tags/{}",
            self.base, release.repository, release.name
        );
        let response = self
            .request(reqwest::Method::GET, &url, token)
            .send()
            .await
            .map_err(|e| PublishError::unanswered(SERVICE, &e))?;
        let status = response.status();
        let text = read_text(SERVICE, response).await?;
        if status.is_success() {
            return read_release(&text);
        }
        Err(PublishError::Refused {
            service: SERVICE,
            status: status.as_u16(),
            message: format!(
                "a release {} exists in {} but cannot be read by its tag (a draft?): {}",
                release.name,
                release.repository,
                short_text(&ErrorAnswer::parse(&text).message)
            ),
        })
    }
}

fn read_release(text: &str) -> Result<String, PublishError> {
    let release: Release = serde_json::from_str(text).map_err(|e| PublishError::Unexpected {
        service: SERVICE,
        reason: format!("the release answered does not parse: {e}"),
    })?;
    if app::model::safe_url(&release.html_url).is_none() {
        return Err(PublishError::Unexpected {
            service: SERVICE,
            reason: "the release answered has no http(s) html_url".to_string(),
        });
    }
    Ok(release.html_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_tag_and_marks_candidates_as_prereleases() {
        let release = NewRelease {
            repository: "okd-project/okd-scos".into(),
            name: "4.21.0-okd-scos.ec.3".into(),
            body: "# 4.21.0-okd-scos.ec.3\n".into(),
        };
        assert_eq!(
            release.request_body(),
            json!({"tag_name": "4.21.0-okd-scos.ec.3", "name": "4.21.0-okd-scos.ec.3",
                "body": "# 4.21.0-okd-scos.ec.3\n", "prerelease": true, "draft": false})
        );
        assert!(is_prerelease("4.21.0-okd-scos.rc.1"));
        assert!(is_prerelease("4.21.0-rc.0"));
        assert!(!is_prerelease("4.20.0-okd-scos.6"));
        assert!(!is_prerelease("4.15.0-0.okd-2024-03-10-010116"));
        assert!(!is_prerelease("4.20.0-okd-scos.ec"));
    }

    #[test]
    fn a_body_longer_than_github_takes_is_cut_saying_so() {
        let body = "é".repeat(MAX_BODY + 10);
        let sent = capped_body(&body);
        assert_eq!(sent.chars().count(), MAX_BODY);
        assert!(
            sent.ends_with("longer than a GitHub release takes)"),
            "{}",
            &sent[sent.len() - 80..]
        );
        assert_eq!(capped_body("short"), "short");
    }

    #[test]
    fn github_error_answers_are_read_for_already_exists() {
        let exists = ErrorAnswer::parse(
            &json!({"message": "Validation Failed", "errors": [{"resource": "Release",
                "code": "already_exists", "field": "tag_name"}],
                "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
                "status": "422"})
            .to_string(),
        );
        assert!(exists.already_exists());
        let other = ErrorAnswer::parse(
            &json!({"message": "Validation Failed", "errors": [{"resource": "Release",
                "code": "invalid", "field": "target_commitish"}]})
            .to_string(),
        );
        assert!(!other.already_exists());
        assert_eq!(ErrorAnswer::parse("not json").message, "not json");
        assert!(read_release(r#"{"html_url": "javascript:alert(1)"}"#).is_err());
        assert_eq!(
            read_release(r#"{"id": 1, "html_url": "https://github.com/o/r/releases/tag/x"}"#)
                .unwrap(),
            "https://github.com/o/r/releases/tag/x"
        );
    }
}
