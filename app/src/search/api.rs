//! The server functions of search.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::search::{SearchResults, Suggestion};

/// What `q` finds, and where each thing first appeared per stream.
#[server(endpoint = "search")]
pub async fn find_releases(q: String) -> Result<SearchResults, AppError> {
    crate::backend::backend()?.search(&q).await
}

/// What the search box offers while `q` is typed.
#[server(endpoint = "suggest")]
pub async fn suggest_search(q: String) -> Result<Vec<Suggestion>, AppError> {
    crate::backend::backend()?.suggest(&q).await
}
