//! A signature store in a directory, laid out as OpenShift's signature stores are:
//! `sha256=<hex>/signature-<n>`, `n` counting from 1 with no gaps, since readers (`oc`, the
//! cluster-version operator, [`super::signature::SignatureStore`]) stop at the first one
//! missing. A signature is written to a temporary file beside its place and linked there
//! only if that name is free, so an existing signature is never replaced, a reader never
//! sees half a file, and two replicas sharing the directory take different numbers.
//! Streamgate serves the directory read-only at `/signatures/…`; [`SignaturePath`] is the
//! strict form of a name in it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::signature::MAX_SIGNATURES;
use super::signing::SigningError;
use crate::formats::payload::is_sha256_digest;

/// Largest signature file served.
pub const MAX_SERVED_BYTES: u64 = 1 << 20;

/// One signature's place: the digest's hex and the signature's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePath {
    hex: String,
    n: usize,
}

impl SignaturePath {
    /// `sha256=<hex>` and `signature-<n>` as a store names them: 64 lowercase hex digits,
    /// and a number from 1 to the most a reader fetches, without leading zeros.
    pub fn parse(dir: &str, file: &str) -> Option<SignaturePath> {
        let hex = dir.strip_prefix("sha256=")?;
        if !is_sha256_digest(&format!("sha256:{hex}")) {
            return None;
        }
        let n = file.strip_prefix("signature-")?;
        if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: usize = n.parse().ok()?;
        (1..=MAX_SIGNATURES).contains(&n).then(|| SignaturePath {
            hex: hex.to_string(),
            n,
        })
    }

    /// `sha256=<hex>/signature-<n>`.
    pub fn relative(&self) -> String {
        format!("sha256={}/signature-{}", self.hex, self.n)
    }
}

/// A signature store directory.
#[derive(Debug, Clone)]
pub struct SignatureDir {
    root: PathBuf,
}

impl SignatureDir {
    /// The store at `root`, made when missing.
    pub fn open(root: &Path) -> Result<SignatureDir, SigningError> {
        std::fs::create_dir_all(root).map_err(|e| SigningError::Store {
            path: root.display().to_string(),
            reason: e.to_string(),
        })?;
        if !root.is_dir() {
            return Err(SigningError::Store {
                path: root.display().to_string(),
                reason: "not a directory".to_string(),
            });
        }
        Ok(SignatureDir {
            root: root.to_path_buf(),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores `signature` of `digest` (`sha256:…`) under the first free number; returns its
    /// place.
    pub async fn store(
        &self,
        digest: &str,
        signature: &[u8],
    ) -> Result<SignaturePath, SigningError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|_| is_sha256_digest(digest))
            .ok_or_else(|| SigningError::InvalidDigest(digest.to_string()))?
            .to_string();
        let dir = self.root.join(format!("sha256={hex}"));
        let signature = signature.to_vec();
        let n = tokio::task::spawn_blocking(move || write_first_free(&dir, &signature))
            .await
            .map_err(|e| SigningError::Store {
                path: self.root.display().to_string(),
                reason: e.to_string(),
            })??;
        Ok(SignaturePath { hex, n })
    }

    /// The signature at `path`, `None` when there is none.
    pub async fn read(&self, path: &SignaturePath) -> Result<Option<Vec<u8>>, SigningError> {
        let file = self.root.join(path.relative());
        let fail = |e: std::io::Error| SigningError::Store {
            path: file.display().to_string(),
            reason: e.to_string(),
        };
        let meta = match tokio::fs::metadata(&file).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e)),
        };
        if !meta.is_file() {
            return Ok(None);
        }
        if meta.len() > MAX_SERVED_BYTES {
            return Err(SigningError::Store {
                path: file.display().to_string(),
                reason: format!("larger than {MAX_SERVED_BYTES} bytes"),
            });
        }
        match tokio::fs::read(&file).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }
}

