//! Pages, server functions and health endpoints through the real router (`oneshot`), over a
//! store filled by the real poller from the replay release-controller.

use crate::support::fixture::{fixture, get};
use axum::body::Body;
use axum::http::{Request, StatusCode};

#[tokio::test]
async fn pages_render_real_data_and_unknowns_are_404() {
    let f = fixture().await;

    let (status, html) = get(&f.app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("OKD/SCOS")
            && html.contains("4.21.0-0.okd-scos")
            && html.contains("4-scos-stable")
    );
    assert!(html.contains("Accepted, 14 days"));
    assert!(html.contains("last successful poll"));

    let (status, html) = get(&f.app, "/streams/4.21.0-0.okd-scos").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<table class=\"releases\""));
    assert!(
        html.contains("expired upstream"),
        "pruned releases are kept and marked"
    );

    let (status, html) = get(&f.app, "/streams/4.21.0-0.okd-scos?phase=Rejected").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("phase-rejected"));
    assert!(
        !html.contains("<span class=\"phase phase-accepted\">"),
        "only rejected rows"
    );

    let rejected = f
        .store
        .latest_release("4.21.0-0.okd-scos", Some("Rejected"))
        .await
        .expect("query")
        .expect("a rejected release");
    let (status, html) = get(&f.app, &format!("/releases/{}", rejected.name)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Rejected because blocking job"),
        "the page says why"
    );
    assert!(html.contains("https://prow.ci.openshift.org/view/gs/"));
    assert!(html.contains("registry.ci.openshift.org/origin/release-scos:"));

    for uri in [
        "/releases/4.99.0-0.okd-scos-2099-01-01-000000",
        "/streams/no-such-stream",
        "/no/such/page",
        "/streams/4.21.0-0.okd-scos?page=999",
    ] {
        let (status, html) = get(&f.app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(html.contains("Not found"), "{uri}");
    }
    let (status, html) = get(&f.app, "/streams/4.21.0-0.okd-scos?phase=Sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown phase"));
}

#[tokio::test]
async fn server_function_and_health_endpoints_answer() {
    let f = fixture().await;
    let latest = f
        .store
        .latest_release("4.21.0-0.okd-scos", Some("Accepted"))
        .await
        .expect("query")
        .expect("an accepted release");
    let (status, _, body) = crate::support::http::send(
        &f.app,
        Request::post("/api/release")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("tag={}", latest.name)))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["name"], latest.name.as_str());
    assert_eq!(json["phase"], "Accepted");

    let (status, body) = get(&f.app, "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body) = get(&f.app, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["status"], "ready");
    assert_eq!(json["store"]["backend"], "sqlite");
    assert_eq!(json["controllers"][0]["controller"], "origin");
    assert!(json["controllers"][0]["last_success_age_seconds"].is_number());
}

/// Pages keep rendering while other routers are built in the same process (each test
/// builds its own; so could replicas sharing a process). Leptos finds the page routes by
/// rendering the app under a process-wide flag that leaves every resource created
/// meanwhile, on any thread, waiting forever; the routes are found once per process, so
/// no page can render under it.
#[tokio::test]
async fn pages_render_while_other_routers_are_built() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    let (store, _dir) = crate::support::stores::sqlite().await;
    let app = crate::support::http::site(&store);
    let building = Arc::new(AtomicBool::new(true));
    let builder = {
        let building = building.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let (store, _dir) = crate::support::stores::sqlite().await;
                for _ in 0..200 {
                    drop(crate::support::http::site(&store));
                    tokio::task::yield_now().await;
                }
            });
            building.store(false, Ordering::SeqCst);
        })
    };
    let mut rendered = 0;
    while building.load(Ordering::SeqCst) || rendered < 20 {
        let request = Request::get("/sign-in")
            .body(Body::empty())
            .expect("request");
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            crate::support::http::send(&app, request),
        )
        .await;
        let (status, _, body) = answer.unwrap_or_else(|_| {
            panic!("render {rendered}: /sign-in waited 10 s while routers were being built")
        });
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("Sign in"));
        rendered += 1;
    }
    builder.join().expect("builder thread");
}

/// The nonce of the page's inline scripts and the one its Content-Security-Policy allows.
fn nonces(headers: &axum::http::HeaderMap, html: &str) -> (String, String) {
    let policy = headers["content-security-policy"].to_str().expect("ascii");
    let allowed = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_string();
    let used = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a script with a nonce")
        .to_string();
    (allowed, used)
}

