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
/// Longest entry name or link target (a GNU long name record, a PAX `path` or `linkpath`).
pub const NAME_BYTES: u64 = 4 << 10;
/// Largest PAX extended header record.
pub const EXTENSION_BYTES: u64 = 64 << 10;

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

/// The error a [`CappedReader`] (or a capped blob stream) fails with, inside an
/// [`io::Error`] of kind [`io::ErrorKind::FileTooLarge`]; recognised again by [`classify`].
#[derive(Debug, thiserror::Error)]
#[error("{what} exceeds the limit of {limit} bytes")]
pub struct Overflow {
    /// What overflowed.
    pub what: String,
    /// The limit.
    pub limit: u64,
}

/// The [`Overflow`] inside `e`, if that is what it is.
pub fn overflow(e: &io::Error) -> Option<&Overflow> {
    e.get_ref().and_then(|i| i.downcast_ref::<Overflow>())
}

fn too_large(what: &str, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        Overflow {
            what: what.to_string(),
            limit,
        },
    )
}

fn classify(e: io::Error) -> ScanError {
    match overflow(&e) {
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

/// Reads the body of an extension record (`what`), refusing one larger than `limit`
/// from its header, before reading it.
pub fn read_extension<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    what: &str,
    limit: u64,
) -> io::Result<Vec<u8>> {
    if entry.header().entry_size()? > limit {
        return Err(too_large(what, limit));
    }
    let mut data = Vec::new();
    CappedReader::new(entry, what, limit).read_to_end(&mut data)?;
    Ok(data)
}

/// The extension records that describe the next entry.
#[derive(Debug, Default)]
pub struct Extensions {
    /// Path from a GNU long name or a PAX `path`.
    pub path: Option<Vec<u8>>,
    /// Size from a PAX `size`.
    pub size: Option<u64>,
}

impl Extensions {
    /// Takes in `entry` when it is an extension record (GNU long name or link, PAX local or
    /// global header), within [`NAME_BYTES`] and [`EXTENSION_BYTES`]; returns the record's
    /// bytes, or `None` for an ordinary entry.
    pub fn take<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> io::Result<Option<Vec<u8>>> {
        let kind = entry.header().entry_type();
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            let data = read_extension(entry, "tar entry name", NAME_BYTES)?;
            if kind.is_gnu_longname() {
                let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                self.path = Some(data[..end].to_vec());
            }
            return Ok(Some(data));
        }
        if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
            let data = read_extension(entry, "tar extended header", EXTENSION_BYTES)?;
            if kind.is_pax_local_extensions() {
                for ext in tar::PaxExtensions::new(&data) {
                    let ext = ext?;
                    let value = ext.value_bytes();
                    match ext.key_bytes() {
                        b"path" | b"linkpath" if value.len() as u64 > NAME_BYTES => {
                            return Err(too_large("tar entry name", NAME_BYTES));
                        }
                        b"path" => self.path = Some(value.to_vec()),
                        b"size" => {
                            let size = ext
                                .value()
                                .ok()
                                .and_then(|v| v.parse().ok())
                                .ok_or_else(|| io::Error::other("malformed pax size"))?;
                            self.size = Some(size);
                        }
                        _ => {}
                    }
                }
            }
            return Ok(Some(data));
        }
        Ok(None)
    }

    /// The path of the ordinary `entry` these records describe (they are used up), after
    /// checking that its header agrees with them.
    pub fn path_of<R: Read>(&mut self, entry: &tar::Entry<'_, R>) -> io::Result<Vec<u8>> {
        let header = entry.header();
        // extended sparse headers add blocks tar would have to read for us
        if header.entry_type().is_gnu_sparse() && header.as_gnu().is_some_and(|g| g.is_extended()) {
            return Err(io::Error::other(
                "extended GNU sparse entries are not supported",
            ));
        }
        if let Some(size) = self.size.take() {
            if size != header.entry_size()? {
                return Err(io::Error::other("pax size disagrees with the entry header"));
            }
        }
        Ok(self
            .path
            .take()
            .unwrap_or_else(|| header.path_bytes().into_owned()))
    }
}

