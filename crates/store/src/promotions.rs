//! Promotion targets (configuration kept outside the event log) and promotion jobs
//! (projected from `promotion.*` events), with the worker's lease and progress columns.

use app::model::promotion::{
    Promotion, PromotionPlan, PromotionProgress, PromotionState, PromotionTarget, ReleaseSignature,
};
use chrono::{DateTime, Utc};

use super::{Store, StoreError, StoreResult, Tx};
use crate::{on_pool, on_tx};

/// States a worker still has to move on.
const LIVE_STATES: &str = "('planned', 'copying', 'publishing', 'verifying')";

const TARGET_COLUMNS: &str =
    "name, source_stream, content_repo, release_repo, name_template, webhook_url, pipeline_url";

const WEBHOOK_COLUMNS: &str = "name, webhook_url, webhook_secret";

const PROMOTION_COLUMNS: &str = "id, target, source_stream, source_release, source_pull_spec, \
     source_digest, name, previous, content_repo, release_repo, requested_by, override_reason, \
     state, detail, plan, result_digest, result_pull_spec, requested_at, started_at, \
     finished_at, progress, release_signature";

#[derive(sqlx::FromRow)]
struct TargetRow {
    name: String,
    source_stream: String,
    content_repo: String,
    release_repo: String,
    name_template: String,
    webhook_url: Option<String>,
    pipeline_url: Option<String>,
}

/// The public shape: whether there is a webhook, never where.
impl From<TargetRow> for PromotionTarget {
    fn from(r: TargetRow) -> Self {
        PromotionTarget {
            name: r.name,
            source_stream: r.source_stream,
            content_repo: r.content_repo,
            release_repo: r.release_repo,
            name_template: r.name_template,
            has_webhook: r.webhook_url.is_some_and(|u| !u.is_empty()),
            webhook_masked: None,
            publishing: Default::default(),
            pipeline_url: r.pipeline_url.filter(|u| !u.is_empty()),
        }
    }
}

/// A target as an admin saves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTarget {
    /// The target stream.
    pub name: String,
    /// The CI stream it takes releases of.
    pub source_stream: String,
    /// Where component images go.
    pub content_repo: String,
    /// Where the release payload goes.
    pub release_repo: String,
    /// The new release's name, with `{version}` and `{n}`.
    pub name_template: String,
    /// What happens to its webhook.
    pub webhook: WebhookChange,
}

/// What saving a target does to its webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookChange {
    /// The webhook and its secret stay as they are (a new target gets none).
    Keep,
    /// The webhook is removed.
    Remove,
    /// Notices go to `url`, signed with `secret`.
    Set {
        /// The address.
        url: String,
        /// The signing secret (a new one each time a webhook is set).
        secret: String,
    },
}

/// A target's webhook, as the notifier needs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TargetWebhook {
    /// The target.
    pub name: String,
    /// The address.
    pub webhook_url: String,
    /// The signing secret; `None` for a webhook set before notices were signed.
    pub webhook_secret: Option<String>,
}

/// A stored promotion, as the worker needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromotionRow {
    /// Id (that of its `promotion.requested` event).
    pub id: i64,
    /// Target stream.
    pub target: String,
    /// CI stream.
    pub source_stream: String,
    /// CI release.
    pub source_release: String,
    /// CI release pull spec.
    pub source_pull_spec: String,
    /// CI release payload digest.
    pub source_digest: String,
    /// New release name.
    pub name: String,
    /// `previous` (JSON array).
    pub previous: String,
    /// Content repository.
    pub content_repo: String,
    /// Release repository.
    pub release_repo: String,
    /// Who asked.
    pub requested_by: String,
    /// Admin override reason.
    pub override_reason: Option<String>,
    /// State.
    #[sqlx(try_from = "String")]
    pub state: PromotionState,
    /// Failure detail.
    pub detail: String,
    /// Plan (JSON).
    pub plan: String,
    /// Published payload digest.
    pub result_digest: Option<String>,
    /// Published payload pull spec.
    pub result_pull_spec: Option<String>,
    /// When requested.
    pub requested_at: DateTime<Utc>,
    /// When started.
    pub started_at: Option<DateTime<Utc>>,
    /// When finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Progress (JSON).
    pub progress: String,
    /// The published payload's signature (JSON of [`ReleaseSignature`]).
    pub release_signature: Option<String>,
}

