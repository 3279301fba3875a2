//! Streamgate's user interface: the OKD release streams, their releases and gates.
//!
//! Pages render on the server (complete HTML without JavaScript). Only the few interactive
//! parts are islands, hydrated in the browser: the search box's suggestions, the live-update
//! indicator that reloads a page's data, the copy buttons and the badge maker. The WASM
//! bundle holds only those. Data comes from server functions next to each page, which ask
//! the server's [`backend::Backend`] through Leptos context.

#![recursion_limit = "256"]

pub mod auth;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod badges;
pub mod compare;
pub mod components;
pub mod error;
pub mod jobs;
pub mod live;
pub mod model;
pub mod promotions;
pub mod release;
pub mod search;
pub mod streams;
pub mod upgrade;
pub mod viewer;
pub mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered by the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    use_request_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Makes the nonce the server chose for this response's Content-Security-Policy (in the
/// request's extensions) the one Leptos writes on its inline scripts, in place of one it
/// would make up: the hydration script and the page data then run under the policy.
#[cfg(feature = "ssr")]
fn use_request_nonce() {
    let nonce = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<leptos::nonce::Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// The app: header, routes, footer.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/streamgate.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="OKD release streams, gates and upgrade paths" />
        <Title formatter=|text: String| widgets::page_title(&text) />
        <Router>
            <header class="top">
                <A href="/" attr:class="brand">
                    "Streamgate"
                </A>
                <span class="tagline">"OKD release streams"</span>
                <search::SearchBox />
                <nav class="links">
                    <A href="/upgrade">"Why no update?"</A>
                    <A href="/promotions">"Promotions"</A>
                    <A href="/badges">"Badges"</A>
                </nav>
                <nav class="viewer">
                    <auth::ViewerMenu />
                </nav>
            </header>
            <main>
                <Routes fallback=|| view! { <widgets::NotFound what="page".to_string() /> }>
                    <Route path=path!("/") view=streams::OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("/streams/:stream") view=streams::StreamPage ssr=SsrMode::Async />
                    <Route path=path!("/releases/:tag") view=release::ReleasePage ssr=SsrMode::Async />
                    <Route path=path!("/compare/:from/:to") view=compare::ComparePage ssr=SsrMode::Async />
                    <Route path=path!("/upgrade") view=upgrade::UpgradePage ssr=SsrMode::Async />
                    <Route path=path!("/components/:name") view=components::ComponentPage ssr=SsrMode::Async />
                    <Route path=path!("/jobs") view=jobs::JobsPage ssr=SsrMode::Async />
                    <Route path=path!("/jobs/:name") view=jobs::JobHistoryPage ssr=SsrMode::Async />
                    <Route path=path!("/search") view=search::SearchPage ssr=SsrMode::Async />
                    <Route path=path!("/badges") view=badges::BadgesPage ssr=SsrMode::Async />
                    <Route path=path!("/promotions") view=promotions::PromotionsPage ssr=SsrMode::Async />
                    <Route path=path!("/promotions/:id") view=promotions::PromotionDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/promote/:tag") view=promotions::PromotePage ssr=SsrMode::Async />
                    <Route path=path!("/admin/targets") view=promotions::TargetsPage ssr=SsrMode::Async />
                    <Route path=path!("/sign-in") view=auth::SignInPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=auth::AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view=auth::AdminUsersPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <footer class="bottom">
                <span>"Streamgate · data from the OKD and OCP release-controllers"</span>
                <live::LiveIndicator />
            </footer>
        </Router>
    }
}

/// Browser entry point: makes the server-rendered page's islands interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
