//! Live pages. With JavaScript, a page follows the server's change stream (`/api/v1/live`,
//! server-sent events) for what it shows ([`Follows`]), and reloads its data, not itself,
//! when something changed: a release's phase or gates, a new release, a promotion's
//! progress. The footer says whether the page is live ([`LiveIndicator`], one of the app's
//! few islands). Without JavaScript nothing follows; pages are complete as rendered.

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

/// Marks what the page shows, for the footer's [`LiveIndicator`] to follow: a hidden element
/// naming the change stream's URL. `poll` asks it to reload the page's data every two
/// seconds as well while the change stream is not connected (a running promotion, whose
/// progress must show even behind a proxy that buffers the stream).
#[component]
pub fn Follows(scope: LiveScope, #[prop(optional)] poll: bool) -> impl IntoView {
    view! { <div hidden class="live-scope" data-live=scope.url() data-poll=poll.then_some("2")></div> }
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

/// "Live" in the footer while the page follows changes. In the browser it follows the change
/// stream the page names ([`Follows`]) and, when something changed, reads the page again and
/// puts its new `<main>` in place of the old one: the page's data, not the page, reloads. The
/// interactive parts of the page keep their place and state.
#[island]
pub fn LiveIndicator() -> impl IntoView {
    let status = RwSignal::new(LiveState::Off);
    // after hydration: the footer is rendered "off" on the server, and hydrating it must find
    // what the server rendered before it changes
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::follow(status));
    move || {
        let (class, title, text) = match status.get() {
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
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{DomParser, Element, Event, EventSource, Response, SupportedType};

    use super::LiveState;

    /// An open change stream; closed when dropped.
    struct Connection {
        url: String,
        source: EventSource,
        _listeners: Vec<Closure<dyn FnMut(Event)>>,
    }

    impl Drop for Connection {
        fn drop(&mut self) {
            self.source.close();
        }
    }

    /// What the page follows: its change stream's URL and whether to poll as well.
    fn scope() -> Option<(String, bool)> {
        let marker = document()?.query_selector("main .live-scope").ok()??;
        let url = marker.get_attribute("data-live")?;
        Some((url, marker.has_attribute("data-poll")))
    }

    /// Follows the page's scope for as long as the page is open.
    pub fn follow(status: RwSignal<LiveState>) {
        let state = Rc::new(Follower {
            status,
            connection: RefCell::new(None),
            refreshing: Cell::new(false),
            again: Cell::new(false),
        });
        state.clone().connect();
        state.poll_later();
    }

    struct Follower {
        status: RwSignal<LiveState>,
        connection: RefCell<Option<Connection>>,
        /// A reload is under way; `again` asks for one more after it.
        refreshing: Cell<bool>,
        again: Cell<bool>,
    }

    impl Follower {
        /// (Re)connects to the scope the page names now, if it changed.
        fn connect(self: Rc<Self>) {
            let wanted = scope().map(|(url, _)| url);
            let current = self.connection.borrow().as_ref().map(|c| c.url.clone());
            if wanted == current {
                return;
            }
            // dropping the old connection closes it
            *self.connection.borrow_mut() = None;
            match wanted {
                Some(url) => {
                    let connection = open(&url, self.clone());
                    if connection.is_none() {
                        self.status.set(LiveState::Off);
                    }
                    *self.connection.borrow_mut() = connection;
                }
                None => self.status.set(LiveState::Off),
            }
        }

        /// While the page asks to poll and the stream is not connected, reloads in 2 s.
        fn poll_later(self: &Rc<Self>) {
            let polls = scope().is_some_and(|(_, poll)| poll);
            if polls && self.status.get_untracked() != LiveState::Live {
                let me = self.clone();
                set_timeout(move || me.refresh(), Duration::from_secs(2));
            }
        }

        /// Reads the page again and puts its `<main>` in place.
        fn refresh(self: Rc<Self>) {
            if self.refreshing.replace(true) {
                self.again.set(true);
                return;
            }
            leptos::task::spawn_local(async move {
                if let Err(e) = swap_main().await {
                    leptos::logging::warn!("live update: the page could not be read again: {e:?}");
                }
                self.refreshing.set(false);
                if self.again.replace(false) {
                    return self.refresh();
                }
                self.clone().connect();
                self.poll_later();
            });
        }
    }

    fn document() -> Option<web_sys::Document> {
        window().document()
    }

    /// Fetches this page again and moves its `<main>` content into the open page; each
    /// island of the new content is replaced by the same island of the old (by name, in
    /// order), which keeps its state.
    async fn swap_main() -> Result<(), JsValue> {
        let href = window().location().href()?;
        let response: Response = JsFuture::from(window().fetch_with_str(&href))
            .await?
            .dyn_into()?;
        if !response.ok() {
            return Err(JsValue::from_str(&format!("HTTP {}", response.status())));
        }
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
        let Some(page) = document() else {
            return Ok(());
        };
        let (Some(new_main), Some(main)) =
            (fresh.query_selector("main")?, page.query_selector("main")?)
        else {
            return Ok(());
        };
        let old = islands(&main)?;
        let mut used = vec![false; old.len()];
        for island in islands(&new_main)? {
            let name = island.get_attribute("data-component");
            let keep = old
                .iter()
                .enumerate()
                .find(|(i, o)| !used[*i] && o.get_attribute("data-component") == name);
            if let Some((i, kept)) = keep {
                used[i] = true;
                island.replace_with_with_node_1(kept)?;
            }
        }
        main.set_inner_html("");
        while let Some(child) = new_main.first_child() {
            main.append_child(&child)?;
        }
        page.set_title(&fresh.title());
        Ok(())
    }

    fn islands(root: &Element) -> Result<Vec<Element>, JsValue> {
        let list = root.query_selector_all("leptos-island")?;
        Ok((0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
            .collect())
    }

    /// Opens `url`; each change (several close together count once) reloads the page's data.
    fn open(url: &str, follower: Rc<Follower>) -> Option<Connection> {
        let source = EventSource::new(url).ok()?;
        let status = follower.status;
        status.set(LiveState::Connecting);
        let pending = Rc::new(Cell::new(false));
        let on_change = {
            let follower = follower.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if pending.replace(true) {
                    return;
                }
                let pending = pending.clone();
                let follower = follower.clone();
                set_timeout(
                    move || {
                        pending.set(false);
                        follower.refresh();
                    },
                    Duration::from_millis(150),
                );
            })
        };
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            status.set(LiveState::Live);
        });
        let on_error = {
            let follower = follower.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                let was = status.get_untracked();
                status.set(LiveState::Reconnecting);
                if was == LiveState::Live {
                    follower.poll_later();
                }
            })
        };
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
            url: url.to_string(),
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
