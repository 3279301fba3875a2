//! Stored XSS through upstream data: the demo's poisoned release (job names like `<script>`,
//! job, attempt, upgrade-run and changelog URLs `javascript:` and `data:`, hostile Markdown)
//! is played into a store by the real poller from the replay controller, promoted (its
//! release notes list its gates), and every page family is rendered through the real router:
//! no hostile URL becomes a link, no markup runs, and every response — pages, errors, API,
//! feed, badge, assets, server-sent events — carries the security headers, with the page's
//! inline scripts carrying the nonce its Content-Security-Policy names.

use crate::support::fixture::{anchor, fixture_with, Fixture};
use app::model::promotion::{
    GateSummary, PromotionPlan, PromotionState, PromotionTarget, SignatureStatus,
};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::Utc;
use server::events::{ingest, PROMOTION_REQUESTED, PROMOTION_STATE};
use server::replay::dataset::Dataset;
use server::replay::hostile::{is_hostile, HOSTILE_STREAM, IMG_JOB, MARKDOWN_JOB, SCRIPT_JOB};
use server::store::events::NewEvent;
use server::store::promotions::{NewPromotion, StateChange};
use server::store::Store;

/// The poisoned release and the release its hostile upgrade edge starts from.
fn hostile_releases() -> (String, String) {
    let data = Dataset::demo(anchor()).expect("demo data");
    let stream = data
        .stream("origin", HOSTILE_STREAM)
        .expect("the poisoned stream");
    let tag = stream
        .tags
        .iter()
        .find(|t| is_hostile(t))
        .expect("a poisoned release");
    let edge = tag.upgrades_to.last().expect("the hostile edge");
    (tag.name.clone(), edge.from.clone())
}

/// A fixture whose site has one real asset, the stylesheet.
async fn poisoned_site() -> (Fixture, tempfile::TempDir) {
    let site = tempfile::tempdir().expect("site dir");
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg dir");
    std::fs::write(site.path().join("pkg/streamgate.css"), "body{margin:0}").expect("css");
    let root = site.path().to_path_buf();
    let f = fixture_with(move |state| state.assets = server::assets::Assets::load(&root)).await;
    (f, site)
}

fn event(kind: &str, subject: &str, payload: String) -> NewEvent {
    NewEvent {
        source: "streamgate".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload,
        received_at: Utc::now(),
        external_id: None,
    }
}

/// Records a succeeded promotion of `release` to `4-scos-next` as the promotion worker does
/// (its events), so its page carries release notes listing the release's gates.
async fn promote(store: &Store, release: &str) -> i64 {
    let plan = PromotionPlan {
        target: PromotionTarget {
            name: "4-scos-next".into(),
            source_stream: HOSTILE_STREAM.into(),
            content_repo: "quay.io/okd/scos-content".into(),
            release_repo: "quay.io/okd/scos-release".into(),
            name_template: "{version}-okd-scos.ec.{n}".into(),
            has_webhook: false,
            webhook_masked: None,
            publishing: Default::default(),
            pipeline_url: None,
        },
        stream: HOSTILE_STREAM.into(),
        release: release.into(),
        pull_spec: format!("registry.ci.openshift.org/origin/release-scos:{release}"),
        payload_digest: format!("sha256:{}", "ab".repeat(32)),
        name: "4.21.0-okd-scos.ec.9".into(),
        destination: "quay.io/okd/scos-release:4.21.0-okd-scos.ec.9".into(),
        previous: vec![],
        images: vec![],
        blobs: 0,
        bytes: 0,
        blobs_present: 0,
        bytes_present: 0,
        gates: GateSummary {
            blocking: 1,
            succeeded: 1,
            not_succeeded: vec![],
        },
        signature: SignatureStatus::Unchecked,
        planned_at: Utc::now(),
    };
    let job = NewPromotion {
        plan,
        requested_by: "maintainer".into(),
        override_reason: None,
    };
    let id = ingest(
        store,
        event(
            PROMOTION_REQUESTED,
            "4-scos-next",
            serde_json::to_string(&job).expect("json"),
        ),
    )
    .await
    .expect("requested")
    .expect("new");
    let done = StateChange::to(PromotionState::Succeeded);
    ingest(
        store,
        event(
            PROMOTION_STATE,
            &id.to_string(),
            serde_json::to_string(&done).expect("json"),
        ),
    )
    .await
    .expect("succeeded");
    id
}

