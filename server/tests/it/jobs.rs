//! A job's history and a stream's job ranking, from release-controller data as the poller
//! records it: five releases of one stream over a week, `e2e-aws` failing (blocking two
//! rejected releases) and passing once only on a retry, `e2e-metal` informing and passing.
//! The store answers on SQLite and PostgreSQL; the pages and API through the router.

use crate::support::http::{get, get_with};
use crate::support::payloads::{postgres, sqlite};
use app::model::jobs::Streak;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use server::backend::StoreBackend;
use server::events::{ingest, RC_RELEASE, RC_TAGS};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::store::Store;

const STREAM: &str = "4.21.0-0.okd-scos";
/// A job name as hostile as upstream may send: it would close the page's `<title>`.
const HOSTILE: &str = "</title><script>alert(1)</script>";

/// A release of the stream created `days_ago` days before the tests started.
fn tag(days_ago: i64) -> String {
    static START: std::sync::OnceLock<chrono::DateTime<Utc>> = std::sync::OnceLock::new();
    let t = *START.get_or_init(Utc::now) - Duration::days(days_ago);
    format!("{STREAM}-{}", t.format("%Y-%m-%d-%H%M%S"))
}

fn event(kind: &str, subject: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        source: "origin".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload: payload.to_string(),
        received_at: Utc::now(),
        external_id: None,
    }
}

/// Releases 0..5 days old, newest first: (phase, e2e-aws (state, retries)).
const HISTORY: [(&str, (&str, i64)); 5] = [
    ("Rejected", ("Failed", 2)),
    ("Rejected", ("Failed", 0)),
    ("Accepted", ("Succeeded", 1)),
    ("Accepted", ("Succeeded", 0)),
    ("Accepted", ("Succeeded", 0)),
];

async fn fill(store: &Store) {
    let tags: Vec<serde_json::Value> = HISTORY
        .iter()
        .enumerate()
        .map(|(i, (phase, _))| {
            serde_json::json!({"name": tag(i as i64), "phase": phase,
                "pullSpec": format!("quay.io/okd/scos-release:{}", tag(i as i64)), "downloadURL": ""})
        })
        .collect();
    ingest(
        store,
        event(
            RC_TAGS,
            STREAM,
            serde_json::json!({"name": STREAM, "tags": tags}),
        ),
    )
    .await
    .expect("tags");
    for (i, (phase, (aws, retries))) in HISTORY.iter().enumerate() {
        let name = tag(i as i64);
        let attempts: Vec<String> = (0..*retries)
            .map(|n| format!("https://prow.ci.openshift.org/view/gs/aws/{i}-{n}"))
            .collect();
        ingest(
            store,
            event(
                RC_RELEASE,
                &format!("{STREAM}/{name}"),
                serde_json::json!({"name": name, "phase": phase, "results": {
                    "blockingJobs": {"e2e-aws": {"state": aws, "retries": retries,
                        "previousAttemptURLs": attempts,
                        "url": format!("https://prow.ci.openshift.org/view/gs/aws/{i}")}},
                    "informingJobs": {
                        "e2e-metal": {"state": "Succeeded", "url": "https://prow.ci.openshift.org/view/gs/metal"},
                        HOSTILE: {"state": "Failed", "url": "javascript:alert(1)"}}}}),
            ),
        )
        .await
        .expect("details");
    }
}

