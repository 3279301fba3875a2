//! A `gpg` home with one signing key, for the signature tests: signs OpenShift release
//! signature content (a signed message, not detached) and exports its public key.
//!

use std::path::{Path, PathBuf};

/// A `gpg` home with one signing key.
pub struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    pub fn new(uid: &str) -> Gpg {
        let home = tempfile::tempdir().expect("gnupg home");
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("private gnupg home");
        let status = std::process::Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--quiet", "--passphrase", "", "--quick-gen-key"])
            .args([uid, "ed25519", "sign", "never"])
            .status()
            .expect("gpg runs");
        assert!(status.success());
        Gpg { home }
    }

    pub fn sign(&self, content: &[u8]) -> Vec<u8> {
        let input = self.home.path().join("content.json");
        let output = self.home.path().join("content.sig");
        let _ = std::fs::remove_file(&output);
        std::fs::write(&input, content).expect("content");
        let status = std::process::Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--quiet", "--sign", "--output"])
            .args([&output, &input])
            .status()
            .expect("gpg runs");
        assert!(status.success());
        std::fs::read(output).expect("signature")
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> String {
        let out = std::process::Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--with-colons", "--list-secret-keys"])
            .output()
            .expect("gpg runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|f| !f.is_empty()))
            .expect("a fingerprint")
            .to_string()
    }

    pub fn export(&self, to: &Path) -> PathBuf {
        let out = std::process::Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--export"])
            .output()
            .expect("gpg runs");
        assert!(out.status.success() && !out.stdout.is_empty());
        std::fs::write(to, out.stdout).expect("keyring");
        to.to_path_buf()
    }
}