fn walk(unpacked: impl Read, file_bytes: u64) -> io::Result<LayerScan> {
    let mut scan = LayerScan::default();
    let mut archive = tar::Archive::new(unpacked);
    let mut extensions = Extensions::default();
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        if extensions.take(&mut entry)?.is_some() {
            continue;
        }
        let path = extensions.path_of(&entry)?;
        let path = String::from_utf8_lossy(&path);
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

    /// A tar stream that starts with an extension record of `kind` declaring `size` bytes,
    /// then repeats `a` for ever; counts what was read of it.
    struct Hostile {
        head: Vec<u8>,
        read: std::rc::Rc<std::cell::Cell<u64>>,
    }

    impl Read for Hostile {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = if self.head.is_empty() {
                buf.fill(b'a');
                buf.len()
            } else {
                let n = buf.len().min(self.head.len());
                buf[..n].copy_from_slice(&self.head[..n]);
                self.head.drain(..n);
                n
            };
            self.read.set(self.read.get() + n as u64);
            Ok(n)
        }
    }

    fn hostile(kind: tar::EntryType, size: u64) -> (Hostile, std::rc::Rc<std::cell::Cell<u64>>) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_path("././@LongLink").expect("path");
        h.set_size(size);
        h.set_cksum();
        let read = std::rc::Rc::new(std::cell::Cell::new(0));
        let head = if kind.is_pax_local_extensions() {
            [
                h.as_bytes().as_slice(),
                format!("{} path=", size).as_bytes(),
            ]
            .concat()
        } else {
            h.as_bytes().to_vec()
        };
        (
            Hostile {
                head,
                read: read.clone(),
            },
            read,
        )
    }

    #[test]
    fn huge_names_are_refused_before_they_are_read() {
        let plain = ScanLimits {
            unpacked_bytes: u64::MAX,
            layer_bytes: u64::MAX,
            ..LIMITS
        };
        for (kind, what) in [
            (tar::EntryType::GNULongName, "tar entry name"),
            (tar::EntryType::GNULongLink, "tar entry name"),
            (tar::EntryType::XHeader, "tar extended header"),
            (tar::EntryType::XGlobalHeader, "tar extended header"),
        ] {
            let (layer, read) = hostile(kind, 1 << 30);
            let err = scan(layer, Compression::None, plain).expect_err("refused");
            assert!(
                matches!(&err, ScanError::TooLarge { what: w, .. } if w == what),
                "{kind:?}: {err}"
            );
            assert!(read.get() < 64 << 10, "{kind:?}: {} bytes read", read.get());
        }
        // a PAX path within the record limit but longer than a name may be
        let value = "a".repeat(NAME_BYTES as usize + 1);
        // the record's length counts its own four digits
        let record = format!("{} path={value}\n", value.len() + 11);
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_path("PaxHeaders/x").expect("path");
        h.set_size(record.len() as u64);
        h.set_cksum();
        let mut layer = h.as_bytes().to_vec();
        layer.extend_from_slice(record.as_bytes());
        layer.resize(layer.len().div_ceil(512) * 512 + 1024, 0);
        let err = scan(&layer[..], Compression::None, LIMITS).expect_err("refused");
        assert!(
            matches!(&err, ScanError::TooLarge { what, limit } if what == "tar entry name" && *limit == NAME_BYTES),
            "{err}"
        );
    }

    #[test]
    fn long_names_within_the_limit_are_read() {
        let deep = format!("release-manifests/{}/0000_cvo.yaml", "d".repeat(300));
        let layer = tar_gz(&[
            (deep.as_str(), b"kind: Deployment"),
            (IMAGE_REFERENCES, b"{}"),
        ]);
        let scan = scan(&layer[..], Compression::Gzip, LIMITS).expect("scans");
        assert!(scan.has_release_manifests);
        assert_eq!(scan.image_references.as_deref(), Some(&b"{}"[..]));
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
