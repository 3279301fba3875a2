//! Finds `release-manifests/` files in one layer without holding the layer in memory.
//!
//! The layer arrives as a byte stream; it is read through a [`CappedReader`] (compressed
//! bytes), gunzipped, capped again (unpacked bytes, against gzip bombs) and walked entry by
//! entry with `tar`. Only the two wanted files are kept, each capped too. The rest of the
//! stream is then drained, so that the client's digest check of the whole blob runs.

use std::io::{self, Read};

/// Path of the component list inside a payload.
pub const IMAGE_REFERENCES: &str = "release-manifests/image-references";
/// Path of the Cincinnati metadata inside a payload.
pub const RELEASE_METADATA: &str = "release-manifests/release-metadata";
const RELEASE_MANIFESTS: &str = "release-manifests/";

/// How a layer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `…tar+gzip` / Docker `rootfs.diff.tar.gzip`.
    Gzip,
    /// Plain `…tar`.
    None,
}

/// Byte limits of one layer scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Compressed bytes read from the registry.
    pub layer_bytes: u64,
    /// Bytes after decompression.
    pub unpacked_bytes: u64,
    /// Size of each wanted file.
    pub file_bytes: u64,
}

/// What one layer held.
#[derive(Debug, Default)]
pub struct LayerScan {
    /// Whether any entry lies under `release-manifests/`.
    pub has_release_manifests: bool,
    /// `release-manifests/image-references`, when present.
    pub image_references: Option<Vec<u8>>,
    /// `release-manifests/release-metadata`, when present.
    pub release_metadata: Option<Vec<u8>>,
}

/// Why a layer could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// More bytes than allowed.
    #[error("{what} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Which count overflowed (`layer`, `unpacked layer`, a file path).
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a gzip-compressed tar (or the download broke off).
    #[error("{0}")]
    Corrupt(String),
}

/// A reader that fails with [`io::ErrorKind::FileTooLarge`] once more than `limit` bytes
/// have passed through it, so nothing downstream ever sees more.
#[derive(Debug)]
pub struct CappedReader<R> {
    inner: R,
    what: String,
    limit: u64,
    read: u64,
}

impl<R: Read> CappedReader<R> {
    /// Wraps `inner`, allowing at most `limit` bytes; `what` names it in the error.
    pub fn new(inner: R, what: impl Into<String>, limit: u64) -> Self {
        CappedReader {
            inner,
            what: what.into(),
            limit,
            read: 0,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // ask for one byte more than allowed, so an exact fit is not mistaken for overflow
        let room = self.limit.saturating_sub(self.read).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                Overflow {
                    what: self.what.clone(),
                    limit: self.limit,
                },
            ));
        }
        Ok(n)
    }
}

/// The error a [`CappedReader`] fails with, recognised again by [`classify`].
#[derive(Debug, thiserror::Error)]
#[error("{what} exceeds the limit of {limit} bytes")]
struct Overflow {
    what: String,
    limit: u64,
}

fn classify(e: io::Error) -> ScanError {
    match e.get_ref().and_then(|i| i.downcast_ref::<Overflow>()) {
        Some(o) => ScanError::TooLarge {
            what: o.what.clone(),
            limit: o.limit,
        },
        None => ScanError::Corrupt(e.to_string()),
    }
}

/// Scans one layer read from `blob` (blocking: run it on a blocking thread).
pub fn scan(
    blob: impl Read,
    compression: Compression,
    limits: ScanLimits,
) -> Result<LayerScan, ScanError> {
    let mut compressed = CappedReader::new(blob, "layer", limits.layer_bytes);
    let result = {
        let unpacked: Box<dyn Read + '_> = match compression {
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(&mut compressed)),
            Compression::None => Box::new(&mut compressed),
        };
        let mut unpacked = CappedReader::new(unpacked, "unpacked layer", limits.unpacked_bytes);
        let scan = walk(&mut unpacked, limits.file_bytes);
        // read the rest of the tar stream (padding, trailing blocks) within the caps
        scan.and_then(|s| io::copy(&mut unpacked, &mut io::sink()).map(|_| s))
    };
    // … and the rest of the blob, so the registry client verifies the digest of all of it
    result
        .and_then(|s| io::copy(&mut compressed, &mut io::sink()).map(|_| s))
        .map_err(classify)
}

