//! What the steps after publishing (adoption into an image stream, a GitHub release) share
//! to talk to their APIs: why a step failed ([`PublishError`]), how a request is retried
//! ([`backoff`], [`send`]), the HTTP client ([`http_client`]) and how upstream text is quoted
//! ([`short_text`]).

use std::path::Path;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::token_file::TokenFileError;

/// Attempts of a request after its first failure.
const RETRIES: usize = 3;
/// Largest answer read from an API.
const ANSWER_BYTES: u64 = 1 << 20;

/// Why a step after publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The server is not set up for the step the target asks for.
    #[error("{0}")]
    NotConfigured(String),
    /// The settings cannot be used.
    #[error("{0}")]
    Settings(String),
    /// The token file cannot be used.
    #[error(transparent)]
    Token(#[from] TokenFileError),
    /// The token was refused.
    #[error("{service} refused the token ({status}) for {scope}")]
    Denied {
        /// `the OpenShift API`, `GitHub`.
        service: &'static str,
        /// `401` or `403`.
        status: u16,
        /// What it was used for.
        scope: String,
    },
    /// The image stream tag exists and names another image.
    #[error("{tag} already exists and names {found}, not {wanted}; it was left as it is")]
    TagElsewhere {
        /// `namespace/imagestream:name`.
        tag: String,
        /// What it names.
        found: String,
        /// The published digest.
        wanted: String,
    },
    /// The request was refused for another reason.
    #[error("{service} answered {status}: {message}")]
    Refused {
        /// Who refused.
        service: &'static str,
        /// The status.
        status: u16,
        /// Its own message.
        message: String,
    },
    /// No good answer, after retries.
    #[error("{service} did not answer successfully: {reason}")]
    Unavailable {
        /// Who did not answer.
        service: &'static str,
        /// The last failure.
        reason: String,
    },
    /// An answer that does not read as the API's.
    #[error("{service} answered unexpectedly: {reason}")]
    Unexpected {
        /// Who answered.
        service: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl PublishError {
    /// A request that got no answer (connection refused, timeout), without its URL.
    pub(crate) fn unanswered(service: &'static str, e: &reqwest::Error) -> PublishError {
        let kind = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            "could not connect".to_string()
        } else {
            let e = std::error::Error::source(e)
                .map(ToString::to_string)
                .unwrap_or_else(|| "request failed".to_string());
            short_text(&e)
        };
        PublishError::Unavailable {
            service,
            reason: kind,
        }
    }

    /// Whether trying again may help.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, PublishError::Unavailable { .. })
    }
}

/// Retries of one request: a few, spaced out, with jitter.
pub(crate) fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(RETRIES)
        .with_jitter()
}

/// Sends the request `build` makes and reads its answer, trying again (with [`backoff`])
/// when there is no answer or `unavailable` says the service is busy or failing (it gets the
/// status, the headers and the body, and gives the reason); answers the status and body.
pub(crate) async fn send(
    service: &'static str,
    what: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
    unavailable: impl Fn(StatusCode, &HeaderMap, &str) -> Option<String>,
) -> Result<(StatusCode, String), PublishError> {
    (|| async {
        let response = build()
            .send()
            .await
            .map_err(|e| PublishError::unanswered(service, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = read_text(service, response).await?;
        match unavailable(status, &headers, &text) {
            Some(reason) => Err(PublishError::Unavailable { service, reason }),
            None => Ok((status, text)),
        }
    })
    .retry(backoff())
    .when(PublishError::is_transient)
    .notify(|e, after| {
        tracing::warn!(error = %e, retry_in = ?after, "{what}: {service} failed; retrying");
    })
    .await
}

/// The body of an API's answer as text, at most [`ANSWER_BYTES`].
pub(crate) async fn read_text(
    service: &'static str,
    mut response: reqwest::Response,
) -> Result<String, PublishError> {
    match crate::capped::read_capped(&mut response, ANSWER_BYTES).await {
        Ok(body) => Ok(String::from_utf8_lossy(&body).into_owned()),
        Err(crate::capped::CappedError::Transport(e)) => Err(PublishError::unanswered(service, &e)),
        Err(crate::capped::CappedError::TooLarge { .. }) => Err(PublishError::Unexpected {
            service,
            reason: format!("an answer larger than {ANSWER_BYTES} bytes"),
        }),
    }
}

/// An HTTP client for the APIs: a time limit, Streamgate's `User-Agent`, no redirects (so
/// the token never follows one to another host), and `ca_file`'s certificates trusted.
pub(crate) fn http_client(
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<reqwest::Client, PublishError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("streamgate/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            PublishError::Settings(format!(
                "the CA file {} cannot be read: {e}",
                path.display()
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            PublishError::Settings(format!(
                "the CA file {} holds no PEM certificates",
                path.display()
            ))
        })?;
        if certs.is_empty() {
            return Err(PublishError::Settings(format!(
                "the CA file {} holds no PEM certificates",
                path.display()
            )));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| PublishError::Settings(format!("the HTTP client cannot be built: {e}")))
}

/// Upstream text for a message: one line, at most 300 characters.
pub(crate) fn short_text(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    if line.chars().count() > 300 {
        let mut out: String = line.chars().take(300).collect();
        out.push('…');
        out
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Vec<u8>) -> reqwest::Response {
        reqwest::Response::from(axum::http::Response::new(body))
    }

    #[tokio::test]
    async fn answers_are_read_up_to_their_cap() {
        let text = read_text("GitHub", answer(b"{\"id\": 1}".to_vec()))
            .await
            .expect("small");
        assert_eq!(text, "{\"id\": 1}");
        let huge = vec![b'x'; (ANSWER_BYTES + 1) as usize];
        let err = read_text("GitHub", answer(huge))
            .await
            .expect_err("too large");
        assert!(!err.is_transient(), "trying again reads the same answer");
        assert_eq!(
            err.to_string(),
            format!("GitHub answered unexpectedly: an answer larger than {ANSWER_BYTES} bytes")
        );
    }
}
