//! Random paths, query strings, headers and bodies through the real router (`oneshot`),
//! over a store filled by the real poller: whatever a visitor, a registry or a script
//! sends, the answer is a 2xx, 3xx or 4xx — never a 5xx, a panic or a hang. Where the
//! parsing has rules (the release list's `limit`/`cursor`/`phase`, the live endpoint's
//! scope and `Last-Event-ID`), a model of the rules says which answer to expect. The hook
//! and page properties also run on PostgreSQL, whose text columns refuse what SQLite takes.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use server::api::releases::encode_cursor;
use server::auth::api::{add_user, NewUserBody};
use server::store::api_queries::ReleaseKey;
use tower::ServiceExt;

use crate::support::fixture;

use hostile::{config, hostile_string, hostile_value, json_fixture, near_misses};

const CI: &str = "4.21.0-0.okd-scos";
const STABLE: &str = "4-scos-stable";
const HOOK_SECRET: &str = "fuzz-registry-secret";
const QUAY_SECRET: &str = "fuzz-quay-secret";
const HOST: &str = "streamgate.test";
const ADMIN: &str = "fuzz-admin";
const PASSWORD: &str = "fuzz admin password";

/// The router over a filled store, with the hooks on, and the runtime it lives in.
struct Site {
    runtime: tokio::runtime::Runtime,
    fixture: fixture::Fixture,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn with_hooks(state: &mut server::AppState) {
    state.settings.hooks.insert("registry", HOOK_SECRET);
    state.settings.hooks.insert("quay", QUAY_SECRET);
}

fn sqlite_site() -> Site {
    let runtime = runtime();
    let fixture = runtime.block_on(fixture::fixture_with(with_hooks));
    Site { runtime, fixture }
}

fn postgres_site(name: &str) -> Site {
    let runtime = runtime();
    let fixture = runtime.block_on(async {
        let admin = std::env::var("STREAMGATE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let store = server::store::fresh_postgres(&admin, &format!("sg_fuzz_{name}"))
            .await
            .expect("postgres reachable for tests");
        fixture::fill(store, None, with_hooks).await
    });
    Site { runtime, fixture }
}

impl Site {
    /// Runs `property` on `cases` inputs of `strategy`; fails with the smallest input that
    /// breaks it.
    fn check<S: Strategy, F, Fut>(&self, cases: u32, strategy: S, property: F)
    where
        S::Value: Clone + std::fmt::Debug,
        F: Fn(S::Value) -> Fut,
        Fut: Future<Output = Result<(), TestCaseError>>,
    {
        let mut runner = TestRunner::new(config(cases));
        if let Err(e) = runner.run(&strategy, |input| self.runtime.block_on(property(input))) {
            panic!("{e}");
        }
    }
}

/// Status, content type and (unless it is an endless event stream) the body.
async fn answer(app: &axum::Router, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let response = tokio::time::timeout(Duration::from_secs(30), app.clone().oneshot(request))
        .await
        .expect("an answer within 30 s")
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if content_type.starts_with("text/event-stream") {
        return (status, content_type, Vec::new());
    }
    let body = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
        .await
        .expect("a whole body within 30 s")
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

fn not_a_server_error(what: &str, status: StatusCode, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        !status.is_server_error(),
        "{what} answered {status}: {}",
        excerpt(body)
    );
    Ok(())
}

/// The part of a body that says what went wrong: an error section of a page, or the start.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let from = text.find("<section class=\"error\"").unwrap_or(0);
    text.chars().skip(from).take(400).collect()
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A path segment: a real name, hostile text percent-encoded, or raw tricks.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            CI.to_string(),
            STABLE.to_string(),
            "4.21.0-0.okd-scos-2026-11-20-101500".to_string(),
            "status.svg".to_string(),
            "status.json".to_string(),
            format!("{STABLE}.svg"),
            "1".to_string(),
            "0".to_string(),
            "-1".to_string(),
            "9223372036854775808".to_string(),
        ]),
        4 => hostile_string().prop_map(|s| encode(&s)),
        2 => prop::sample::select(vec![
            "..", ".", "%2e%2e", "%2F", "%00", "%", "%zz", "%ff%fe", "~", "a;b=c", "@", ":",
            "!$&'()*+,=", "%C0%AF", "%EF%BF%BD", "..%2F..%2Fetc%2Fpasswd", "x.svg%00.json",
        ])
        .prop_map(str::to_string),
    ]
}

