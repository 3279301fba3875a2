//! Counters kept per database (by [`Store::identity`]), advanced when something in it
//! changes, so that what was worked out from it can be kept until then: the event log's
//! (anonymous pages, [`crate::edge::page_cache`]) and the payloads' (a stream's era,
//! [`crate::events::payload_generation`]).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use crate::store::Store;

/// One counter per database.
pub struct Generation {
    counts: LazyLock<Mutex<HashMap<String, u64>>>,
}

impl Generation {
    /// Every database at generation 0.
    pub const fn new() -> Self {
        Generation {
            counts: LazyLock::new(Mutex::default),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `store`'s database changed: its generation advances.
    pub fn advance(&self, store: &Store) {
        *self.lock().entry(store.identity()).or_default() += 1;
    }

    /// `store`'s database's generation.
    pub fn get(&self, store: &Store) -> u64 {
        self.lock()
            .get(&store.identity())
            .copied()
            .unwrap_or_default()
    }
}

impl Default for Generation {
    fn default() -> Self {
        Generation::new()
    }
}
