//! Mirror integrity: a periodic check that every digest a promoted release references — its
//! payload and each component image — still resolves in its registry. A published digest the
//! registry no longer has once broke OKD installs; Streamgate says so on the release page,
//! on the stream's badge and in `/readyz`.
//!
//! Each result is an `integrity.checked` event (stored only when it differs from the last
//! one for that release), projected into `mirror_checks`.

use std::time::Duration;

use tokio::sync::watch;

use crate::events::{self, EventError, INTEGRITY_CHECKED};
use crate::ingest::payload::PayloadReader;
use crate::store::events::NewEvent;
use crate::store::integrity::{MirrorCheck, PromotedPayload};
use crate::store::{Store, StoreError};

/// Why a check could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// Reading what to check failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Recording the result failed.
    #[error(transparent)]
    Event(#[from] EventError),
}

/// The payload's own reference: its repository at its digest.
fn payload_reference(p: &PromotedPayload) -> String {
    let repo = match p.pull_spec.split_once('@') {
        Some((repo, _)) => repo.to_string(),
        None => {
            // `host[:port]/repo:tag`: the tag's colon comes after the last slash
            let slash = p.pull_spec.rfind('/').unwrap_or(0);
            match p.pull_spec[slash..].rfind(':') {
                Some(colon) => p.pull_spec[..slash + colon].to_string(),
                None => p.pull_spec.clone(),
            }
        }
    };
    format!("{repo}@{}", p.payload_digest)
}

/// Checks one promoted release and records the result. Returns it.
pub async fn check_release(
    reader: &PayloadReader,
    store: &Store,
    release: &PromotedPayload,
) -> Result<MirrorCheck, IntegrityError> {
    let mut references = vec![payload_reference(release)];
    references.extend(store.component_images(&release.payload_digest).await?);
    let mut check = MirrorCheck {
        payload_digest: release.payload_digest.clone(),
        checked: i64::try_from(references.len()).unwrap_or(i64::MAX),
        missing: Vec::new(),
        unreachable: Vec::new(),
    };
    for reference in references {
        match reader.manifest_resolves(&reference).await {
            Ok(true) => {}
            Ok(false) => check.missing.push(reference),
            Err(e) => {
                tracing::warn!(reference = %reference, error = %e, "mirror check could not ask the registry");
                check.unreachable.push(reference);
            }
        }
    }
    let event = NewEvent {
        source: "integrity".to_string(),
        kind: INTEGRITY_CHECKED.to_string(),
        subject: format!("{}/{}", release.stream, release.release),
        payload: serde_json::to_string(&check).unwrap_or_default(),
        received_at: crate::ingest::release_controller::now_micros(),
        external_id: None,
    };
    events::ingest(store, event).await?;
    if !check.ok() {
        tracing::warn!(
            stream = %release.stream,
            release = %release.release,
            missing = check.missing.len(),
            unreachable = check.unreachable.len(),
            "mirror integrity check failed"
        );
    }
    Ok(check)
}

/// Checks every promoted release whose payload has been read; returns how many failed.
pub async fn check_all(reader: &PayloadReader, store: &Store) -> Result<usize, IntegrityError> {
    let mut failed = 0;
    for release in store.promoted_payloads().await? {
        if !check_release(reader, store, &release).await?.ok() {
            failed += 1;
        }
    }
    Ok(failed)
}

/// Checks every `interval` until `shutdown` turns true.
pub async fn run(
    reader: PayloadReader,
    store: Store,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match check_all(&reader, &store).await {
            Ok(failed) => tracing::info!(failed, "mirror integrity checked"),
            Err(e) => tracing::warn!(error = %e, "mirror integrity check failed to run"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_reference_keeps_the_repository_and_port() {
        let p = |spec: &str| PromotedPayload {
            stream: "4-scos-stable".into(),
            release: "4.20.0-okd-scos.6".into(),
            pull_spec: spec.into(),
            payload_digest: "sha256:ab".into(),
        };
        assert_eq!(
            payload_reference(&p("quay.io/okd/scos-release:4.20.0-okd-scos.6")),
            "quay.io/okd/scos-release@sha256:ab"
        );
        assert_eq!(
            payload_reference(&p("127.0.0.1:5000/okd/release:x")),
            "127.0.0.1:5000/okd/release@sha256:ab"
        );
        assert_eq!(
            payload_reference(&p("127.0.0.1:5000/okd/release@sha256:cd")),
            "127.0.0.1:5000/okd/release@sha256:ab"
        );
    }
}
