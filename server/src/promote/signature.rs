//! OpenShift release signatures: fetched from a signature store and checked with `gpgv`.
//!
//! A store serves the signatures of a payload digest at
//! `{store}/sha256={hex}/signature-{n}`, `n` counting from 1 until the first 404. Each is an
//! OpenPGP signed message (not a detached signature) whose content is a JSON document naming
//! the signed manifest digest and the reference it was published as. [`verify`] hands the
//! message to Debian's `gpgv` with the given keyring — no shell, an empty home directory —
//! accepts it only on a good and valid signature, and then checks the signed document's type
//! and digest.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::formats::payload::is_sha256_digest;

/// The `type` of a container image signature.
pub const SIGNATURE_TYPE: &str = "atomic container signature";
/// Most signatures fetched for one digest (and written, by [`super::signature_dir`]).
pub const MAX_SIGNATURES: usize = 16;
/// Largest signature accepted.
const MAX_SIGNATURE_BYTES: usize = 64 << 10;
/// Longest a `gpgv` run may take.
const GPGV_TIMEOUT: Duration = Duration::from_secs(30);

/// Why signatures could not be fetched or a signature is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// Not a `sha256:` digest.
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    /// The store could not be reached or answered with an error.
    #[error("signature store request {url} failed: {reason}")]
    Fetch {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// A signature larger than allowed.
    #[error("signature {url} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// `gpgv` could not be run.
    #[error("cannot run gpgv: {0}")]
    Gpgv(String),
    /// The signature does not verify: altered, corrupt, or not a signature at all.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The signing key is not in the keyring.
    #[error("signed by key {key_id}, which is not in the keyring")]
    UnknownKey {
        /// The long key id from the signature.
        key_id: String,
    },
    /// The signed content is not a signature document.
    #[error("malformed signed content: {0}")]
    Malformed(String),
    /// The signed document is not an image signature.
    #[error("signed content has type {found:?}, not {SIGNATURE_TYPE:?}")]
    WrongType {
        /// Its `critical.type`.
        found: String,
    },
    /// The signature is for another manifest.
    #[error("signature is for {found}, not for {expected}")]
    DigestMismatch {
        /// The digest asked about.
        expected: String,
        /// The digest signed.
        found: String,
    },
}

impl SignatureError {
    /// A short stable name of the error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            SignatureError::InvalidDigest(_) => "invalid_digest",
            SignatureError::Fetch { .. } => "fetch",
            SignatureError::TooLarge { .. } => "too_large",
            SignatureError::Gpgv(_) => "gpgv",
            SignatureError::BadSignature(_) => "bad_signature",
            SignatureError::UnknownKey { .. } => "unknown_key",
            SignatureError::Malformed(_) => "malformed",
            SignatureError::WrongType { .. } => "wrong_type",
            SignatureError::DigestMismatch { .. } => "digest_mismatch",
        }
    }
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedSignature {
    /// Fingerprint of the (primary) key that signed.
    pub fingerprint: String,
    /// `critical.identity.docker-reference`: where the image was published.
    pub identity: String,
    /// `critical.image.docker-manifest-digest`.
    pub digest: String,
    /// `optional.creator`, when present.
    pub creator: Option<String>,
    /// `optional.timestamp` (Unix seconds), when present.
    pub timestamp: Option<i64>,
}

/// The signed document.
#[derive(Debug, Deserialize)]
struct Document {
    critical: Critical,
    #[serde(default)]
    optional: Optional,
}

#[derive(Debug, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Debug, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

#[derive(Debug, Default, Deserialize)]
struct Optional {
    creator: Option<String>,
    timestamp: Option<i64>,
}

/// A signature store (`https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release`
/// and the like).
#[derive(Debug, Clone)]
pub struct SignatureStore {
    /// The store's base URL, without a trailing slash.
    pub base_url: String,
    http: reqwest::Client,
}

