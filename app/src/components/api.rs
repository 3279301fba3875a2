//! Server functions of the component page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::ComponentHistory;

/// Component `name`'s images across the releases of `stream` (default: the newest OKD CI
/// stream that has it).
#[server(endpoint = "component_history")]
pub async fn get_component_history(
    name: String,
    stream: Option<String>,
) -> Result<ComponentHistory, AppError> {
    crate::backend::backend()?
        .component_history(&name, stream.as_deref().filter(|s| !s.is_empty()))
        .await
}
