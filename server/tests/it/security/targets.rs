//! Promotion targets and plans, attacked over the real router with a real registry on
//! loopback. A target's webhook address is a credential: no route, page or server function
//! shows it to anonymous visitors, to maintainers, or to admins after the one answer that
//! set it, and the notices it gets are signed with the secret shown then. A plan reads every
//! manifest and asks for every blob: nobody but a promoter of the target makes the server do
//! that, and a second look within a minute costs the registry nothing.

use crate::support::http;

use std::sync::Arc;
use std::time::Duration;

use app::viewer::Role;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use chrono::Utc;
use hmac::{Hmac, Mac};
use leptos::prelude::LeptosOptions;
use server::ingest::release_controller::PollRegistry;
use server::promote::copy::{Copier, CopyConfig};
use server::promote::notify::Notifier;
use server::promote::plan::Planner;
use server::promote::worker::{PromotionWorker, WorkerConfig};
use server::promote::Promotions;
use server::store::Store;
use server::AppState;
use sha2::Sha256;
use tokio::sync::{watch, Notify};

use crate::support::payloads::{
    image_references, payload_config, payload_layers, push_components, release_metadata, sqlite,
    OKD_COMPONENTS,
};
use crate::support::promotion;
use crate::support::registry::{self, Pusher, Registry};

const STREAM: &str = "4.21.0-0.okd-scos";
const GOOD: &str = "4.21.0-0.okd-scos-2026-11-20-010203";
const TARGET: &str = "4-scos-next";

/// A CI stream with one accepted release whose payload (two components) is in a fresh
/// registry, and the target [`TARGET`] taking it, into the same registry.
async fn world(store: &Store) -> Registry {
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let content = "origin/scos-content";
    let specs = &OKD_COMPONENTS[..2];
    let images = push_components(&p, content, specs, &base).await;
    let pushed: Vec<_> = specs.iter().zip(images.iter()).collect();
    let components: Vec<_> = pushed.iter().map(|(s, d)| (*s, *d)).collect();
    let references = image_references(GOOD, &format!("{host}/{content}"), &components);
    let layers = payload_layers(&base, &references, Some(&release_metadata(GOOD, &[])));
    p.image(
        "origin/release-scos",
        Some(GOOD),
        &payload_config(GOOD, "amd64", components[0].1),
        &layers,
        false,
    )
    .await;
    let spec = format!("{host}/origin/release-scos:{GOOD}");
    promotion::record_releases(store, &registry, STREAM, &[(GOOD, &spec, "Succeeded")]).await;
    promotion::add_target(store, TARGET, STREAM, &host).await;
    registry
}

/// The whole router with promotion on, reading `registry`, and the worker.
fn server(store: &Store, registry: &Registry) -> (axum::Router, PromotionWorker) {
    let copier = Copier::new(CopyConfig {
        credentials: Default::default(),
        insecure_hosts: vec![registry.host().to_string()],
        jobs: 4,
        timeout: Duration::from_secs(10),
    });
    let wake = Arc::new(Notify::new());
    let worker = PromotionWorker::new(
        store.clone(),
        copier.clone(),
        None,
        Notifier::new(store.clone(), None),
        wake.clone(),
        WorkerConfig::default(),
    );
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store.clone(), PollRegistry::default(), leptos);
    state.promotions = Some(Promotions {
        planner: Planner::new(store.clone(), copier, None),
        wake,
    });
    (server::router(state), worker)
}

/// An answer: status, headers and body as text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a json body")
    }
}

/// Sends `method uri` as the user of `token` (anonymous without), with `cookie` and a body
/// of `content_type`.
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    cookie: Option<&str>,
    body: Option<(&str, String)>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "streamgate.test");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let body = match body {
        Some((content_type, text)) => {
            request = request.header(header::CONTENT_TYPE, content_type);
            Body::from(text)
        }
        None => Body::empty(),
    };
    let (status, headers, bytes) = http::send(app, request.body(body).expect("request")).await;
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> Answer {
    call(app, "GET", uri, token, None, None).await
}

