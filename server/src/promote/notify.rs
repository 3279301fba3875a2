//! Tells a chat room or pipeline how a promotion ended: a JSON POST to the target's webhook
//! URL with a one-line `text` (what Slack, Mattermost and most chat webhooks show), when it
//! was sent (`sent_at`) and the promotion itself, signed with the target's secret in
//! `X-Streamgate-Signature` ([`super::webhook`]). Delivery is retried a few times with the
//! same bytes; a failed delivery is logged (never with the address, which is a credential)
//! and does not change the promotion.

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
        let hook = match self.store.target_webhook(&row.target).await {
            Ok(Some(hook)) => hook,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(promotion = row.id, error = %e, "reading the target failed");
                return;
            }
        };
        let body = match serde_json::to_vec(&serde_json::json!({
            "text": self.text(row),
            "sent_at": chrono::Utc::now(),
            "promotion": row.to_model(),
        })) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(promotion = row.id, error = %e, "writing the notice failed");
                return;
            }
        };
        let signature = match &hook.webhook_secret {
            Some(secret) => super::webhook::signature(secret, &body),
            None => {
                tracing::warn!(
                    promotion = row.id,
                    target = %row.target,
                    "the target's webhook has no signing secret; the notice goes unsigned \
                     until an admin sets the webhook again"
                );
                None
            }
        };
        let url = hook.webhook_url;
        for attempt in 1..=ATTEMPTS {
            let mut request = self
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            if let Some(signature) = &signature {
                request = request.header(super::webhook::SIGNATURE_HEADER, signature);
            }
            match request.send().await {
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
                    error = %e.without_url(),
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
