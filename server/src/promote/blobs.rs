//! Blobs of a registry as the payload builder handles them: streamed into temporary files
//! (retrying transient failures, within a size limit), and hashed while written or read.

use std::io::{self, Write};
use std::path::Path;

use backon::Retryable;
use futures_util::StreamExt;
use oci_client::Reference;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::copy::{backoff, fetch_error, stream_failure, Copier, CopyError};
use crate::oci::distribution::{Failure, FetchError};
use crate::oci::layer::{self, Compression};

/// Streams the blob `digest` of `source`'s repository into the file `path`, at most
/// `limit` bytes; the client checks the digest as the bytes pass. Transient failures start
/// the download over.
pub(crate) async fn download(
    copier: &Copier,
    source: &Reference,
    digest: &str,
    limit: u64,
    path: &Path,
) -> Result<(), CopyError> {
    let blob = Copier::in_repo(source, digest);
    let what = format!("blob {digest} of {}", source.repository());
    (|| download_once(copier, &blob, digest, limit, path))
        .retry(backoff())
        .when(Fetch::is_transient)
        .notify(|e, wait| tracing::warn!(%what, error = ?e, ?wait, "retrying download"))
        .await
        .map_err(|e| match e {
            Fetch::Registry(e) => fetch_error(&what, e),
            Fetch::Stream(e) => fetch_error(
                &what,
                FetchError {
                    what: what.clone(),
                    registry: source.resolve_registry().to_string(),
                    failure: stream_failure(&e),
                },
            ),
            Fetch::TooLarge => CopyError::TooLarge {
                what: what.clone(),
                limit,
            },
            Fetch::Local(e) => CopyError::Io {
                what: format!("storing {what}"),
                source: e,
            },
        })
}

/// Why one download attempt failed.
#[derive(Debug)]
enum Fetch {
    Registry(FetchError),
    /// The body broke off or failed its digest check.
    Stream(io::Error),
    TooLarge,
    Local(io::Error),
}

impl Fetch {
    fn is_transient(&self) -> bool {
        match self {
            Fetch::Registry(e) => e.is_transient(),
            Fetch::Stream(e) => matches!(
                stream_failure(e),
                Failure::Transport {
                    transient: true,
                    ..
                }
            ),
            Fetch::TooLarge | Fetch::Local(_) => false,
        }
    }
}

async fn download_once(
    copier: &Copier,
    blob: &Reference,
    digest: &str,
    limit: u64,
    path: &Path,
) -> Result<(), Fetch> {
    let mut stream = copier
        .registry()
        .blob(blob, digest, limit)
        .await
        .map_err(Fetch::Registry)?
        .stream;
    let mut file = tokio::fs::File::create(path).await.map_err(Fetch::Local)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match layer::overflow(&e) {
            Some(_) => Fetch::TooLarge,
            None => Fetch::Stream(e),
        })?;
        file.write_all(&chunk).await.map_err(Fetch::Local)?;
    }
    file.flush().await.map_err(Fetch::Local)?;
    Ok(())
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub(crate) fn compression_of(media_type: &str) -> Option<Compression> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
        _ => None,
    }
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    pub(crate) fn finish(self) -> (W, String, u64) {
        let digest = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        (self.inner, digest, self.written)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
