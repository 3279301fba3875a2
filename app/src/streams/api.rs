//! Server functions of the stream pages.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Overview, StreamPage};

/// Every stream with its health, for the front page.
#[server(endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    crate::backend::backend()?.overview().await
}

/// One page of a stream's releases; `phase` filters by phase (`Accepted`, `Rejected`, …).
#[server(endpoint = "stream_page")]
pub async fn get_stream_page(
    stream: String,
    phase: Option<String>,
    page: u32,
) -> Result<StreamPage, AppError> {
    let phase = match phase.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match crate::model::Phase::parse(p) {
            crate::model::Phase::Unknown => {
                return Err(AppError::BadRequest(format!(
                "unknown phase {p:?}; use Accepted, Rejected, Ready, Pending, Failed or Published"
            )))
            }
            known => Some(known),
        },
    };
    if page == 0 {
        return Err(AppError::BadRequest("page numbers start at 1".to_string()));
    }
    crate::backend::backend()?
        .stream_page(&stream, phase, page)
        .await
}