/// Sends `request`; the status, headers and (unless `head_only`) the body.
async fn send(app: &axum::Router, request: Request<Body>, head_only: bool) -> Answer {
    let (status, headers, body) = if head_only {
        let (status, headers) = crate::support::http::head(app, request).await;
        (status, headers, String::new())
    } else {
        let (status, headers, bytes) = crate::support::http::send(app, request).await;
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    };
    Answer {
        status,
        headers,
        body,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn get(app: &axum::Router, uri: &str) -> Answer {
    let request = Request::get(uri)
        .header("host", "dash.example.org")
        .body(Body::empty())
        .expect("request");
    send(app, request, false).await
}

/// The security headers are all there; returns the policy's nonce.
fn check_headers(what: &str, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_string()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "style-src 'self' 'nonce-",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing in {csp}"
        );
    }
    assert!(!csp.contains("'unsafe-inline'"), "{what}: {csp}");
    assert!(!csp.contains(" 'unsafe-eval'"), "{what}: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(
        header("referrer-policy"),
        "strict-origin-when-cross-origin",
        "{what}"
    );
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert!(
        headers.get("cross-origin-resource-policy").is_none(),
        "{what}: badges must stay embeddable by image proxies"
    );
    let nonce = csp
        .split("script-src 'self' 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("{what}: no script nonce in {csp}"))
        .to_string();
    assert!(nonce.len() >= 16, "{what}: nonce {nonce}");
    nonce
}

/// The tags of `html` (text between tags never holds a raw `<`: it is escaped), skipping
/// the contents of scripts; `>` inside quoted attribute values does not end a tag.
fn tags(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start..];
        let mut quote = None;
        let mut end = None;
        for (i, c) in after.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let tag = &after[..=end];
        out.push(tag);
        rest = &after[end + 1..];
        if tag.starts_with("<script") {
            assert!(
                !rest.trim_start().starts_with("alert"),
                "an upstream script element: {tag}{rest}"
            );
            if let Some(close) = rest.find("</script>") {
                rest = &rest[close..];
            }
        }
    }
    out
}

