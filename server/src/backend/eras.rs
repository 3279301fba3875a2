//! Each stream's era, kept in memory. Working it out reads the stream's newest read
//! release's payload (its components) and the OCP CI payloads of its minor near it — hundreds
//! of rows, for every stream page and the overview, signed-in views included — and it changes
//! only when a payload is read or bound to a release. A kept era is used while the stream's
//! newest read release is the same, no payload has been read or bound since
//! ([`crate::events::payload_generation`]), and for at most [`MAX_AGE`] (a release's creation
//! time, which picks the OCP CI payloads it is compared with, can change with its details).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use app::model::EraEvidence;

pub use crate::events::payload_generation::payload_generation as generation;

/// How long a kept era is used at most.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// The kept eras, one per stream.
#[derive(Debug, Clone, Default)]
pub struct Eras {
    kept: Arc<Mutex<HashMap<String, Kept>>>,
}

/// A stream's era, and what it was worked out from.
#[derive(Debug, Clone)]
struct Kept {
    release: String,
    generation: u64,
    at: Instant,
    era: Option<EraEvidence>,
}

impl Eras {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The era kept for `stream` when it was worked out from `release` at `generation`, not
    /// longer than [`MAX_AGE`] ago (`Some(None)`: its payload is not read).
    pub fn get(&self, stream: &str, release: &str, generation: u64) -> Option<Option<EraEvidence>> {
        self.lock()
            .get(stream)
            .filter(|k| k.release == release && k.generation == generation)
            .filter(|k| k.at.elapsed() < MAX_AGE)
            .map(|k| k.era)
    }

    /// Keeps `era`, worked out for `stream` from `release` at `generation`.
    pub fn keep(&self, stream: &str, release: &str, generation: u64, era: Option<EraEvidence>) {
        self.lock().insert(
            stream.to_string(),
            Kept {
                release: release.to_string(),
                generation,
                at: Instant::now(),
                era,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::stories::payloads::{digest, event, read, spec, NEW, STREAM};
    use crate::events::{ingest, PAYLOAD_READ, PAYLOAD_RELEASE, RC_TAGS};
    use crate::store::testing;

    /// A kept era is the one of its release and generation; a tag list leaves the generation
    /// as it is, a payload read and a payload bound to a release each advance it.
    #[tokio::test]
    async fn payloads_read_or_bound_make_kept_eras_stale() {
        let (store, _dir) = testing::sqlite().await;
        let eras = Eras::default();
        let era = Some(EraEvidence {
            era: None,
            mirrored: 1,
            built: 2,
            unknown: 3,
        });
        let first = generation(&store);
        eras.keep(STREAM, NEW, first, era);
        assert_eq!(eras.get(STREAM, NEW, first), Some(era));
        assert_eq!(
            eras.get(STREAM, "4.21.0-0.okd-scos-2026-02-12-000000", first),
            None
        );
        assert_eq!(eras.get("4.22.0-0.okd-scos", NEW, first), None);

        let tags = serde_json::json!({"name": STREAM, "tags": [{"name": NEW, "phase": "Ready",
            "pullSpec": spec(NEW), "downloadURL": ""}]});
        ingest(&store, event(RC_TAGS, STREAM, tags.to_string(), 0))
            .await
            .expect("tags");
        assert_eq!(generation(&store), first, "a tag list changes no era");
        assert_eq!(eras.get(STREAM, NEW, generation(&store)), Some(era));

        let body = serde_json::to_string(&read(&digest(1), &spec(NEW), &[])).expect("json");
        ingest(&store, event(PAYLOAD_READ, &digest(1), body, 1))
            .await
            .expect("read");
        let second = generation(&store);
        assert!(second > first, "a payload read");
        assert_eq!(eras.get(STREAM, NEW, second), None);

        let binding = serde_json::json!({"digest": digest(1), "pull_spec": spec(NEW)});
        ingest(
            &store,
            event(
                PAYLOAD_RELEASE,
                &format!("{STREAM}/{NEW}"),
                binding.to_string(),
                2,
            ),
        )
        .await
        .expect("bound");
        assert!(generation(&store) > second, "a payload bound");
    }
}