/// Calls server function `endpoint` (what a hydrated page does) with form `fields`.
async fn server_fn(
    app: &axum::Router,
    endpoint: &str,
    token: Option<&str>,
    fields: &str,
) -> Answer {
    let form = ("application/x-www-form-urlencoded", fields.to_string());
    call(
        app,
        "POST",
        &format!("/api/{endpoint}"),
        token,
        None,
        Some(form),
    )
    .await
}

async fn send_json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> Answer {
    let json = ("application/json", body.to_string());
    call(app, method, uri, token, None, Some(json)).await
}

/// `PUT /api/v1/targets/TARGET` into `registry`, with `webhook_url`.
fn target_body(registry: &Registry, webhook_url: &str) -> serde_json::Value {
    let host = registry.host();
    serde_json::json!({
        "source_stream": STREAM,
        "content_repo": format!("{host}/okd/scos-content"),
        "release_repo": format!("{host}/okd/scos-release"),
        "name_template": "{version}-okd-scos.ec.{n}",
        "webhook_url": webhook_url,
    })
}

/// The `name=value` part of the `Set-Cookie` header setting `name`, if any.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.to_string())
}

async fn run_all(worker: &PromotionWorker) {
    let (_stop, mut stopped) = watch::channel(false);
    while worker.run_next(&mut stopped).await.expect("worker") {}
}

