//! Runs promotion jobs: claims one (a lease in the database, so each job runs on one worker
//! at a time, across replicas too), and moves it planned → copying → publishing → verifying
//! → succeeded, or failed with the reason. Every state change is an event. Each step can be
//! done again with the same result (copies skip what is there; the payload is rebuilt
//! byte-for-byte), so a job whose worker died is simply run again from its last state by
//! whoever claims it once the lease has run out. The digest of the new payload is recorded
//! before anything is pushed to the release repository, so a promotion that fails after that
//! keeps its name: a name that may have been pushed is never given to another release.
//!
//! Once every digest is checked at the target, the worker writes the release signature
//! message of the new payload and, with a signing key, signs it into the signature store;
//! the result is recorded (a `signed` step) before the job succeeds. Signing comes after
//! publishing, so its failure cannot take the published release back: the promotion
//! succeeds and shows why its release is not signed. A job resumed after that step keeps
//! the recorded signature rather than signing again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use app::model::promotion::{
    PromotionPlan, PromotionProgress, PromotionState, ReleaseSignature, SignatureStatus,
    SigningStatus,
};
use chrono::Utc;
use rand::RngCore;
use tokio::sync::{watch, Notify};

use super::copy::{Copier, CopyItem, Progress};
use super::notify::Notifier;
use super::pipeline::{self, PipelineRequest};
use super::plan::{by_digest, repository};
use super::rebuild::{prepare, Rewrite};
use super::signature_dir::SignatureDir;
use super::signing::{signature_message, Signer, CREATOR};
use super::verification::SignatureCheck;
use super::PromoteError;
use crate::events::{self, PROMOTION_STATE};
use crate::store::events::NewEvent;
use crate::store::promotions::{PromotionRow, StateChange};
use crate::store::Store;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How long a claim lasts without renewal; a dead worker's job is taken over after it.
    pub lease: Duration,
    /// How often to look for jobs when nobody wakes the worker.
    pub interval: Duration,
    /// How often a running job's progress is saved.
    pub progress_every: Duration,
    /// At shutdown, how long the running job's current step may take to finish; after
    /// that it is cut off and its lease freed, and whoever claims it next resumes it.
    pub shutdown_grace: Duration,
    /// How long a target's release pipeline may take to push the release.
    pub pipeline_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            lease: Duration::from_secs(15),
            interval: Duration::from_secs(5),
            progress_every: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(20),
            pipeline_timeout: Duration::from_secs(3 * 3600),
        }
    }
}

/// The promotion worker.
#[derive(Clone)]
pub struct PromotionWorker {
    store: Store,
    copier: Copier,
    signatures: Option<SignatureCheck>,
    notifier: Notifier,
    wake: Arc<Notify>,
    config: WorkerConfig,
    owner: String,
    live: Option<crate::live::Live>,
    publishing: Option<super::publishing::Publishing>,
    signing: Option<(Signer, SignatureDir)>,
}

/// How a job run ended.
enum Outcome {
    Done,
    /// Stopped for shutdown or because the lease was lost; someone resumes it.
    Interrupted,
}

impl PromotionWorker {
    /// A worker; `wake` makes it look for jobs at once (a promotion was requested).
    pub fn new(
        store: Store,
        copier: Copier,
        signatures: Option<SignatureCheck>,
        notifier: Notifier,
        wake: Arc<Notify>,
        config: WorkerConfig,
    ) -> PromotionWorker {
        let mut id = [0u8; 6];
        rand::rng().fill_bytes(&mut id);
        PromotionWorker {
            store,
            copier,
            signatures,
            notifier,
            wake,
            config,
            owner: format!("{}-{}", crate::replica_name(), hex::encode(id)),
            live: None,
            publishing: None,
            signing: None,
        }
    }

    /// Adopts and announces published releases as their targets ask.
    pub fn with_publishing(mut self, publishing: super::publishing::Publishing) -> Self {
        self.publishing = Some(publishing);
        self
    }

