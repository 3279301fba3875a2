//! Small pieces shared by the pages: ages, phase badges, errors, the not-found page.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use crate::model::{safe_url, Phase, PollStatus};

/// "3 h ago"-style age of `t` at `now`.
pub fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    if secs < 0 {
        return "just now".to_string();
    }
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..172_800 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// A short duration such as "2 h" or "5 days".
pub fn span(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..60 => format!("{s} s"),
        s @ 60..3600 => format!("{} min", s / 60),
        s @ 3600..172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// An absolute UTC time for `title` attributes and `<time>`.
pub fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The document title of a page titled `text` (upstream names included). On the server it
/// is HTML-escaped, because the `<title>` element is written into the page as is; in the
/// browser it is set as text, so it stays as it is.
pub fn page_title(text: &str) -> String {
    let title = if text.is_empty() {
        "Streamgate".to_string()
    } else {
        format!("{text} · Streamgate")
    };
    if cfg!(feature = "ssr") {
        title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        title
    }
}

/// An upgrade edge's runs, numbered oldest first, each linking to its Prow run.
#[component]
pub fn RunLinks(runs: Vec<crate::model::UpgradeRun>) -> impl IntoView {
    runs.into_iter()
        .enumerate()
        .map(|(i, run)| {
            view! {
                <ExternalLink href=run.url.clone() class=format!("run {}", run.state.css())>
                    {format!("#{} {}", i + 1, run.state)}
                </ExternalLink>
                " "
            }
        })
        .collect_view()
}

/// A link to a page elsewhere that upstream data names (a Prow run, a pull request, an
/// issue): a link only when the URL is `http` or `https` ([`safe_url`]); otherwise the same
/// content as plain text, so a hostile `javascript:` or `data:` URL never becomes a link.
#[component]
pub fn ExternalLink(
    /// The URL as upstream gave it.
    href: String,
    /// Classes, kept on the text when it is not linked.
    #[prop(optional, into)]
    class: Option<String>,
    /// Shown on hover.
    #[prop(optional, into)]
    title: Option<String>,
    children: Children,
) -> impl IntoView {
    if safe_url(&href).is_some() {
        view! { <a href=href class=class title=title rel="external noopener">{children()}</a> }
            .into_any()
    } else {
        view! { <span class=class title=title>{children()}</span> }.into_any()
    }
}

/// A coloured phase label.
#[component]
pub fn PhaseBadge(phase: Phase) -> impl IntoView {
    view! { <span class=format!("phase {}", phase.css())>{phase.as_str()}</span> }
}

/// A relative time with the absolute one on hover.
#[component]
pub fn Age(now: DateTime<Utc>, at: DateTime<Utc>) -> impl IntoView {
    view! {
        <time datetime=at.to_rfc3339() title=utc(at)>
            {age(now, at)}
        </time>
    }
}

/// Freshness of the data from one controller.
#[component]
pub fn PollLine(now: DateTime<Utc>, poll: PollStatus) -> impl IntoView {
    let ok = poll.last_error.is_none() && poll.last_success_at.is_some();
    let last = match poll.last_success_at {
        Some(t) => format!("last successful poll {}", age(now, t)),
        None => "no successful poll yet".to_string(),
    };
    let error = poll.last_error.clone().map(|e| {
        view! {
            <span class="poll-error">
                {format!(" · failing ({}×): {e}", poll.consecutive_failures)}
            </span>
        }
    });
    view! {
        <p class=if ok { "poll ok" } else { "poll stale" } data-controller=poll.controller.clone()>
            <strong>{poll.controller.clone()}</strong>
            ": "
            {last}
            {error}
        </p>
    }
}

/// The not-found page; answers with status 404 when rendered on the server.
#[component]
pub fn NotFound(what: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <section class="not-found">
            <h1>"Not found"</h1>
            <p>{format!("There is no {what} here. It may never have existed in the streams Streamgate follows.")}</p>
            <p>
                <a href="/">"Back to the release streams"</a>
            </p>
        </section>
    }
}

/// Shows an error from a server function; `NotFound` becomes the 404 page.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    match error {
        AppError::NotFound(what) => view! { <NotFound what /> }.into_any(),
        AppError::BadRequest(msg) => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::BAD_REQUEST);
            }
            view! {
                <section class="error">
                    <h1>"Bad request"</h1>
                    <p>{msg}</p>
                </section>
            }
            .into_any()
        }
        other => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::SERVICE_UNAVAILABLE);
            }
            view! {
                <section class="error">
                    <h1>"Something went wrong"</h1>
                    <p>{other.to_string()}</p>
                </section>
            }
            .into_any()
        }
    }
}

/// The link to release `name` of `stream`.
pub fn release_href(stream: &str, name: &str) -> String {
    format!("/releases/{}?stream={}", encode(name), encode(stream))
}

/// Percent-encodes a URL path segment or query value: RFC 3986 unreserved characters stay.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    #[cfg(feature = "ssr")]
    fn titles_cannot_close_the_title_element_on_the_server() {
        assert_eq!(page_title(""), "Streamgate");
        assert_eq!(
            page_title("</title><script>alert(1)</script> & co"),
            "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co · Streamgate"
        );
    }

    #[test]
    fn ages_read_naturally() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(age(now, now - chrono::Duration::seconds(5)), "5 s ago");
        assert_eq!(age(now, now - chrono::Duration::minutes(7)), "7 min ago");
        assert_eq!(age(now, now - chrono::Duration::hours(30)), "30 h ago");
        assert_eq!(age(now, now - chrono::Duration::days(9)), "9 days ago");
        assert_eq!(age(now, now + chrono::Duration::minutes(1)), "just now");
        assert_eq!(span(7200), "2 h");
    }
}
