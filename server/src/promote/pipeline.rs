//! Targets promoted by OKD's own release pipeline (okd-project/okd-release-pipeline, a
//! Tekton pipeline) instead of by Streamgate: the promotion `POST`s its parameters to the
//! pipeline's Tekton Triggers EventListener ([`trigger`]), then follows the result by
//! looking for the release's tag at the release repository with backoff ([`wait_for_tag`])
//! until the pipeline has pushed it, or until the time allowed is up.
//!
//! The body names the pipeline's parameters as its PipelineRuns do (`release-stream`,
//! `target-release-stream`, `content-mirror-pushspec`, `release-mirror-pushspec`) and adds
//! what Streamgate decided: the CI release by digest (`release`), its name
//! (`release-name`) and the versions it may be updated from (`previous-releases`, comma
//! separated as `oc adm release new --previous` takes them). A TriggerBinding maps them to
//! the pipeline's parameters.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::copy::{Copier, CopyError};

/// How long one request to the EventListener may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The first wait between looks at the release repository; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// The longest wait between looks.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Largest EventListener answer read.
const ANSWER_BYTES: u64 = 64 << 10;

/// What the EventListener is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PipelineRequest {
    /// The CI stream the release is taken from (`4.21.0-0.okd-scos`).
    pub release_stream: String,
    /// The target stream (`4-scos-next`).
    pub target_release_stream: String,
    /// The CI release's payload, by digest.
    pub release: String,
    /// The name the release gets.
    pub release_name: String,
    /// The versions it may be updated from, comma separated.
    pub previous_releases: String,
    /// Where the component images go.
    pub content_mirror_pushspec: String,
    /// Where the release payload goes.
    pub release_mirror_pushspec: String,
    /// The promotion's id in Streamgate, for the pipeline's logs.
    pub streamgate_promotion: i64,
    /// Who asked for it.
    pub requested_by: String,
}

/// The EventListener's answer to an accepted event (Tekton Triggers answers `202` with it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The EventListener's name.
    #[serde(default)]
    pub event_listener: String,
    /// Its namespace.
    #[serde(default)]
    pub namespace: String,
    /// The id of the event, which names the PipelineRun's trigger.
    #[serde(rename = "eventID", default)]
    pub event_id: String,
}

/// Why the pipeline could not be started or did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The EventListener could not be reached.
    #[error("the pipeline's EventListener {url} could not be reached: {reason}")]
    Unreachable {
        /// Its address.
        url: String,
        /// Why.
        reason: String,
    },
    /// The EventListener refused the event.
    #[error("the pipeline's EventListener {url} answered {status}: {body}")]
    Refused {
        /// Its address.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// The release was not pushed in time.
    #[error("the pipeline did not push {reference} within {waited}")]
    TimedOut {
        /// `release-repo:name`.
        reference: String,
        /// How long was waited, as a person reads it.
        waited: String,
    },
    /// Looking at the release repository failed.
    #[error(transparent)]
    Registry(#[from] CopyError),
}

/// Sends `request` to the EventListener at `url`.
pub async fn trigger(url: &str, request: &PipelineRequest) -> Result<Accepted, PipelineError> {
    let unreachable = |e: reqwest::Error| PipelineError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("streamgate/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(unreachable)?;
    let mut response = client
        .post(url)
        .json(request)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = match crate::capped::read_capped(&mut response, ANSWER_BYTES).await {
        Ok(body) => body,
        Err(crate::capped::CappedError::Transport(e)) => return Err(unreachable(e)),
        Err(crate::capped::CappedError::TooLarge { .. }) => {
            format!("(an answer larger than {ANSWER_BYTES} bytes)").into_bytes()
        }
    };
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(PipelineError::Refused {
            url: url.to_string(),
            status: status.as_u16(),
            body: text,
        });
    }
    // an EventListener answers with its name and the event's id; anything else is kept empty
    Ok(serde_json::from_slice(&body).unwrap_or_default())
}

/// Looks for `reference` (`release-repo:name`) with doubling waits until it exists, for at
/// most `timeout`; returns its digest.
pub async fn wait_for_tag(
    copier: &Copier,
    reference: &str,
    timeout: Duration,
) -> Result<String, PipelineError> {
    let started = tokio::time::Instant::now();
    let target = copier.reference(reference).await?;
    let mut wait = FIRST_WAIT.min(timeout);
    loop {
        if let Some(digest) = copier.manifest_digest(&target).await? {
            return Ok(digest);
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(PipelineError::TimedOut {
                reference: reference.to_string(),
                waited: humanize(timeout),
            });
        }
        tokio::time::sleep(wait.min(left)).await;
        wait = (wait * 2).min(MAX_WAIT);
    }
}

/// `d` as a person reads it: `2h`, `90s`, `1h 30m`.
fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// Checks an EventListener address: an absolute `http(s)` URL.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("pipeline URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "pipeline URL {url:?}: must be an http or https address of the EventListener"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "pipeline URL {url:?}: credentials do not belong in the address"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_pipelines_parameters() {
        let request = PipelineRequest {
            release_stream: "4.21.0-0.okd-scos".into(),
            target_release_stream: "4-scos-next".into(),
            release: "registry.ci.openshift.org/origin/release-scos@sha256:ab".into(),
            release_name: "4.21.0-okd-scos.ec.3".into(),
            previous_releases: "4.20.0-okd-scos.9,4.21.0-okd-scos.ec.2".into(),
            content_mirror_pushspec: "quay.io/okd/scos-content".into(),
            release_mirror_pushspec: "quay.io/okd/scos-release".into(),
            streamgate_promotion: 7,
            requested_by: "mia".into(),
        };
        let v = serde_json::to_value(&request).expect("json");
        assert_eq!(v["release-stream"], "4.21.0-0.okd-scos");
        assert_eq!(v["target-release-stream"], "4-scos-next");
        assert_eq!(v["content-mirror-pushspec"], "quay.io/okd/scos-content");
        assert_eq!(v["release-mirror-pushspec"], "quay.io/okd/scos-release");
        assert_eq!(v["release-name"], "4.21.0-okd-scos.ec.3");
        assert_eq!(
            v["previous-releases"],
            "4.20.0-okd-scos.9,4.21.0-okd-scos.ec.2"
        );
        let accepted: Accepted = serde_json::from_str(
            r#"{"eventListener":"okd-release","namespace":"okd-team","eventListenerUID":"u","eventID":"e-1"}"#,
        )
        .expect("answer");
        assert_eq!(
            (accepted.event_listener.as_str(), accepted.event_id.as_str()),
            ("okd-release", "e-1")
        );
    }

    #[test]
    fn only_plain_http_addresses_are_taken() {
        assert!(check_url("http://el-okd-release.okd-team.svc:8080").is_ok());
        assert!(check_url("https://hooks.example.com/okd").is_ok());
        for bad in [
            "ftp://x/y",
            "not a url",
            "https://user:pw@example.com/",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(humanize(Duration::from_secs(7200)), "2h");
        assert_eq!(humanize(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(humanize(Duration::from_secs(90)), "1m 30s");
        assert_eq!(humanize(Duration::from_secs(3)), "3s");
    }
}