#[tokio::test]
async fn webhook_urls_reach_nobody_but_the_admin_who_sets_them() {
    let (store, _dir) = sqlite().await;
    let registry = world(&store).await;
    let (app, _worker) = server(&store, &registry);
    let root = promotion::user_with_token(&store, "root", Role::Admin, None).await;
    let mia = promotion::user_with_token(&store, "mia", Role::Maintainer, None).await;
    let marker = format!("marker{}", hex::encode(rand::random::<[u8; 12]>()));
    let url = format!("https://hooks.example.com/services/T0/B0/{marker}");
    let target_uri = format!("/api/v1/targets/{TARGET}");

    // a maintainer cannot set it; the admin who does gets it in full, with its secret, once
    let denied = send_json(
        &app,
        "PUT",
        &target_uri,
        Some(&mia),
        target_body(&registry, &url),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let set = send_json(
        &app,
        "PUT",
        &target_uri,
        Some(&root),
        target_body(&registry, &url),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.headers[header::CACHE_CONTROL], "no-store");
    let saved = set.json();
    assert_eq!(saved["webhook_url"], url.as_str(), "{}", set.body);
    assert_eq!(saved["has_webhook"], true);
    assert_eq!(saved["webhook_masked"], "https://hooks.example.com/…");
    let api_secret = saved["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert!(api_secret.starts_with("sgwh_"), "{api_secret}");

    // set again through the admin page's form: a new secret, carried to the page once
    let form = format!(
        "name={TARGET}&source_stream={STREAM}&content_repo={host}%2Fokd%2Fscos-content\
         &release_repo={host}%2Fokd%2Fscos-release&name_template=%7Bversion%7D-okd-scos.ec.%7Bn%7D\
         &webhook_url={}",
        server::percent::encode(&url),
        host = registry.host(),
    );
    let posted = call(
        &app,
        "POST",
        "/admin/targets",
        Some(&root),
        None,
        Some(("application/x-www-form-urlencoded", form)),
    )
    .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert!(!posted.headers[header::LOCATION]
        .to_str()
        .expect("ascii")
        .contains(&marker));
    let cookie = set_cookie(&posted.headers, "sg_new_webhook").expect("the reveal cookie");
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin/targets",
        "Max-Age=60",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    let cookie = cookie.split(';').next().expect("name=value").to_string();
    let shown = call(
        &app,
        "GET",
        "/admin/targets",
        Some(&root),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains(&url), "the page shows the address once");
    assert_eq!(shown.headers[header::CACHE_CONTROL], "no-store");
    let stored = store
        .target_webhook(TARGET)
        .await
        .expect("query")
        .expect("a webhook");
    let secret = stored.webhook_secret.expect("a secret");
    assert_ne!(
        secret, api_secret,
        "setting the webhook again makes a new secret"
    );
    assert!(shown.body.contains(&secret), "and the secret with it");
    assert!(
        set_cookie(&shown.headers, "sg_new_webhook").is_some_and(|c| c.contains("Max-Age=0")),
        "the page removes the cookie"
    );

    // a promotion's plan carries the target; and a row written by an older version kept the
    // address in its stored plan, as promotions confirmed before the upgrade did
    let requested = send_json(
        &app,
        "POST",
        "/api/v1/promotions",
        Some(&mia),
        serde_json::json!({"target": TARGET, "stream": STREAM, "release": GOOD}),
    )
    .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{}", requested.body);
    let id = requested.json()["id"].as_i64().expect("id");
    let Store::Sqlite(pool) = &store else {
        panic!("a sqlite store")
    };
    let row = store.promotion(id).await.expect("query").expect("row");
    let mut plan: serde_json::Value = serde_json::from_str(&row.plan).expect("plan json");
    assert_eq!(plan["target"]["has_webhook"], true);
    plan["target"]["webhook_url"] = serde_json::json!(url);
    sqlx::query("update promotions set plan = $1 where id = $2")
        .bind(plan.to_string())
        .bind(id)
        .execute(pool)
        .await
        .expect("legacy plan written");

    // every route and server function that carries target data, as everyone
    let release = format!("stream={STREAM}&release={GOOD}");
    let plan_fields = format!("target={TARGET}&stream={STREAM}&release={GOOD}");
    for (who, token) in [
        ("anonymous", None),
        ("maintainer", Some(mia.as_str())),
        ("admin", Some(root.as_str())),
    ] {
        let mut answers = Vec::new();
        for uri in [
            "/api/v1/targets".to_string(),
            target_uri.clone(),
            "/api/v1/promotions".to_string(),
            format!("/api/v1/promotions/{id}"),
            format!("/releases/{GOOD}?stream={STREAM}"),
            format!("/promote/{GOOD}?stream={STREAM}&target={TARGET}"),
            "/admin/targets".to_string(),
            "/promotions".to_string(),
            format!("/promotions/{id}"),
            "/api/v1/openapi.json".to_string(),
        ] {
            answers.push((uri.clone(), get(&app, &uri, token).await));
        }
        for (endpoint, fields) in [
            ("promotion_panel", release.clone()),
            ("promotion_plan", plan_fields.clone()),
            ("targets", String::new()),
            ("promotions", String::new()),
            ("promotion", format!("id={id}")),
        ] {
            let answer = server_fn(&app, endpoint, token, &fields).await;
            answers.push((format!("server fn {endpoint}"), answer));
        }
        for (route, answer) in &answers {
            assert!(
                !answer.body.contains(&marker),
                "{who}: {route} ({}) shows the webhook address",
                answer.status
            );
            assert!(
                !answer.body.contains(&secret) && !answer.body.contains(&api_secret),
                "{who}: {route} shows the webhook secret"
            );
        }
        // the answers did carry the target, saying only that it has a webhook
        let by_route = |route: &str| &answers.iter().find(|(r, _)| r == route).expect("asked").1;
        let listed = by_route("/api/v1/targets");
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.json()[0]["has_webhook"], true, "{}", listed.body);
        assert!(listed.json()[0].get("webhook_masked").is_none());
        let promotion = by_route(&format!("/api/v1/promotions/{id}"));
        assert_eq!(promotion.json()["plan"]["target"]["has_webhook"], true);
        let panel = by_route("server fn promotion_panel");
        assert_eq!(panel.json()["targets"][0]["name"], TARGET, "{}", panel.body);
        let release_page = by_route(&format!("/releases/{GOOD}?stream={STREAM}"));
        let offer = if who == "anonymous" {
            format!("Maintainers can promote this release to {TARGET}")
        } else {
            format!("Review promotion to {TARGET}")
        };
        assert!(
            release_page.body.contains(&offer),
            "{who}: no promotion panel"
        );
        let job_page = by_route(&format!("/promotions/{id}"));
        assert!(job_page.body.contains("Plan: 2 images"), "{who}: no plan");
        let one = by_route(&target_uri);
        let page = by_route("/admin/targets");
        assert_eq!(page.status, StatusCode::OK);
        if who == "admin" {
            assert_eq!(one.json()["webhook_masked"], "https://hooks.example.com/…");
            assert!(page.body.contains("https://hooks.example.com/"), "masked");
            let plan = by_route("server fn promotion_plan");
            assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
            assert_eq!(plan.json()["target"]["has_webhook"], true);
        } else {
            assert!(one.json().get("webhook_masked").is_none(), "{}", one.body);
            assert!(
                !page.body.contains("hooks.example.com"),
                "{who} sees no host"
            );
        }
    }

    // an old reveal cookie shows nothing once the webhook was set again
    let again = send_json(
        &app,
        "PUT",
        &target_uri,
        Some(&root),
        target_body(&registry, &url),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    let replayed = call(
        &app,
        "GET",
        "/admin/targets",
        Some(&root),
        Some(&cookie),
        None,
    )
    .await;
    assert!(!replayed.body.contains(&marker));
    // and a target saved without the field keeps its webhook and secret
    let mut kept = target_body(&registry, "");
    kept.as_object_mut().expect("object").remove("webhook_url");
    let kept = send_json(&app, "PUT", &target_uri, Some(&root), kept).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert!(kept.json().get("webhook_secret").is_none() && !kept.body.contains(&marker));
    assert_eq!(kept.json()["has_webhook"], true);
    // the form's box removes it
    let form = format!(
        "name={TARGET}&source_stream={STREAM}&content_repo={host}%2Fokd%2Fscos-content\
         &release_repo={host}%2Fokd%2Fscos-release&name_template=%7Bversion%7D-okd-scos.ec.%7Bn%7D\
         &webhook_url=&remove_webhook=on",
        host = registry.host(),
    );
    let removed = call(
        &app,
        "POST",
        "/admin/targets",
        Some(&root),
        None,
        Some(("application/x-www-form-urlencoded", form)),
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(set_cookie(&removed.headers, "sg_new_webhook").is_none());
    assert!(store.target_webhook(TARGET).await.expect("query").is_none());
    let listed = get(&app, "/api/v1/targets", None).await;
    assert_eq!(listed.json()[0]["has_webhook"], false);
}

/// `sha256=<hex>` of `body` keyed with `secret`, as a receiver computes it.
fn expected_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid signature of `body` by `secret`, compared in constant time
/// (the receiver's side of the recipe).
fn verifies(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_part) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_part) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

#[tokio::test]
async fn promotion_notices_are_signed_with_the_secret_shown_when_set() {
    let (store, _dir) = sqlite().await;
    let registry = world(&store).await;
    let (app, worker) = server(&store, &registry);
    let root = promotion::user_with_token(&store, "root", Role::Admin, None).await;
    let mia = promotion::user_with_token(&store, "mia", Role::Maintainer, None).await;

    // a receiver on loopback keeps each notice's headers and exact bytes
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let hook = format!("http://{addr}/hook");
    let target_uri = format!("/api/v1/targets/{TARGET}");

    let first = send_json(
        &app,
        "PUT",
        &target_uri,
        Some(&root),
        target_body(&registry, &hook),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let old_secret = first.json()["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    // setting it again rotates the secret
    let second = send_json(
        &app,
        "PUT",
        &target_uri,
        Some(&root),
        target_body(&registry, &hook),
    )
    .await;
    let secret = second.json()["webhook_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert_ne!(secret, old_secret);

    let requested = send_json(
        &app,
        "POST",
        "/api/v1/promotions",
        Some(&mia),
        serde_json::json!({"target": TARGET, "stream": STREAM, "release": GOOD}),
    )
    .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{}", requested.body);
    let id = requested.json()["id"].as_i64().expect("id");
    run_all(&worker).await;
    let (headers, body) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a notice arrives")
        .expect("a notice");

    let signature = headers
        .get("x-streamgate-signature")
        .expect("signed")
        .to_str()
        .expect("ascii");
    assert_eq!(signature, expected_signature(&secret, &body));
    assert!(
        verifies(&secret, &body, signature),
        "the receiver's check passes"
    );
    assert!(
        !verifies(&old_secret, &body, signature),
        "the rotated secret no longer does"
    );
    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    assert!(
        !verifies(&secret, &tampered, signature),
        "a changed body fails"
    );
    assert!(
        !verifies(&secret, &body, "sha256=00"),
        "a made-up signature fails"
    );

    let notice: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(notice["promotion"]["id"], id);
    assert_eq!(notice["promotion"]["state"], "succeeded", "{notice}");
    assert!(notice["text"]
        .as_str()
        .is_some_and(|t| t.contains(&format!("promoted to {TARGET}"))));
    let sent_at: chrono::DateTime<Utc> =
        serde_json::from_value(notice["sent_at"].clone()).expect("sent_at, signed with the rest");
    assert!((Utc::now() - sent_at).num_seconds().abs() < 60);
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains(&secret) && !text.contains("/hook"), "{text}");
}

/// Requests the registry has answered so far, once its log has been still for a moment.
async fn registry_requests(registry: &Registry) -> usize {
    let count = || {
        registry
            .log()
            .lines()
            .filter(|l| l.contains("response completed"))
            .count()
    };
    let mut last = count();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = count();
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test]
async fn only_promoters_make_the_server_read_registries_for_a_plan_and_a_second_look_is_free() {
    let (store, _dir) = sqlite().await;
    let registry = world(&store).await;
    let (app, _worker) = server(&store, &registry);
    let mia = promotion::user_with_token(&store, "mia", Role::Maintainer, None).await;
    let lu =
        promotion::user_with_token(&store, "lu", Role::Maintainer, Some(&["4-scos-stable"])).await;
    let page = format!("/promote/{GOOD}?stream={STREAM}&target={TARGET}");
    let fields = format!("target={TARGET}&stream={STREAM}&release={GOOD}");
    let dry_run = serde_json::json!({"target": TARGET, "stream": STREAM, "release": GOOD,
        "dry_run": true});
    let before = registry_requests(&registry).await;

    // anonymous: the page asks to sign in, the server function and the API answer 401
    let answer = get(&app, &page, None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer
        .body
        .contains("Only maintainers can promote releases"));
    let answer = server_fn(&app, "promotion_plan", None, &fields).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let answer = send_json(&app, "POST", "/api/v1/promotions", None, dry_run.clone()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    // a maintainer of another target: 403, saying why
    let answer = get(&app, &page, Some(&lu)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("lu may not promote to 4-scos-next"));
    let answer = server_fn(&app, "promotion_plan", Some(&lu), &fields).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    let answer = send_json(
        &app,
        "POST",
        "/api/v1/promotions",
        Some(&lu),
        dry_run.clone(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert_eq!(
        registry_requests(&registry).await,
        before,
        "refused plans asked the registry"
    );

    // a promoter's first look reads the registry
    let answer = server_fn(&app, "promotion_plan", Some(&mia), &fields).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let name = answer.json()["name"].as_str().expect("name").to_string();
    assert_eq!(name, "4.21.0-okd-scos.ec.0");
    let read = registry_requests(&registry).await;
    assert!(read > before, "the first plan read nothing");

    // looking again within the minute, by page, server function or API, asks it nothing
    let answer = get(&app, &page, Some(&mia)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains(&format!("Promote as {name}")));
    let answer = server_fn(&app, "promotion_plan", Some(&mia), &fields).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send_json(&app, "POST", "/api/v1/promotions", Some(&mia), dry_run).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["name"], name.as_str());
    assert_eq!(
        registry_requests(&registry).await,
        read,
        "a second look asked the registry again"
    );

    // confirming plans afresh: a changed name is still refused, the shown one is recorded
    let stale = serde_json::json!({"target": TARGET, "stream": STREAM, "release": GOOD,
        "expected_name": "4.21.0-okd-scos.ec.7"});
    let answer = send_json(&app, "POST", "/api/v1/promotions", Some(&mia), stale).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    let replanned = registry_requests(&registry).await;
    assert!(replanned > read, "confirming did not plan afresh");
    let confirmed = serde_json::json!({"target": TARGET, "stream": STREAM, "release": GOOD,
        "expected_name": name});
    let answer = send_json(&app, "POST", "/api/v1/promotions", Some(&mia), confirmed).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
}