impl PromotionRow {
    /// The state, `Failed` for an unknown name (never written).
    pub fn state(&self) -> PromotionState {
        self.state
    }

    /// The plan it was confirmed with.
    pub fn plan(&self) -> Option<PromotionPlan> {
        serde_json::from_str(&self.plan).ok()
    }

    /// `previous` as a list.
    pub fn previous(&self) -> Vec<String> {
        serde_json::from_str(&self.previous).unwrap_or_default()
    }

    /// The published payload's signature, once recorded.
    pub fn release_signature(&self) -> Option<ReleaseSignature> {
        self.release_signature
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    /// The page and API model.
    pub fn to_model(&self) -> Promotion {
        Promotion {
            id: self.id,
            target: self.target.clone(),
            source_stream: self.source_stream.clone(),
            source_release: self.source_release.clone(),
            source_pull_spec: self.source_pull_spec.clone(),
            name: self.name.clone(),
            previous: self.previous(),
            requested_by: self.requested_by.clone(),
            override_reason: self.override_reason.clone(),
            state: self.state(),
            detail: self.detail.clone(),
            plan: self.plan(),
            progress: serde_json::from_str(&self.progress).unwrap_or_default(),
            result_pull_spec: self.result_pull_spec.clone(),
            result_digest: self.result_digest.clone(),
            signature: self.release_signature(),
            requested_at: self.requested_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            publish_steps: Vec::new(),
        }
    }
}

/// A promotion as requested (the projection of `promotion.requested`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPromotion {
    /// The checked plan.
    pub plan: PromotionPlan,
    /// Who asked.
    pub requested_by: String,
    /// Admin override reason, when the gates had not all passed.
    pub override_reason: Option<String>,
}

/// A state change (the projection of `promotion.state`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateChange {
    /// The new state.
    pub state: PromotionState,
    /// Failure detail.
    #[serde(default)]
    pub detail: String,
    /// The published payload digest, from `publishing` on.
    #[serde(default)]
    pub result_digest: Option<String>,
    /// Its pull spec.
    #[serde(default)]
    pub result_pull_spec: Option<String>,
    /// Final copy figures, on success.
    #[serde(default)]
    pub progress: Option<PromotionProgress>,
    /// The published payload's signature, once it is written (kept by later changes that
    /// carry none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ReleaseSignature>,
}

impl StateChange {
    /// A plain move to `state`.
    pub fn to(state: PromotionState) -> StateChange {
        StateChange {
            state,
            detail: String::new(),
            result_digest: None,
            result_pull_spec: None,
            progress: None,
            signature: None,
        }
    }
}

