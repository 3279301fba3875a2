//! The server functions of the job pages.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::jobs::{JobPage, JobRanking};

/// Every run of job `name` in `stream` over the last 30 days, with its rates.
#[server(endpoint = "job")]
pub async fn job_history(stream: String, name: String) -> Result<JobPage, AppError> {
    use crate::model::jobs::check_name;
    check_name("stream", &stream).map_err(AppError::BadRequest)?;
    check_name("job", &name).map_err(AppError::BadRequest)?;
    crate::backend::backend()?.job(&stream, &name).await
}

/// The jobs of `stream` ranked by how often they blocked acceptance.
#[server(endpoint = "jobs")]
pub async fn rank_jobs(stream: String) -> Result<JobRanking, AppError> {
    use crate::model::jobs::check_name;
    check_name("stream", &stream).map_err(AppError::BadRequest)?;
    crate::backend::backend()?.jobs(&stream).await
}
