//! Server functions of the release page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::ReleaseDetail;

/// One release with its gates, upgrade edges and changelog. `stream` picks among streams
/// that carry a release of the same name (a promoted release can keep its CI name).
#[server(endpoint = "release")]
pub async fn get_release(tag: String, stream: Option<String>) -> Result<ReleaseDetail, AppError> {
    crate::backend::backend()?
        .release(&tag, stream.as_deref().filter(|s| !s.is_empty()))
        .await
}
