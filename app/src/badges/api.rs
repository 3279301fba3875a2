//! Server functions of the badge page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::BadgePage;

/// Streams to make badges for, and the base URL for the snippets: the configured public
/// URL, else the scheme and host the browser used.
#[server(endpoint = "badge_page")]
pub async fn get_badge_page() -> Result<BadgePage, AppError> {
    let mut page = crate::backend::backend()?.badge_page().await?;
    if page.base_url.is_empty() {
        let headers: http::HeaderMap = leptos_axum::extract()
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("127.0.0.1:3000");
        let scheme = match headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
        {
            Some("https") => "https",
            _ => "http",
        };
        page.base_url = format!("{scheme}://{host}");
        // the snippets name the host the request named: caches keep one copy per host
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(
                http::header::VARY,
                http::HeaderValue::from_static("host, x-forwarded-proto"),
            );
        }
    }
    Ok(page)
}