#[tokio::test]
async fn anonymous_pages_are_kept_until_the_log_advances() {
    use crate::support::http::{get_with, send};
    let f = crate::support::fixture::fixture().await;
    let page = |headers: &axum::http::HeaderMap| {
        headers
            .get("x-page-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_string()
    };
    let (status, headers, first) = get_with(&f.app, "/streams/4.21.0-0.okd-scos", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let first = String::from_utf8(first).expect("utf-8");
    let (allowed, used) = nonces(&headers, &first);
    assert_eq!(allowed, used, "the scripts may run");
    // the same page again, from memory, with the nonce its scripts carry
    let (_, headers, second) = get_with(&f.app, "/streams/4.21.0-0.okd-scos", &[]).await;
    assert_eq!(page(&headers), "hit");
    let second = String::from_utf8(second).expect("utf-8");
    assert_eq!(second, first);
    assert_eq!(nonces(&headers, &second), (used.clone(), used.clone()));
    // gzip'd once, as the client asks
    let (_, headers, zipped) = get_with(
        &f.app,
        "/streams/4.21.0-0.okd-scos",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(headers["content-encoding"], "gzip");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&zipped[..]),
        &mut unzipped,
    )
    .expect("gzip");
    assert_eq!(unzipped, first);
    let (status, headers, body) = send(
        &f.app,
        Request::head("/streams/4.21.0-0.okd-scos")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, page(&headers), body.len()),
        (StatusCode::OK, "hit".to_string(), 0)
    );
    // another query is another page; a HEAD first keeps nothing (it has no body)
    let uri = "/streams/4.21.0-0.okd-scos?phase=Rejected";
    let request = Request::head(uri).body(Body::empty()).expect("request");
    let (_, headers, _) = send(&f.app, request).await;
    assert_eq!(page(&headers), "none");
    let (_, headers, body) = get_with(&f.app, uri, &[]).await;
    assert_eq!(page(&headers), "miss");
    assert!(String::from_utf8_lossy(&body).contains("phase-rejected"));

    // visitors arriving together at a page not kept yet: one renders it, the others wait
    // for that render and are answered from memory, with the same page
    let uri = "/streams/4.21.0-0.okd-scos?phase=Accepted";
    let together = futures_util::future::join_all((0..8).map(|_| get_with(&f.app, uri, &[]))).await;
    let mut how: Vec<String> = together.iter().map(|(_, h, _)| page(h)).collect();
    how.sort();
    let mut expected = vec!["hit".to_string(); 7];
    expected.push("miss".to_string());
    assert_eq!(how, expected);
    assert!(together
        .iter()
        .all(|(status, _, body)| *status == StatusCode::OK && *body == together[0].2));

    // the log advances: the page is rendered again, with what is new
    server::events::ingest(
        &f.store,
        crate::support::promotion::event(
            server::events::RC_TAGS,
            "4.99.0-0.okd-scos",
            serde_json::json!({"name": "4.99.0-0.okd-scos", "tags": [{"name": "4.99.0-0.okd-scos-2026-12-01-000000",
                "phase": "Accepted", "pullSpec": "registry.ci.openshift.org/origin/release-scos:4.99.0-0.okd-scos-2026-12-01-000000",
                "downloadURL": ""}]}),
        ),
    )
    .await
    .expect("ingested")
    .expect("stored");
    let (_, headers, third) = get_with(&f.app, "/streams/4.21.0-0.okd-scos", &[]).await;
    assert_eq!(page(&headers), "miss");
    let third = String::from_utf8(third).expect("utf-8");
    let (allowed, used_now) = nonces(&headers, &third);
    assert_eq!(allowed, used_now);
    assert_ne!(used_now, used, "a new render, a new nonce");
    let (status, html) = get(&f.app, "/streams/4.99.0-0.okd-scos").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("4.99.0-0.okd-scos-2026-12-01-000000"));

    // what is not the same for everyone is never kept
    for (uri, headers) in [
        (
            "/streams/4.21.0-0.okd-scos",
            vec![("authorization", "Bearer sg_not-a-token")],
        ),
        ("/sign-in", vec![]),
        ("/promotions", vec![]),
    ] {
        let (_, first, _) = get_with(&f.app, uri, &headers).await;
        let (_, again, _) = get_with(&f.app, uri, &headers).await;
        assert_eq!(
            (page(&first), page(&again)),
            ("none".into(), "none".into()),
            "{uri}"
        );
    }
}
