//! The payload generation of each database: advanced whenever a payload is read or bound to
//! a release (by this process, or by another replica, as [`crate::live`] sees it), so that
//! what is worked out from payloads (a stream's era) can be kept until then.

use super::EventKind;
use crate::generation::Generation;
use crate::store::Store;

/// Each database's payload generation.
static PAYLOADS: Generation = Generation::new();

/// Whether storing an event of `kind` reads or binds a payload.
pub fn changes_payloads(kind: &str) -> bool {
    matches!(
        kind.parse::<EventKind>(),
        Ok(EventKind::PayloadRead | EventKind::PayloadRelease)
    )
}

/// A payload was read or bound in `store`: the generation advances.
pub fn payloads_changed(store: &Store) {
    PAYLOADS.advance(store);
}

/// `store`'s payload generation.
pub fn payload_generation(store: &Store) -> u64 {
    PAYLOADS.get(store)
}
