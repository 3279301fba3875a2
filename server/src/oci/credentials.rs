//! Registry credentials, one per registry host: anonymous, basic or a bearer token.
//!
//! Basic credentials also serve the bearer-token flow: `oci-client` answers a registry's
//! `WWW-Authenticate: Bearer realm=…` challenge by asking the realm for a token with them.
//! Credentials come from configuration or from a Docker/Podman `auth.json`
//! (`{"auths": {"quay.io": {"auth": "<base64 user:password>"}}}`).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// How to authenticate to one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials.
    Anonymous,
    /// User name and password (or robot token), sent as Basic or traded for a bearer token.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A bearer token sent as is.
    Bearer(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

impl Credential {
    /// The `oci-client` form.
    pub fn to_registry_auth(&self) -> RegistryAuth {
        match self {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Credential::Bearer(token) => RegistryAuth::Bearer(token.clone()),
        }
    }
}

/// Why credentials could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not an `auth.json`.
    #[error("malformed auth file {path}: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// Credentials by registry host (`host[:port]`); hosts not listed are accessed anonymously.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    by_host: BTreeMap<String, Credential>,
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl Credentials {
    /// Sets the credential of `host`, replacing an earlier one.
    pub fn insert(&mut self, host: impl Into<String>, credential: Credential) {
        self.by_host.insert(host.into(), credential);
    }

    /// The credential for `host`.
    pub fn for_host(&self, host: &str) -> Credential {
        self.by_host
            .get(host)
            .cloned()
            .unwrap_or(Credential::Anonymous)
    }

    /// Reads a Docker/Podman `auth.json` file; see [`Credentials::from_auth_json`].
    pub fn from_auth_file(path: &Path) -> Result<Credentials, AuthFileError> {
        let raw = std::fs::read_to_string(path).map_err(|source| AuthFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Credentials::from_auth_json(&raw).map_err(|reason| AuthFileError::Malformed {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parses the body of an `auth.json`. Keys may carry a scheme or a path
    /// (`https://index.docker.io/v1/`): only the host is kept. Keys scoped to a namespace
    /// (`quay.io/okd`) are skipped, since one client holds one credential per registry.
    pub fn from_auth_json(raw: &str) -> Result<Credentials, String> {
        let file: AuthFile = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        let mut out = Credentials::default();
        for (key, entry) in file.auths {
            let stripped = key
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let (host, path) = stripped.split_once('/').unwrap_or((stripped, ""));
            if !path.is_empty() && !key.contains("://") {
                tracing::warn!(key, "namespace-scoped registry credential skipped");
                continue;
            }
            let credential = if let Some(token) = entry.registrytoken.filter(|t| !t.is_empty()) {
                Credential::Bearer(token)
            } else if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|e| format!("auth of {key} is not base64: {e}"))?;
                let decoded = String::from_utf8(decoded)
                    .map_err(|_| format!("auth of {key} is not UTF-8"))?;
                let (username, password) = decoded
                    .split_once(':')
                    .ok_or_else(|| format!("auth of {key} is not user:password"))?;
                Credential::Basic {
                    username: username.to_string(),
                    password: password.to_string(),
                }
            } else if let (Some(username), Some(password)) = (entry.username, entry.password) {
                Credential::Basic { username, password }
            } else {
                continue;
            };
            out.insert(host, credential);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_and_podman_auth_files() {
        let basic = base64::engine::general_purpose::STANDARD.encode("robot+okd:s3cr:et");
        let raw = format!(
            r#"{{"auths": {{
                "quay.io": {{"auth": "{basic}"}},
                "https://index.docker.io/v1/": {{"username": "u", "password": "p"}},
                "registry.ci.openshift.org": {{"registrytoken": "tok"}},
                "quay.io/okd": {{"auth": "{basic}"}},
                "empty.example": {{}}
            }}}}"#
        );
        let c = Credentials::from_auth_json(&raw).expect("parses");
        assert_eq!(
            c.for_host("quay.io"),
            Credential::Basic {
                username: "robot+okd".into(),
                password: "s3cr:et".into()
            }
        );
        assert!(matches!(
            c.for_host("index.docker.io"),
            Credential::Basic { .. }
        ));
        assert_eq!(
            c.for_host("registry.ci.openshift.org"),
            Credential::Bearer("tok".into())
        );
        assert_eq!(c.for_host("empty.example"), Credential::Anonymous);
        assert_eq!(c.for_host("elsewhere:5000"), Credential::Anonymous);
        assert!(!format!("{:?}", c.for_host("quay.io")).contains("s3cr"));
    }

    #[test]
    fn bad_auth_values_are_refused() {
        let err = Credentials::from_auth_json(r#"{"auths": {"q.io": {"auth": "***"}}}"#)
            .expect_err("not base64");
        assert!(err.contains("not base64"), "{err}");
        assert!(Credentials::from_auth_json(r#"{"auths": 5}"#).is_err());
        assert!(Credentials::from_auth_json("not json").is_err());
    }
}
