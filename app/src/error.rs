//! The UI's error type: serializable, WASM-safe, and shown to the user as is.

use serde::{Deserialize, Serialize};

/// An error a page can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// The stream, release or page does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request was malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The server could not answer (details are in its log, not here).
    #[error("the server could not answer: {0}")]
    Unavailable(String),
    /// The request is understood but cannot be done now; the message says why.
    #[error("{0}")]
    Refused(String),
    /// Calling the server failed.
    #[error("request failed: {0}")]
    Request(String),
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Request(value.to_string())
    }
}