const ROUTES: &[&str] = &[
    "/",
    "/streams/{}",
    "/releases/{}",
    "/compare/{}/{}",
    "/components/{}",
    "/badges",
    "/promotions",
    "/promotions/{}",
    "/promote/{}",
    "/admin/targets",
    "/sign-in",
    "/account",
    "/admin/users",
    "/badges/{}",
    "/badges/{}/{}",
    "/streams/{}/feed.atom",
    "/streams/{}/jobs/{}/feed.atom",
    "/components/{}/feed.atom",
    "/jobs",
    "/jobs/{}",
    "/search",
    "/healthz",
    "/readyz",
    "/metrics",
    "/pkg/{}",
    "/api/v1",
    "/api/v1/{}",
    "/api/v1/streams",
    "/api/v1/streams/{}",
    "/api/v1/streams/{}/releases",
    "/api/v1/releases/{}",
    "/api/v1/compare/{}/{}",
    "/api/v1/jobs",
    "/api/v1/jobs/{}",
    "/api/v1/search",
    "/api/v1/promotions",
    "/api/v1/promotions/{}",
    "/api/v1/promotions/{}/notes.md",
    "/api/v1/targets",
    "/api/v1/targets/{}",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/me",
    "/api/v1/tokens",
    "/api/v1/users",
    "/api/v1/users/{}",
    "/api/v1/live",
    "/{}",
    "/{}/{}/{}",
];

const QUERY_KEYS: &[&str] = &[
    "limit",
    "cursor",
    "phase",
    "stream",
    "release",
    "promotion",
    "style",
    "label",
    "all",
    "next",
    "error",
    "done",
    "target",
    "from",
    "to",
    "secret",
    "page",
    "tag",
    "q",
];

/// A query value: numbers at and past every edge, phases and styles, hostile text.
fn plain_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "1",
            "50",
            "200",
            "201",
            "-1",
            "+5",
            " 5",
            "1e3",
            "0x10",
            "4294967296",
            "18446744073709551616",
            "accepted",
            "REJECTED",
            "Published",
            "Unknown",
            "flat",
            "for-the-badge",
            "true",
            "false",
            "no",
        ])
        .prop_map(str::to_string),
        hostile_string(),
    ]
}

/// A cursor as the api hands them out.
fn cursor(secs: i64, name: String) -> String {
    let created_at = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    encode_cursor(&ReleaseKey { created_at, name })
}

/// A query value: [`plain_value`]s and cursors.
fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => plain_value(),
        1 => (0i64..253_402_300_799, hostile_string()).prop_map(|(secs, name)| cursor(secs, name)),
    ]
}

/// A query string: known and unknown keys, repeated keys, encoded and raw.
fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        4 => prop::sample::select(QUERY_KEYS).prop_map(str::to_string),
        1 => hostile_string(),
    ];
    prop_oneof![
        4 => prop::collection::vec((key, query_value()), 0..5).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        }),
        1 => prop::sample::select(vec![
            "%", "%zz", "%00", "limit=%00", "&&&", "=", "==", ";", "a=b=c", "limit", "limit=1&limit=2",
            "stream&release", "cursor=%ff%fe", "phase=%E2%80%AE", "all", "style=flat&style=flat",
        ])
        .prop_map(str::to_string),
    ]
}