/// Writes `signature` into `dir` as `signature-<n>`, `n` the first number not taken.
fn write_first_free(dir: &Path, signature: &[u8]) -> Result<usize, SigningError> {
    let fail = |path: &Path, e: std::io::Error| SigningError::Store {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".signature-")
        .tempfile_in(dir)
        .map_err(|e| fail(dir, e))?;
    temp.write_all(signature)
        .map_err(|e| fail(temp.path(), e))?;
    temp.as_file().sync_all().map_err(|e| fail(dir, e))?;
    for n in 1..=MAX_SIGNATURES {
        let target = dir.join(format!("signature-{n}"));
        match temp.persist_noclobber(&target) {
            Ok(file) => {
                // readable by a web server or sidecar serving the same directory
                let _ = file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
                return Ok(n);
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => temp = e.file,
            Err(e) => return Err(fail(&target, e.error)),
        }
    }
    Err(SigningError::StoreFull {
        path: dir.display().to_string(),
        max: MAX_SIGNATURES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e";

    fn digest() -> String {
        format!("sha256:{HEX}")
    }

    #[test]
    fn paths_are_parsed_strictly() {
        let dir = format!("sha256={HEX}");
        let p = SignaturePath::parse(&dir, "signature-1").expect("valid");
        assert_eq!(p.relative(), format!("sha256={HEX}/signature-1"));
        assert!(SignaturePath::parse(&dir, "signature-16").is_some());
        for (d, f) in [
            (dir.as_str(), "signature-0"),
            (dir.as_str(), "signature-01"),
            (dir.as_str(), "signature-17"),
            (dir.as_str(), "signature-"),
            (dir.as_str(), "signature-1x"),
            (dir.as_str(), "signature-+1"),
            (dir.as_str(), "signature-99999999999999999999999"),
            (dir.as_str(), "signature-1/.."),
            (dir.as_str(), ".signature-abc"),
            (dir.as_str(), "signature"),
            (&format!("sha256={}", &HEX[1..]), "signature-1"),
            (&format!("sha256={HEX}0"), "signature-1"),
            (&format!("sha256={}", HEX.to_uppercase()), "signature-1"),
            (&format!("sha512={HEX}"), "signature-1"),
            (&format!("sha256:{HEX}"), "signature-1"),
            ("..", "signature-1"),
            ("sha256=", "signature-1"),
        ] {
            assert_eq!(SignaturePath::parse(d, f), None, "{d}/{f}");
        }
    }

    #[tokio::test]
    async fn signatures_take_the_first_free_number_and_never_replace_one() {
        let root = tempfile::tempdir().expect("root");
        let store = SignatureDir::open(&root.path().join("store")).expect("store");
        let first = store.store(&digest(), b"one").await.expect("stored");
        assert_eq!(first.relative(), format!("sha256={HEX}/signature-1"));
        let second = store.store(&digest(), b"two").await.expect("stored");
        assert_eq!(second.relative(), format!("sha256={HEX}/signature-2"));
        assert_eq!(
            store.read(&first).await.expect("read"),
            Some(b"one".to_vec())
        );
        assert_eq!(
            store.read(&second).await.expect("read"),
            Some(b"two".to_vec())
        );

        // a gap is filled first: readers stop at the first missing number
        let dir = store.root().join(format!("sha256={HEX}"));
        std::fs::remove_file(dir.join("signature-1")).expect("removed");
        let third = store.store(&digest(), b"three").await.expect("stored");
        assert_eq!(third, first);
        assert_eq!(
            store.read(&second).await.expect("read"),
            Some(b"two".to_vec())
        );

        // no temporary file is left behind
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["signature-1", "signature-2"]);
        let missing = SignaturePath::parse(&format!("sha256={HEX}"), "signature-3").expect("ok");
        assert_eq!(store.read(&missing).await.expect("read"), None);
    }

    #[tokio::test]
    async fn a_full_digest_and_a_bad_digest_are_refused() {
        let root = tempfile::tempdir().expect("root");
        let store = SignatureDir::open(root.path()).expect("store");
        for _ in 0..MAX_SIGNATURES {
            store.store(&digest(), b"s").await.expect("stored");
        }
        let full = store.store(&digest(), b"s").await;
        assert!(
            matches!(&full, Err(SigningError::StoreFull { max, .. }) if *max == MAX_SIGNATURES),
            "{full:?}"
        );
        let bad = store.store("sha256:abc", b"s").await;
        assert!(matches!(&bad, Err(SigningError::InvalidDigest(d)) if d == "sha256:abc"));
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_written_says_where() {
        let root = tempfile::tempdir().expect("root");
        let store = SignatureDir::open(root.path()).expect("store");
        // the digest's directory is taken by a file
        std::fs::write(root.path().join(format!("sha256={HEX}")), b"").expect("file");
        let Err(e) = store.store(&digest(), b"s").await else {
            panic!("stored under a file");
        };
        assert!(
            e.to_string().starts_with(&format!(
                "signature store {}",
                root.path().join(format!("sha256={HEX}")).display()
            )),
            "{e}"
        );
        let file = root.path().join("plain");
        std::fs::write(&file, b"").expect("file");
        assert!(SignatureDir::open(&file).is_err());
    }
}
