//! Atom 1.0 feeds for feed readers: `GET /streams/{stream}/feed.atom` lists a stream's
//! accepted releases newest first (`?all` lists every phase), 50 entries, each linking to
//! the release's page and summarising its blocking gates.
//!
//! The XML is written with quick-xml, which escapes every string. Absolute links start
//! with `--public-url`; without it they are built from the request's `Host` header and
//! `X-Forwarded-Proto` (default `http`), and the answer says `Vary: Host,
//! X-Forwarded-Proto`, so no cache hands one host's links to another ([`LinkBase`]).
//! Responses share the API's caching ([`cache`]) and CORS.
//!
//! [`cache`]: crate::edge::cache
//! [`LinkBase`]: crate::edge::links::LinkBase

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::edge::cache;
use crate::edge::error::{method_not_allowed, ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::edge::links::LinkBase;
use crate::store::api_queries::FeedRow;
use crate::AppState;

/// Entries per feed.
pub const FEED_ENTRIES: i64 = 50;

/// The feed's media type.
pub const ATOM: &str = "application/atom+xml; charset=utf-8";

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// Characters left as they are in a path segment or query value: RFC 3986's unreserved set.
/// The feed routes, with caching and CORS.
pub fn router() -> Router<AppState> {
    cache::public_reads(Router::new().route(
        "/streams/{stream}/feed.atom",
        get(stream_feed).fallback(method_not_allowed),
    ))
}

/// Which releases the feed lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Present (`?all`): every phase, not only accepted releases.
    pub all: Option<String>,
}

/// A stream's newest accepted releases (or, with `?all`, releases of every phase) as an
/// Atom 1.0 feed.
#[utoipa::path(
    get,
    path = "/streams/{stream}/feed.atom",
    tag = "feeds",
    params(
        ("stream" = String, Path, description = "stream name", example = "4-scos-stable"),
        FeedQuery,
    ),
    responses(
        (status = 200, description = "the Atom feed, newest first, 50 entries", content_type = "application/atom+xml"),
        (status = 400, description = "no usable Host header", body = ErrorBody),
        (status = 404, description = "no such stream", body = ErrorBody),
    )
)]
pub async fn stream_feed(
    State(state): State<AppState>,
    ApiPath(stream): ApiPath<String>,
    ApiQuery(query): ApiQuery<FeedQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let all = query
        .all
        .as_deref()
        .is_some_and(|v| !matches!(v, "false" | "0" | "no"));
    let base = LinkBase::of(state.settings.public_url.as_deref(), &headers, &uri)?;
    let row = state
        .store
        .stream(&stream)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("stream {stream}")))?;
    let phase = (!all).then_some("Accepted");
    let entries = state
        .store
        .feed_releases(&stream, phase, FEED_ENTRIES)
        .await?;
    let feed = Feed {
        base: &base.url,
        stream: &stream,
        all,
        first_seen_at: row.first_seen_at,
        entries: &entries,
    };
    let xml = feed
        .render()
        .map_err(|e| ApiError::Internal(format!("writing the atom feed: {e}")))?;
    Ok(base.mark(([(CONTENT_TYPE, ATOM)], xml).into_response()))
}

struct Feed<'a> {
    base: &'a str,
    stream: &'a str,
    all: bool,
    first_seen_at: DateTime<Utc>,
    entries: &'a [FeedRow],
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Drops the characters XML 1.0 cannot carry at all, escaped or not (C0 controls other
/// than tab and newlines); escaping is quick-xml's job.
fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

type W = Writer<Vec<u8>>;

fn element(w: &mut W, name: &str, content: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_chars(content)))?;
    Ok(())
}

/// A `<link>`, left out unless `href` is an `http(s)` URL (feed readers follow it).
fn link(w: &mut W, rel: &str, media_type: &str, href: &str) -> std::io::Result<()> {
    if app::model::safe_url(href).is_none() {
        return Ok(());
    }
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", media_type))
        .with_attribute(("href", xml_chars(href).as_str()))
        .write_empty()?;
    Ok(())
}

impl Feed<'_> {
    fn render(&self) -> std::io::Result<String> {
        let stream = crate::percent::encode(self.stream);
        let self_url = format!(
            "{}/streams/{stream}/feed.atom{}",
            self.base,
            if self.all { "?all" } else { "" }
        );
        let updated = self
            .entries
            .iter()
            .map(entry_updated)
            .max()
            .unwrap_or(self.first_seen_at);
        let title = if self.all {
            format!("Releases of {}", self.stream)
        } else {
            format!("Accepted releases of {}", self.stream)
        };
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        w.create_element("feed")
            .with_attribute(("xmlns", ATOM_NS))
            .write_inner_content(|w| {
                element(w, "id", &self_url)?;
                element(w, "title", &title)?;
                element(w, "updated", &time(updated))?;
                link(w, "self", "application/atom+xml", &self_url)?;
                link(
                    w,
                    "alternate",
                    "text/html",
                    &format!("{}/streams/{stream}", self.base),
                )?;
                w.create_element("author")
                    .write_inner_content(|w| element(w, "name", "Streamgate"))?;
                element(w, "generator", "Streamgate")?;
                for entry in self.entries {
                    self.entry(w, entry, &stream)?;
                }
                Ok(())
            })?;
        String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
    }

    fn entry(&self, w: &mut W, r: &FeedRow, stream: &str) -> std::io::Result<()> {
        let url = format!(
            "{}/releases/{}?stream={stream}",
            self.base,
            crate::percent::encode(&r.name)
        );
        let phase = app::model::Phase::parse(&r.phase).as_str();
        let gates = if r.blocking_total == 0 {
            "no blocking gates".to_string()
        } else {
            format!(
                "{} of {} blocking gates passed",
                r.blocking_passed, r.blocking_total
            )
        };
        w.create_element("entry").write_inner_content(|w| {
            element(w, "id", &url)?;
            element(w, "title", &format!("{} ({phase})", r.name))?;
            element(w, "updated", &time(entry_updated(r)))?;
            element(w, "published", &time(r.created_at))?;
            link(w, "alternate", "text/html", &url)?;
            w.create_element("category")
                .with_attribute(("term", phase))
                .write_empty()?;
            element(
                w,
                "summary",
                &format!("{phase}: {gates}. Pull spec: {}", r.pull_spec),
            )
        })?;
        Ok(())
    }
}

/// An entry changes when its phase does.
fn entry_updated(r: &FeedRow) -> DateTime<Utc> {
    r.phase_changed_at.max(r.created_at)
}
