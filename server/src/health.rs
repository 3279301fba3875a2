//! `/healthz` (the process is alive) and `/readyz` (the store answers, migrations are
//! applied, the server is not shutting down, and how fresh each controller's data is and
//! whether this replica polls it).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use crate::auth::extract::MaybeUser;
use crate::auth::Principal;
use crate::AppState;

/// Always 200 while the process serves requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the store is usable, 503 otherwise; the body details the store and each
/// controller's last successful poll. Stale polls are reported but do not fail readiness:
/// the stored history is still served. Error texts (a poll's last error, the references a
/// mirror check could not reach) name hosts and answers of upstream services: only admins
/// see them; everyone else sees that something fails and how many.
pub async fn readyz(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> Response {
    let detailed = user.as_ref().is_some_and(Principal::is_admin);
    let now = Utc::now();
    let store = state.store.ready().await;
    let controllers: Vec<serde_json::Value> = state
        .polls
        .all()
        .into_iter()
        .map(|p| {
            let role = state.polls.role(&p.controller);
            json!({
                "controller": p.controller,
                "role": role.as_ref().map(|r| r.role),
                "polled_by": role.and_then(|r| r.holder),
                "last_success_at": p.last_success_at,
                "last_success_age_seconds": p.last_success_at.map(|t| (now - t).num_seconds()),
                "last_attempt_at": p.last_attempt_at,
                "consecutive_failures": p.consecutive_failures,
                "failing": p.last_error.is_some(),
                "last_error": if detailed { p.last_error } else { None },
            })
        })
        .collect();
    let shutting_down = *state.shutting_down.borrow();
    let (status, store_detail) = match &store {
        Ok(()) if shutting_down => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"backend": state.store.backend(), "status": "ok"}),
        ),
        Ok(()) => (
            StatusCode::OK,
            json!({"backend": state.store.backend(), "status": "ok"}),
        ),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"backend": state.store.backend(), "status": "unavailable"}),
            )
        }
    };
    let failing: Vec<serde_json::Value> = match state.store.failing_mirror_checks().await {
        Ok(rows) => rows
            .into_iter()
            .map(|c| {
                let missing = serde_json::from_str::<Vec<String>>(&c.missing).unwrap_or_default();
                let unreachable =
                    serde_json::from_str::<Vec<String>>(&c.unreachable).unwrap_or_default();
                let mut check = json!({
                    "stream": c.stream,
                    "release": c.release,
                    "missing_count": missing.len(),
                    "unreachable_count": unreachable.len(),
                    "since": c.since,
                });
                if detailed {
                    check["missing"] = json!(missing);
                    check["unreachable"] = json!(unreachable);
                }
                check
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let body = json!({
        "status": if shutting_down { "shutting down" } else if store.is_ok() { "ready" } else { "not ready" },
        "replica": crate::replica_name(),
        "live_followers": state.live.followers(),
        "store": store_detail,
        "controllers": controllers,
        "mirror_integrity": {"failing": failing},
    });
    (status, Json(body)).into_response()
}
