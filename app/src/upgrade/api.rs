//! The server function of the upgrade question.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::upgrade::UpgradeAnswer;

/// Whether a cluster on `from` is offered `to`, and why not.
#[server(endpoint = "upgrade")]
pub async fn ask_upgrade(from: String, to: String) -> Result<UpgradeAnswer, AppError> {
    use crate::model::upgrade::check_version;
    check_version("from", &from).map_err(AppError::BadRequest)?;
    check_version("to", &to).map_err(AppError::BadRequest)?;
    crate::backend::backend()?.upgrade(&from, &to).await
}
