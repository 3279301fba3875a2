//! Bearer tokens kept in files (a mounted Secret), read each time they are used so a
//! rotated Secret takes effect without a restart. The token never leaves this module except
//! as the [`Token`] that goes into an `Authorization` header: it is not logged, stored or
//! shown, and its `Debug` form is redacted. A missing, unreadable or empty file, or one any
//! user may read, is refused with a message naming the file, never its content.

use std::path::{Path, PathBuf};

/// A token read from its file.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// `Bearer <token>`, for the `Authorization` header.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("the {what} token file {path} cannot be read: {reason}")]
    Unreadable {
        /// Whose token.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file holds nothing but white space.
    #[error("the {what} token file {path} is empty")]
    Empty {
        /// Whose token.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// Every user of the machine may read the file.
    #[error(
        "the {what} token file {path} may be read by any user (mode {mode:o}); \
         make it readable by the server only (e.g. mode 0400 or 0440)"
    )]
    WorldReadable {
        /// Whose token.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The token holds characters that cannot go into an HTTP header.
    #[error("the {what} token file {path} holds more than one line or a control character")]
    Malformed {
        /// Whose token.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
}

/// The token in `path`, trimmed; `what` names it in errors (`OpenShift API`, `GitHub`).
pub async fn read_token(what: &'static str, path: &Path) -> Result<Token, TokenFileError> {
    let unreadable = |e: std::io::Error| TokenFileError::Unreadable {
        what,
        path: path.to_path_buf(),
        reason: e.kind().to_string(),
    };
    let meta = tokio::fs::metadata(path).await.map_err(unreadable)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o004 != 0 {
            return Err(TokenFileError::WorldReadable {
                what,
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = tokio::fs::read_to_string(path).await.map_err(unreadable)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenFileError::Empty {
            what,
            path: path.to_path_buf(),
        });
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(TokenFileError::Malformed {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(Token(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[tokio::test]
    async fn a_token_file_is_read_trimmed_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "token", "sha256~abc-DEF_123\n", 0o400);
        let token = read_token("OpenShift API", &path).await.unwrap();
        assert_eq!(token.bearer(), "Bearer sha256~abc-DEF_123");
        assert_eq!(format!("{token:?}"), "Token(…)");
    }

    #[tokio::test]
    async fn missing_empty_open_and_malformed_token_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        let e = read_token("GitHub", &missing).await.unwrap_err();
        assert!(matches!(e, TokenFileError::Unreadable { .. }), "{e}");
        assert!(e.to_string().contains("GitHub token file"), "{e}");

        let empty = write(dir.path(), "empty", " \n", 0o600);
        let e = read_token("GitHub", &empty).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("the GitHub token file {} is empty", empty.display())
        );

        let open = write(dir.path(), "open", "ghp_secretvalue", 0o644);
        let e = read_token("GitHub", &open).await.unwrap_err();
        assert!(
            matches!(e, TokenFileError::WorldReadable { mode: 0o644, .. }),
            "{e}"
        );
        assert!(!e.to_string().contains("ghp_secretvalue"), "{e}");

        let two = write(dir.path(), "two", "ghp_a\nghp_b\n", 0o600);
        let e = read_token("GitHub", &two).await.unwrap_err();
        assert!(matches!(e, TokenFileError::Malformed { .. }), "{e}");
        assert!(!e.to_string().contains("ghp_a"), "{e}");
    }
}
