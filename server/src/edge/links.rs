//! Where a response's absolute links point: `--public-url` when it is set, else the
//! request's `Host` and `X-Forwarded-Proto`, and then the answer says `Vary: Host,
//! X-Forwarded-Proto` so no cache hands one host's links to another.

use axum::http::header::HOST;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::error::ApiError;

/// Where a response's absolute links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBase {
    /// `scheme://host[:port][/path]`, without a trailing slash.
    pub url: String,
    /// Whether it came from the request's headers rather than `--public-url`.
    pub from_request: bool,
}

impl LinkBase {
    /// `public_url` when configured, else the request's scheme and host ([`base_url`]).
    pub fn of(public_url: Option<&str>, headers: &HeaderMap, uri: &Uri) -> Result<Self, ApiError> {
        Ok(match public_url {
            Some(url) => LinkBase {
                url: url.trim_end_matches('/').to_string(),
                from_request: false,
            },
            None => LinkBase {
                url: base_url(headers, uri)?,
                from_request: true,
            },
        })
    }

    /// Says, on a response whose links came from the request, which headers they came
    /// from, so caches keep one copy per host.
    pub fn mark(&self, mut response: Response) -> Response {
        if self.from_request {
            response.headers_mut().append(
                axum::http::header::VARY,
                axum::http::HeaderValue::from_static("host, x-forwarded-proto"),
            );
        }
        response
    }
}

/// `scheme://host[:port]` of the request, from `Host` (or the URI's authority, as HTTP/2
/// sends it) and `X-Forwarded-Proto` (`http` or `https`; default `http`).
pub fn base_url(headers: &HeaderMap, uri: &Uri) -> Result<String, ApiError> {
    let host = headers
        .get(HOST)
        .map(|h| {
            h.to_str()
                .map_err(|_| ApiError::BadRequest("the Host header is not ascii".to_string()))
        })
        .transpose()?
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.as_str().to_string()))
        .ok_or_else(|| {
            ApiError::BadRequest("a Host header is needed to build the feed's links".to_string())
        })?;
    let authority: Authority = host
        .parse()
        .ok()
        .filter(|a: &Authority| !a.as_str().contains('@') && !a.host().is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("invalid Host header {host:?}")))?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v == "http" || v == "https")
        .unwrap_or_else(|| "http".to_string());
    Ok(format!("{scheme}://{authority}"))
}
