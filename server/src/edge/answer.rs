//! What kind of answer a request asked for, decided here once for every route that can
//! answer both ways: a page for a person's browser (a page or a form), JSON for a script.
//! A refusal answered as a page is a short HTML page with the status and reason; as JSON,
//! it is [`ApiError`]'s envelope. Both carry the same status and headers.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;

/// The kind of answer a request wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A person's browser: answer with a page, and come back to `back_to` (a local path)
    /// after signing in.
    Page {
        /// The page to return to.
        back_to: String,
    },
    /// A script: answer with JSON.
    Json,
}

impl Answer {
    /// What `parts` asks for. `/api/` and `Accept: application/json` are scripts; a request
    /// accepting `text/html`, a form post or a plain `GET` is a browser. A browser comes
    /// back to the page it asked for (`GET`) or to the page its form was on (the referrer).
    pub fn of(parts: &Parts) -> Answer {
        if parts.uri.path().starts_with("/api/") {
            return Answer::Json;
        }
        let wants = |name: header::HeaderName, what: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains(what))
        };
        let page = !wants(header::ACCEPT, "application/json")
            && (wants(header::ACCEPT, "text/html")
                || wants(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                || parts.method == Method::GET);
        if page {
            Answer::Page {
                back_to: back_to(parts),
            }
        } else {
            Answer::Json
        }
    }

    /// The same answer, coming back to `path` instead (a form whose page is known).
    pub fn coming_back_to(self, path: &str) -> Answer {
        match self {
            Answer::Page { .. } => Answer::Page {
                back_to: local_path(path),
            },
            Answer::Json => Answer::Json,
        }
    }

    /// Whether a browser asked.
    pub fn is_page(&self) -> bool {
        matches!(self, Answer::Page { .. })
    }

    /// `error` as this kind of answer.
    pub fn refuse(&self, error: ApiError) -> Response {
        match self {
            Answer::Json => error.into_response(),
            Answer::Page { .. } => {
                let mut response = refusal_page(error.status(), &error.public_detail());
                error.decorate(&mut response);
                response
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Answer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Answer::of(parts))
    }
}

/// Where to return after signing in: the referring page of a form post, else the path.
fn back_to(parts: &Parts) -> String {
    let referer = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.parse::<axum::http::Uri>().ok())
        .and_then(|u| u.path_and_query().map(|p| p.to_string()));
    let path = if parts.method == Method::GET {
        parts.uri.path_and_query().map(|p| p.to_string())
    } else {
        referer
    };
    local_path(path.as_deref().unwrap_or("/"))
}

/// `next` if it is a path on this site (`/…`, not `//host`, no backslash or control
/// character), else `/`: where a sign-in may send a browser back to.
pub fn local_path(next: &str) -> String {
    let next = next.trim();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if local {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// A short page with a status and reason, for refusals of browser requests.
fn refusal_page(status: StatusCode, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Refused");
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Streamgate</title>\
         <link rel=\"stylesheet\" href=\"/pkg/streamgate.css\"></head><body><main>\
         <section class=\"error\"><h1>{code} {title}</h1><p>{detail}</p>\
         <p><a href=\"/\">Back to Streamgate</a></p></section></main></body></html>",
        code = status.as_u16(),
        detail = html_escape::encode_text(detail),
    );
    (status, Html(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("request").into_parts().0
    }

    #[test]
    fn browsers_get_pages_and_scripts_get_json() {
        let page = |back: &str| Answer::Page {
            back_to: back.to_string(),
        };
        assert_eq!(
            Answer::of(&parts(Method::GET, "/admin/users?x=1", &[])),
            page("/admin/users?x=1")
        );
        assert_eq!(
            Answer::of(&parts(
                Method::POST,
                "/admin/users",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("referer", "https://streamgate.example/admin/users?done=1"),
                ],
            )),
            page("/admin/users?done=1")
        );
        assert_eq!(
            Answer::of(&parts(Method::POST, "/x", &[("accept", "text/html")])),
            page("/")
        );
        assert_eq!(
            Answer::of(&parts(
                Method::GET,
                "/api/v1/streams",
                &[("accept", "text/html")]
            )),
            Answer::Json
        );
        assert_eq!(
            Answer::of(&parts(
                Method::GET,
                "/account",
                &[("accept", "application/json")]
            )),
            Answer::Json
        );
        assert_eq!(
            Answer::of(&parts(Method::POST, "/account/tokens", &[])),
            Answer::Json
        );
        assert_eq!(
            Answer::of(&parts(Method::GET, "/a", &[])).coming_back_to("//evil.example"),
            page("/")
        );
        assert_eq!(Answer::Json.coming_back_to("/account"), Answer::Json);
    }

    #[test]
    fn a_refusal_has_the_same_status_and_headers_either_way() {
        let busy = || ApiError::TooManyRequests {
            message: "too many <tries>".into(),
            retry_after: std::time::Duration::from_millis(1500),
        };
        let json = Answer::Json.refuse(busy());
        let page = Answer::Page {
            back_to: "/".into(),
        }
        .refuse(busy());
        for response in [&json, &page] {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        }
        assert!(json.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json"));
        assert!(page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html"));
    }
}
