//! Tells a chat room or pipeline how a promotion ended: a JSON POST to the target's webhook
//! URL with a one-line `text` (what Slack, Mattermost and most chat webhooks show) and the
//! promotion itself. Delivery is retried a few times; a failed delivery is logged and does
//! not change the promotion.

use std::time::Duration;

use app::model::promotion::PromotionState;

use crate::store::promotions::PromotionRow;
use crate::store::Store;

/// Attempts per notice.
const ATTEMPTS: u32 = 3;

/// Sends promotion notices.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    http: reqwest::Client,
    public_url: Option<String>,
}

impl Notifier {
    /// A notifier linking to `public_url` (this Streamgate) when set.
    pub fn new(store: Store, public_url: Option<String>) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("streamgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Notifier {
            store,
            http,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
        }
    }

    /// Posts the notice of a finished promotion to its target's webhook, if it has one.
    pub async fn promotion_finished(&self, row: &PromotionRow) {
        let target = match self.store.target(&row.target).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(promotion = row.id, error = %e, "reading the target failed");
                return;
            }
        };
        let Some(url) = target.webhook_url else {
            return;
        };
        let body = serde_json::json!({
            "text": self.text(row),
            "promotion": row.to_model(),
        });
        for attempt in 1..=ATTEMPTS {
            match self.http.post(&url).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(promotion = row.id, "promotion notice delivered");
                    return;
                }
                Ok(r) => tracing::warn!(
                    promotion = row.id,
                    status = r.status().as_u16(),
                    attempt,
                    "promotion notice refused"
                ),
                Err(e) => tracing::warn!(
                    promotion = row.id,
                    error = %e,
                    attempt,
                    "promotion notice not delivered"
                ),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
        }
    }

    /// The notice's one line.
    pub fn text(&self, row: &PromotionRow) -> String {
        let link = self
            .public_url
            .as_ref()
            .map(|u| format!(" {u}/promotions/{}", row.id))
            .unwrap_or_default();
        match row.state() {
            PromotionState::Succeeded => format!(
                "{} promoted to {} from {} by {}{}",
                row.name, row.target, row.source_release, row.requested_by, link
            ),
            _ => format!(
                "Promotion of {} to {} as {} failed: {}{}",
                row.source_release, row.target, row.name, row.detail, link
            ),
        }
    }
}