    /// Signs every published release with `signer`, into `store`; without this, the
    /// signature message is written and kept unsigned.
    pub fn with_signing(mut self, signer: Signer, store: SignatureDir) -> Self {
        self.signing = Some((signer, store));
        self
    }

    /// Announces progress to the pages following a promotion.
    pub fn with_live(mut self, live: crate::live::Live) -> Self {
        self.live = Some(live);
        self
    }

    async fn save_progress(
        &self,
        id: i64,
        progress: &PromotionProgress,
    ) -> Result<(), PromoteError> {
        self.store.set_progress(id, progress).await?;
        if let Some(live) = &self.live {
            live.progress(id).await;
        }
        Ok(())
    }

    /// This worker's lease owner name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Runs jobs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(owner = %self.owner, "promotion worker started");
        loop {
            if *stop.borrow() {
                break;
            }
            match self.run_next(&mut stop).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "promotion worker: claiming a job failed"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.interval) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!("promotion worker stopped");
    }

    /// Claims and runs one job; `false` when there was none.
    pub async fn run_next(&self, stop: &mut watch::Receiver<bool>) -> Result<bool, PromoteError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
        let Some(id) = self.store.claim_promotion(&self.owner, now, until).await? else {
            return Ok(false);
        };
        let Some(row) = self.store.promotion(id).await? else {
            return Ok(true);
        };
        tracing::info!(promotion = id, state = %row.state, owner = %self.owner, "promotion claimed");
        let (lost_tx, mut lost) = watch::channel(false);
        let keeper = tokio::spawn(keep_lease(
            self.store.clone(),
            id,
            self.owner.clone(),
            self.config.lease,
            lost_tx,
        ));
        let job = self.run_job(&row, stop.clone());
        tokio::pin!(job);
        let result = tokio::select! {
            result = &mut job => Some(result),
            _ = stopping(stop) => {
                tracing::info!(promotion = id, grace = ?self.config.shutdown_grace, "shutting down: letting the current step finish");
                tokio::select! {
                    result = tokio::time::timeout(self.config.shutdown_grace, &mut job) => result.ok(),
                    _ = lost.changed() => None,
                }
            }
            _ = lost.changed() => {
                tracing::warn!(promotion = id, "lease lost; another worker continues the promotion");
                None
            }
        };
        let outcome = match result {
            Some(Ok(())) => Outcome::Done,
            Some(Err(PromoteError::Interrupted)) | None => Outcome::Interrupted,
            Some(Err(e)) => {
                tracing::warn!(promotion = id, error = %e, "promotion failed");
                let detail = e.to_string();
                if let Err(e2) = self
                    .emit(
                        id,
                        StateChange {
                            state: PromotionState::Failed,
                            detail,
                            result_digest: None,
                            result_pull_spec: None,
                            progress: None,
                            signature: None,
                        },
                    )
                    .await
                {
                    tracing::error!(promotion = id, error = %e2, "recording the failure failed");
                }
                self.finished(id).await;
                Outcome::Done
            }
        };
        keeper.abort();
        if let Outcome::Interrupted = outcome {
            tracing::info!(
                promotion = id,
                "promotion interrupted; its lease is freed for whoever resumes it"
            );
            if let Err(e) = self.store.release_lease(id, &self.owner).await {
                tracing::warn!(promotion = id, error = %e, "releasing the lease failed");
            }
        }
        Ok(true)
    }

    /// Runs a job's remaining steps. When `stop` has turned true, no new step begins: the
    /// job ends with [`PromoteError::Interrupted`] and is resumed later.
    async fn run_job(
        &self,
        row: &PromotionRow,
        stop: watch::Receiver<bool>,
    ) -> Result<(), PromoteError> {
        let next_step = || {
            if *stop.borrow() {
                Err(PromoteError::Interrupted)
            } else {
                Ok(())
            }
        };
        let id = row.id;
        let plan = row
            .plan()
            .ok_or_else(|| PromoteError::Invalid(format!("promotion {id} has no readable plan")))?;
        if row.state() == PromotionState::Succeeded || row.state() == PromotionState::Failed {
            return Ok(());
        }
        self.emit(id, StateChange::to(PromotionState::Copying))
            .await?;
        if let Some(check) = &self.signatures {
            if let SignatureStatus::Invalid { reason } = check.status(&row.source_digest).await {
                return Err(PromoteError::Signature(reason));
            }
        }
        if let Some(url) = plan.target.pipeline_url.as_deref() {
            next_step()?;
            return self.run_pipeline(row, &plan, url).await;
        }

        let items: Vec<CopyItem> = plan
            .images
            .iter()
            .map(|i| CopyItem {
                source: i.source.clone(),
                target_repo: row.content_repo.clone(),
            })
            .collect();
        let progress = Progress::default();
        let copy = self.copier.copy_images(&items, &progress);
        tokio::pin!(copy);
        let mut tick = tokio::time::interval(self.config.progress_every);
        let stats = loop {
            tokio::select! {
                stats = &mut copy => break stats?,
                _ = tick.tick() => {
                    if let Err(e) = self.save_progress(id, &to_model(&progress)).await {
                        tracing::warn!(promotion = id, error = %e, "saving progress failed");
                    }
                }
            }
        };
        let final_progress = to_model(&progress);
        self.save_progress(id, &final_progress).await?;
        tracing::info!(
            promotion = id,
            copied = stats.blobs_copied,
            mounted = stats.blobs_mounted,
            skipped = stats.blobs_skipped,
            bytes = stats.bytes_copied,
            "images copied"
        );

        next_step()?;
        self.emit(id, StateChange::to(PromotionState::Publishing))
            .await?;
        let images: BTreeMap<String, String> = plan
            .images
            .iter()
            .map(|i| (i.name.clone(), i.destination.clone()))
            .collect();
        let source_payload = by_digest(&row.source_pull_spec, &row.source_digest);
        let destination = format!("{}:{}", row.release_repo, row.name);
        let prepared = prepare(
            &self.copier,
            &source_payload,
            &Rewrite {
                name: row.name.clone(),
                previous: row.previous(),
                images,
                from_release: source_payload.clone(),
                created: row.requested_at,
            },
            &destination,
        )
        .await?;
        // from here on the name is spent, even if the promotion fails: it is never reused
        // (the pull spec is recorded once the push is done)
        self.emit_as(
            id,
            "pushing",
            StateChange {
                state: PromotionState::Publishing,
                detail: String::new(),
                result_digest: Some(prepared.digest().to_string()),
                result_pull_spec: None,
                progress: None,
                signature: None,
            },
        )
        .await?;
        let published = prepared.push(&self.copier).await?;
        let result_pull_spec = format!("{}@{}", repository(&destination), published.digest);
        next_step()?;
        self.emit(
            id,
            StateChange {
                state: PromotionState::Verifying,
                detail: String::new(),
                result_digest: Some(published.digest.clone()),
                result_pull_spec: Some(result_pull_spec.clone()),
                progress: None,
                signature: None,
            },
        )
        .await?;

        let mut missing = Vec::new();
        for reference in plan
            .images
            .iter()
            .map(|i| i.destination.clone())
            .chain([result_pull_spec.clone(), destination.clone()])
        {
            if !self.copier.resolves(&reference).await? {
                missing.push(reference);
            }
        }
        if !missing.is_empty() {
            return Err(PromoteError::Invalid(format!(
                "after copying, the target does not have {}",
                missing.join(", ")
            )));
        }
        next_step()?;
        let signature = match row.release_signature() {
            Some(recorded) if recorded.digest == published.digest => recorded,
            _ => self.sign(id, &result_pull_spec, &published.digest).await,
        };
        self.emit_as(
            id,
            "signed",
            StateChange {
                state: PromotionState::Verifying,
                detail: String::new(),
                result_digest: Some(published.digest.clone()),
                result_pull_spec: Some(result_pull_spec.clone()),
                progress: None,
                signature: Some(signature),
            },
        )
        .await?;
        // the release is published: what follows may fail without failing the promotion
        if let Some(publishing) = &self.publishing {
            publishing
                .after_publish(row, &plan.target.publishing, &published.digest)
                .await?;
        }
        self.emit(
            id,
            StateChange {
                state: PromotionState::Succeeded,
                detail: String::new(),
                result_digest: Some(published.digest),
                result_pull_spec: Some(result_pull_spec),
                progress: Some(final_progress),
                signature: None,
            },
        )
        .await?;
        tracing::info!(promotion = id, name = %row.name, target = %row.target, "promotion succeeded");
        self.finished(id).await;
        Ok(())
    }

    /// Has the target's release pipeline promote `row`: starts it once (a resumed job does
    /// not start it again), waits for the release's tag at the release repository, checks
    /// it and records it as published.
    async fn run_pipeline(
        &self,
        row: &PromotionRow,
        plan: &PromotionPlan,
        url: &str,
    ) -> Result<(), PromoteError> {
        let id = row.id;
        let destination = format!("{}:{}", row.release_repo, row.name);
        self.emit(id, StateChange::to(PromotionState::Publishing))
            .await?;
        let waiting = StateChange {
            detail: format!("the release pipeline publishes {destination}"),
            ..StateChange::to(PromotionState::Publishing)
        };
        // recorded before the request: if the process dies in between, the pipeline is
        // not started twice (the wait then ends in a timeout that says so)
        if self.emit_once(id, "pipeline-started", waiting).await? {
            let request = PipelineRequest {
                release_stream: row.source_stream.clone(),
                target_release_stream: row.target.clone(),
                release: by_digest(&row.source_pull_spec, &row.source_digest),
                release_name: row.name.clone(),
                previous_releases: row.previous().join(","),
                content_mirror_pushspec: row.content_repo.clone(),
                release_mirror_pushspec: row.release_repo.clone(),
                streamgate_promotion: id,
                requested_by: row.requested_by.clone(),
            };
            let accepted = pipeline::trigger(url, &request).await?;
            tracing::info!(
                promotion = id,
                event_listener = %accepted.event_listener,
                event = %accepted.event_id,
                "release pipeline started"
            );
        }
        let digest =
            pipeline::wait_for_tag(&self.copier, &destination, self.config.pipeline_timeout)
                .await?;
        let result_pull_spec = format!("{}@{digest}", repository(&destination));
        self.emit(
            id,
            StateChange {
                result_digest: Some(digest.clone()),
                result_pull_spec: Some(result_pull_spec.clone()),
                ..StateChange::to(PromotionState::Verifying)
            },
        )
        .await?;
        if !self.copier.resolves(&result_pull_spec).await? {
            return Err(PromoteError::Invalid(format!(
                "the pipeline's release {result_pull_spec} cannot be read"
            )));
        }
        let signature = match row.release_signature() {
            Some(recorded) if recorded.digest == digest => recorded,
            _ => self.sign(id, &result_pull_spec, &digest).await,
        };
        self.emit_as(
            id,
            "signed",
            StateChange {
                result_digest: Some(digest.clone()),
                result_pull_spec: Some(result_pull_spec.clone()),
                signature: Some(signature),
                ..StateChange::to(PromotionState::Verifying)
            },
        )
        .await?;
        // what the target asks for after publishing is done whoever published
        if let Some(publishing) = &self.publishing {
            publishing
                .after_publish(row, &plan.target.publishing, &digest)
                .await?;
        }
        self.emit(
            id,
            StateChange {
                result_digest: Some(digest),
                result_pull_spec: Some(result_pull_spec),
                progress: Some(PromotionProgress {
                    images_total: plan.images.len() as u64,
                    ..PromotionProgress::default()
                }),
                ..StateChange::to(PromotionState::Succeeded)
            },
        )
        .await?;
        tracing::info!(promotion = id, name = %row.name, target = %row.target, "promotion published by the release pipeline");
        self.finished(id).await;
        Ok(())
    }

    /// The signature of the payload `digest` published as `reference`: the message always,
    /// signed and stored when a key is configured, or why that failed.
    async fn sign(&self, id: i64, reference: &str, digest: &str) -> ReleaseSignature {
        let message = match signature_message(reference, digest, CREATOR, Utc::now().timestamp()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(promotion = id, error = %e, "no signature message for the published release");
                return ReleaseSignature {
                    digest: digest.to_string(),
                    message: String::new(),
                    status: SigningStatus::Failed {
                        reason: e.to_string(),
                    },
                };
            }
        };
        let status = match &self.signing {
            None => SigningStatus::Unsigned,
            Some((signer, store)) => {
                let stored = match signer.sign(message.as_bytes()).await {
                    Ok(signature) => store.store(digest, &signature).await,
                    Err(e) => Err(e),
                };
                match stored {
                    Ok(path) => {
                        tracing::info!(promotion = id, %digest, key = %signer.key(), path = %path.relative(), "release signed");
                        SigningStatus::Signed {
                            key: signer.key().to_string(),
                            path: path.relative(),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(promotion = id, %digest, error = %e, "signing the published release failed; it stays published, unsigned");
                        SigningStatus::Failed {
                            reason: e.to_string(),
                        }
                    }
                }
            }
        };
        ReleaseSignature {
            digest: digest.to_string(),
            message,
            status,
        }
    }

    /// Tells the target's webhook, if any, how a promotion ended.
    async fn finished(&self, id: i64) {
        match self.store.promotion(id).await {
            Ok(Some(row)) => {
                let progress: PromotionProgress =
                    serde_json::from_str(&row.progress).unwrap_or_default();
                let end = row.finished_at.unwrap_or_else(Utc::now);
                crate::metrics::get().promotion(
                    &row.target,
                    row.state() == PromotionState::Succeeded,
                    (end - row.requested_at).num_milliseconds() as f64 / 1000.0,
                    progress.bytes_done,
                    progress.bytes_total.saturating_sub(progress.bytes_done),
                );
                self.notifier.promotion_finished(&row).await
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(promotion = id, error = %e, "reading the promotion failed"),
        }
    }

    async fn emit(&self, id: i64, change: StateChange) -> Result<(), PromoteError> {
        let step = change.state.as_str();
        self.emit_as(id, step, change).await
    }

    /// Records `change` once per promotion and `step`: a resumed job does not record a step
    /// again.
    async fn emit_as(&self, id: i64, step: &str, change: StateChange) -> Result<(), PromoteError> {
        self.emit_once(id, step, change).await.map(|_| ())
    }

    /// [`Self::emit_as`], telling whether this was the first time `step` was recorded.
    async fn emit_once(
        &self,
        id: i64,
        step: &str,
        change: StateChange,
    ) -> Result<bool, PromoteError> {
        let payload =
            serde_json::to_string(&change).map_err(|e| PromoteError::Invalid(e.to_string()))?;
        let stored = events::ingest(
            &self.store,
            NewEvent {
                source: "streamgate".to_string(),
                kind: PROMOTION_STATE.to_string(),
                subject: id.to_string(),
                payload,
                received_at: Utc::now(),
                external_id: Some(format!("{id}:{step}")),
            },
        )
        .await?;
        Ok(stored.is_some())
    }
}

fn to_model(progress: &Progress) -> PromotionProgress {
    let s = progress.snapshot();
    PromotionProgress {
        images_done: s.images_done,
        images_total: s.images_total,
        blobs_done: s.blobs_done,
        blobs_total: s.blobs_total,
        bytes_done: s.bytes_copied,
        bytes_total: s.bytes_total,
        blobs_mounted: s.blobs_mounted,
        blobs_skipped: s.blobs_skipped,
    }
}

/// Renews the lease every third of its length; says so on `lost` when it cannot.
async fn keep_lease(
    store: Store,
    id: i64,
    owner: String,
    lease: Duration,
    lost: watch::Sender<bool>,
) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.tick().await;
    loop {
        tick.tick().await;
        let until = Utc::now() + chrono::Duration::from_std(lease).unwrap_or_default();
        match store.renew_lease(id, &owner, until).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = lost.send(true);
                return;
            }
            Err(e) => tracing::warn!(promotion = id, error = %e, "renewing the lease failed"),
        }
    }
}

/// Resolves once `stop` turns true; never when its sender is gone without saying so.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}
