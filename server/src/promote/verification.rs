//! Whether a release may be promoted as far as its signature goes: the configured signature
//! store and keyring, asked for a payload digest.

use std::path::PathBuf;

use app::model::promotion::SignatureStatus;

use super::signature::{verify, SignatureStore};

/// A configured signature check: where signatures are and which keys are trusted.
#[derive(Clone)]
pub struct SignatureCheck {
    store: SignatureStore,
    keyring: PathBuf,
}

impl SignatureCheck {
    /// Signatures from `store`, trusted when made by a key in `keyring`.
    pub fn new(store: SignatureStore, keyring: PathBuf) -> SignatureCheck {
        SignatureCheck { store, keyring }
    }

    /// The status of `digest`: verified by the first valid signature, or why none is valid.
    pub async fn status(&self, digest: &str) -> SignatureStatus {
        let signatures = match self.store.fetch(digest).await {
            Ok(s) => s,
            Err(e) => {
                return SignatureStatus::Invalid {
                    reason: e.to_string(),
                }
            }
        };
        if signatures.is_empty() {
            return SignatureStatus::Invalid {
                reason: format!("the signature store has no signature for {digest}"),
            };
        }
        let mut reasons = Vec::new();
        for (i, signature) in signatures.iter().enumerate() {
            match verify(signature, &self.keyring, digest).await {
                Ok(v) => {
                    return SignatureStatus::Verified {
                        fingerprint: v.fingerprint,
                        identity: v.identity,
                    }
                }
                Err(e) => reasons.push(format!("signature-{}: {e}", i + 1)),
            }
        }
        SignatureStatus::Invalid {
            reason: reasons.join("; "),
        }
    }
}
