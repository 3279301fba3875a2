//! Streamgate's benchmarks that need no browser: each figure with a baseline measured in the
//! same run. Run through `bench/run` (or `./dev bench`).
//!
//! - `streamgate-bench` plays the demo history and a 10x larger generated one from the replay
//!   release-controllers into SQLite and PostgreSQL ([`ingest`]).
//! - `streamgate-bench scale <database-url>` fills a database with the scale data set of the
//!   page, search and job-page benchmarks ([`scale`]) and prints what to ask of it.
//! - `streamgate-bench reproject <database-url> [events]` writes a generated event log (a
//!   million events unless told) and rebuilds the projection from it ([`reproject`]).

mod ingest;
mod reproject;
mod scale;

use chrono::{DateTime, TimeZone, Utc};

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Msg(String),
}

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Msg(e.to_string())
}

/// The fixed "now" of the replayed histories, so every run plays the same data.
fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn tempfile_dir() -> Result<String, BenchError> {
    let dir = std::env::temp_dir().join(format!("streamgate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(err)?;
    Ok(dir.display().to_string())
}

/// A fresh database at `url`: a SQLite file, or a PostgreSQL database of that name made anew
/// on the same server.
async fn fresh_store(url: &str) -> Result<server::store::Store, BenchError> {
    if url.starts_with("sqlite:") {
        let store = server::store::Store::connect(url).await.map_err(err)?;
        store.migrate().await.map_err(err)?;
        Ok(store)
    } else {
        let (base, name) = url
            .rsplit_once('/')
            .ok_or_else(|| err("no database name"))?;
        server::store::fresh_postgres(&format!("{base}/test"), name)
            .await
            .map_err(err)
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.as_slice() {
        [_] => ingest::run().await,
        [_, mode, url] if mode == "scale" => scale::scale(url).await,
        [_, mode, url] if mode == "reproject" => reproject::run(url, reproject::EVENTS).await,
        [_, mode, url, n] if mode == "reproject" => match n.parse() {
            Ok(n) => reproject::run(url, n).await,
            Err(_) => Err(err(format!("not a number of events: {n}"))),
        },
        _ => Err(err(
            "usage: streamgate-bench [scale <database-url> | reproject <database-url> [events]]",
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
