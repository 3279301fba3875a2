//! Passwords: argon2id with the crate's default parameters, stored as PHC strings. Hashing
//! and verifying take tens of milliseconds of CPU, so both run on the blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (hashing cost grows with it).
pub const MAX_LEN: usize = 1024;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password is not acceptable; the message says why.
    #[error("{0}")]
    Weak(String),
    /// The stored hash is not a PHC string argon2 understands.
    #[error("stored password hash is unusable: {0}")]
    BadHash(String),
    /// Hashing failed.
    #[error("hashing failed: {0}")]
    Hash(String),
    /// The blocking task died.
    #[error("password task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Checks that `password` may be used.
pub fn check_acceptable(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordError::Weak(format!(
            "password is too short: use at least {MIN_LEN} characters"
        )));
    }
    if password.len() > MAX_LEN {
        return Err(PasswordError::Weak(format!(
            "password is too long: use at most {MAX_LEN} bytes"
        )));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Hashes an acceptable password into a PHC string.
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    check_acceptable(&password)?;
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Whether `password` matches the PHC string `phc`, on this thread: tens of milliseconds
/// of CPU, so only on the blocking pool (the sign-in form runs it under
/// [`super::limit::Verifications`]).
pub fn verify_blocking(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let bad = |e: argon2::password_hash::Error| PasswordError::BadHash(e.to_string());
    let parsed = PasswordHash::new(phc).map_err(bad)?;
    let params = Params::try_from(&parsed).map_err(bad)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(bad)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| PasswordError::BadHash(e.to_string()))?,
        None => Version::default(),
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(PasswordError::BadHash("no salt or hash".into()));
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(bad)?;
    let mut out = vec![0u8; expected.len()];
    let mut memory = MEMORY.take(params.block_count());
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut memory[..],
    );
    MEMORY.give_back(memory);
    match hashed {
        Ok(()) => Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes()))),
        // a password argon2 cannot take (too long for it) matches nothing
        Err(_) => Ok(false),
    }
}

/// Argon2's working memory (about 19 MiB a check), kept for the next check instead of
/// freed: checks run a few at a time ([`super::limit::Verifications`]), so a few buffers
/// serve them all, and a sign-in flood does not leave the allocator holding a fresh
/// buffer for every thread that ever checked a password.
static MEMORY: MemoryPool = MemoryPool(Mutex::new(Vec::new()));

/// Most buffers kept; more checks at once than this allocate and free their own.
const KEPT_BUFFERS: usize = 8;

struct MemoryPool(Mutex<Vec<Vec<Block>>>);

impl MemoryPool {
    fn take(&self, blocks: usize) -> Vec<Block> {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut memory = kept.unwrap_or_default();
        memory.resize(blocks, Block::default());
        memory
    }

    fn give_back(&self, memory: Vec<Block>) {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < KEPT_BUFFERS {
            kept.push(memory);
        }
    }
}

/// Whether `password` matches the PHC string `phc`.
pub async fn verify_password(password: String, phc: String) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &phc)).await?
}

/// Spends the time of a verification without a stored hash, on this thread, so that an
/// unknown user name takes as long to refuse as a wrong password.
pub fn waste_blocking(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash_blocking("streamgate-no-such-user").ok()) {
        let _ = verify_blocking(password, phc);
    }
}

/// [`waste_blocking`] on the blocking pool.
pub async fn waste_verification(password: String) {
    let _ = tokio::task::spawn_blocking(move || waste_blocking(&password)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_weak_passwords_are_refused() {
        let phc = hash_password("correct horse".into()).await.expect("hashed");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse".into(), phc.clone())
            .await
            .expect("checked"));
        assert!(!verify_password("wrong horse".into(), phc.clone())
            .await
            .expect("checked"));
        let other = hash_password("correct horse".into()).await.expect("hashed");
        assert_ne!(phc, other, "salted");
        assert!(matches!(
            hash_password("short".into()).await,
            Err(PasswordError::Weak(_))
        ));
        assert!(matches!(
            verify_password("x".into(), "not a hash".into()).await,
            Err(PasswordError::BadHash(_))
        ));
    }
}