impl Tx {
    /// Stores a requested promotion under `id` (its event's id).
    pub async fn insert_promotion(
        &mut self,
        id: i64,
        p: &NewPromotion,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let plan = &p.plan;
        let previous = serde_json::to_string(&plan.previous).unwrap_or_else(|_| "[]".into());
        let plan_json = serde_json::to_string(plan).unwrap_or_else(|_| "{}".into());
        let progress = serde_json::to_string(&PromotionProgress {
            images_total: plan.images.len() as u64,
            blobs_total: u64::from(plan.blobs),
            bytes_total: plan.bytes,
            ..Default::default()
        })
        .unwrap_or_else(|_| "{}".into());
        let result = on_tx!(self, c => {
            sqlx::query(
                "insert into promotions (id, target, source_stream, source_release, \
                 source_pull_spec, source_digest, name, previous, content_repo, release_repo, \
                 requested_by, override_reason, state, plan, requested_at, updated_at, progress) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'planned', $13, $14, \
                 $14, $15)",
            )
            .bind(id)
            .bind(&plan.target.name)
            .bind(&plan.stream)
            .bind(&plan.release)
            .bind(&plan.pull_spec)
            .bind(&plan.payload_digest)
            .bind(&plan.name)
            .bind(&previous)
            .bind(&plan.target.content_repo)
            .bind(&plan.target.release_repo)
            .bind(&p.requested_by)
            .bind(&p.override_reason)
            .bind(&plan_json)
            .bind(at)
            .bind(&progress)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = StoreError::from(e);
                if e.is_unique_violation() {
                    Err(StoreError::Conflict(format!(
                        "{} already has a release {} (or a promotion to it is running)",
                        plan.target.name, plan.name
                    )))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Applies a state change; the start and end times follow from the state.
    pub async fn set_promotion_state(
        &mut self,
        id: i64,
        change: &StateChange,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let state = change.state.as_str();
        let started = (change.state != PromotionState::Planned).then_some(at);
        let finished = change.state.is_terminal().then_some(at);
        let progress = change
            .progress
            .as_ref()
            .and_then(|p| serde_json::to_string(p).ok());
        let signature = change
            .signature
            .as_ref()
            .and_then(|s| serde_json::to_string(s).ok());
        let updated = on_tx!(self, c => {
            sqlx::query(
                "update promotions set state = $2, detail = $3, \
                 result_digest = coalesce($4, result_digest), \
                 result_pull_spec = coalesce($5, result_pull_spec), \
                 started_at = coalesce(started_at, $6), finished_at = $7, \
                 progress = coalesce($8, progress), updated_at = $9, \
                 release_signature = coalesce($10, release_signature), \
                 lease_owner = case when $7 is null then lease_owner else null end, \
                 lease_until = case when $7 is null then lease_until else null end \
                 where id = $1",
            )
            .bind(id)
            .bind(state)
            .bind(&change.detail)
            .bind(&change.result_digest)
            .bind(&change.result_pull_spec)
            .bind(started)
            .bind(finished)
            .bind(progress)
            .bind(at)
            .bind(signature)
            .execute(c)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound(format!("promotion {id}")));
        }
        Ok(())
    }

    /// The promotion `id`, inside this transaction.
    pub async fn promotion_in_tx(&mut self, id: i64) -> StoreResult<Option<PromotionRow>> {
        let sql = format!("select {PROMOTION_COLUMNS} from promotions where id = $1");
        let row = on_tx!(self, c => {
            sqlx::query_as::<_, PromotionRow>(&sql).bind(id).fetch_optional(c).await?
        });
        Ok(row)
    }

    /// Records that a promotion put `release` into `stream`.
    pub async fn insert_promoted_release(
        &mut self,
        stream: &str,
        release: &str,
        promotion: &PromotionRow,
    ) -> StoreResult<()> {
        on_tx!(self, c => {
            sqlx::query(
                "insert into promoted_releases (stream, release, promotion_id, source_stream, \
                 source_release) values ($1, $2, $3, $4, $5) on conflict (stream, release) do \
                 update set promotion_id = excluded.promotion_id, \
                 source_stream = excluded.source_stream, source_release = excluded.source_release",
            )
            .bind(stream)
            .bind(release)
            .bind(promotion.id)
            .bind(&promotion.source_stream)
            .bind(&promotion.source_release)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}

impl Store {
    /// Adds or changes a target, and sets, keeps or removes its webhook.
    pub async fn upsert_target(&self, t: &NewTarget, at: DateTime<Utc>) -> StoreResult<()> {
        let (url, secret, webhook_update) = match &t.webhook {
            WebhookChange::Keep => (None, None, ""),
            WebhookChange::Remove => (
                None,
                None,
                ", webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret",
            ),
            WebhookChange::Set { url, secret } => (
                Some(url.as_str()),
                Some(secret.as_str()),
                ", webhook_url = excluded.webhook_url, webhook_secret = excluded.webhook_secret",
            ),
        };
        let sql = format!(
            "insert into promotion_targets (name, source_stream, content_repo, release_repo, \
             name_template, webhook_url, webhook_secret, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8) on conflict (name) do update set \
             source_stream = excluded.source_stream, content_repo = excluded.content_repo, \
             release_repo = excluded.release_repo, name_template = excluded.name_template, \
             updated_at = excluded.updated_at{webhook_update}"
        );
        on_pool!(self, p => {
            sqlx::query(&sql)
                .bind(&t.name)
                .bind(&t.source_stream)
                .bind(&t.content_repo)
                .bind(&t.release_repo)
                .bind(&t.name_template)
                .bind(url)
                .bind(secret)
                .bind(at)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Has OKD's release pipeline, at the EventListener `url`, promote into target `name`
    /// (`None`: Streamgate promotes itself); whether the target exists.
    pub async fn set_target_pipeline(
        &self,
        name: &str,
        url: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = on_pool!(self, p => {
            sqlx::query(
                "update promotion_targets set pipeline_url = $1, updated_at = $2 where name = $3",
            )
            .bind(url)
            .bind(at)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// The webhook of target `name`, if it has one.
    pub async fn target_webhook(&self, name: &str) -> StoreResult<Option<TargetWebhook>> {
        let sql = format!(
            "select {WEBHOOK_COLUMNS} from promotion_targets \
             where name = $1 and webhook_url is not null and webhook_url <> ''"
        );
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, TargetWebhook>(&sql).bind(name).fetch_optional(p).await?
        });
        Ok(row)
    }

    /// Every target's webhook, by target name.
    pub async fn target_webhooks(&self) -> StoreResult<Vec<TargetWebhook>> {
        let sql = format!(
            "select {WEBHOOK_COLUMNS} from promotion_targets \
             where webhook_url is not null and webhook_url <> '' order by name"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, TargetWebhook>(&sql).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Removes a target; its promotions stay.
    pub async fn delete_target(&self, name: &str) -> StoreResult<()> {
        let n = on_pool!(self, p => {
            sqlx::query("delete from promotion_targets where name = $1")
                .bind(name)
                .execute(p)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("promotion target {name}")));
        }
        self.remove_target_publishing(name).await
    }

    /// Every target, by name.
    pub async fn targets(&self) -> StoreResult<Vec<PromotionTarget>> {
        let sql = format!("select {TARGET_COLUMNS} from promotion_targets order by name");
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, TargetRow>(&sql).fetch_all(p).await?
        });
        let mut targets: Vec<PromotionTarget> = rows.into_iter().map(Into::into).collect();
        self.attach_publishing(&mut targets).await?;
        Ok(targets)
    }

    /// The target `name`.
    pub async fn target(&self, name: &str) -> StoreResult<Option<PromotionTarget>> {
        let sql = format!("select {TARGET_COLUMNS} from promotion_targets where name = $1");
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, TargetRow>(&sql).bind(name).fetch_optional(p).await?
        });
        let mut target: Option<PromotionTarget> = row.map(Into::into);
        if let Some(t) = &mut target {
            t.publishing = self.target_publishing(name).await?;
        }
        Ok(target)
    }

    /// Targets taking releases of `stream`.
    pub async fn targets_for_stream(&self, stream: &str) -> StoreResult<Vec<PromotionTarget>> {
        let sql = format!(
            "select {TARGET_COLUMNS} from promotion_targets where source_stream = $1 order by name"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, TargetRow>(&sql).bind(stream).fetch_all(p).await?
        });
        let mut targets: Vec<PromotionTarget> = rows.into_iter().map(Into::into).collect();
        self.attach_publishing(&mut targets).await?;
        Ok(targets)
    }

    /// The promotion `id`.
    pub async fn promotion(&self, id: i64) -> StoreResult<Option<PromotionRow>> {
        let sql = format!("select {PROMOTION_COLUMNS} from promotions where id = $1");
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PromotionRow>(&sql).bind(id).fetch_optional(p).await?
        });
        Ok(row)
    }

    /// Promotions newest first, `limit` of them, older than `before` when given.
    pub async fn promotions(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<PromotionRow>> {
        let sql = format!(
            "select {PROMOTION_COLUMNS} from promotions where ($1 is null or id < $1) \
             order by id desc limit $2"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PromotionRow>(&sql)
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    /// Promotions of one CI release, newest first.
    pub async fn promotions_of_release(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Vec<PromotionRow>> {
        let sql = format!(
            "select {PROMOTION_COLUMNS} from promotions where source_stream = $1 and \
             source_release = $2 order by id desc"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PromotionRow>(&sql)
                .bind(stream)
                .bind(release)
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    /// The succeeded promotion that put `release` into `stream`, if Streamgate did.
    pub async fn promotion_of_promoted(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Option<PromotionRow>> {
        let id: Option<i64> = on_pool!(self, p => {
            sqlx::query_scalar(
                "select promotion_id from promoted_releases where stream = $1 and release = $2",
            )
            .bind(stream)
            .bind(release)
            .fetch_optional(p)
            .await?
        });
        match id {
            Some(id) => self.promotion(id).await,
            None => Ok(None),
        }
    }

    /// Names a target has or is about to have: its stream's releases, its promotions that did
    /// not fail, and those that failed after their payload was about to be pushed (a result
    /// digest is recorded before the push), whose names are spent.
    pub async fn taken_names(&self, target: &str) -> StoreResult<Vec<String>> {
        let names = on_pool!(self, p => {
            sqlx::query_scalar(
                "select name from releases where stream = $1 union \
                 select name from promotions where target = $1 and \
                 (state <> 'failed' or result_digest is not null)",
            )
            .bind(target)
            .fetch_all(p)
            .await?
        });
        Ok(names)
    }

    /// Takes the oldest promotion that needs a worker and whose lease is free or expired,
    /// leasing it to `owner` until `until`. Each job goes to one worker at a time, on
    /// PostgreSQL across replicas too.
    pub async fn claim_promotion(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let id = match self {
            Store::Sqlite(p) => {
                sqlx::query_scalar(&format!(
                    "update promotions set lease_owner = $1, lease_until = $2 where id = \
                     (select id from promotions where state in {LIVE_STATES} and \
                     (lease_until is null or lease_until < $3) order by id limit 1) returning id"
                ))
                .bind(owner)
                .bind(until)
                .bind(now)
                .fetch_optional(p)
                .await?
            }
            Store::Postgres(p) => {
                sqlx::query_scalar(&format!(
                    "update promotions set lease_owner = $1, lease_until = $2 where id = \
                     (select id from promotions where state in {LIVE_STATES} and \
                     (lease_until is null or lease_until < $3) order by id limit 1 \
                     for update skip locked) returning id"
                ))
                .bind(owner)
                .bind(until)
                .bind(now)
                .fetch_optional(p)
                .await?
            }
        };
        Ok(id)
    }

    /// Extends `owner`'s lease of `id`; `false` when another worker has taken it over.
    pub async fn renew_lease(
        &self,
        id: i64,
        owner: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, p => {
            sqlx::query(
                "update promotions set lease_until = $3 where id = $1 and lease_owner = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(until)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Gives up `owner`'s lease of `id` (on shutdown), so another worker can resume it now.
    pub async fn release_lease(&self, id: i64, owner: &str) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query(
                "update promotions set lease_owner = null, lease_until = null \
                 where id = $1 and lease_owner = $2",
            )
            .bind(id)
            .bind(owner)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Saves a running job's progress.
    pub async fn set_progress(&self, id: i64, progress: &PromotionProgress) -> StoreResult<()> {
        let json = serde_json::to_string(progress).unwrap_or_else(|_| "{}".into());
        on_pool!(self, p => {
            sqlx::query("update promotions set progress = $2 where id = $1")
                .bind(id)
                .bind(&json)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }
}

impl Store {
    /// The newest succeeded promotion to `target` before promotion `before`.
    pub async fn previous_success(
        &self,
        target: &str,
        before: i64,
    ) -> StoreResult<Option<PromotionRow>> {
        let sql = format!(
            "select {PROMOTION_COLUMNS} from promotions where target = $1 and id < $2 and \
             state = 'succeeded' order by id desc limit 1"
        );
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PromotionRow>(&sql)
                .bind(target)
                .bind(before)
                .fetch_optional(p)
                .await?
        });
        Ok(row)
    }
}

impl Store {
    /// Frees every lease: at the start of a single-process (SQLite) server, whose earlier
    /// process is gone, so its jobs resume at once instead of when their leases run out.
    pub async fn release_all_leases(&self) -> StoreResult<u64> {
        let n = on_pool!(self, p => {
            sqlx::query(
                "update promotions set lease_owner = null, lease_until = null \
                 where lease_owner is not null",
            )
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n)
    }
}
