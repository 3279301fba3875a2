//! Extractors for handlers, over what [`super::middleware::resolve`] found:
//!
//! | extractor | gives | refuses |
//! |---|---|---|
//! | [`MaybeUser`] | `Option<Principal>` | never |
//! | [`CurrentUser`] | `Principal` | anonymous: 401 |
//! | [`Writer`] | `Principal`, for a state-changing request without a body | anonymous: 401; cross-site or missing/wrong `X-CSRF-Token`: 403 |
//! | [`Write<T>`] | `Principal` and the body `T` (form or JSON) | as `Writer`, the CSRF token also read from a form's `csrf` field; a malformed body: 400 |
//!
//! Requests authenticated by an API token carry no ambient credentials, so they need no
//! CSRF token and are not checked for their origin. Refusals answer as the request asked
//! ([`Answer`]): for a browser a 401 redirects to `/sign-in?next=…`.

use app::viewer::SignedInWith;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::middleware::SessionEnded;
use super::{AuthError, Principal};
use crate::edge::answer::Answer;
use crate::edge::error::ApiError;
use crate::secret::secrets_equal;
use crate::AppState;

/// The header that carries the CSRF token of requests without a form body.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// An [`AuthError`] answered as the request asked ([`Answer`]): for a browser, a 401 is a
/// redirect to the sign-in page that comes back afterwards, and other refusals are a page.
#[derive(Debug)]
pub struct Refusal {
    /// What went wrong.
    pub error: AuthError,
    /// How to answer.
    pub answer: Answer,
}

impl Refusal {
    /// Refuses the request `parts` describes with `error`.
    pub fn new(parts: &Parts, error: AuthError) -> Refusal {
        Refusal {
            error,
            answer: Answer::of(parts),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match (&self.answer, &self.error) {
            (Answer::Page { back_to }, AuthError::Unauthenticated(detail)) => {
                let to = format!(
                    "/sign-in?next={}&error={}",
                    crate::percent::encode(back_to),
                    crate::percent::encode(detail)
                );
                Redirect::to(&to).into_response()
            }
            _ => self.answer.refuse(ApiError::from(self.error)),
        }
    }
}

/// The signed-in user, if any.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The signed-in user; anonymous requests are refused with 401.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Principal);

fn signed_in(parts: &Parts) -> Result<Principal, AuthError> {
    if let Some(p) = parts.extensions.get::<Principal>() {
        return Ok(p.clone());
    }
    Err(AuthError::Unauthenticated(
        if parts.extensions.get::<SessionEnded>().is_some() {
            "your session has ended; sign in again".to_string()
        } else {
            "sign in first: send a session cookie or Authorization: Bearer <api token>".to_string()
        },
    ))
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        signed_in(parts)
            .map(CurrentUser)
            .map_err(|e| Refusal::new(parts, e))
    }
}

/// Refuses requests another site made the browser send: `Sec-Fetch-Site: cross-site` or
/// `same-site`, `Origin: null`, or an `Origin` that is neither the request's `Host` nor the
/// configured public URL (set `--public-url` behind a proxy that rewrites `Host`).
/// `authority` is the request URI's (HTTP/2 sends the host there). Requests without either
/// header (scripts, old browsers) pass; the CSRF token still protects them.
pub fn check_same_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    public_url: Option<&str>,
) -> Result<(), AuthError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Err(AuthError::Forbidden(format!(
                "cross-site request refused (Sec-Fetch-Site: {site})"
            )));
        }
    }
    let Some(origin) = text("origin") else {
        return Ok(());
    };
    let origin = origin.trim_end_matches('/');
    let host_matches = text("host").or(authority).is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
    });
    let public_matches = public_url.is_some_and(|url| {
        let url = url.trim_end_matches('/');
        let base = url
            .split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")));
        base.is_some_and(|b| b.eq_ignore_ascii_case(origin))
    });
    if host_matches || public_matches {
        Ok(())
    } else {
        Err(AuthError::Forbidden(format!(
            "cross-site request refused (Origin: {origin})"
        )))
    }
}

fn check_csrf(principal: &Principal, presented: Option<&str>) -> Result<(), AuthError> {
    if principal.with == SignedInWith::Token {
        return Ok(());
    }
    match presented {
        None | Some("") => Err(AuthError::Forbidden(format!(
            "missing csrf token: send the form's {CSRF_FIELD} field or the X-CSRF-Token header"
        ))),
        Some(p) if secrets_equal(p, &principal.csrf) => Ok(()),
        Some(_) => Err(AuthError::Forbidden(
            "wrong csrf token; reload the page and try again".into(),
        )),
    }
}

fn check_write(
    parts: &Parts,
    state: &AppState,
    presented: Option<&str>,
) -> Result<Principal, AuthError> {
    let principal = signed_in(parts)?;
    if principal.with != SignedInWith::Token {
        check_same_origin(
            &parts.headers,
            parts.uri.authority().map(|a| a.as_str()),
            state.settings.public_url.as_deref(),
        )?;
    }
    check_csrf(&principal, presented)?;
    Ok(principal)
}

fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

/// The signed-in user, for a state-changing request without a body (`DELETE`, or a `POST`
/// whose body does not matter): anonymous → 401; for a session or the proxy, a cross-site
/// request or a missing or wrong `X-CSRF-Token` → 403. API tokens need no CSRF token.
#[derive(Debug, Clone)]
pub struct Writer(pub Principal);

impl FromRequestParts<AppState> for Writer {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        check_write(parts, state, header_token(&parts.headers))
            .map(Writer)
            .map_err(|e| Refusal::new(parts, e))
    }
}

/// The signed-in user and the body of a state-changing request, checked like [`Writer`].
///
/// The body is `application/x-www-form-urlencoded` (an HTML form, which carries the CSRF
/// token in its hidden `csrf` field, so `T` must ignore unknown fields, serde's default)
/// or `application/json` (the token in `X-CSRF-Token`). Use it last among a handler's
/// extractors:
///
/// ```ignore
/// // `AuthError` converts into `ApiError`, so `?` works in handlers answering with either
/// async fn promote(
///     State(state): State<AppState>,
///     Write { user, body }: Write<PromoteForm>,
/// ) -> Result<Redirect, ApiError> {
///     server::auth::require_promoter(&user, &body.target)?;
///     // … record `user.name` as who asked
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Write<T> {
    /// Who sent it.
    pub user: Principal,
    /// What they sent.
    pub body: T,
}

/// The body of a form, its CSRF field apart.
fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, Option<String>), AuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| AuthError::BadRequest(format!("malformed form: {e}")))?;
    let csrf = pairs
        .into_iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v);
    let body = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| AuthError::BadRequest(format!("malformed form: {e}")))?;
    Ok((body, csrf))
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Write<T> {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        // who, and from where, before reading a body
        if let Err(e) = signed_in(&parts) {
            return Err(Refusal::new(&parts, e));
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let refuse = |parts: &Parts, e| Refusal::new(parts, e);
        let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), state).await
        {
            Ok(b) => b,
            Err(r) => {
                return Err(refuse(
                    &parts,
                    AuthError::BadRequest(format!("unreadable body: {}", r.body_text())),
                ))
            }
        };
        let parsed = match content_type.as_str() {
            "application/x-www-form-urlencoded" => parse_form::<T>(&bytes),
            "application/json" => serde_json::from_slice::<T>(&bytes)
                .map(|b| (b, header_token(&parts.headers).map(str::to_string)))
                .map_err(|e| AuthError::BadRequest(format!("malformed json body: {e}"))),
            "" if bytes.is_empty() => parse_form::<T>(b"")
                .map(|(b, _)| (b, header_token(&parts.headers).map(str::to_string))),
            other => Err(AuthError::BadRequest(format!(
                "content type {other:?} is not accepted (use application/x-www-form-urlencoded or application/json)"
            ))),
        };
        // a refused write says why it was refused before what was wrong with its body
        let presented = match &parsed {
            Ok((_, csrf)) => csrf.clone(),
            Err(_) => header_token(&parts.headers).map(str::to_string),
        };
        let user =
            check_write(&parts, state, presented.as_deref()).map_err(|e| refuse(&parts, e))?;
        let (body, _) = parsed.map_err(|e| refuse(&parts, e))?;
        Ok(Write { user, body })
    }
}

/// A `Write` body with no fields (sign-out, revoking from a form).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NoFields {}

/// Adds `Cache-Control: no-store` to responses that show credentials.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let ok = [
            headers(&[]),
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
            ]),
        ];
        for h in ok {
            assert!(check_same_origin(&h, None, None).is_ok(), "{h:?}");
        }
        let refused = [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]),
        ];
        for h in refused {
            let e = check_same_origin(&h, None, None).expect_err("refused");
            assert!(
                e.to_string().starts_with("cross-site request refused"),
                "{e}"
            );
        }
        let behind_proxy = headers(&[
            ("host", "streamgate:3000"),
            ("origin", "https://sg.example.org"),
        ]);
        assert!(check_same_origin(&behind_proxy, None, Some("https://sg.example.org/")).is_ok());
        let h2 = headers(&[("origin", "https://sg.example.org")]);
        assert!(check_same_origin(&h2, Some("sg.example.org"), None).is_ok());
    }

    #[test]
    fn forms_give_their_csrf_field_apart() {
        #[derive(serde::Deserialize)]
        struct Form {
            name: String,
        }
        let (form, csrf) = parse_form::<Form>(b"name=ci&csrf=abc").expect("parses");
        assert_eq!((form.name.as_str(), csrf.as_deref()), ("ci", Some("abc")));
        assert!(parse_form::<Form>(b"csrf=abc").is_err());
    }
}
