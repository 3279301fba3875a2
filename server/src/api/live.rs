//! `GET /api/v1/live`: server-sent events telling an open page what changed, so it can
//! reload its data without reloading itself.
//!
//! One stream per page scope (`?stream=`, `?stream=&release=`, `?promotion=`, or nothing
//! for everything). The first message, `ready`, carries the log position as its id; each
//! `change` after it carries its event's id, so a client that reconnects with
//! `Last-Event-ID` first gets what it missed from the log (or `reset` when it missed too
//! much to replay), then live changes, never one twice. Comments keep idle connections open
//! through proxies. Streams end when the server shuts down; browsers reconnect by
//! themselves, to another replica if need be.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};
use utoipa::IntoParams;

use crate::edge::error::{ApiError, ApiQuery, RETRY_AFTER};
use crate::edge::peer::Peer;
use crate::live::{Change, Follower, Refused, Scope};
use crate::AppState;

/// How many missed changes a reconnecting client is sent from the log; more means `reset`.
pub const MAX_REPLAY: i64 = 1000;

/// How often an idle stream sends a comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/live",
        get(follow).fallback(crate::edge::error::method_not_allowed),
    )
}

/// The page scope, as query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// Follow a stream (its release list, and changes that concern every page).
    pub stream: Option<String>,
    /// With `stream`: follow one release of it.
    pub release: Option<String>,
    /// Follow one promotion (its state changes and copy progress).
    pub promotion: Option<i64>,
}

/// Server-sent events of changes.
#[utoipa::path(
    get,
    path = "/api/v1/live",
    tag = "live",
    params(
        LiveQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "resume after this change: what was missed is sent from the log first"),
    ),
    responses(
        (status = 200, description = "an endless `text/event-stream`: `ready` (id: the log position), then `change` messages whose data is `{\"id\", \"kind\", \"reach\", \"stream\"?, \"release\"?, \"promotion\"?}`, and `reset` when changes were missed and the page should reload all its data", content_type = "text/event-stream", body = String),
        (status = 400, description = "unknown parameter, a release without its stream, promotion combined with stream, or a malformed Last-Event-ID", body = crate::edge::error::ErrorBody),
        (status = 429, description = "this client (address, or IPv6 /64) has the most streams open it may; `Retry-After` says when to try again", body = crate::edge::error::ErrorBody),
        (status = 503, description = "the server has the most streams open it serves; `Retry-After` says when to try again", body = crate::edge::error::ErrorBody),
    )
)]
pub async fn follow(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LiveQuery>,
) -> Result<Response, ApiError> {
    let scope = Scope {
        stream: query.stream.filter(|s| !s.is_empty()),
        release: query.release.filter(|s| !s.is_empty()),
        promotion: query.promotion,
    };
    scope.check().map_err(ApiError::BadRequest)?;
    let resume = last_event_id(&headers)?;
    let live = &state.live;
    let client = state.auth.settings.proxy.client_ip(peer.0, &headers);
    // subscribe before reading the log: nothing falls between the two
    let (changes, follower) = live.admit(client).map_err(|refused| match refused {
        Refused::PerClient(_) => ApiError::TooManyRequests {
            message: refused.to_string(),
            retry_after: RETRY_AFTER,
        },
        Refused::Total(_) => ApiError::Busy {
            message: refused.to_string(),
            retry_after: RETRY_AFTER,
        },
    })?;
    let mut backlog = VecDeque::new();
    let mut position = live.head();
    let mut reset = false;
    // a client far behind is told to reload without reading the log: a resume never costs
    // more than one bounded read, whatever id it names
    if resume.is_some_and(|after| position.saturating_sub(after) > MAX_REPLAY) {
        reset = true;
    } else if let Some(after) = resume.filter(|after| *after >= position) {
        // this client has seen as much as this replica has broadcast, or more
        position = after;
    } else if let Some(after) = resume {
        let missed = live
            .store()
            .event_heads_after(after, MAX_REPLAY + 1)
            .await?;
        if missed.len() as i64 > MAX_REPLAY {
            reset = true;
        } else {
            position = missed.last().map_or(after, |h| h.id).max(after);
            backlog.extend(
                missed
                    .iter()
                    .map(Change::of_event)
                    .filter(|c| scope.matches(c)),
            );
        }
    }
    let follow = Following {
        scope,
        changes,
        backlog,
        position,
        greeting: Some(if reset { "reset" } else { "ready" }),
        closing: live.closing(),
        _follower: follower,
    };
    let mut response = Sse::new(events(follow))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
        .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx and the OpenShift router must pass each message on at once
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(Some(id)),
        _ => Err(ApiError::BadRequest(format!(
            "last-event-id must be a change id (a whole number), got {:?}",
            text.chars().take(40).collect::<String>()
        ))),
    }
}

/// One follower's stream.
struct Following {
    scope: Scope,
    changes: broadcast::Receiver<Arc<Change>>,
    backlog: VecDeque<Change>,
    /// The newest log id this follower has been sent or skipped.
    position: i64,
    greeting: Option<&'static str>,
    closing: watch::Receiver<bool>,
    _follower: Follower,
}

fn message(change: &Change) -> Event {
    let data = serde_json::to_string(change).unwrap_or_else(|_| "{}".into());
    let event = Event::default().event("change").data(data);
    match change.id {
        Some(id) => event.id(id.to_string()),
        None => event,
    }
}

fn events(follow: Following) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(follow, |mut f| async move {
        if let Some(kind) = f.greeting.take() {
            let event = Event::default()
                .event(kind)
                .id(f.position.to_string())
                .retry(Duration::from_secs(3))
                .data(format!("{{\"position\":{}}}", f.position));
            return Some((Ok(event), f));
        }
        if let Some(change) = f.backlog.pop_front() {
            return Some((Ok(message(&change)), f));
        }
        loop {
            if *f.closing.borrow() {
                return None;
            }
            tokio::select! {
                received = f.changes.recv() => match received {
                    Ok(change) => {
                        if let Some(id) = change.id {
                            if id <= f.position {
                                continue;
                            }
                            f.position = id;
                        }
                        if f.scope.matches(&change) {
                            return Some((Ok(message(&change)), f));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "a live follower fell behind; told to reload");
                        let event = Event::default()
                            .event("reset")
                            .data(format!("{{\"missed\":{missed}}}"));
                        return Some((Ok(event), f));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                closed = f.closing.changed() => {
                    if closed.is_err() {
                        return None;
                    }
                }
            }
        }
    })
}