fn walk(unpacked: impl Read, file_bytes: u64) -> io::Result<LayerScan> {
    let mut scan = LayerScan::default();
    let mut archive = tar::Archive::new(unpacked);
    for entry in archive.entries()? {
        let entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").trim_start_matches('/');
        if !path.starts_with(RELEASE_MANIFESTS) {
            continue;
        }
        scan.has_release_manifests = true;
        let slot = match path {
            IMAGE_REFERENCES => &mut scan.image_references,
            RELEASE_METADATA => &mut scan.release_metadata,
            _ => continue,
        };
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let mut body = Vec::new();
        CappedReader::new(entry, path, file_bytes).read_to_end(&mut body)?;
        *slot = Some(body);
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ScanLimits = ScanLimits {
        layer_bytes: 1 << 20,
        unpacked_bytes: 4 << 20,
        file_bytes: 64 << 10,
    };

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, *body)
                .expect("append");
        }
        builder
            .into_inner()
            .and_then(|gz| gz.finish())
            .expect("finish")
    }

    #[test]
    fn finds_both_files_and_ignores_the_rest() {
        let layer = tar_gz(&[
            ("usr/bin/cvo", b"binary"),
            ("release-manifests/0000_00_cvo.yaml", b"kind: Deployment"),
            (IMAGE_REFERENCES, b"{\"kind\":\"ImageStream\"}"),
            (RELEASE_METADATA, b"{}"),
        ]);
        let scan = scan(&layer[..], Compression::Gzip, LIMITS).expect("scans");
        assert!(scan.has_release_manifests);
        assert_eq!(
            scan.image_references.as_deref(),
            Some(&b"{\"kind\":\"ImageStream\"}"[..])
        );
        assert_eq!(scan.release_metadata.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn caps_trip_with_the_name_of_what_overflowed() {
        let big = vec![7u8; 200 << 10];
        let layer = tar_gz(&[(IMAGE_REFERENCES, &big)]);
        let err = scan(&layer[..], Compression::Gzip, LIMITS).expect_err("file too large");
        assert!(
            matches!(&err, ScanError::TooLarge { what, .. } if what == IMAGE_REFERENCES),
            "{err}"
        );
        let tight = ScanLimits {
            unpacked_bytes: 100 << 10,
            file_bytes: 1 << 20,
            ..LIMITS
        };
        let err = scan(&layer[..], Compression::Gzip, tight).expect_err("bomb");
        assert!(
            matches!(&err, ScanError::TooLarge { what, .. } if what == "unpacked layer"),
            "{err}"
        );
        let tiny = ScanLimits {
            layer_bytes: 100,
            ..LIMITS
        };
        let err = scan(&layer[..], Compression::Gzip, tiny).expect_err("layer too large");
        assert!(
            matches!(&err, ScanError::TooLarge { what, limit: 100 } if what == "layer"),
            "{err}"
        );
    }

    #[test]
    fn an_exact_fit_is_not_an_overflow() {
        let mut out = Vec::new();
        CappedReader::new(&[1u8; 10][..], "ten", 10)
            .read_to_end(&mut out)
            .expect("fits");
        assert_eq!(out.len(), 10);
        let err = CappedReader::new(&[1u8; 11][..], "eleven", 10)
            .read_to_end(&mut out)
            .expect_err("overflows");
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn corrupt_gzip_is_reported_as_corrupt() {
        let mut layer = tar_gz(&[(IMAGE_REFERENCES, b"{}")]);
        let mid = layer.len() / 2;
        layer[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
        let err = scan(&layer[..], Compression::Gzip, LIMITS).expect_err("corrupt");
        assert!(matches!(err, ScanError::Corrupt(_)), "{err}");
        let err = scan(&b"not gzip at all"[..], Compression::Gzip, LIMITS).expect_err("corrupt");
        assert!(matches!(err, ScanError::Corrupt(_)), "{err}");
    }
}

#[cfg(test)]
mod properties;
