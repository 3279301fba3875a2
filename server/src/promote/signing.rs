//! Signing the releases Streamgate publishes, as `oc adm release new` and OpenShift's release
//! signing do: every promotion writes the signature message of its new payload digest
//! ([`signature_message`]); with a signing key configured, [`Signer`] makes an OpenPGP signed
//! message of it (not a detached signature) with `gpg`, which [`super::signature_dir`] keeps
//! in the signature-store layout that `oc`, the cluster-version operator and
//! [`super::signature::SignatureStore`] read.
//!
//! The key's GnuPG home is usually a mounted Secret: read-only, owned by someone else, and
//! with Kubernetes' `..data` links. [`Signer::load`] copies it once into a private directory
//! that `gpg` (and the `gpg-agent` it starts) may write to, and [`Signer::check`] refuses a
//! key that is not there or cannot sign, so a wrong setting stops the server at start-up
//! rather than at the first promotion. `gpg` runs without a shell, with the message on
//! stdin and the signature on stdout, in batch mode with no passphrase prompt, and is
//! killed after [`GPG_TIMEOUT`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::signature::SIGNATURE_TYPE;
use crate::formats::payload::is_sha256_digest;

/// Who made a signature, in `optional.creator` (`oc` writes `oc-adm-release-new/<commit>`).
pub const CREATOR: &str = concat!("streamgate/", env!("CARGO_PKG_VERSION"));
/// Longest a `gpg` run may take.
pub const GPG_TIMEOUT: Duration = Duration::from_secs(30);
/// Most entries copied from a GnuPG home (a home holds a handful of files).
const MAX_HOME_ENTRIES: usize = 256;
/// Largest file copied from a GnuPG home.
const MAX_HOME_FILE: u64 = 16 << 20;

/// Why a release could not be signed, or the signing key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// Not a `sha256:` digest.
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    /// The pull spec is not the repository by that digest.
    #[error("invalid docker reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// The GnuPG home cannot be read or copied.
    #[error("gnupg home {path}: {reason}")]
    Home {
        /// The configured home.
        path: String,
        /// Why.
        reason: String,
    },
    /// `gpg` could not be run at all.
    #[error("cannot run gpg: {0}")]
    Gpg(String),
    /// The key is not a secret key of the home.
    #[error("signing key {key:?} has no secret key in the gnupg home {home}")]
    KeyMissing {
        /// The configured key.
        key: String,
        /// The configured home.
        home: String,
    },
    /// The key is there but cannot be used to sign.
    #[error("signing key {key:?} cannot sign: {reason}")]
    KeyUnusable {
        /// The configured key.
        key: String,
        /// Why.
        reason: String,
    },
    /// `gpg` ran and did not sign.
    #[error("gpg could not sign with key {key:?}: {reason}")]
    SignFailed {
        /// The configured key.
        key: String,
        /// What gpg said.
        reason: String,
    },
    /// The signature could not be written to the signature store.
    #[error("signature store {path}: {reason}")]
    Store {
        /// The file or directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// The digest has as many signatures as a store may list.
    #[error("signature store {path} already holds {max} signatures of this digest")]
    StoreFull {
        /// The digest's directory.
        path: String,
        /// The most a reader fetches.
        max: usize,
    },
}

/// The signed document, with its fields in the order `oc` writes them.
#[derive(Serialize)]
struct Message<'a> {
    critical: Critical<'a>,
    optional: Optional<'a>,
}

#[derive(Serialize)]
struct Critical<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    image: Image<'a>,
    identity: Identity<'a>,
}

#[derive(Serialize)]
struct Image<'a> {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: &'a str,
}

#[derive(Serialize)]
struct Identity<'a> {
    #[serde(rename = "docker-reference")]
    docker_reference: &'a str,
}

#[derive(Serialize)]
struct Optional<'a> {
    creator: &'a str,
    timestamp: i64,
}

/// The release signature message of `digest` published as `reference` (the repository by
/// that digest, `quay.io/okd/scos-release@sha256:…`), byte for byte as `oc adm release new`
/// writes it: Go's `json.MarshalIndent` with two spaces, `<`, `>` and `&` escaped as Go
/// escapes them.
pub fn signature_message(
    reference: &str,
    digest: &str,
    creator: &str,
    timestamp: i64,
) -> Result<String, SigningError> {
    if !is_sha256_digest(digest) {
        return Err(SigningError::InvalidDigest(digest.to_string()));
    }
    let invalid = |reason: &str| SigningError::InvalidReference {
        reference: reference.to_string(),
        reason: reason.to_string(),
    };
    let Some((repository, by)) = reference.rsplit_once('@') else {
        return Err(invalid("not a pull spec by digest"));
    };
    if by != digest {
        return Err(invalid(&format!("names digest {by}, not {digest}")));
    }
    if repository.is_empty()
        || reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid("no repository, or whitespace in it"));
    }
    let message = Message {
        critical: Critical {
            kind: SIGNATURE_TYPE,
            image: Image {
                docker_manifest_digest: digest,
            },
            identity: Identity {
                docker_reference: reference,
            },
        },
        optional: Optional { creator, timestamp },
    };
    let json = serde_json::to_string_pretty(&message).map_err(|e| invalid(&e.to_string()))?;
    Ok(go_escape(&json))
}

