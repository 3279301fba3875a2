//! What a target does after a promotion has published its payload (adoption into an
//! OpenShift image stream, a GitHub release), kept beside the target as configuration, and
//! how those steps ended for each promotion, projected from `promotion.step` events.

use app::model::promotion::{PromotionTarget, PublishStep, PublishStepResult, TargetPublishing};
use chrono::{DateTime, Utc};

use super::{Store, StoreResult, Tx};
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow)]
struct PublishingRow {
    target: String,
    adopt_namespace: Option<String>,
    adopt_imagestream: Option<String>,
    github_repo: Option<String>,
}

impl From<PublishingRow> for TargetPublishing {
    fn from(r: PublishingRow) -> Self {
        TargetPublishing {
            adopt_namespace: r.adopt_namespace,
            adopt_imagestream: r.adopt_imagestream,
            github_repo: r.github_repo,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StepRow {
    #[sqlx(try_from = "String")]
    step: PublishStep,
    outcome: String,
    detail: String,
    reference: Option<String>,
    recorded_at: DateTime<Utc>,
}

/// How a publishing step ended (the projection of `promotion.step`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPublishStep {
    /// The step.
    pub step: PublishStep,
    /// Whether it was done.
    pub done: bool,
    /// Where the release went, or why it did not.
    pub detail: String,
    /// What it made (`namespace/imagestream:name`, a release's page).
    #[serde(default)]
    pub reference: Option<String>,
}

const DONE: &str = "done";
const FAILED: &str = "failed";

impl Tx {
    /// Records how a step of promotion `id` ended; a later outcome of the same step
    /// replaces an earlier one.
    pub async fn record_publish_step(
        &mut self,
        id: i64,
        step: &NewPublishStep,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let outcome = if step.done { DONE } else { FAILED };
        on_tx!(self, c => {
            sqlx::query(
                "insert into promotion_steps (promotion_id, step, outcome, detail, reference, \
                 recorded_at) values ($1, $2, $3, $4, $5, $6) on conflict (promotion_id, step) \
                 do update set outcome = excluded.outcome, detail = excluded.detail, \
                 reference = excluded.reference, recorded_at = excluded.recorded_at",
            )
            .bind(id)
            .bind(step.step.as_str())
            .bind(outcome)
            .bind(&step.detail)
            .bind(&step.reference)
            .bind(at)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}

impl Store {
    /// The publishing steps of promotion `id`, adoption first.
    pub async fn publish_steps(&self, id: i64) -> StoreResult<Vec<PublishStepResult>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, StepRow>(
                "select step, outcome, detail, reference, recorded_at from promotion_steps \
                 where promotion_id = $1",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        });
        let mut steps: Vec<PublishStepResult> = rows
            .into_iter()
            .map(|r| PublishStepResult {
                step: r.step,
                done: r.outcome == DONE,
                detail: r.detail,
                reference: r.reference,
                at: r.recorded_at,
            })
            .collect();
        steps.sort_by_key(|s| s.step);
        Ok(steps)
    }

    /// What target `name` does after publishing (nothing when none was set).
    pub async fn target_publishing(&self, name: &str) -> StoreResult<TargetPublishing> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PublishingRow>(
                "select target, adopt_namespace, adopt_imagestream, github_repo \
                 from promotion_target_publishing where target = $1",
            )
            .bind(name)
            .fetch_optional(p)
            .await?
        });
        Ok(row.map(Into::into).unwrap_or_default())
    }

    /// Fills in each target's publishing settings.
    pub async fn attach_publishing(&self, targets: &mut [PromotionTarget]) -> StoreResult<()> {
        if targets.is_empty() {
            return Ok(());
        }
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PublishingRow>(
                "select target, adopt_namespace, adopt_imagestream, github_repo \
                 from promotion_target_publishing",
            )
            .fetch_all(p)
            .await?
        });
        for row in rows {
            if let Some(t) = targets.iter_mut().find(|t| t.name == row.target) {
                t.publishing = row.into();
            }
        }
        Ok(())
    }

    /// Sets what target `name` does after publishing; settings with nothing in them are
    /// removed.
    pub async fn set_target_publishing(
        &self,
        name: &str,
        publishing: &TargetPublishing,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        if publishing.is_empty() {
            return self.remove_target_publishing(name).await;
        }
        on_pool!(self, p => {
            sqlx::query(
                "insert into promotion_target_publishing (target, adopt_namespace, \
                 adopt_imagestream, github_repo, updated_at) values ($1, $2, $3, $4, $5) \
                 on conflict (target) do update set adopt_namespace = excluded.adopt_namespace, \
                 adopt_imagestream = excluded.adopt_imagestream, \
                 github_repo = excluded.github_repo, updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(&publishing.adopt_namespace)
            .bind(&publishing.adopt_imagestream)
            .bind(&publishing.github_repo)
            .bind(at)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Removes target `name`'s publishing settings (with the target itself).
    pub async fn remove_target_publishing(&self, name: &str) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query("delete from promotion_target_publishing where target = $1")
                .bind(name)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    async fn publishing_story(store: Store) {
        let at = Utc::now();
        assert_eq!(
            store.target_publishing("4-scos-next").await.unwrap(),
            TargetPublishing::default()
        );
        let set = TargetPublishing {
            adopt_namespace: Some("origin".into()),
            adopt_imagestream: Some("release-scos".into()),
            github_repo: Some("okd-project/okd-scos".into()),
        };
        store
            .set_target_publishing("4-scos-next", &set, at)
            .await
            .unwrap();
        assert_eq!(store.target_publishing("4-scos-next").await.unwrap(), set);
        let only_github = TargetPublishing {
            github_repo: Some("okd-project/okd".into()),
            ..Default::default()
        };
        store
            .set_target_publishing("4-scos-next", &only_github, at)
            .await
            .unwrap();
        assert_eq!(
            store.target_publishing("4-scos-next").await.unwrap(),
            only_github
        );
        store
            .set_target_publishing("4-scos-next", &TargetPublishing::default(), at)
            .await
            .unwrap();
        assert_eq!(
            store.target_publishing("4-scos-next").await.unwrap(),
            TargetPublishing::default()
        );

        let mut tx = store.begin().await.unwrap();
        let failed = NewPublishStep {
            step: PublishStep::GithubRelease,
            done: false,
            detail: "GitHub refused the token".into(),
            reference: None,
        };
        tx.record_publish_step(7, &failed, at).await.unwrap();
        tx.record_publish_step(
            7,
            &NewPublishStep {
                step: PublishStep::Adoption,
                done: true,
                detail: "adopted".into(),
                reference: Some("origin/release-scos:4.21.0-okd-scos.ec.0".into()),
            },
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let steps = store.publish_steps(7).await.unwrap();
        assert_eq!(
            steps.iter().map(|s| (s.step, s.done)).collect::<Vec<_>>(),
            [
                (PublishStep::Adoption, true),
                (PublishStep::GithubRelease, false)
            ]
        );
        // a later outcome of the same step replaces the earlier one
        let mut tx = store.begin().await.unwrap();
        tx.record_publish_step(
            7,
            &NewPublishStep {
                done: true,
                reference: Some("https://github.com/okd-project/okd/releases/tag/x".into()),
                ..failed
            },
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let steps = store.publish_steps(7).await.unwrap();
        assert!(steps.iter().all(|s| s.done), "{steps:?}");
        assert!(store.publish_steps(8).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn publishing_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        publishing_story(store).await;
    }

    #[tokio::test]
    async fn publishing_story_on_postgres() {
        publishing_story(testing::postgres().await).await;
    }
}
