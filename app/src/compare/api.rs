//! Server functions of the compare page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Comparison;

/// Releases `from` and `to` compared: components and gates.
#[server(endpoint = "compare")]
pub async fn compare_releases(from: String, to: String) -> Result<Comparison, AppError> {
    crate::backend::backend()?.compare(&from, &to).await
}