impl SignatureStore {
    /// A store at `base_url`, with a per-request timeout.
    pub fn new(base_url: impl Into<String>, timeout: Duration) -> Result<Self, SignatureError> {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| SignatureError::Fetch {
                url: base_url.clone(),
                reason: e.to_string(),
            })?;
        Ok(SignatureStore { base_url, http })
    }

    /// Every signature of `digest` (`sha256:…`), in store order; empty when it has none.
    pub async fn fetch(&self, digest: &str) -> Result<Vec<Vec<u8>>, SignatureError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|_| is_sha256_digest(digest))
            .ok_or_else(|| SignatureError::InvalidDigest(digest.to_string()))?;
        let mut out = Vec::new();
        for n in 1..=MAX_SIGNATURES {
            let url = format!("{}/sha256={hex}/signature-{n}", self.base_url);
            let fetch_error = |e: reqwest::Error| SignatureError::Fetch {
                url: url.clone(),
                reason: e.to_string(),
            };
            let mut response = self.http.get(&url).send().await.map_err(fetch_error)?;
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                break;
            }
            if !response.status().is_success() {
                return Err(SignatureError::Fetch {
                    url,
                    reason: format!("http {}", response.status()),
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
                if body.len() + chunk.len() > MAX_SIGNATURE_BYTES {
                    return Err(SignatureError::TooLarge {
                        url,
                        limit: MAX_SIGNATURE_BYTES,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            out.push(body);
        }
        Ok(out)
    }
}

/// Checks `signature` (an OpenPGP signed message) against the public keys exported into
/// `keyring` (`gpg --export`) and the manifest `digest`; see the module docs.
pub async fn verify(
    signature: &[u8],
    keyring: &Path,
    digest: &str,
) -> Result<VerifiedSignature, SignatureError> {
    let keyring = std::path::absolute(keyring)
        .map_err(|e| SignatureError::Gpgv(format!("keyring {}: {e}", keyring.display())))?;
    // gpgv must not read or write a user's own keys
    let home = tempfile::tempdir().map_err(|e| SignatureError::Gpgv(e.to_string()))?;
    let mut child = tokio::process::Command::new("gpgv")
        .arg("--homedir")
        .arg(home.path())
        .arg("--keyring")
        .arg(&keyring)
        .args(["--status-fd", "2", "--output", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| SignatureError::Gpgv(e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| SignatureError::Gpgv("no stdin".to_string()))?;
    let input = signature.to_vec();
    let writer = tokio::spawn(async move {
        // gpgv may stop reading early on garbage; its verdict tells what went wrong
        let _ = stdin.write_all(&input).await;
    });
    let output = tokio::time::timeout(GPGV_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| SignatureError::Gpgv("timed out".to_string()))?
        .map_err(|e| SignatureError::Gpgv(e.to_string()))?;
    let _ = writer.await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let verdict = Verdict::parse(&stderr);
    if let Some(key_id) = verdict.missing_key {
        return Err(SignatureError::UnknownKey { key_id });
    }
    let fingerprint = match (output.status.success(), verdict.good, verdict.valid) {
        (true, true, Some(fpr)) if !verdict.bad => fpr,
        _ => {
            let reason = verdict
                .message
                .unwrap_or_else(|| format!("gpgv exited with {}", output.status));
            return Err(SignatureError::BadSignature(reason));
        }
    };
    let document: Document = serde_json::from_slice(&output.stdout)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if document.critical.kind != SIGNATURE_TYPE {
        return Err(SignatureError::WrongType {
            found: document.critical.kind,
        });
    }
    let signed = document.critical.image.docker_manifest_digest;
    if signed != digest {
        return Err(SignatureError::DigestMismatch {
            expected: digest.to_string(),
            found: signed,
        });
    }
    Ok(VerifiedSignature {
        fingerprint,
        identity: document.critical.identity.docker_reference,
        digest: signed,
        creator: document.optional.creator,
        timestamp: document.optional.timestamp,
    })
}

/// What `gpgv`'s status lines and messages say.
#[derive(Debug, Default, PartialEq, Eq)]
struct Verdict {
    good: bool,
    bad: bool,
    /// Fingerprint of the primary key from `VALIDSIG`.
    valid: Option<String>,
    missing_key: Option<String>,
    /// The last human-readable complaint.
    message: Option<String>,
}

impl Verdict {
    fn parse(stderr: &str) -> Verdict {
        let mut v = Verdict::default();
        for line in stderr.lines() {
            if let Some(status) = line.strip_prefix("[GNUPG:] ") {
                let fields: Vec<&str> = status.split_whitespace().collect();
                match fields.as_slice() {
                    ["GOODSIG", ..] => v.good = true,
                    ["BADSIG", ..] | ["EXPSIG", ..] | ["EXPKEYSIG", ..] | ["REVKEYSIG", ..] => {
                        v.bad = true;
                        v.message.get_or_insert_with(|| status.to_string());
                    }
                    ["VALIDSIG", fpr, rest @ ..] => {
                        v.valid = Some(rest.get(8).unwrap_or(fpr).to_string());
                    }
                    ["NO_PUBKEY", key, ..] => v.missing_key = Some(key.to_string()),
                    ["ERRSIG", key, _, _, _, _, rc, ..] if *rc == "9" => {
                        v.missing_key = Some(key.to_string());
                    }
                    ["NODATA", ..] => {
                        v.message = Some("no OpenPGP signed data".to_string());
                    }
                    _ => {}
                }
            } else if let Some(message) = line.strip_prefix("gpgv: ") {
                let lower = message.to_lowercase();
                if lower.contains("fatal") || lower.contains("bad") || lower.contains("invalid") {
                    v.message = Some(message.trim().to_string());
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_decide() {
        let good = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 6282C2D209962A3D Test <t@e>\n\
            [GNUPG:] VALIDSIG E4B7 2026-11-25 1795603420 0 4 0 22 8 00 PRIMARY\n";
        let v = Verdict::parse(good);
        assert!(v.good && !v.bad);
        assert_eq!(v.valid.as_deref(), Some("PRIMARY"));
        let missing = "[GNUPG:] ERRSIG 6282C2D209962A3D 22 8 00 1795603420 9 E4B7\n\
            [GNUPG:] NO_PUBKEY 6282C2D209962A3D\n";
        assert_eq!(
            Verdict::parse(missing).missing_key.as_deref(),
            Some("6282C2D209962A3D")
        );
        let corrupt = "gpgv: Fatal: zlib inflate problem: invalid distance too far back\n";
        let v = Verdict::parse(corrupt);
        assert!(!v.good);
        assert!(v.message.is_some_and(|m| m.contains("zlib")));
    }
}
