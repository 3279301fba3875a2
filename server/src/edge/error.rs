//! The one HTTP error type, [`ApiError`]: every failure a route answers with is one of its
//! variants, and [`ApiError`]'s `IntoResponse` is the only place a failure becomes a
//! status, headers and the `{"errors":[{"detail": "…"}]}` envelope. Internal errors are
//! logged there once and never sent. [`ApiQuery`], [`ApiPath`] and [`ApiJson`] give
//! malformed input the same envelope.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use std::time::Duration;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// Answer for a method a route does not serve.
pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {} (use GET)",
        uri.path()
    ))
}

/// A failure at the HTTP edge, answered as a status and the error envelope.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The stream, release or route does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// The route exists but not for this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Credentials are missing or wrong; the message says which.
    #[error("{0}")]
    Unauthorized(String),
    /// The route is switched off; the message says how to switch it on.
    #[error("{0}")]
    Forbidden(String),
    /// The body is larger than the route takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body's content type is not one the route takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request conflicts with what is stored (a name already taken, a plan that changed).
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but cannot be carried out as asked.
    #[error("{0}")]
    Unprocessable(String),
    /// A registry or other upstream failed; the message says which.
    #[error("{0}")]
    BadGateway(String),
    /// The client asked too often or holds too much; it may retry after `retry_after`.
    #[error("{message}")]
    TooManyRequests {
        /// What the client did too much of.
        message: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// The feature is not configured on this server.
    #[error("{0}")]
    Unavailable(String),
    /// The server is at a limit for everyone just now; retrying after `retry_after` may
    /// succeed.
    #[error("{message}")]
    Busy {
        /// Which limit.
        message: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// Something failed inside; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::InvalidText(why) => ApiError::BadRequest(why),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(lowercase_first(&r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(lowercase_first(&r.body_text()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::BadRequest(lowercase_first(&r.body_text()))
    }
}

/// axum's rejection text ("Failed to deserialize query string: limit: invalid digit …")
/// in the envelope's lowercase style.
pub fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The error envelope: `{"errors":[{"detail": "…"}]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong; one entry per problem.
    pub errors: Vec<ErrorDetail>,
}

/// One problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Lowercase, human-readable, safe to show.
    pub detail: String,
}

impl ErrorBody {
    /// An envelope with one message.
    pub fn one(detail: impl Into<String>) -> ErrorBody {
        ErrorBody {
            errors: vec![ErrorDetail {
                detail: detail.into(),
            }],
        }
    }
}

impl ApiError {
    /// The HTTP status of this error: the one place a failure becomes a status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message safe to show: an internal error is logged here, once, and described
    /// only generically.
    pub fn public_detail(&self) -> String {
        match self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error answering a request");
                "internal server error; try again shortly".to_string()
            }
            other => other.to_string(),
        }
    }

    /// Adds the headers the status calls for: `WWW-Authenticate` with a 401, `Retry-After`
    /// (whole seconds, rounded up) with a 429 or a busy 503.
    pub fn decorate(&self, response: &mut Response) {
        match self {
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"streamgate\""),
                );
            }
            ApiError::TooManyRequests { retry_after, .. } | ApiError::Busy { retry_after, .. } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status(), Json(ErrorBody::one(self.public_detail()))).into_response();
        self.decorate(&mut response);
        response
    }
}

/// How long a client is asked to wait after a 429 or a busy 503 when nothing more precise
/// is known.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// `Query` whose rejection is an [`ApiError`] (a 400 in the envelope).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejection is an [`ApiError`] (a 400 in the envelope).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Json` body whose rejection is an [`ApiError`] (a 400 in the envelope), for the write
/// endpoints to come.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The successful JSON answer of a handler.
pub type ApiResult<T> = Result<Json<T>, ApiError>;
