//! The one HTTP error type, [`ApiError`]: every failure a route answers with is one of its
//! variants, and [`ApiError`]'s `IntoResponse` is the only place a failure becomes a
//! status, headers and the `{"errors":[{"detail": "…"}]}` envelope. Internal errors are
//! logged there once and never sent. [`ApiQuery`], [`ApiPath`] and [`ApiJson`] give
//! malformed input the same envelope.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{Method, StatusCode};
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
    /// The client asked too often or holds too much; it may retry after a while.
    #[error("{0}")]
    TooManyRequests(String),
    /// The feature is not configured on this server.
    #[error("{0}")]
    Unavailable(String),
    /// The server is at a limit for everyone just now; retrying later may succeed.
    #[error("{0}")]
    Busy(String),
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
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
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let detail = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error answering an api request");
                "internal server error; try again shortly".to_string()
            }
            other => other.to_string(),
        };
        let mut response = (status, Json(ErrorBody::one(detail))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"streamgate\""),
            );
        }
        if matches!(self, ApiError::TooManyRequests(_) | ApiError::Busy(_)) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// Seconds a client is asked to wait after a 429 or a busy 503.
pub const RETRY_AFTER_SECONDS: &str = "10";

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
