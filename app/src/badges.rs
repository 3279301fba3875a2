//! `/badges`: pick a stream and a style, see the badge live, copy the Markdown or HTML for a
//! README. Without JavaScript the form reloads the page with the choice.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::model::BadgePage;
use crate::widgets::{encode, ErrorView};

/// Styles shields.io names, offered on the page.
const STYLES: [&str; 3] = ["flat", "flat-square", "for-the-badge"];

/// The badge page.
#[component]
pub fn BadgesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| api::get_badge_page());
    let query = use_query_map();
    view! {
        <Title text="Badges" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => {
                        let q = query.read_untracked();
                        let first = page.streams.first().map(|s| s.name.clone()).unwrap_or_default();
                        let stream = q
                            .get("stream")
                            .filter(|s| page.streams.iter().any(|x| &x.name == s))
                            .unwrap_or(first);
                        let style = q
                            .get("style")
                            .filter(|s| STYLES.contains(&s.as_str()))
                            .unwrap_or_else(|| "flat".to_string());
                        let label = q.get("label").unwrap_or_default();
                        view! { <BadgeMaker page stream style label /> }.into_any()
                    }
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The form, the preview and the snippets, following each choice as it is made (an island);
/// starting from the choice in the page's query.
#[island]
pub fn BadgeMaker(page: BadgePage, stream: String, style: String, label: String) -> impl IntoView {
    let stream = RwSignal::new(stream);
    let style = RwSignal::new(style);
    let label = RwSignal::new(label);
    let base = page.base_url.clone();
    let streams = page.streams.clone();

    let query_string = move || {
        let mut q = Vec::new();
        if style.get() != "flat" {
            q.push(format!("style={}", style.get()));
        }
        if !label.get().is_empty() {
            q.push(format!("label={}", encode(&label.get())));
        }
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    };
    let alt = {
        let streams = streams.clone();
        move || {
            let s = stream.get();
            if !label.get().is_empty() {
                label.get()
            } else {
                streams
                    .iter()
                    .find(|x| x.name == s)
                    .map(|x| x.label.clone())
                    .unwrap_or(s)
            }
        }
    };
    let badge_path = move || format!("/badges/{}.svg{}", stream.get(), query_string());
    let gates_path = move || format!("/badges/{}/gates.svg{}", stream.get(), query_string());
    let markdown = {
        let base = base.clone();
        let alt = alt.clone();
        move || {
            format!(
                "[![{}]({base}{})]({base}/streams/{})",
                alt(),
                badge_path(),
                stream.get()
            )
        }
    };
    let html = {
        let base = base.clone();
        let alt = alt.clone();
        move || {
            format!(
                "<a href=\"{base}/streams/{}\"><img alt=\"{}\" src=\"{base}{}\"></a>",
                stream.get(),
                alt().replace('"', "&quot;"),
                badge_path()
            )
        }
    };
    let shields = {
        let base = base.clone();
        move || {
            format!(
                "https://img.shields.io/endpoint?url={}",
                encode(&format!("{base}/badges/{}.json", stream.get()))
            )
        }
    };

    view! {
        <h1>"Badges for your README"</h1>
        <p class="summary">
            "Always current: each badge shows the stream's latest accepted release, turns red or grey when there is none, and says so when Streamgate's data is stale. Served with a short cache lifetime so image proxies refresh it."
        </p>
        <form method="get" action="/badges" class="badge-form">
            <label>
                "Stream "
                <select name="stream" on:change=move |ev| stream.set(event_target_value(&ev)) prop:value=move || stream.get()>
                    {streams.iter().map(|s| {
                        let name = s.name.clone();
                        let selected = name == stream.get_untracked();
                        view! { <option value=name.clone() selected=selected>{format!("{} ({})", s.label, name)}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Style "
                <select name="style" on:change=move |ev| style.set(event_target_value(&ev)) prop:value=move || style.get()>
                    {STYLES.iter().map(|s| {
                        let selected = *s == style.get_untracked();
                        view! { <option value=*s selected=selected>{*s}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Label "
                <input name="label" type="text" maxlength="100" placeholder="default"
                    prop:value=move || label.get()
                    on:input=move |ev| label.set(event_target_value(&ev)) />
            </label>
            <button type="submit">"Update"</button>
        </form>
        <section aria-labelledby="preview-h">
            <h2 id="preview-h">"Preview"</h2>
            <p class="preview">
                <img id="badge-preview" alt=alt.clone() src=badge_path />
                " "
                <img id="gates-preview" alt="blocking gates of the latest release" src=gates_path />
            </p>
        </section>
        <section aria-labelledby="snippets-h">
            <h2 id="snippets-h">"Copy"</h2>
            <Snippet id="snippet-markdown" title="Markdown" text=Signal::derive(markdown) />
            <Snippet id="snippet-html" title="HTML" text=Signal::derive(html) />
            <Snippet id="snippet-shields" title="shields.io endpoint" text=Signal::derive(shields) />
        </section>
    }
}

#[component]
fn Snippet(id: &'static str, title: &'static str, text: Signal<String>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window
                .navigator()
                .clipboard()
                .write_text(&text.get_untracked());
        }
        copied.set(true);
    };
    view! {
        <div class="snippet">
            <label for=id>{title}</label>
            <textarea id=id readonly rows="2" prop:value=move || text.get()>{move || text.get()}</textarea>
            <button type="button" class="copy" on:click=copy aria-label=format!("Copy {title}")>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}