fn path_and_query() -> impl Strategy<Value = String> {
    (
        prop::sample::select(ROUTES),
        prop::collection::vec(segment(), 3),
        proptest::option::of(query()),
    )
        .prop_map(|(route, segments, query)| {
            let mut path = route.to_string();
            for s in &segments {
                path = path.replacen("{}", s, 1);
            }
            match query {
                Some(q) => format!("{path}?{q}"),
                None => path,
            }
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        6 => Just(Method::GET),
        1 => Just(Method::HEAD),
        1 => Just(Method::POST),
        1 => Just(Method::PUT),
        1 => Just(Method::DELETE),
        1 => Just(Method::OPTIONS),
        1 => Just(Method::PATCH),
    ]
}

async fn any_request_is_answered_without_a_server_error(
    app: &axum::Router,
    (method, uri, json): (Method, String, bool),
) -> Result<(), TestCaseError> {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(&uri)
        .header(header::HOST, HOST);
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    // a few generated paths are no URI at all; a client cannot send those
    let Ok(request) = request.body(Body::empty()) else {
        return Ok(());
    };
    let (status, _, body) = answer(app, request).await;
    not_a_server_error(&format!("{method} {uri}"), status, &body)
}

#[test]
fn random_paths_and_query_strings_never_fail_the_server() {
    let site = sqlite_site();
    let app = &site.fixture.app;
    site.check(256, (method(), path_and_query(), any::<bool>()), |input| {
        any_request_is_answered_without_a_server_error(app, input)
    });
}

/// The pages' server functions, as the hydrated pages call them.
const SERVER_FNS: &[&str] = &[
    "account",
    "badge_page",
    "compare",
    "component_history",
    "job",
    "jobs",
    "overview",
    "promotion",
    "promotion_panel",
    "promotion_plan",
    "promotions",
    "release",
    "search",
    "stream_page",
    "suggest",
    "targets",
    "users",
    "viewer",
];

fn server_fn_call() -> impl Strategy<Value = (&'static str, String, bool)> {
    let args = prop_oneof![
        3 => prop::collection::vec(
            (
                prop::sample::select(vec![
                    "tag", "stream", "from", "to", "name", "id", "target", "release", "page",
                    "limit", "cursor", "phase", "q",
                ]),
                plain_value(),
            ),
            0..4,
        )
        .prop_map(|pairs| serde_urlencoded::to_string(&pairs).unwrap_or_default()),
        1 => query(),
    ];
    (prop::sample::select(SERVER_FNS), args, any::<bool>())
}

async fn server_fn_call_is_answered_without_a_server_error(
    app: &axum::Router,
    (name, args, json): (&'static str, String, bool),
) -> Result<(), TestCaseError> {
    let mut request = Request::post(format!("/api/{name}"))
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    let (status, _, body) = answer(
        app,
        request.body(Body::from(args.clone())).expect("request"),
    )
    .await;
    not_a_server_error(&format!("POST /api/{name} {args}"), status, &body)
}

#[test]
fn server_functions_take_any_arguments_without_a_server_error() {
    let site = sqlite_site();
    let app = &site.fixture.app;
    site.check(96, server_fn_call(), |input| {
        server_fn_call_is_answered_without_a_server_error(app, input)
    });
}

/// What the release list should answer to a query: 200, or 400 for a malformed one.
fn release_page_model(pairs: &[(String, String)]) -> StatusCode {
    let mut seen = std::collections::BTreeSet::new();
    let mut ok = true;
    for (k, v) in pairs {
        if !seen.insert(k.as_str()) && matches!(k.as_str(), "limit" | "cursor" | "phase") {
            ok = false;
        }
        match k.as_str() {
            "limit" => ok &= v.parse::<u32>().is_ok_and(|l| (1..=200).contains(&l)),
            "phase" => {
                ok &= matches!(
                    v.to_ascii_lowercase().as_str(),
                    "accepted" | "rejected" | "ready" | "pending" | "failed" | "published"
                )
            }
            "cursor" => ok &= v.starts_with("cursor-ok:"),
            _ => {}
        }
    }
    if ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

#[test]
fn release_pages_take_any_limit_cursor_and_phase_as_the_rules_say() {
    let site = sqlite_site();
    let app = &site.fixture.app;
    let pair = prop_oneof![
        (Just("limit".to_string()), plain_value()),
        (Just("phase".to_string()), plain_value()),
        (
            Just("cursor".to_string()),
            prop_oneof![
                // a cursor the api hands out, marked for the model
                (0i64..253_402_300_799, hostile_string())
                    .prop_map(|(secs, name)| format!("cursor-ok:{}", cursor(secs, name))),
                plain_value(),
            ]
        ),
        (Just("other".to_string()), hostile_string()),
    ];
    site.check(256, prop::collection::vec(pair, 0..4), |pairs| async move {
        let want = release_page_model(&pairs);
        let query = pairs
            .iter()
            .map(|(k, v)| {
                let v = v.strip_prefix("cursor-ok:").unwrap_or(v);
                format!("{k}={}", encode(v))
            })
            .collect::<Vec<_>>()
            .join("&");
        let uri = format!("/api/v1/streams/{CI}/releases?{query}");
        let request = Request::get(&uri).body(Body::empty()).expect("request");
        let (status, _, body) = answer(app, request).await;
        prop_assert_eq!(
            status,
            want,
            "{} answered {}",
            uri,
            String::from_utf8_lossy(&body)
        );
        if status == StatusCode::OK {
            let page: serde_json::Value = serde_json::from_slice(&body).expect("json");
            let limit = page["limit"].as_u64().expect("limit");
            let releases = page["releases"].as_array().expect("releases");
            prop_assert!(releases.len() as u64 <= limit);
        }
        Ok(())
    });
}

/// What the live endpoint should answer: 200 for a valid scope and resume point, else 400.
fn live_model(pairs: &[(String, String)], last_event_id: &str) -> StatusCode {
    let mut seen = std::collections::BTreeSet::new();
    let (mut stream, mut release, mut promotion) = (None, None, None);
    for (k, v) in pairs {
        if !seen.insert(k.as_str()) {
            return StatusCode::BAD_REQUEST;
        }
        match k.as_str() {
            "stream" => stream = Some(v.as_str()).filter(|s| !s.is_empty()),
            "release" => release = Some(v.as_str()).filter(|s| !s.is_empty()),
            "promotion" => match v.parse::<i64>() {
                Ok(p) => promotion = Some(p),
                Err(_) => return StatusCode::BAD_REQUEST,
            },
            _ => return StatusCode::BAD_REQUEST,
        }
    }
    let scope_ok = stream.is_none_or(|s| s.len() <= 256)
        && release.is_none_or(|r| r.len() <= 256)
        && (release.is_none() || stream.is_some())
        && (promotion.is_none() || (stream.is_none() && release.is_none()))
        && promotion.is_none_or(|p| p > 0);
    let text = last_event_id.trim();
    let resume_ok = text.is_empty() || text.parse::<i64>().is_ok_and(|id| id >= 0);
    if scope_ok && resume_ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

#[test]
fn live_scopes_and_resume_points_are_followed_or_refused_as_the_rules_say() {
    let site = sqlite_site();
    let app = &site.fixture.app;
    let pair = (
        prop_oneof![
            3 => prop::sample::select(vec!["stream", "release", "promotion"]).prop_map(str::to_string),
            1 => "[a-z]{1,8}",
        ],
        prop_oneof![
            Just(CI.to_string()),
            Just(String::new()),
            (257usize..300).prop_map(|n| "s".repeat(n)),
            query_value(),
        ],
    );
    let last_event_id = prop_oneof![
        Just(String::new()),
        Just("0".to_string()),
        Just(" 12 ".to_string()),
        Just("-1".to_string()),
        Just("9223372036854775808".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[ -~]{0,30}",
    ];
    site.check(
        128,
        (prop::collection::vec(pair, 0..4), last_event_id),
        |(pairs, last)| async move {
            let want = live_model(&pairs, &last);
            let query = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let uri = format!("/api/v1/live?{query}");
            let mut request = Request::get(&uri);
            if !last.is_empty() {
                request = request.header("last-event-id", &last);
            }
            let (status, content_type, body) =
                answer(app, request.body(Body::empty()).expect("request")).await;
            prop_assert_eq!(
                status,
                want,
                "{} (Last-Event-ID {:?}) answered {}",
                uri,
                last,
                String::from_utf8_lossy(&body)
            );
            if status == StatusCode::OK {
                prop_assert!(content_type.starts_with("text/event-stream"));
            }
            Ok(())
        },
    );
}

/// Bytes of a body, shown as text when a property fails.
#[derive(Clone)]
struct Raw(Vec<u8>);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// A form body: known fields with hostile values (and sometimes the right CSRF token), or
/// any bytes.
fn form_body(csrf: String) -> impl Strategy<Value = Raw> {
    let field = prop_oneof![
        4 => prop::sample::select(vec![
            "name", "password", "next", "role", "targets", "action", "target", "stream",
            "release", "expected_name", "override_reason", "repository", "webhook_url",
        ])
        .prop_map(str::to_string),
        1 => hostile_string(),
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            "admin",
            "maintainer",
            "update",
            "disable",
            "enable",
            "password",
            "/",
            "//evil.example",
            "/\\evil",
            "https://evil.example",
            "/a\r\nLocation: x",
            ADMIN,
        ])
        .prop_map(str::to_string),
        hostile_string(),
    ];
    prop_oneof![
        4 => (prop::collection::vec((field, value), 0..6), any::<bool>()).prop_map(
            move |(mut pairs, with_csrf)| {
                if with_csrf {
                    pairs.push(("csrf".to_string(), csrf.clone()));
                }
                serde_urlencoded::to_string(&pairs).unwrap_or_default().into_bytes()
            }
        ),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => hostile_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::sample::select(vec!["%", "%zz&=&", "name=%ff", "a=1&a=2", "csrf"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
    .prop_map(Raw)
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        prop::sample::select(vec![
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
            ";",
        ])
        .prop_map(str::to_string),
    )
}

type SignIn = (Raw, Option<String>, Option<String>, bool);

fn sign_in() -> impl Strategy<Value = SignIn> {
    let origin = proptest::option::of(prop::sample::select(vec![
        format!("http://{HOST}"),
        "https://evil.example".to_string(),
        "null".to_string(),
        String::new(),
    ]));
    (
        form_body(String::new()),
        content_type(),
        origin,
        any::<bool>(),
    )
}

async fn sign_in_is_answered_without_a_server_error(
    app: &axum::Router,
    (body, content_type, origin, json): SignIn,
) -> Result<(), TestCaseError> {
    let mut request = Request::post("/auth/sign-in").header(header::HOST, HOST);
    if let Some(ct) = &content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    if let Some(o) = &origin {
        request = request.header(header::ORIGIN, o);
    }
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    let (status, _, answer_body) =
        answer(app, request.body(Body::from(body.0)).expect("request")).await;
    not_a_server_error("POST /auth/sign-in", status, &answer_body)
}

/// An admin's session cookie, its CSRF token and an API token.
struct Admin {
    cookie: String,
    csrf: String,
    token: String,
}

/// Creates the admin and signs in through the form.
async fn admin(site: &fixture::Fixture) -> Admin {
    add_user(
        &site.store,
        &NewUserBody {
            name: ADMIN.to_string(),
            role: Some("admin".to_string()),
            targets: None,
            password: Some(PASSWORD.to_string()),
        },
    )
    .await
    .expect("admin created");
    let app = &site.app;
    let form =
        serde_urlencoded::to_string([("name", ADMIN), ("password", PASSWORD)]).expect("form");
    let request = Request::post("/auth/sign-in")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("answer");
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sg_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let request = Request::get("/api/v1/me")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .expect("request");
    let (_, _, body) = answer(app, request).await;
    let me: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let csrf = me["csrf"].as_str().expect("csrf").to_string();
    let request = Request::post("/api/v1/tokens")
        .header(header::HOST, HOST)
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", &csrf)
        .body(Body::from(r#"{"name": "fuzz"}"#))
        .expect("request");
    let (status, _, body) = answer(app, request).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let created: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let token = created["token"].as_str().expect("token").to_string();
    Admin {
        cookie,
        csrf,
        token,
    }
}

const WRITES: &[(&str, &str)] = &[
    ("POST", "/auth/sign-out"),
    ("POST", "/account/tokens"),
    ("POST", "/account/tokens/{}/revoke"),
    ("POST", "/admin/users"),
    ("POST", "/admin/users/{}"),
    ("POST", "/admin/targets"),
    ("POST", "/admin/targets/{}/delete"),
    ("POST", "/promotions"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{}"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{}"),
    ("POST", "/api/v1/promotions"),
    ("PUT", "/api/v1/targets/{}"),
    ("DELETE", "/api/v1/targets/{}"),
];

type Write = (
    (&'static str, &'static str),
    String,
    Raw,
    Option<String>,
    &'static str,
);

/// A write as the admin (API token, cookie with the CSRF token in the form or a header)
/// or as nobody.
fn write(csrf: String) -> impl Strategy<Value = Write> {
    (
        prop::sample::select(WRITES),
        segment(),
        form_body(csrf),
        content_type(),
        prop::sample::select(vec!["token", "cookie", "cookie+header", "nobody"]),
    )
}

async fn write_is_answered_without_a_server_error(
    app: &axum::Router,
    admin: &Admin,
    ((method, route), segment, body, content_type, who): Write,
) -> Result<(), TestCaseError> {
    let uri = route.replace("{}", &segment);
    let mut request = Request::builder()
        .method(method)
        .uri(&uri)
        .header(header::HOST, HOST);
    if let Some(ct) = &content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    match who {
        "token" => {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", admin.token))
        }
        "cookie" => request = request.header(header::COOKIE, &admin.cookie),
        "cookie+header" => {
            request = request
                .header(header::COOKIE, &admin.cookie)
                .header("x-csrf-token", &admin.csrf)
        }
        _ => {}
    }
    let Ok(request) = request.body(Body::from(body.0)) else {
        return Ok(());
    };
    let (status, _, answer_body) = answer(app, request).await;
    // promotion is off on this server, and its routes say so with a 503
    let promotion_route = route.contains("promotions") || route.contains("targets");
    if promotion_route && status == StatusCode::SERVICE_UNAVAILABLE {
        return Ok(());
    }
    not_a_server_error(&format!("{method} {uri} as {who}"), status, &answer_body)
}

#[test]
fn sign_in_forms_are_answered_without_a_server_error() {
    let site = sqlite_site();
    let app = &site.fixture.app;
    site.check(64, sign_in(), |input| {
        sign_in_is_answered_without_a_server_error(app, input)
    });
}

#[test]
fn signed_in_forms_and_bodies_are_answered_without_a_server_error() {
    let site = sqlite_site();
    let admin = site.runtime.block_on(admin(&site.fixture));
    let app = &site.fixture.app;
    site.check(192, write(admin.csrf.clone()), |input| {
        write_is_answered_without_a_server_error(app, &admin, input)
    });
}

const ENVELOPES: &[&str] = &[
    "registry/manifest-push-tag.json",
    "registry/manifest-push-by-digest.json",
    "registry/docker-v2s2-push.json",
    "registry/delete-manifest.json",
    "registry/delete-tag.json",
    "registry/blob-push.json",
    "registry/distribution-docs-push-envelope.json",
];

/// The fields of a notification that end up in columns.
const STORED_FIELDS: &[&str] = &[
    "/events/0/id",
    "/events/0/action",
    "/events/0/timestamp",
    "/events/0/target/repository",
    "/events/0/target/tag",
    "/events/0/target/digest",
    "/events/0/target/mediaType",
    "/events/0/target/url",
    "/events/0/request/host",
];

/// A real notification with hostile text in the fields that are stored.
fn poisoned(path: &'static str, fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((prop::sample::select(fields), hostile_string()), 1..3).prop_map(
        move |edits| {
            let mut doc = json_fixture(path);
            for (field, text) in edits {
                if let Some(v) = doc.pointer_mut(field) {
                    *v = serde_json::Value::String(text);
                }
            }
            serde_json::to_vec(&doc).expect("serializes")
        },
    )
}

/// A delivery to one of the hooks, with the right secret: a near miss of a real body, or a
/// real body with hostile stored fields.
fn delivery() -> impl Strategy<Value = (bool, Raw)> {
    prop_oneof![
        3 => prop::sample::select(ENVELOPES)
            .prop_flat_map(|path| near_misses(json_fixture(path)))
            .prop_map(|body| (false, body)),
        2 => poisoned("registry/manifest-push-tag.json", STORED_FIELDS).prop_map(|body| (false, body)),
        1 => prop_oneof![
            near_misses(json_fixture("registry/quay-repo-push-docs.json")),
            near_misses(json_fixture("registry/quay-repo-push-legacy-2013.json")),
            poisoned(
                "registry/quay-repo-push-docs.json",
                &["/repository", "/docker_url", "/updated_tags/0"],
            ),
        ]
        .prop_map(|body| (true, body)),
    ]
    .prop_map(|(quay, body)| (quay, Raw(body)))
}

async fn delivery_is_stored_or_refused(
    app: &axum::Router,
    (quay, body): (bool, Raw),
) -> Result<(), TestCaseError> {
    let request = if quay {
        Request::post(format!("/api/v1/hooks/quay?secret={QUAY_SECRET}"))
            .header(header::CONTENT_TYPE, "application/json")
    } else {
        Request::post("/api/v1/hooks/registry")
            .header(
                header::CONTENT_TYPE,
                "application/vnd.docker.distribution.events.v1+json",
            )
            .header(header::AUTHORIZATION, format!("Bearer {HOOK_SECRET}"))
    };
    let (status, _, answer) = answer(app, request.body(Body::from(body.0)).expect("request")).await;
    prop_assert!(
        status == StatusCode::ACCEPTED || status == StatusCode::BAD_REQUEST,
        "{} hook answered {status}: {}",
        if quay { "quay" } else { "registry" },
        String::from_utf8_lossy(&answer)
    );
    Ok(())
}

#[test]
fn hook_deliveries_are_stored_or_refused() {
    let site = sqlite_site();
    let app = &site.fixture.app;
    site.check(128, delivery(), |input| {
        delivery_is_stored_or_refused(app, input)
    });
}

/// Everything that reaches a text column, on PostgreSQL, which refuses NUL characters
/// that SQLite stores: paths and queries, server function arguments, sign-in and signed-in
/// forms, hook deliveries.
#[test]
fn hostile_requests_never_fail_the_server_on_postgres() {
    let site = postgres_site("requests");
    let admin = site.runtime.block_on(admin(&site.fixture));
    let app = &site.fixture.app;
    site.check(128, (method(), path_and_query(), any::<bool>()), |input| {
        any_request_is_answered_without_a_server_error(app, input)
    });
    site.check(64, server_fn_call(), |input| {
        server_fn_call_is_answered_without_a_server_error(app, input)
    });
    site.check(96, write(admin.csrf.clone()), |input| {
        write_is_answered_without_a_server_error(app, &admin, input)
    });
    site.check(128, delivery(), |input| {
        delivery_is_stored_or_refused(app, input)
    });
    site.check(32, sign_in(), |input| {
        sign_in_is_answered_without_a_server_error(app, input)
    });
}

// Cases the properties found, kept as plain regression tests.

#[tokio::test]
async fn pages_reached_through_the_fallback_have_their_data() {
    let f = fixture::fixture_with(with_hooks).await;
    for uri in ["/pkg/%2e%2e", &format!("/streams/{STABLE}/")] {
        let request = Request::get(uri).body(Body::empty()).expect("request");
        let (status, _, body) = answer(&f.app, request).await;
        let text = String::from_utf8_lossy(&body);
        assert!(!status.is_server_error(), "{uri}: {status}");
        assert!(
            !text.contains("no backend in context"),
            "{uri}: {}",
            excerpt(&body)
        );
    }
}

#[tokio::test]
async fn server_function_refusals_answer_with_their_status() {
    let f = fixture::fixture_with(with_hooks).await;
    for (name, args, want) in [
        ("promotion", "", StatusCode::BAD_REQUEST),
        ("release", "tag=no-such-release", StatusCode::NOT_FOUND),
    ] {
        let request = Request::post(format!("/api/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(args))
            .expect("request");
        let (status, _, body) = answer(&f.app, request).await;
        assert_eq!(status, want, "{name}: {}", String::from_utf8_lossy(&body));
        // the client still reads the error from the body
        let error: app::error::AppError = serde_json::from_slice(&body).expect("an app error");
        assert_eq!(server::server_fn_status::status_of(&error), want);
    }
}

#[tokio::test]
async fn nul_characters_are_refused_not_failed_on_postgres() {
    let admin = std::env::var("STREAMGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let store = server::store::fresh_postgres(&admin, "sg_fuzz_nul")
        .await
        .expect("postgres reachable for tests");
    let f = fixture::fill(store, None, with_hooks).await;
    for uri in [
        "/api/v1/streams/a%00b/releases",
        "/streams/a%00b",
        "/badges/a%00b.svg",
        "/api/v1/search?q=a%00b",
    ] {
        let request = Request::get(uri).body(Body::empty()).expect("request");
        let (status, _, body) = answer(&f.app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {}", excerpt(&body));
    }
    let mut envelope = json_fixture("registry/manifest-push-tag.json");
    envelope["events"][0]["target"]["repository"] = "ocp/\u{0}release".into();
    let request = Request::post("/api/v1/hooks/registry")
        .header(
            header::CONTENT_TYPE,
            "application/vnd.docker.distribution.events.v1+json",
        )
        .header(header::AUTHORIZATION, format!("Bearer {HOOK_SECRET}"))
        .body(Body::from(envelope.to_string()))
        .expect("request");
    let (status, _, body) = answer(&f.app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", excerpt(&body));
}