/// Go's JSON encoder escapes these inside strings (they appear nowhere else in JSON).
fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A signing key in a private copy of its GnuPG home.
#[derive(Clone)]
pub struct Signer {
    home: Arc<Home>,
    key: String,
    /// The configured home, for messages.
    source: String,
}

/// The private copy; its `gpg-agent` is stopped when the last signer goes.
struct Home {
    dir: tempfile::TempDir,
}

impl Drop for Home {
    fn drop(&mut self) {
        // the agent would notice its socket is gone, but only after a while
        let _ = std::process::Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.dir.path())
            .args(["--kill", "gpg-agent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.key)
            .field("home", &self.source)
            .finish()
    }
}

impl Signer {
    /// `key` (a key id, fingerprint or user id) of the GnuPG home `home`, copied into a
    /// private directory. Use [`Signer::check`] before relying on it.
    pub async fn load(home: &Path, key: &str) -> Result<Signer, SigningError> {
        let source = home.display().to_string();
        if key.trim().is_empty() {
            return Err(SigningError::KeyMissing {
                key: key.to_string(),
                home: source,
            });
        }
        let from = home.to_path_buf();
        let dir = tokio::task::spawn_blocking(move || copy_home(&from))
            .await
            .map_err(|e| SigningError::Home {
                path: source.clone(),
                reason: e.to_string(),
            })??;
        Ok(Signer {
            home: Arc::new(Home { dir }),
            key: key.to_string(),
            source,
        })
    }

    /// The key as configured.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Refuses a key that is not exactly one secret key of the home, or that cannot sign
    /// (expired, revoked, disabled, or without a signing capability).
    pub async fn check(&self) -> Result<(), SigningError> {
        let output = self
            .gpg(
                &["--with-colons", "--list-secret-keys", "--", &self.key],
                None,
            )
            .await?;
        if !output.status.success() {
            return Err(SigningError::KeyMissing {
                key: self.key.clone(),
                home: self.source.clone(),
            });
        }
        let listing = String::from_utf8_lossy(&output.stdout);
        let keys: Vec<Vec<&str>> = listing
            .lines()
            .filter(|l| l.starts_with("sec:"))
            .map(|l| l.split(':').collect())
            .collect();
        let unusable = |reason: String| SigningError::KeyUnusable {
            key: self.key.clone(),
            reason,
        };
        match keys.as_slice() {
            [] => Err(SigningError::KeyMissing {
                key: self.key.clone(),
                home: self.source.clone(),
            }),
            [fields] => {
                let validity = fields.get(1).copied().unwrap_or_default();
                let capabilities = fields.get(11).copied().unwrap_or_default();
                match validity {
                    "e" => Err(unusable("the key has expired".to_string())),
                    "r" => Err(unusable("the key is revoked".to_string())),
                    "d" => Err(unusable("the key is disabled".to_string())),
                    _ if !capabilities.contains('S') => Err(unusable(format!(
                        "no usable signing key or subkey (capabilities {capabilities:?})"
                    ))),
                    _ => Ok(()),
                }
            }
            many => Err(unusable(format!(
                "it names {} keys of the home; give a fingerprint",
                many.len()
            ))),
        }
    }

    /// `message` as an OpenPGP signed message made with the key.
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let output = self
            .gpg(
                &[
                    "--status-fd",
                    "2",
                    "--pinentry-mode",
                    "error",
                    "--local-user",
                    &self.key,
                    "--sign",
                    "--output",
                    "-",
                ],
                Some(message),
            )
            .await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let created = stderr
            .lines()
            .any(|l| l.starts_with("[GNUPG:] SIG_CREATED "));
        if output.status.success() && created && !output.stdout.is_empty() {
            return Ok(output.stdout);
        }
        let said: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("gpg: "))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let reason = if said.is_empty() {
            format!("gpg exited with {}", output.status)
        } else {
            said.join("; ")
        };
        Err(SigningError::SignFailed {
            key: self.key.clone(),
            reason,
        })
    }

    /// Runs `gpg` in batch mode on the private home with `args`, `input` on stdin.
    async fn gpg(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<std::process::Output, SigningError> {
        let mut child = tokio::process::Command::new("gpg")
            .args(["--batch", "--no-tty", "--no-options", "--homedir"])
            .arg(self.home.dir.path())
            .args(args)
            .env_remove("GNUPGHOME")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SigningError::Gpg(e.to_string()))?;
        let writer = match (input, child.stdin.take()) {
            (Some(input), Some(mut stdin)) => {
                let input = input.to_vec();
                Some(tokio::spawn(async move {
                    // gpg may stop reading when it fails; its own message says why
                    let _ = stdin.write_all(&input).await;
                }))
            }
            _ => None,
        };
        let output = tokio::time::timeout(GPG_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| SigningError::Gpg(format!("timed out after {GPG_TIMEOUT:?}")))?
            .map_err(|e| SigningError::Gpg(e.to_string()))?;
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        Ok(output)
    }
}