/// No element of `html` links to, loads from or runs anything upstream named: no
/// `javascript:`, `data:` or `vbscript:` URL in a URL attribute, no event-handler or style
/// attribute, no upstream `<img>` or `<script>`.
fn check_inert(what: &str, html: &str) {
    let url = regex::Regex::new(
        r#"(?i)\s(href|src|action|formaction|xlink:href|poster|background|srcset)\s*=\s*["']?\s*(javascript|data|vbscript):"#,
    )
    .expect("regex");
    let handler = regex::Regex::new(r#"(?i)\s(on[a-z]+|style)\s*="#).expect("regex");
    let quoted = regex::Regex::new(r#""[^"]*"|'[^']*'"#).expect("regex");
    for tag in tags(html) {
        assert!(!url.is_match(tag), "{what}: {tag}");
        let bare = quoted.replace_all(tag, "\"\"");
        assert!(!handler.is_match(&bare), "{what}: {tag}");
        assert!(
            !tag.to_ascii_lowercase().starts_with("<img src=x"),
            "{what}: {tag}"
        );
    }
}

/// Every inline `<script>` and `<style>` carries the response's nonce, and the page has the
/// hydration script.
fn check_nonces(what: &str, html: &str, nonce: &str) {
    let mut scripts = 0;
    for tag in tags(html) {
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("<script") || lower.starts_with("<style") {
            scripts += usize::from(lower.starts_with("<script"));
            assert!(
                tag.contains(&format!(" nonce=\"{nonce}\"")),
                "{what}: {tag} without the nonce {nonce}"
            );
        }
    }
    assert!(scripts >= 1, "{what}: no hydration script");
}

#[tokio::test]
async fn the_poisoned_release_renders_inert_on_every_page() {
    let (f, _site) = poisoned_site().await;
    let (release, edge_from) = hostile_releases();
    let promotion = promote(&f.store, &release).await;

    let page = get(
        &f.app,
        &format!("/releases/{release}?stream={HOSTILE_STREAM}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = &page.body;
    let nonce = check_headers("release page", &page.headers);
    check_nonces("release page", html, &nonce);
    check_inert("release page", html);
    // the hostile names are there, as text, and not as links
    for name in [SCRIPT_JOB, IMG_JOB, MARKDOWN_JOB] {
        let text = name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(
            html.contains(&format!(">{text}</span>")),
            "{name} is not shown as plain text"
        );
    }
    assert!(
        html.contains("[click me](javascript:alert("),
        "the hostile commit subject is shown as text"
    );
    // the harmless upstream links still are links
    assert!(
        html.contains("<a href=\"https://prow.ci.openshift.org/view/gs/"),
        "gate links are gone altogether"
    );
    assert!(html.contains("<a href=\"https://github.com/openshift/"));
    assert!(
        html.contains("<span class=\"run state-failed\">"),
        "the hostile upgrade runs are listed, not linked"
    );

    let pages = [
        format!("/releases/{edge_from}?stream={HOSTILE_STREAM}"),
        format!("/compare/{edge_from}/{release}"),
        format!("/streams/{HOSTILE_STREAM}"),
        format!("/components/installer?stream={HOSTILE_STREAM}"),
        "/".to_string(),
        "/promotions".to_string(),
        format!("/promotions/{promotion}"),
        "/releases/4.21.0-okd-scos.ec.9?stream=4-scos-next".to_string(),
        "/badges".to_string(),
        "/no/such/page".to_string(),
        format!("/jobs?stream={HOSTILE_STREAM}"),
        format!(
            "/jobs/{}?stream={HOSTILE_STREAM}",
            app::widgets::encode(SCRIPT_JOB)
        ),
        format!(
            "/jobs/{}?stream={HOSTILE_STREAM}",
            app::widgets::encode(IMG_JOB)
        ),
        format!(
            "/jobs/{}?stream={HOSTILE_STREAM}",
            app::widgets::encode(MARKDOWN_JOB)
        ),
    ];
    for uri in &pages {
        let a = get(&f.app, uri).await;
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::NOT_FOUND,
            "{uri}: {}",
            a.status
        );
        let nonce = check_headers(uri, &a.headers);
        check_nonces(uri, &a.body, &nonce);
        check_inert(uri, &a.body);
        // one title element, whatever the page is titled by
        let head = &a.body[..a.body.find("</head>").unwrap_or(a.body.len())];
        assert_eq!(
            (
                head.matches("<title>").count(),
                head.matches("</title>").count()
            ),
            (1, 1),
            "{uri}: {head}"
        );
    }
    let compare = get(&f.app, &format!("/compare/{edge_from}/{release}")).await;
    assert!(compare
        .body
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // the release notes list the hostile gates as text, and keep the good links
    let notes = get(&f.app, &format!("/promotions/{promotion}")).await;
    assert!(notes.body.contains("Release notes"), "{}", notes.body);
    assert!(
        notes.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        notes.body
    );
    assert!(notes
        .body
        .contains("<a href=\"https://prow.ci.openshift.org/view/gs/"));
    let markdown = get(&f.app, &format!("/api/v1/promotions/{promotion}/notes.md")).await;
    assert_eq!(markdown.status, StatusCode::OK, "{}", markdown.body);
    check_headers("notes.md", &markdown.headers);
    // a Markdown link or autolink to a hostile URL (an escaped `\[…\](…)` is text)
    let hostile_link =
        regex::Regex::new(r"(?i)([^\\]\]\(|<)\s*(javascript|data|vbscript):").expect("regex");
    assert!(!hostile_link.is_match(&markdown.body), "{}", markdown.body);
    assert!(markdown.body.contains("\\<script\\>alert(1)\\</script\\>"));

    // the feed and the API description
    let feed = get(&f.app, &format!("/streams/{HOSTILE_STREAM}/feed.atom?all")).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    check_headers("feed", &feed.headers);
    check_inert("feed", &feed.body);
    assert!(feed
        .body
        .contains("href=\"http://dash.example.org/releases/"));
    let docs = get(&f.app, "/api/v1/docs").await;
    assert_eq!(docs.status, StatusCode::OK);
    let nonce = check_headers("docs", &docs.headers);
    assert!(docs.body.contains(&format!("<style nonce=\"{nonce}\">")));
    check_inert("docs", &docs.body);
    assert_eq!(docs.body.matches("<script").count(), 0);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_with_a_fresh_nonce() {
    let (f, _site) = poisoned_site().await;
    let (release, _) = hostile_releases();
    let mut nonces = Vec::new();
    for uri in [
        format!("/api/v1/releases/{release}"),
        "/api/v1/streams".to_string(),
        "/api/v1/openapi.json".to_string(),
        "/api/v1/releases/no-such-release".to_string(),
        "/badges/4.21.0-0.okd-scos.svg".to_string(),
        "/badges/no-such-stream.svg".to_string(),
        "/pkg/streamgate.css".to_string(),
        "/healthz".to_string(),
        "/readyz".to_string(),
        "/metrics".to_string(),
        "/sign-in".to_string(),
        "/favicon.svg".to_string(),
    ] {
        let a = get(&f.app, &uri).await;
        nonces.push(check_headers(&uri, &a.headers));
    }
    let css = get(&f.app, "/pkg/streamgate.css").await;
    assert_eq!(css.status, StatusCode::OK, "the asset is served");
    let badge = get(&f.app, "/badges/4.21.0-0.okd-scos.svg").await;
    assert_eq!(badge.status, StatusCode::OK);
    assert!(badge.body.starts_with("<svg"), "{}", badge.body);

    // the event stream: only its head is read
    let live = send(
        &f.app,
        Request::get("/api/v1/live")
            .header("accept", "text/event-stream")
            .body(Body::empty())
            .expect("request"),
        true,
    )
    .await;
    assert_eq!(live.status, StatusCode::OK);
    nonces.push(check_headers("live", &live.headers));

    // a server function, a wrong method, a form post
    let server_fn = send(
        &f.app,
        Request::post("/api/release")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("tag={release}")))
            .expect("request"),
        false,
    )
    .await;
    assert_eq!(server_fn.status, StatusCode::OK, "{}", server_fn.body);
    nonces.push(check_headers("server function", &server_fn.headers));
    let wrong = send(
        &f.app,
        Request::delete("/api/v1/streams")
            .body(Body::empty())
            .expect("request"),
        false,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    nonces.push(check_headers("405", &wrong.headers));
    let sign_in = send(
        &f.app,
        Request::post("/sign-in")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("username=nobody&password=wrong&next=/"))
            .expect("request"),
        false,
    )
    .await;
    nonces.push(check_headers("sign-in post", &sign_in.headers));

    let mut distinct = nonces.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), nonces.len(), "a nonce was used twice");
}