async fn history_story(store: Store) {
    fill(&store).await;
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());
    let page = backend.job_page(STREAM, "e2e-aws").await.expect("job");
    let releases: Vec<String> = page.runs.iter().map(|r| r.release.clone()).collect();
    assert_eq!(
        releases,
        (0..5).map(tag).collect::<Vec<_>>(),
        "newest first"
    );
    assert!(page.blocking);
    assert_eq!(page.streak, Streak::Failing(2));
    let week = page.stats[0];
    assert_eq!(
        (week.days, week.runs, week.passed, week.failed, week.flaked),
        (7, 5, 3, 2, 1)
    );
    assert_eq!((week.pass_rate(), week.flake_rate()), (Some(60), Some(20)));
    assert_eq!(page.runs[0].previous_attempt_urls.len(), 2);

    let ranking = backend.job_ranking(STREAM).await.expect("ranking");
    let ranked: Vec<(&str, u32)> = ranking
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.blocked))
        .collect();
    assert_eq!(
        ranked,
        [("e2e-aws", 2), (HOSTILE, 0), ("e2e-metal", 0)],
        "what blocked acceptance first, then by failures"
    );

    for (stream, job) in [("4-scos-next", "e2e-aws"), (STREAM, "e2e-gcp")] {
        let err = backend.job_page(stream, job).await.expect_err("unknown");
        assert!(
            matches!(err, server::store::StoreError::NotFound(_)),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_jobs_history_and_the_ranking_on_sqlite() {
    let (store, _dir) = sqlite().await;
    history_story(store).await;
}

#[tokio::test]
async fn a_jobs_history_and_the_ranking_on_postgres() {
    history_story(postgres().await).await;
}

#[tokio::test]
async fn the_job_pages_and_api_answer_and_refuse_precisely() {
    let (store, _dir) = sqlite().await;
    fill(&store).await;
    let app = crate::support::http::site(&store);

    let (status, html) = get(&app, &format!("/jobs/e2e-aws?stream={STREAM}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("failed its newest 2 runs in a row"), "{html}");
    assert!(html.contains("<td class=\"pass-rate\">60%</td>"));
    assert!(html.contains("<td class=\"flake-rate\">20%</td>"));
    assert_eq!(html.matches("class=\"bar ").count(), 5, "one bar per run");
    assert!(html.contains("class=\"bar flaked\""));
    assert!(html.contains(&format!("/releases/{}", tag(2))));

    let (status, html) = get(&app, &format!("/jobs?stream={STREAM}")).await;
    assert_eq!(status, StatusCode::OK);
    let aws = html.find("data-job=\"e2e-aws\"").expect("aws ranked");
    let metal = html.find("data-job=\"e2e-metal\"").expect("metal ranked");
    assert!(aws < metal, "the job that blocked first");
    assert!(html.contains("<td class=\"blocked\">2</td>"));
    // the hostile name is text and its link is encoded
    assert!(!html.contains(HOSTILE));
    let encoded = "%3C%2Ftitle%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E";
    assert!(html.contains(&format!("/jobs/{encoded}?stream=")));
    let (status, html) = get(&app, &format!("/jobs/{encoded}?stream={STREAM}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(HOSTILE), "{html}");
    assert!(html.contains("<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; in "));
    let head = &html[..html.find("</head>").expect("head")];
    assert_eq!(
        (
            head.matches("<title>").count(),
            head.matches("</title>").count()
        ),
        (1, 1)
    );

    // the release page links each gate to its history
    let (_, html) = get(&app, &format!("/releases/{}?stream={STREAM}", tag(0))).await;
    assert!(html.contains(&format!("href=\"/jobs/e2e-aws?stream={STREAM}\"")));
    assert!(html.contains(&format!("/jobs?stream={STREAM}")));

    // the stream page links to the ranking
    let (_, html) = get(&app, &format!("/streams/{STREAM}")).await;
    assert!(
        html.contains(&format!("href=\"/jobs?stream={STREAM}\"")),
        "{html}"
    );

    // without a stream: a form that asks for one
    let (status, html) = get(&app, "/jobs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("class=\"which-stream\"") && html.contains("action=\"/jobs\""));
    for (uri, status) in [
        ("/jobs?stream=no-such-stream", StatusCode::NOT_FOUND),
        (
            &*format!("/jobs/e2e-gcp?stream={STREAM}"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, html) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}");
        assert!(html.contains("Not found"), "{uri}");
    }

    // a README badge of a job's pass rate
    let (status, body) = get(&app, &format!("/badges/{STREAM}/jobs/e2e-aws.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["label"], "e2e-aws");
    assert_eq!(json["message"], "60% passed (14d)");
    assert_eq!(json["color"], "red");
    let (status, body) = get(&app, &format!("/badges/{STREAM}/jobs/e2e-metal.svg")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("100% passed (14d)") && body.starts_with("<svg"),
        "{body}"
    );
    let (status, _) = get(&app, &format!("/badges/{STREAM}/jobs/e2e-gcp.svg")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // the job's failures as an Atom feed, hostile names escaped and hostile URLs unlinked
    let feed = |uri: String| {
        let app = app.clone();
        async move {
            let (status, headers, body) =
                get_with(&app, &uri, &[("host", "streamgate.example")]).await;
            let kind = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (status, kind, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (status, kind, xml) = feed(format!("/streams/{STREAM}/jobs/e2e-aws/feed.atom")).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(kind.starts_with("application/atom+xml"), "{kind}");
    assert_eq!(xml.matches("<entry>").count(), 2, "{xml}");
    assert!(xml.contains(&format!("<title>e2e-aws failed on {}</title>", tag(0))));
    assert!(xml.contains("after 2 retries") && xml.contains("after no retry"));
    assert!(xml.contains(
        "<link rel=\"related\" type=\"text/html\" href=\"https://prow.ci.openshift.org/view/gs/aws/0\"/>"
    ));
    assert!(xml.contains(&format!(
        "href=\"http://streamgate.example/jobs/e2e-aws?stream={STREAM}\""
    )));
    let (status, _, xml) = feed(format!("/streams/{STREAM}/jobs/{encoded}/feed.atom")).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(xml.matches("<entry>").count(), 5);
    assert!(
        !xml.contains("<script") && !xml.contains("javascript:"),
        "{xml}"
    );
    let (status, _, _) = feed(format!("/streams/{STREAM}/jobs/e2e-gcp/feed.atom")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let long = "x".repeat(257);
    let (status, _, body) = feed(format!("/streams/{STREAM}/jobs/{long}/feed.atom")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("job must be at most 256 characters"),
        "{body}"
    );

    // the API
    let (status, body) = get(&app, &format!("/api/v1/jobs/e2e-aws?stream={STREAM}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["streak"], "failing");
    assert_eq!(json["streak_runs"], 2);
    assert_eq!(json["stats"][0]["pass_rate"], 60);
    assert_eq!(json["runs"][2]["flaked"], true);
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(5));
    let (status, body) = get(&app, &format!("/api/v1/jobs?stream={STREAM}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["jobs"][0]["name"], "e2e-aws");
    assert_eq!(json["jobs"][0]["blocked"], 2);
    assert_eq!(json["days"], 14);
    for (uri, status, message) in [
        (
            "/api/v1/jobs",
            StatusCode::BAD_REQUEST,
            "stream is required",
        ),
        (
            "/api/v1/jobs?stream=a%0Ab",
            StatusCode::BAD_REQUEST,
            "without control characters",
        ),
        (
            "/api/v1/jobs?stream=nope",
            StatusCode::NOT_FOUND,
            "stream nope not found",
        ),
        (
            "/api/v1/jobs/e2e-gcp?stream=4.21.0-0.okd-scos",
            StatusCode::NOT_FOUND,
            "job e2e-gcp in stream 4.21.0-0.okd-scos not found",
        ),
    ] {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert!(body.contains(message), "{uri}: {body}");
    }
}