/// Copies the GnuPG home `from` into a new private directory: directories and regular
/// files (links followed), never sockets or lock files, and not Kubernetes' `..data`
/// bookkeeping (its files are reached through the links beside it). A Secret has no
/// folders, so secret key files (`<keygrip>.key`) at the top go to `private-keys-v1.d/`:
/// `oc create secret generic … --from-file=pubring.kbx --from-file=private-keys-v1.d/`
/// makes a usable home.
fn copy_home(from: &Path) -> Result<tempfile::TempDir, SigningError> {
    let fail = |path: &Path, reason: String| SigningError::Home {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(from).map_err(|e| fail(from, e.to_string()))?;
    if !meta.is_dir() {
        return Err(fail(from, "not a directory".to_string()));
    }
    let to = tempfile::Builder::new()
        .prefix("sg-gnupg-")
        .tempdir()
        .map_err(|e| fail(from, format!("cannot make a private copy: {e}")))?;
    private(to.path(), 0o700).map_err(|e| fail(from, e.to_string()))?;
    let keys_dir = to.path().join("private-keys-v1.d");
    let mut pending: Vec<(PathBuf, PathBuf)> = vec![(from.to_path_buf(), to.path().to_path_buf())];
    let mut copied = 0usize;
    while let Some((src, dst)) = pending.pop() {
        let entries = std::fs::read_dir(&src).map_err(|e| fail(&src, e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| fail(&src, e.to_string()))?;
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            if name_str.starts_with("..")
                || name_str.starts_with("S.")
                || name_str.ends_with(".lock")
            {
                continue;
            }
            copied += 1;
            if copied > MAX_HOME_ENTRIES {
                return Err(fail(
                    from,
                    format!("more than {MAX_HOME_ENTRIES} entries; is it a GnuPG home?"),
                ));
            }
            let path = entry.path();
            let meta = std::fs::metadata(&path).map_err(|e| fail(&path, e.to_string()))?;
            let flat_key = src == from && meta.is_file() && name_str.ends_with(".key");
            let target = if flat_key {
                if !keys_dir.exists() {
                    std::fs::create_dir(&keys_dir).map_err(|e| fail(&path, e.to_string()))?;
                    private(&keys_dir, 0o700).map_err(|e| fail(&path, e.to_string()))?;
                }
                keys_dir.join(&name)
            } else {
                dst.join(&name)
            };
            if meta.is_dir() {
                if !target.exists() {
                    std::fs::create_dir(&target).map_err(|e| fail(&path, e.to_string()))?;
                }
                private(&target, 0o700).map_err(|e| fail(&path, e.to_string()))?;
                pending.push((path, target));
            } else if meta.is_file() {
                if meta.len() > MAX_HOME_FILE {
                    return Err(fail(
                        &path,
                        format!("larger than {MAX_HOME_FILE} bytes; is it a GnuPG home?"),
                    ));
                }
                std::fs::copy(&path, &target).map_err(|e| fail(&path, e.to_string()))?;
                private(&target, 0o600).map_err(|e| fail(&path, e.to_string()))?;
            }
        }
    }
    Ok(to)
}

fn private(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e";

    #[test]
    fn the_message_is_written_as_oc_writes_it() {
        let reference = format!("quay.io/okd/scos-release@{DIGEST}");
        let message =
            signature_message(&reference, DIGEST, "streamgate/0.1.0", 1483228800).expect("message");
        let expected = format!(
            "{{\n  \"critical\": {{\n    \"type\": \"atomic container signature\",\n    \"image\": {{\n      \"docker-manifest-digest\": \"{DIGEST}\"\n    }},\n    \"identity\": {{\n      \"docker-reference\": \"{reference}\"\n    }}\n  }},\n  \"optional\": {{\n    \"creator\": \"streamgate/0.1.0\",\n    \"timestamp\": 1483228800\n  }}\n}}"
        );
        assert_eq!(message, expected);
    }

    #[test]
    fn the_message_escapes_as_go_does() {
        let reference = format!("quay.io/okd/scos-release@{DIGEST}");
        let message = signature_message(&reference, DIGEST, "a<b>&c\u{2028}", 1).expect("message");
        assert!(
            message.contains(r#""creator": "a\u003cb\u003e\u0026c\u2028""#),
            "{message}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&message).expect("json");
        assert_eq!(parsed["optional"]["creator"], "a<b>&c\u{2028}");
    }

    #[test]
    fn the_message_refuses_what_oc_would_not_sign() {
        let reference = format!("quay.io/okd/scos-release@{DIGEST}");
        assert!(matches!(
            signature_message(&reference, "sha256:abc", CREATOR, 1),
            Err(SigningError::InvalidDigest(d)) if d == "sha256:abc"
        ));
        let by_tag = signature_message("quay.io/okd/scos-release:4.21", DIGEST, CREATOR, 1);
        assert!(
            matches!(&by_tag, Err(SigningError::InvalidReference { reason, .. }) if reason == "not a pull spec by digest"),
            "{by_tag:?}"
        );
        let other = format!("quay.io/okd/scos-release@sha256:{}", "0".repeat(64));
        let Err(e) = signature_message(&other, DIGEST, CREATOR, 1) else {
            panic!("another digest accepted");
        };
        assert!(e.to_string().contains("names digest sha256:000"), "{e}");
        let spaced = format!("quay.io/okd/scos release@{DIGEST}");
        assert!(signature_message(&spaced, DIGEST, CREATOR, 1).is_err());
        assert!(signature_message(&format!("@{DIGEST}"), DIGEST, CREATOR, 1).is_err());
    }

    #[test]
    fn the_creator_names_streamgate_and_its_version() {
        assert_eq!(CREATOR, format!("streamgate/{}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn a_home_copy_keeps_files_and_skips_sockets_locks_and_kubernetes_bookkeeping() {
        let home = tempfile::tempdir().expect("home");
        let data = home.path().join("..2026_12_04");
        std::fs::create_dir_all(data.join("private-keys-v1.d")).expect("dirs");
        std::fs::write(data.join("pubring.kbx"), b"keys").expect("file");
        std::fs::write(data.join("private-keys-v1.d/AB.key"), b"secret").expect("file");
        std::os::unix::fs::symlink(&data, home.path().join("..data")).expect("link");
        std::os::unix::fs::symlink("..data/pubring.kbx", home.path().join("pubring.kbx"))
            .expect("link");
        std::os::unix::fs::symlink(
            "..data/private-keys-v1.d",
            home.path().join("private-keys-v1.d"),
        )
        .expect("link");
        std::fs::write(home.path().join("pubring.kbx.lock"), b"").expect("lock");
        let copy = copy_home(home.path()).expect("copied");
        let mut found = Vec::new();
        let mut dirs = vec![copy.path().to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("read") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    dirs.push(p.clone());
                }
                found.push(
                    p.strip_prefix(copy.path())
                        .expect("inside")
                        .display()
                        .to_string(),
                );
            }
        }
        found.sort();
        assert_eq!(
            found,
            [
                "private-keys-v1.d",
                "private-keys-v1.d/AB.key",
                "pubring.kbx"
            ]
        );
        assert_eq!(
            std::fs::read(copy.path().join("private-keys-v1.d/AB.key")).expect("copied"),
            b"secret"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(copy.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn key_files_of_a_flat_secret_go_to_the_private_keys_folder() {
        let home = tempfile::tempdir().expect("home");
        std::fs::write(home.path().join("pubring.kbx"), b"keys").expect("file");
        std::fs::write(home.path().join("0A1B.key"), b"secret").expect("file");
        let copy = copy_home(home.path()).expect("copied");
        assert_eq!(
            std::fs::read(copy.path().join("private-keys-v1.d/0A1B.key")).expect("moved"),
            b"secret"
        );
        assert!(!copy.path().join("0A1B.key").exists());
        assert!(copy.path().join("pubring.kbx").is_file());
    }

    #[test]
    fn a_home_that_is_not_a_directory_is_refused() {
        let file = tempfile::NamedTempFile::new().expect("file");
        let Err(e) = copy_home(file.path()) else {
            panic!("a file accepted as a home");
        };
        assert!(e.to_string().ends_with("not a directory"), "{e}");
        let Err(e) = copy_home(Path::new("/nonexistent/gnupg")) else {
            panic!("a missing home accepted");
        };
        assert!(
            e.to_string().starts_with("gnupg home /nonexistent/gnupg:"),
            "{e}"
        );
    }
}
