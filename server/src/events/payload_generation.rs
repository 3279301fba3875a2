//! The payload generation of each database: advanced whenever a payload is read or bound to
//! a release (by this process, or by another replica, as [`crate::live`] sees it), so that
//! what is worked out from payloads (a stream's era) can be kept until then.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use super::EventKind;
use crate::store::Store;

/// Each database's payload generation, by the database's identity.
static GENERATIONS: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Mutex::default);

fn generations() -> MutexGuard<'static, HashMap<String, u64>> {
    GENERATIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether storing an event of `kind` reads or binds a payload.
pub fn changes_payloads(kind: &str) -> bool {
    matches!(
        kind.parse::<EventKind>(),
        Ok(EventKind::PayloadRead | EventKind::PayloadRelease)
    )
}

/// A payload was read or bound in `store`: the generation advances.
pub fn payloads_changed(store: &Store) {
    *generations().entry(store.identity()).or_default() += 1;
}

/// `store`'s payload generation.
pub fn payload_generation(store: &Store) -> u64 {
    generations()
        .get(&store.identity())
        .copied()
        .unwrap_or_default()
}
