//! The JSON API, its OpenAPI description and the Atom feeds through the real router
//! (`oneshot`), over a store filled by the real poller from the replay release-controller.
//! The store-facing stories run on SQLite and on PostgreSQL.

use app::model::{Phase, StreamKind, Variant};
use std::collections::HashSet;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;
use server::store::releases::{NewRelease, NewStream};

use crate::support::fixture;

use crate::support::fixture::{anchor, Fixture};

const CI: &str = "4.21.0-0.okd-scos";
const STABLE: &str = "4-scos-stable";

async fn sqlite_fixture() -> Fixture {
    fixture::fixture().await
}

async fn postgres_fixture(name: &str) -> Fixture {
    fixture::postgres_fixture(&format!("api_{name}")).await
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a json body")
    }

    /// The one detail of an error envelope.
    fn error(&self) -> String {
        let json = self.json();
        let errors = json["errors"].as_array().expect("an errors array");
        assert_eq!(errors.len(), 1, "{}", self.body);
        errors[0]["detail"].as_str().expect("a detail").to_string()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let (status, headers, body) = crate::support::http::send(app, request).await;
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(app: &axum::Router, uri: &str) -> Answer {
    send(
        app,
        Request::get(uri)
            .header("host", "dash.example.org")
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn streams_answer_with_latest_releases_and_health() {
    let f = sqlite_fixture().await;
    let a = get(&f.app, "/api/v1/streams").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.header("content-type").starts_with("application/json"));
    let json = a.json();
    let streams = json["streams"].as_array().expect("streams");
    let names: Vec<&str> = streams
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, [STABLE, CI], "by name");

    let ci = &streams[1];
    assert_eq!(ci["controller"], "origin");
    assert_eq!(ci["variant"], "okd-scos");
    assert_eq!(ci["kind"], "ci");
    assert_eq!(ci["listed_upstream"], true);
    let count = f.store.count_releases(CI, None).await.expect("count");
    assert_eq!(ci["release_count"], count);
    let latest = f
        .store
        .latest_release(CI, None)
        .await
        .expect("query")
        .expect("a release");
    assert_eq!(ci["latest"]["name"], latest.name.as_str());
    assert_eq!(ci["latest_accepted"]["phase"], "Accepted");
    // the fixture's history is dated, so how much of it falls in the last 14 days depends on
    // today: only that the count is a part of the stream's releases holds on every day
    let accepted_14d = ci["health"]["accepted_14d"].as_u64().expect("count");
    assert!(accepted_14d <= u64::try_from(count).expect("a count"));
    assert!(ci["health"]["streak"]["length"].as_u64().expect("streak") >= 1);
    assert!(ci["health"]["last_accepted_at"].is_string());
    assert_eq!(
        ci["links"]["releases"],
        "/api/v1/streams/4.21.0-0.okd-scos/releases"
    );
    assert_eq!(ci["links"]["feed"], "/streams/4.21.0-0.okd-scos/feed.atom");

    let one = get(&f.app, &format!("/api/v1/streams/{CI}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(&one.json(), ci, "one stream is the same object as listed");
}

/// Walks a stream page by page and checks the walk against the store's own ordering.
async fn cursor_pages_walk_every_release_once(f: &Fixture) {
    for (phase, query) in [(None, ""), (Some("Accepted"), "&phase=accepted")] {
        let expected: Vec<String> = f
            .store
            .stream_releases(CI, phase, 10_000, 0)
            .await
            .expect("query")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert!(expected.len() > 14, "the demo stream spans several pages");
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let uri = match &cursor {
                Some(c) => format!("/api/v1/streams/{CI}/releases?limit=7{query}&cursor={c}"),
                None => format!("/api/v1/streams/{CI}/releases?limit=7{query}"),
            };
            let a = get(&f.app, &uri).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
            let page = a.json();
            assert_eq!(page["limit"], 7);
            assert_eq!(page["phase"], phase.map_or(Value::Null, Value::from));
            let rows = page["releases"].as_array().expect("releases");
            assert!(rows.len() <= 7);
            for r in rows {
                if phase.is_some() {
                    assert_eq!(r["phase"], "Accepted");
                }
                seen.push(r["name"].as_str().expect("name").to_string());
            }
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
            if pages == 1 && phase.is_none() {
                // a release arriving mid-walk is newer than the cursor: it shifts nothing
                let mut tx = f.store.begin().await.expect("tx");
                tx.upsert_release(&NewRelease {
                    stream: CI.to_string(),
                    name: "4.21.0-0.okd-scos-2026-11-20-115959".to_string(),
                    phase: Phase::Pending,
                    pull_spec: "registry.example/r:new".to_string(),
                    download_url: String::new(),
                    created_at: anchor(),
                    seen_at: anchor(),
                })
                .await
                .expect("insert");
                tx.commit().await.expect("commit");
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no release twice");
        assert_eq!(seen, expected, "every release, in order, none skipped");
        assert_eq!(pages, expected.len().div_ceil(7));
    }
    let count = f.store.count_releases(CI, None).await.expect("count");
    let everything = get(&f.app, &format!("/api/v1/streams/{CI}/releases?limit=200")).await;
    let json = everything.json();
    assert_eq!(
        json["releases"].as_array().expect("releases").len() as i64,
        count,
        "the release inserted mid-walk is there for a new walk"
    );
    assert_eq!(json["next_cursor"], Value::Null);
}

#[tokio::test]
async fn cursor_pages_walk_every_release_once_on_sqlite() {
    cursor_pages_walk_every_release_once(&sqlite_fixture().await).await;
}

#[tokio::test]
async fn cursor_pages_walk_every_release_once_on_postgres() {
    cursor_pages_walk_every_release_once(&postgres_fixture("cursor").await).await;
}

#[tokio::test]
async fn malformed_input_is_a_precise_400_in_the_envelope() {
    let f = sqlite_fixture().await;
    let base = format!("/api/v1/streams/{CI}/releases");
    for (query, expected) in [
        ("cursor=%25%25%25", "malformed cursor: not base64url"),
        (
            "cursor=bm90IGpzb24",
            "malformed cursor: not a next_cursor value from this api",
        ),
        ("limit=0", "limit must be between 1 and 200, got 0"),
        ("limit=201", "limit must be between 1 and 200, got 201"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("phase=Sideways", "unknown phase \"Sideways\""),
    ] {
        let a = get(&f.app, &format!("{base}?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}: {}", a.body);
        assert!(a.header("content-type").starts_with("application/json"));
        let detail = a.error();
        assert!(detail.contains(expected), "{query}: {detail}");
        assert!(!detail.starts_with(char::is_uppercase), "{detail}");
    }
    let a = get(&f.app, &format!("{base}?limit=ten")).await;
    assert!(a.error().contains("invalid digit"), "{}", a.error());

    let a = get(&f.app, "/api/v1/streams/%FF").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(a.error(), "invalid URL: Invalid UTF-8 in `stream`");
}

#[tokio::test]
async fn unknown_streams_releases_and_routes_are_404_envelopes() {
    let f = sqlite_fixture().await;
    for (uri, expected) in [
        (
            "/api/v1/streams/no-such-stream",
            "stream no-such-stream not found",
        ),
        (
            "/api/v1/streams/no-such-stream/releases",
            "stream no-such-stream not found",
        ),
        (
            "/api/v1/releases/4.99.0-0.okd-scos-2099-01-01-000000",
            "release 4.99.0-0.okd-scos-2099-01-01-000000 not found",
        ),
        (
            "/api/v1/compare/4.99.0-0.okd-scos-2099-01-01-000000/nope",
            "release 4.99.0-0.okd-scos-2099-01-01-000000 not found",
        ),
        (
            "/api/v1/no/such/thing",
            "api route GET /api/v1/no/such/thing not found",
        ),
        ("/api/v1", "api route GET /api/v1 not found"),
        ("/api/v1/", "api route GET /api/v1/ not found"),
        (
            "/streams/no-such-stream/feed.atom",
            "stream no-such-stream not found",
        ),
    ] {
        let a = get(&f.app, uri).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}: {}", a.body);
        assert_eq!(a.error(), expected, "{uri}");
        assert!(a.header("etag").is_empty(), "errors are not tagged");
    }
    let latest = f
        .store
        .latest_release(CI, None)
        .await
        .expect("query")
        .expect("a release");
    let a = get(
        &f.app,
        &format!("/api/v1/releases/{}?stream={STABLE}", latest.name),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.error().contains("in stream 4-scos-stable"));

    let a = send(
        &f.app,
        Request::post("/api/v1/streams")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.error().contains("POST is not allowed"));
}

#[tokio::test]
async fn release_has_gates_upgrades_changelog_and_compares_job_by_job() {
    let f = sqlite_fixture().await;
    let rejected = f
        .store
        .latest_release(CI, Some("Rejected"))
        .await
        .expect("query")
        .expect("a rejected release");
    let accepted = f
        .store
        .latest_release(CI, Some("Accepted"))
        .await
        .expect("query")
        .expect("an accepted release");

    let a = get(&f.app, &format!("/api/v1/releases/{}", rejected.name)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let r = a.json();
    assert_eq!(r["name"], rejected.name.as_str());
    assert_eq!(r["stream"], CI);
    assert_eq!(r["phase"], "Rejected");
    assert_eq!(r["has_details"], true);
    let gates = r["gates"].as_array().expect("gates");
    assert!(gates
        .iter()
        .any(|g| g["kind"] == "blocking" && g["state"] == "Failed"));
    assert!(r["blocking_passed"].as_u64() < r["blocking_total"].as_u64());
    assert!(r["pull_spec"]
        .as_str()
        .expect("pull spec")
        .starts_with("registry.ci.openshift.org/origin/release-scos:"));
    assert!(r["upgrades_into"].is_array() && r["upgrades_out"].is_array());

    let a = get(&f.app, &format!("/api/v1/releases/{}", accepted.name)).await;
    let r = a.json();
    let changelog = &r["changelog"];
    assert!(changelog.is_object(), "{}", a.body);
    assert!(!changelog["components"]
        .as_array()
        .expect("components")
        .is_empty());

    let a = get(
        &f.app,
        &format!("/api/v1/compare/{}/{}", accepted.name, rejected.name),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let c = a.json();
    assert_eq!(c["from"]["name"], accepted.name.as_str());
    assert_eq!(c["to"]["phase"], "Rejected");
    let gates = c["gates"].as_array().expect("gates");
    assert!(!gates.is_empty());
    assert!(
        gates.iter().any(|g| g["kind"] == "blocking"
            && g["from"] == "Succeeded"
            && g["to"] == "Failed"
            && g["changed"] == true),
        "{gates:?}"
    );
    let kinds: Vec<&str> = gates.iter().filter_map(|g| g["kind"].as_str()).collect();
    assert!(kinds
        .windows(2)
        .all(|k| !(k[0] != "blocking" && k[1] == "blocking")));
    for component in c["components"].as_array().expect("components") {
        assert_eq!(component["changed"], component["from"] != component["to"]);
    }

    let a = get(
        &f.app,
        &format!("/api/v1/compare/{}/{}", accepted.name, accepted.name),
    )
    .await;
    let same = a.json();
    assert!(same["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .all(|g| g["changed"] == false));
}

#[tokio::test]
async fn public_reads_carry_etag_cache_control_and_cors_and_revalidate_to_304() {
    let f = sqlite_fixture().await;
    for uri in [
        "/api/v1/streams",
        "/api/v1/streams/4.21.0-0.okd-scos/releases?limit=3",
        "/api/v1/openapi.json",
        "/streams/4.21.0-0.okd-scos/feed.atom",
    ] {
        let first = send(
            &f.app,
            Request::get(uri)
                .header("host", "dash.example.org")
                .header("origin", "https://elsewhere.example")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(first.status, StatusCode::OK, "{uri}");
        let etag = first.header("etag").to_string();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{uri}: strong etag {etag}"
        );
        assert_eq!(first.header("cache-control"), "public, max-age=30");
        assert_eq!(first.header("access-control-allow-origin"), "*");

        let again = get(&f.app, uri).await;
        assert_eq!(again.header("etag"), etag, "{uri}: same body, same tag");

        let revalidated = send(
            &f.app,
            Request::get(uri)
                .header("host", "dash.example.org")
                .header("if-none-match", format!("\"other\", {etag}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(revalidated.body.is_empty());
        assert_eq!(revalidated.header("etag"), etag);
        assert_eq!(revalidated.header("cache-control"), "public, max-age=30");

        let stale = send(
            &f.app,
            Request::get(uri)
                .header("host", "dash.example.org")
                .header("if-none-match", "\"stale\"")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(stale.status, StatusCode::OK, "{uri}");
    }

    // a gzip answer is other bytes than an identity one, so it has its own strong tag
    let gzip = |tag: Option<&str>| {
        let mut request = Request::get("/api/v1/streams").header("accept-encoding", "gzip");
        if let Some(tag) = tag {
            request = request.header("if-none-match", tag);
        }
        request.body(Body::empty()).expect("request")
    };
    let identity = get(&f.app, "/api/v1/streams").await;
    let compressed = send(&f.app, gzip(None)).await;
    assert_eq!(compressed.status, StatusCode::OK);
    assert_eq!(compressed.header("content-encoding"), "gzip");
    assert!(compressed.header("vary").contains("accept-encoding"));
    let gzip_tag = compressed.header("etag").to_string();
    assert_ne!(gzip_tag, identity.header("etag"));
    assert_eq!(send(&f.app, gzip(None)).await.header("etag"), gzip_tag);
    let revalidated = send(&f.app, gzip(Some(&gzip_tag))).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.header("content-encoding").is_empty());
    assert_eq!(
        send(&f.app, gzip(Some(identity.header("etag"))))
            .await
            .status,
        StatusCode::OK
    );

    let preflight = send(
        &f.app,
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/v1/streams")
            .header("origin", "https://elsewhere.example")
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert_eq!(preflight.header("access-control-allow-origin"), "*");
    assert!(preflight
        .header("access-control-allow-methods")
        .contains("GET"));

    let head = send(
        &f.app,
        Request::head("/api/v1/streams")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    let get_tag = get(&f.app, "/api/v1/streams").await;
    assert_eq!(
        head.header("etag"),
        get_tag.header("etag"),
        "HEAD tags like GET"
    );
}

#[tokio::test]
async fn openapi_document_lists_every_route_and_the_docs_page_renders_it() {
    let f = sqlite_fixture().await;
    let a = get(&f.app, "/api/v1/openapi.json").await;
    assert_eq!(a.status, StatusCode::OK);
    let doc = a.json();
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let routes = [
        "/api/v1/streams",
        "/api/v1/streams/{stream}",
        "/api/v1/streams/{stream}/releases",
        "/api/v1/releases/{tag}",
        "/api/v1/search",
        "/api/v1/compare/{from}/{to}",
        "/api/v1/upgrade",
        "/api/v1/jobs",
        "/api/v1/jobs/{name}",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/streams/{stream}/feed.atom",
        "/streams/{stream}/jobs/{job}/feed.atom",
        "/components/{name}/feed.atom",
    ];
    let hooks = ["/api/v1/hooks/registry", "/api/v1/hooks/quay"];
    let promotions = [
        "/api/v1/promotions",
        "/api/v1/promotions/{id}",
        "/api/v1/promotions/{id}/notes.md",
        "/api/v1/promotions/{id}/signature-message.json",
        "/signatures/{dir}/{file}",
        "/api/v1/targets",
        "/api/v1/targets/{name}",
    ];
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort_unstable();
    // an endless event stream: documented, and tested in tests/live.rs
    let live = ["/api/v1/live"];
    let mut expected = [&routes[..], &hooks[..], &promotions[..], &live[..]].concat();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    assert!(
        paths["/api/v1/live"]["get"]["responses"]["200"]["content"]["text/event-stream"]
            .is_object()
    );
    for hook in hooks {
        assert!(paths[hook]["post"].is_object(), "{hook} has POST");
    }
    for route in routes {
        assert!(paths[route]["get"].is_object(), "{route} has GET");
        // every documented route answers (with sample parameters)
        let uri = route
            .replace("{stream}", CI)
            .replace("{tag}", "4.99.0-0.okd-scos-2099-01-01-000000")
            .replace("{from}", "a")
            .replace("{to}", "b")
            .replace("{name}", "e2e-aws")
            .replace("{job}", "e2e-aws");
        let uri = if route == "/api/v1/upgrade" {
            format!("{uri}?from=a&to=b")
        } else if route.starts_with("/api/v1/jobs") {
            format!("{uri}?stream={CI}")
        } else if route == "/api/v1/search" {
            format!("{uri}?q=OCPBUGS-1")
        } else {
            uri
        };
        let answer = get(&f.app, &uri).await;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => assert!(
                answer
                    .header("content-type")
                    .starts_with("application/json"),
                "{uri}: an api 404, not the pages' one"
            ),
            status => panic!("{uri}: {status}"),
        }
    }
    let releases = &paths["/api/v1/streams/{stream}/releases"]["get"];
    let params: Vec<&str> = releases["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(params, ["stream", "phase", "limit", "cursor"]);
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for schema in [
        "Stream",
        "StreamList",
        "ReleasePage",
        "Release",
        "Comparison",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    assert_eq!(
        releases["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ReleasePage"
    );

    let page = get(&f.app, "/api/v1/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(page.body.starts_with("<!DOCTYPE html>"));
    assert!(!page.body.contains("<script"));
    for route in routes {
        assert!(
            page.body.contains(&format!("<code>{route}</code>")),
            "{route}"
        );
    }
    assert!(page.body.contains("<td>cursor</td>"));
    assert!(page
        .body
        .contains("<a href=\"#schema-ReleasePage\">ReleasePage</a>"));
    assert!(page.body.contains("id=\"schema-ReleasePage\""));
    well_formed(&page.body);
}

fn in_entry_title(stack: &[String]) -> bool {
    matches!(stack, [.., parent, last] if parent == "entry" && last == "title")
}

/// Parses `xml` to the end, checking every tag closes; returns the text of each `<title>`
/// inside an `<entry>` and the number of entries.
fn well_formed(xml: &str) -> (usize, Vec<String>) {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut entries = 0;
    let mut titles = Vec::new();
    loop {
        match reader.read_event().expect("well-formed xml") {
            Event::Eof => break,
            Event::Start(e) => {
                let name = AsRef::<str>::as_ref(&e.name()).to_string();
                if name == "entry" {
                    entries += 1;
                }
                if name == "title" && stack.last().is_some_and(|p| p == "entry") {
                    titles.push(String::new());
                }
                stack.push(name);
            }
            Event::End(_) => {
                stack.pop().expect("an open element");
            }
            Event::Text(t) if in_entry_title(&stack) => {
                if let Some(title) = titles.last_mut() {
                    title.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) if in_entry_title(&stack) => {
                let resolved = match r.xml10_content().as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => r
                        .resolve_char_ref()
                        .expect("a valid reference")
                        .expect("a character reference"),
                };
                if let Some(title) = titles.last_mut() {
                    title.push(resolved);
                }
            }
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    (entries, titles)
}

#[tokio::test]
async fn atom_feed_lists_accepted_releases_with_absolute_links() {
    let f = sqlite_fixture().await;
    let a = send(
        &f.app,
        Request::get(format!("/streams/{CI}/feed.atom"))
            .header("host", "dash.example.org:8443")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.header("content-type"),
        "application/atom+xml; charset=utf-8"
    );
    assert!(a
        .body
        .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert!(a
        .body
        .contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
    let (entries, titles) = well_formed(&a.body);
    let accepted = f
        .store
        .count_releases(CI, Some("Accepted"))
        .await
        .expect("count");
    assert_eq!(entries as i64, accepted.min(50));
    assert!(
        titles.iter().all(|t| t.ends_with(" (Accepted)")),
        "{titles:?}"
    );
    let latest = f
        .store
        .latest_release(CI, Some("Accepted"))
        .await
        .expect("query")
        .expect("an accepted release");
    assert_eq!(titles[0], format!("{} (Accepted)", latest.name));
    let url = format!(
        "https://dash.example.org:8443/releases/{}?stream={CI}",
        latest.name
    );
    assert!(a.body.contains(&format!("<id>{url}</id>")));
    assert!(a.body.contains(&format!(
        "<link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>"
    )));
    assert!(a.body.contains("blocking gates passed"));
    assert!(a.body.contains(&format!(
        "href=\"https://dash.example.org:8443/streams/{CI}/feed.atom\""
    )));

    let all = get(&f.app, &format!("/streams/{CI}/feed.atom?all")).await;
    assert_eq!(all.status, StatusCode::OK);
    let (entries, titles) = well_formed(&all.body);
    let total = f.store.count_releases(CI, None).await.expect("count");
    assert_eq!(entries as i64, total.min(50));
    assert!(titles.iter().any(|t| t.ends_with(" (Rejected)")));
    assert!(all
        .body
        .contains("href=\"http://dash.example.org/streams/4.21.0-0.okd-scos/feed.atom?all\""));

    for host in ["evil\"><x", "user@dash.example.org", ""] {
        let a = send(
            &f.app,
            Request::get(format!("/streams/{CI}/feed.atom"))
                .header("host", host)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{host}");
        assert!(a.error().to_lowercase().contains("host"), "{}", a.error());
    }
}

#[tokio::test]
async fn hostile_names_cannot_break_the_feed_or_the_api() {
    let f = postgres_fixture("hostile").await;
    let stream = "evil<&>\"']]>-stream";
    let name = "4.21.0-0.okd-scos-x</title><script>alert(1)</script>&amp;]]>\u{1}";
    let mut tx = f.store.begin().await.expect("tx");
    tx.ensure_stream(&NewStream {
        name: stream.to_string(),
        controller: "origin".to_string(),
        variant: Variant::OkdScos,
        kind: StreamKind::Ci,
        minor: None,
        seen_at: anchor(),
    })
    .await
    .expect("stream");
    tx.upsert_release(&NewRelease {
        stream: stream.to_string(),
        name: name.to_string(),
        phase: Phase::Accepted,
        pull_spec: "registry.example/r@sha256:<&>".to_string(),
        download_url: String::new(),
        created_at: anchor(),
        seen_at: anchor(),
    })
    .await
    .expect("release");
    tx.commit().await.expect("commit");

    let encoded = server::percent::encode(stream);
    let a = get(&f.app, &format!("/streams/{encoded}/feed.atom")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (entries, titles) = well_formed(&a.body);
    assert_eq!(entries, 1);
    let readable: String = name.chars().filter(|c| !c.is_control()).collect();
    assert_eq!(titles, [format!("{readable} (Accepted)")]);
    assert!(!a.body.contains("<script>"));

    let a = get(&f.app, &format!("/api/v1/streams/{encoded}/releases")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["releases"][0]["name"], name);
    let a = get(
        &f.app,
        &format!(
            "/api/v1/releases/{}?stream={encoded}",
            server::percent::encode(name)
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["stream"], stream);
}

#[tokio::test]
async fn store_failures_are_a_500_that_tells_nothing_internal() {
    let f = sqlite_fixture().await;
    f.store.close().await;
    for uri in [
        "/api/v1/streams",
        "/api/v1/streams/4.21.0-0.okd-scos/releases",
        "/streams/4.21.0-0.okd-scos/feed.atom",
    ] {
        let a = get(&f.app, uri).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert_eq!(a.error(), "internal server error; try again shortly");
        assert!(a.header("etag").is_empty() && a.header("cache-control").is_empty());
    }
}
