//! The upgrade graph as clusters meet it: one tested edge, the edges a cluster is offered
//! (a successful run into a release of a promoted stream), and one stream's edges with the
//! versions its payloads declare, for the upgrade question and a stream's drawn graph.

use super::queries::UpgradeRow;
use super::{Store, StoreError, StoreResult};
use crate::on_pool;

/// Stream kinds whose releases clusters are offered.
const PROMOTED_KINDS: &str = "('stable', 'next')";

impl Store {
    /// The edge `from → to`, if the controller reported one.
    pub async fn upgrade_edge(&self, from: &str, to: &str) -> StoreResult<Option<UpgradeRow>> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, UpgradeRow>(
                "select from_tag, to_tag, success, failure, total, runs, updated_at from upgrades \
                 where from_tag = $1 and to_tag = $2",
            )
            .bind(from)
            .bind(to)
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }

    /// Every edge a cluster is offered: at least one successful run, into a release of a
    /// promoted stream. As `(from, to)` pairs, by source then target.
    pub async fn offered_edges(&self) -> StoreResult<Vec<(String, String)>> {
        let sql = format!(
            "select distinct u.from_tag, u.to_tag from upgrades u \
             join releases r on r.name = u.to_tag \
             join streams s on s.name = r.stream \
             where u.success > 0 and s.kind in {PROMOTED_KINDS} \
             order by u.from_tag, u.to_tag"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as(&sql).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// The promoted streams (`stable`, `next`) that list a release named `tag`, by name.
    pub async fn promoted_streams_of(&self, tag: &str) -> StoreResult<Vec<String>> {
        let sql = format!(
            "select r.stream from releases r join streams s on s.name = r.stream \
             where r.name = $1 and s.kind in {PROMOTED_KINDS} order by r.stream"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_scalar(&sql).bind(tag).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Every reported edge into a release of `stream`, by target then source.
    pub async fn upgrades_into_stream(&self, stream: &str) -> StoreResult<Vec<UpgradeRow>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, UpgradeRow>(
                "select u.from_tag, u.to_tag, u.success, u.failure, u.total, u.runs, u.updated_at \
                 from upgrades u join releases r on r.name = u.to_tag \
                 where r.stream = $1 order by u.to_tag, u.from_tag",
            )
            .bind(stream)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The versions each release of `stream` whose payload was read declares it can upgrade
    /// from (`release-metadata` `previous`), by release name.
    pub async fn declared_previous_in_stream(
        &self,
        stream: &str,
    ) -> StoreResult<Vec<(String, Vec<String>)>> {
        let rows: Vec<(String, Option<String>)> = on_pool!(self, p => {
            sqlx::query_as(
                "select release_payloads.release, payloads.previous from release_payloads \
                 join payloads on payloads.digest = release_payloads.payload_digest \
                 where release_payloads.stream = $1 order by release_payloads.release",
            )
            .bind(stream)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(release, previous)| {
                let previous = match previous {
                    Some(p) => serde_json::from_str(&p)
                        .map_err(|e| StoreError::Corrupt(format!("{release}: {e}")))?,
                    None => Vec::new(),
                };
                Ok((release, previous))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::releases::{NewRelease, NewStream, NewUpgrade};
    use crate::testing;
    use app::model::{Phase, StreamKind, Variant};

    async fn stream(tx: &mut crate::Tx, name: &str, kind: StreamKind) {
        tx.ensure_stream(&NewStream {
            name: name.into(),
            controller: "origin".into(),
            variant: Variant::OkdScos,
            kind,
            minor: Some("4.21".into()),
            seen_at: Utc::now(),
        })
        .await
        .expect("stream");
    }

    async fn release(tx: &mut crate::Tx, stream: &str, name: &str) {
        tx.upsert_release(&NewRelease {
            stream: stream.into(),
            name: name.into(),
            phase: Phase::Accepted,
            pull_spec: format!("quay.io/okd/scos-release:{name}"),
            download_url: String::new(),
            created_at: Utc::now(),
            seen_at: Utc::now(),
        })
        .await
        .expect("release");
    }

    async fn edge(tx: &mut crate::Tx, from: &str, to: &str, success: i64, failure: i64) {
        tx.upsert_upgrade(&NewUpgrade {
            from: from.into(),
            to: to.into(),
            success,
            failure,
            total: success + failure,
            runs: "[]".into(),
            seen_at: Utc::now(),
        })
        .await
        .expect("edge");
    }

    /// A cluster is offered only what a successful run reached in a promoted stream.
    async fn offered(store: Store) {
        let mut tx = store.begin().await.expect("begin");
        stream(&mut tx, "4-scos-stable", StreamKind::Stable).await;
        stream(&mut tx, "4.21.0-0.okd-scos", StreamKind::Ci).await;
        for name in [
            "4.21.0-okd-scos.1",
            "4.21.0-okd-scos.2",
            "4.21.0-okd-scos.3",
        ] {
            release(&mut tx, "4-scos-stable", name).await;
        }
        release(
            &mut tx,
            "4.21.0-0.okd-scos",
            "4.21.0-0.okd-scos-2026-11-20-101500",
        )
        .await;
        edge(&mut tx, "4.21.0-okd-scos.1", "4.21.0-okd-scos.2", 1, 0).await;
        edge(&mut tx, "4.21.0-okd-scos.1", "4.21.0-okd-scos.3", 0, 2).await;
        edge(
            &mut tx,
            "4.21.0-okd-scos.1",
            "4.21.0-0.okd-scos-2026-11-20-101500",
            3,
            0,
        )
        .await;
        edge(&mut tx, "4.21.0-okd-scos.2", "4.21.0-okd-scos.3", 2, 1).await;
        tx.commit().await.expect("commit");

        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            store.offered_edges().await.expect("read"),
            vec![
                pair("4.21.0-okd-scos.1", "4.21.0-okd-scos.2"),
                pair("4.21.0-okd-scos.2", "4.21.0-okd-scos.3"),
            ],
            "neither the failed edge nor the CI release is offered"
        );
        let failed = store
            .upgrade_edge("4.21.0-okd-scos.1", "4.21.0-okd-scos.3")
            .await
            .expect("read")
            .expect("edge");
        assert_eq!((failed.success, failed.failure), (0, 2));
        assert!(store
            .upgrade_edge("4.21.0-okd-scos.3", "4.21.0-okd-scos.1")
            .await
            .expect("read")
            .is_none());
        assert_eq!(
            store
                .promoted_streams_of("4.21.0-okd-scos.2")
                .await
                .expect("read"),
            vec!["4-scos-stable".to_string()]
        );
        assert!(store
            .promoted_streams_of("4.21.0-0.okd-scos-2026-11-20-101500")
            .await
            .expect("read")
            .is_empty());
        let into: Vec<(String, String)> = store
            .upgrades_into_stream("4-scos-stable")
            .await
            .expect("read")
            .into_iter()
            .map(|u| (u.from_tag, u.to_tag))
            .collect();
        assert_eq!(
            into,
            vec![
                ("4.21.0-okd-scos.1".into(), "4.21.0-okd-scos.2".into()),
                ("4.21.0-okd-scos.1".into(), "4.21.0-okd-scos.3".into()),
                ("4.21.0-okd-scos.2".into(), "4.21.0-okd-scos.3".into()),
            ]
        );
        assert!(store
            .declared_previous_in_stream("4-scos-stable")
            .await
            .expect("read")
            .is_empty());
    }

    #[tokio::test]
    async fn offered_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        offered(store).await;
    }

    #[tokio::test]
    async fn offered_postgres() {
        offered(testing::postgres().await).await;
    }
}
