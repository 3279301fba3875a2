//! Atom 1.0 feeds for feed readers, 50 entries each, newest first:
//! - `GET /streams/{stream}/feed.atom`: a stream's accepted releases (`?all`: every phase),
//!   each linking to the release's page and summarising its blocking gates;
//! - `GET /streams/{stream}/jobs/{job}/feed.atom`: a verification job's failures in the
//!   stream, each linking to the release and to the failed run;
//! - `GET /components/{name}/feed.atom?stream=`: a component's new images in a stream, each
//!   with its commit and provenance.
//!
//! One renderer ([`Atom`]) writes them all.
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

/// The feed routes, with caching and CORS.
pub fn router() -> Router<AppState> {
    cache::public_reads(
        Router::new()
            .route(
                "/streams/{stream}/feed.atom",
                get(stream_feed).fallback(method_not_allowed),
            )
            .route(
                "/streams/{stream}/jobs/{job}/feed.atom",
                get(job_feed).fallback(method_not_allowed),
            )
            .route(
                "/components/{name}/feed.atom",
                get(component_feed).fallback(method_not_allowed),
            ),
    )
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
    let rows = state
        .store
        .feed_releases(&stream, phase, FEED_ENTRIES)
        .await?;
    let encoded = crate::percent::encode(&stream);
    let self_url = format!(
        "{}/streams/{encoded}/feed.atom{}",
        base.url,
        if all { "?all" } else { "" }
    );
    let feed = Atom {
        title: if all {
            format!("Releases of {stream}")
        } else {
            format!("Accepted releases of {stream}")
        },
        alternate: format!("{}/streams/{encoded}", base.url),
        self_url,
        empty_updated: row.first_seen_at,
        entries: rows
            .iter()
            .map(|r| release_entry(&base.url, &encoded, r))
            .collect(),
    };
    respond(&base, &feed)
}

/// Which stream a job's or component's feed is about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The stream (for a component: default the one its page shows first).
    pub stream: Option<String>,
}

/// A verification job's failures in a stream, newest first, as an Atom 1.0 feed.
#[utoipa::path(
    get,
    path = "/streams/{stream}/jobs/{job}/feed.atom",
    tag = "feeds",
    params(
        ("stream" = String, Path, description = "stream name", example = "4.21.0-0.okd-scos"),
        ("job" = String, Path, description = "job name", example = "e2e-aws-ovn"),
    ),
    responses(
        (status = 200, description = "the Atom feed, newest first, 50 entries", content_type = "application/atom+xml"),
        (status = 400, description = "no usable Host header, or a name over 256 characters or with control characters", body = ErrorBody),
        (status = 404, description = "no such stream, or the job never ran in it", body = ErrorBody),
    )
)]
pub async fn job_feed(
    State(state): State<AppState>,
    ApiPath((stream, job)): ApiPath<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let base = LinkBase::of(state.settings.public_url.as_deref(), &headers, &uri)?;
    app::model::jobs::check_name("stream", &stream).map_err(ApiError::BadRequest)?;
    app::model::jobs::check_name("job", &job).map_err(ApiError::BadRequest)?;
    let row = crate::api::backend(&state)
        .job_stream(&stream, &job)
        .await?;
    let failures = state
        .store
        .job_failures(&stream, &job, FEED_ENTRIES)
        .await?;
    let (s, j) = (
        crate::percent::encode(&stream),
        crate::percent::encode(&job),
    );
    let feed = Atom {
        self_url: format!("{}/streams/{s}/jobs/{j}/feed.atom", base.url),
        title: format!("Failures of {job} in {stream}"),
        alternate: format!("{}/jobs/{j}?stream={s}", base.url),
        empty_updated: row.first_seen_at,
        entries: failures
            .iter()
            .map(|f| {
                let url = format!(
                    "{}/releases/{}?stream={s}",
                    base.url,
                    crate::percent::encode(&f.release)
                );
                let phase = f.phase.as_str();
                let retries = match f.retries {
                    0 => "no retry".to_string(),
                    1 => "1 retry".to_string(),
                    n => format!("{n} retries"),
                };
                AtomEntry {
                    id: format!("{url}#job={j}"),
                    title: format!("{job} failed on {}", f.release),
                    updated: f.transition_time.unwrap_or(f.created_at).max(f.created_at),
                    published: f.created_at,
                    alternate: url,
                    related: Some(f.url.clone()),
                    category: f.kind.to_string(),
                    summary: format!(
                        "The {} job {job} failed on {} ({phase}) after {retries}.",
                        f.kind, f.release
                    ),
                }
            })
            .collect(),
    };
    respond(&base, &feed)
}

