//! Random secrets and how they are kept: session ids, CSRF tokens and API tokens are 32
//! random bytes from the operating system's generator (through `rand`'s thread-local,
//! OS-seeded CSPRNG), base64url without padding; only their sha256 is stored, and
//! presented secrets are compared in constant time.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every API token starts with, so that scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "sg_";
/// Characters of a token kept (and shown) to tell tokens apart.
pub const DISPLAY_PREFIX_LEN: usize = 10;

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// sha256 of `secret`, lowercase hex: what is stored instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two secrets are equal, in time independent of where they differ and of their
/// lengths (both are hashed first).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// A new API token: the token (shown once), its display prefix and its hash.
#[derive(Debug)]
pub struct NewToken {
    /// `sg_` and 43 characters.
    pub token: String,
    /// The first characters, stored and shown.
    pub prefix: String,
    /// sha256 of the token, stored.
    pub hash: String,
}

/// Makes a new API token.
pub fn new_api_token() -> NewToken {
    let token = format!("{TOKEN_PREFIX}{}", random_secret());
    NewToken {
        prefix: token.chars().take(DISPLAY_PREFIX_LEN).collect(),
        hash: hash_secret(&token),
        token,
    }
}

/// Whether `s` has the shape of an API token (`sg_` and 43 base64url characters).
pub fn looks_like_api_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_shaped_and_hashed() {
        let a = new_api_token();
        let b = new_api_token();
        assert_ne!(a.token, b.token);
        assert!(looks_like_api_token(&a.token), "{}", a.token);
        assert!(a.token.starts_with(&a.prefix) && a.prefix.len() == DISPLAY_PREFIX_LEN);
        assert_eq!(a.hash, hash_secret(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!looks_like_api_token("sg_short"));
        assert!(!looks_like_api_token("registry-hook-secret"));
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
        assert!(!secrets_equal("", "a"));
    }
}
