//! Live pages. A hydrated page follows the server's change stream (`/api/v1/live`, server-sent
//! events) for what it shows, and reloads its data, not itself, when something changed: a
//! release's phase or gates, a new release, a promotion's progress. The footer says whether
//! the page is live. Without JavaScript nothing follows; pages are complete as rendered.

use leptos::prelude::*;

use crate::widgets::encode;

/// What a page shows, and so which changes it follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveScope {
    /// A stream's releases.
    pub stream: Option<String>,
    /// With `stream`: one release.
    pub release: Option<String>,
    /// One promotion.
    pub promotion: Option<i64>,
}

impl LiveScope {
    /// Every change (the front page, the promotion list).
    pub fn everything() -> LiveScope {
        LiveScope::default()
    }

    /// A stream's changes.
    pub fn stream(stream: impl Into<String>) -> LiveScope {
        LiveScope {
            stream: Some(stream.into()),
            ..LiveScope::default()
        }
    }

    /// One release's changes.
    pub fn release(stream: impl Into<String>, release: impl Into<String>) -> LiveScope {
        LiveScope {
            stream: Some(stream.into()),
            release: Some(release.into()),
            promotion: None,
        }
    }

    /// One promotion's changes.
    pub fn promotion(id: i64) -> LiveScope {
        LiveScope {
            promotion: Some(id),
            ..LiveScope::default()
        }
    }

    /// The change stream's URL for this scope.
    pub fn url(&self) -> String {
        let mut query = Vec::new();
        if let Some(s) = &self.stream {
            query.push(format!("stream={}", encode(s)));
        }
        if let Some(r) = &self.release {
            query.push(format!("release={}", encode(r)));
        }
        if let Some(p) = self.promotion {
            query.push(format!("promotion={p}"));
        }
        if query.is_empty() {
            "/api/v1/live".to_string()
        } else {
            format!("/api/v1/live?{}", query.join("&"))
        }
    }
}

/// Whether the page follows changes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    /// Not following (rendered on the server, or the page follows nothing).
    Off,
    /// Connecting for the first time.
    Connecting,
    /// Following.
    Live,
    /// The connection dropped; the browser reconnects by itself.
    Reconnecting,
}

/// The app-wide [`LiveState`], shown in the footer.
#[derive(Debug, Clone, Copy)]
pub struct LiveStatus(pub RwSignal<LiveState>);

/// Provides the [`LiveStatus`] for the pages below.
pub fn provide_live_status() {
    provide_context(LiveStatus(RwSignal::new(LiveState::Off)));
}

/// A number that grows each time something in the page's scope changed: read it in a
/// resource's source so the resource reloads. `scope` is `None` until the page knows what
/// it shows. On the server it stays 0.
pub fn use_live(scope: impl Fn() -> Option<LiveScope> + Send + Sync + 'static) -> Signal<u64> {
    let (tick, set_tick) = signal(0u64);
    let scope = Memo::new(move |_| scope());
    #[cfg(feature = "hydrate")]
    {
        let status = use_context::<LiveStatus>().map(|s| s.0);
        let connection = StoredValue::new_local(None::<browser::Connection>);
        Effect::new(move |_| {
            let scope = scope.get();
            // dropping the old connection closes it
            connection.set_value(None);
            if let Some(scope) = scope {
                connection.set_value(browser::connect(&scope.url(), set_tick, status));
            }
        });
        on_cleanup(move || {
            if let Some(status) = status {
                status.set(LiveState::Off);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (scope, set_tick);
    }
    tick.into()
}

/// "Live" in the footer while the page follows changes.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let status = use_context::<LiveStatus>().map(|s| s.0);
    move || {
        let state = status.map_or(LiveState::Off, |s| s.get());
        let (class, title, text) = match state {
            LiveState::Off => return None,
            LiveState::Connecting => ("live connecting", "", "Connecting for live updates…"),
            LiveState::Live => (
                "live on",
                "This page updates itself when something changes",
                "● Live",
            ),
            LiveState::Reconnecting => ("live off", "", "Live updates paused; reconnecting…"),
        };
        Some(view! { <span class=class role="status" title=title>{text}</span> })
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Event, EventSource};

    use super::LiveState;

    /// An open change stream; closed when dropped.
    pub struct Connection {
        source: EventSource,
        _listeners: Vec<Closure<dyn FnMut(Event)>>,
    }

    impl Drop for Connection {
        fn drop(&mut self) {
            self.source.close();
        }
    }

    /// Opens `url`; each change (several close together count once) bumps `tick`.
    pub fn connect(
        url: &str,
        tick: WriteSignal<u64>,
        status: Option<RwSignal<LiveState>>,
    ) -> Option<Connection> {
        let source = EventSource::new(url).ok()?;
        if let Some(s) = status {
            s.set(LiveState::Connecting);
        }
        let pending = Rc::new(Cell::new(false));
        let on_change = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if pending.replace(true) {
                return;
            }
            let pending = pending.clone();
            set_timeout(
                move || {
                    pending.set(false);
                    tick.update(|n| *n += 1);
                },
                Duration::from_millis(150),
            );
        });
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(s) = status {
                s.set(LiveState::Live);
            }
        });
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(s) = status {
                s.set(LiveState::Reconnecting);
            }
        });
        for (name, listener) in [
            ("change", &on_change),
            ("reset", &on_change),
            ("open", &on_open),
            ("error", &on_error),
        ] {
            source
                .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())
                .ok()?;
        }
        Some(Connection {
            source,
            _listeners: vec![on_change, on_open, on_error],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_scope() {
        assert_eq!(LiveScope::everything().url(), "/api/v1/live");
        assert_eq!(
            LiveScope::release("4-scos-next", "4.21.0-0.okd-scos-2026-11-25 01:02").url(),
            "/api/v1/live?stream=4-scos-next&release=4.21.0-0.okd-scos-2026-11-25%2001%3A02"
        );
        assert_eq!(LiveScope::promotion(7).url(), "/api/v1/live?promotion=7");
    }
}
