//! The pages' server functions answer every error with `500 Internal Server Error`: that is
//! how `server_fn` marks an error for its client, which decodes any 4xx or 5xx alike. A
//! request that is refused — a release that does not exist, arguments that do not parse —
//! is not the server failing, so [`set_status`] gives each error the status its
//! [`AppError`] means, and monitoring sees 5xx only when the server is in trouble.

use app::error::AppError;
use axum::body::{Body, HttpBody};
use axum::http::StatusCode;
use axum::response::Response;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;

/// Largest error body read back; server function errors are a short JSON message.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// The status an error of a server function stands for.
pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        // on the server, `Request` is a call whose arguments did not arrive or parse
        AppError::BadRequest(_) | AppError::Request(_) => StatusCode::BAD_REQUEST,
        AppError::Refused(_) => StatusCode::FORBIDDEN,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Middleware: re-statuses the `500` of a server function error after its [`AppError`].
pub async fn set_status(response: Response) -> Response {
    let from_server_fn = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && response.headers().contains_key(SERVER_FN_ERROR_HEADER);
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_ERROR_BODY);
    if !from_server_fn || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY as usize).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "reading a server function error failed");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = status_of(&error);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_fn_error(error: &AppError) -> Response {
        let mut response =
            Response::new(Body::from(serde_json::to_vec(error).expect("serializes")));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response.headers_mut().insert(
            SERVER_FN_ERROR_HEADER,
            "/api/release".parse().expect("value"),
        );
        response
    }

    #[tokio::test]
    async fn refusals_get_their_status_and_keep_their_body() {
        let error = AppError::NotFound("release x".into());
        let response = set_status(server_fn_error(&error)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        assert_eq!(serde_json::from_slice::<AppError>(&body).ok(), Some(error));
        let response = set_status(server_fn_error(&AppError::Unavailable("db".into()))).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn other_answers_are_left_alone() {
        let mut plain = Response::new(Body::from("{\"NotFound\":\"x\"}"));
        *plain.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        assert_eq!(
            set_status(plain).await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let mut odd = server_fn_error(&AppError::NotFound("x".into()));
        *odd.body_mut() = Body::from("not an app error");
        assert_eq!(
            set_status(odd).await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
