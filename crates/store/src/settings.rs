//! Small key–value facts about the installation, such as the demo data set's anchor.

use super::{Store, StoreResult};
use crate::on_pool;

impl Store {
    /// The value stored under `key`.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let v = on_pool!(self, p => {
            sqlx::query_scalar("select value from settings where key = $1")
                .bind(key)
                .fetch_optional(p)
                .await?
        });
        Ok(v)
    }

    /// Stores `value` under `key`, replacing any earlier value.
    pub async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        on_pool!(self, p => {
            sqlx::query(
                "insert into settings (key, value) values ($1, $2) \
                 on conflict (key) do update set value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(p).await?.rows_affected()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{testing, Store};

    async fn settings_round_trip(store: Store) {
        assert_eq!(store.setting("k").await.expect("read"), None);
        store.set_setting("k", "1").await.expect("write");
        store.set_setting("k", "2").await.expect("overwrite");
        assert_eq!(
            store.setting("k").await.expect("read").as_deref(),
            Some("2")
        );
    }

    #[tokio::test]
    async fn settings_round_trip_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        settings_round_trip(store).await;
    }

    #[tokio::test]
    async fn settings_round_trip_on_postgres() {
        settings_round_trip(testing::postgres().await).await;
    }
}