/// A component's new images in a stream, newest first, as an Atom 1.0 feed.
#[utoipa::path(
    get,
    path = "/components/{name}/feed.atom",
    tag = "feeds",
    params(
        ("name" = String, Path, description = "component name", example = "installer"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "the Atom feed, newest first, 50 entries", content_type = "application/atom+xml"),
        (status = 400, description = "no usable Host header", body = ErrorBody),
        (status = 404, description = "no read payload carries the component (in that stream)", body = ErrorBody),
    )
)]
pub async fn component_feed(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let base = LinkBase::of(state.settings.public_url.as_deref(), &headers, &uri)?;
    let stream = query.stream.filter(|s| !s.is_empty());
    let history = crate::api::backend(&state)
        .history(&name, stream.as_deref())
        .await?;
    let (n, s) = (
        crate::percent::encode(&name),
        crate::percent::encode(&history.stream),
    );
    let feed = Atom {
        self_url: format!("{}/components/{n}/feed.atom?stream={s}", base.url),
        title: format!("New images of {name} in {}", history.stream),
        alternate: format!("{}/components/{n}?stream={s}", base.url),
        empty_updated: history.now,
        entries: history
            .entries
            .iter()
            .take(usize::try_from(FEED_ENTRIES).unwrap_or(50))
            .map(|e| {
                let url = format!(
                    "{}/releases/{}?stream={s}",
                    base.url,
                    crate::percent::encode(&e.first)
                );
                let c = &e.component;
                let commit = if c.commit.is_empty() {
                    String::new()
                } else {
                    format!(" from {} at {}", c.source, c.commit)
                };
                AtomEntry {
                    id: format!("{url}#image={}", c.digest),
                    title: format!("{name}: new image in {}", e.first),
                    updated: e.first_at,
                    published: e.first_at,
                    alternate: url,
                    related: c.commit_url.clone(),
                    category: c.provenance.kind().as_str().to_string(),
                    summary: format!(
                        "{name} {}{commit}, first in {}: {}.",
                        c.digest,
                        e.first,
                        c.provenance.kind().label()
                    ),
                }
            })
            .collect(),
    };
    respond(&base, &feed)
}

fn respond(base: &LinkBase, feed: &Atom) -> Result<Response, ApiError> {
    let xml = feed
        .render()
        .map_err(|e| ApiError::Internal(format!("writing the atom feed: {e}")))?;
    Ok(base.mark(([(CONTENT_TYPE, ATOM)], xml).into_response()))
}

/// One Atom feed, ready to write.
struct Atom {
    /// The feed's own URL (also its id).
    self_url: String,
    title: String,
    /// The page it mirrors.
    alternate: String,
    /// `updated` when there are no entries.
    empty_updated: DateTime<Utc>,
    entries: Vec<AtomEntry>,
}

/// One entry of an [`Atom`] feed.
struct AtomEntry {
    id: String,
    title: String,
    updated: DateTime<Utc>,
    published: DateTime<Utc>,
    /// The page it is about.
    alternate: String,
    /// Another page (a run, a commit), linked only when it is an `http(s)` URL.
    related: Option<String>,
    category: String,
    summary: String,
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

impl Atom {
    fn render(&self) -> std::io::Result<String> {
        let updated = self
            .entries
            .iter()
            .map(|e| e.updated)
            .max()
            .unwrap_or(self.empty_updated);
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        w.create_element("feed")
            .with_attribute(("xmlns", ATOM_NS))
            .write_inner_content(|w| {
                element(w, "id", &self.self_url)?;
                element(w, "title", &self.title)?;
                element(w, "updated", &time(updated))?;
                link(w, "self", "application/atom+xml", &self.self_url)?;
                link(w, "alternate", "text/html", &self.alternate)?;
                w.create_element("author")
                    .write_inner_content(|w| element(w, "name", "Streamgate"))?;
                element(w, "generator", "Streamgate")?;
                for entry in &self.entries {
                    entry.render(w)?;
                }
                Ok(())
            })?;
        String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
    }
}

impl AtomEntry {
    fn render(&self, w: &mut W) -> std::io::Result<()> {
        w.create_element("entry").write_inner_content(|w| {
            element(w, "id", &self.id)?;
            element(w, "title", &self.title)?;
            element(w, "updated", &time(self.updated))?;
            element(w, "published", &time(self.published))?;
            link(w, "alternate", "text/html", &self.alternate)?;
            if let Some(related) = &self.related {
                link(w, "related", "text/html", related)?;
            }
            w.create_element("category")
                .with_attribute(("term", xml_chars(&self.category).as_str()))
                .write_empty()?;
            element(w, "summary", &self.summary)
        })?;
        Ok(())
    }
}

/// The entry of one release of a stream's feed.
fn release_entry(base: &str, stream: &str, r: &FeedRow) -> AtomEntry {
    let url = format!(
        "{base}/releases/{}?stream={stream}",
        crate::percent::encode(&r.name)
    );
    let phase = r.phase.as_str();
    let gates = if r.blocking_total == 0 {
        "no blocking gates".to_string()
    } else {
        format!(
            "{} of {} blocking gates passed",
            r.blocking_passed, r.blocking_total
        )
    };
    AtomEntry {
        id: url.clone(),
        title: format!("{} ({phase})", r.name),
        // an entry changes when its phase does
        updated: r.phase_changed_at.max(r.created_at),
        published: r.created_at,
        alternate: url,
        related: None,
        category: phase.to_string(),
        summary: format!("{phase}: {gates}. Pull spec: {}", r.pull_spec),
    }
}
