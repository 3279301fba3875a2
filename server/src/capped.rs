//! Reading an upstream answer's whole body under a cap, chunk by chunk, for every reader of
//! an upstream service (release-controllers, registries): a body announced larger than the
//! cap is refused before it is read, one that turns out larger is refused where it passes
//! the cap (the connection is dropped there), and nothing is read whole and checked after.

/// Why a capped body could not be read.
#[derive(Debug)]
pub enum CappedError {
    /// The body is larger than the cap; `declared` when `Content-Length` said so up front.
    TooLarge {
        /// The announced length, when there was one.
        declared: Option<u64>,
    },
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
}

/// The whole body of `response`, at most `limit` bytes.
pub async fn read_capped(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, CappedError> {
    if let Some(length) = response.content_length().filter(|l| *l > limit) {
        return Err(CappedError::TooLarge {
            declared: Some(length),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CappedError::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(CappedError::TooLarge { declared: None });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
