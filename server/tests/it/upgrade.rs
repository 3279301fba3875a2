//! "Why does my cluster see no update from A to B?" through the real router, over the demo
//! history played by the real poller, on SQLite and PostgreSQL: each verdict the history
//! holds (offered, tested and failed, not promoted, never tested), the chain of offered
//! updates, the refusals, and the pages — the question, the release page's upgrade section
//! and a promoted stream's drawn graph. The verdicts that need payloads read (declared but
//! never tested, not declared) are in the demo-registry story.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::Value;
use server::replay::dataset::{Dataset, TagData};

use crate::support::fixture::{self, anchor, get, Fixture};

const STABLE: &str = "4-scos-stable";
const CI: &str = "4.21.0-0.okd-scos";

/// The stable tags whose upgrade runs all finished well before the fixture's end.
fn settled(dataset: &Dataset) -> Vec<&TagData> {
    let stream = dataset.stream("origin", STABLE).expect("stable stream");
    stream
        .tags
        .iter()
        .filter(|t| t.created < anchor() - Duration::days(1))
        .collect()
}

fn succeeded(dataset: &Dataset, from: &str, to: &str) -> bool {
    settled(dataset).iter().any(|t| {
        t.name == to
            && t.upgrades_to
                .iter()
                .any(|e| e.from == from && e.runs.iter().any(|r| r.state == "Succeeded"))
    })
}

async fn ask(f: &Fixture, from: &str, to: &str) -> (StatusCode, Value) {
    let (status, body) = get(&f.app, &format!("/api/v1/upgrade?from={from}&to={to}")).await;
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("json: {body}"));
    (status, json)
}

fn error(json: &Value) -> &str {
    json["errors"][0]["detail"]
        .as_str()
        .expect("an error detail")
}

async fn verdicts(f: &Fixture) {
    let dataset = Dataset::demo(anchor()).expect("demo data");
    let tags = settled(&dataset);
    let mut seen = Vec::new();

    // every edge the history tested: offered when a run succeeded, else tested and failed
    for tag in &tags {
        for edge in &tag.upgrades_to {
            let ok = edge.runs.iter().any(|r| r.state == "Succeeded");
            let (status, a) = ask(f, &edge.from, &tag.name).await;
            assert_eq!(status, StatusCode::OK, "{a}");
            let want = if ok { "offered" } else { "tested_failed" };
            assert_eq!(a["verdict"], want, "{} → {}: {a}", edge.from, tag.name);
            assert_eq!(a["offered"], ok);
            assert_eq!(a["promoted_in"], serde_json::json!([STABLE]));
            assert_eq!(a["to"]["stream"], STABLE);
            assert_eq!(a["to"]["kind"], "stable");
            let e = &a["edge"];
            assert_eq!(e["total"].as_u64(), Some(edge.runs.len() as u64), "{a}");
            assert_eq!(e["runs"][0]["url"], edge.runs[0].url.as_str());
            if !ok {
                assert_eq!(a["headline"], "No: tested and failed");
                // a way around, if any, is made of offered updates only
                if let Some(path) = a["path"].as_array() {
                    let path: Vec<&str> = path.iter().filter_map(Value::as_str).collect();
                    assert_eq!(path.first(), Some(&edge.from.as_str()));
                    assert_eq!(path.last(), Some(&tag.name.as_str()));
                    for hop in path.windows(2) {
                        assert!(succeeded(&dataset, hop[0], hop[1]), "{hop:?}");
                    }
                }
            }
            seen.push(want);
        }
    }
    assert!(seen.contains(&"offered"), "the history has offered updates");
    assert!(
        seen.contains(&"tested_failed"),
        "the history has an upgrade that was tested and failed"
    );

    // declared, never tested: no payload was read here, so whether it is declared is unknown
    let (untested_from, untested_to) = tags
        .iter()
        .rev()
        .find_map(|t| {
            let from = t
                .previous
                .iter()
                .filter(|p| !t.upgrades_to.iter().any(|e| &&e.from == p))
                .find(|p| tags.iter().any(|o| &o.name == *p))?;
            Some((from.clone(), t.name.clone()))
        })
        .expect("a declared version never tested");
    let (status, a) = ask(f, &untested_from, &untested_to).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["verdict"], "untested", "{a}");
    assert_eq!(a["declared"], Value::Null);
    assert_eq!(a["edge"], Value::Null);
    let path: Vec<&str> = a["path"]
        .as_array()
        .expect("a chain of offered updates")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(path.len() >= 3, "{path:?}");
    assert_eq!(path.first(), Some(&untested_from.as_str()));
    assert_eq!(path.last(), Some(&untested_to.as_str()));
    for hop in path.windows(2) {
        assert!(succeeded(&dataset, hop[0], hop[1]), "{hop:?} is offered");
    }

    // a CI build is never offered, whatever was tested
    let ci = f
        .store
        .latest_release(CI, Some("Accepted"))
        .await
        .expect("query")
        .expect("an accepted CI release");
    let (status, a) = ask(f, &untested_from, &ci.name).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["verdict"], "not_promoted", "{a}");
    assert_eq!(a["promoted_in"], serde_json::json!([]));
    assert_eq!(a["to"]["kind"], "ci");
    assert_eq!(a["path"], Value::Null);

    // a version Streamgate never saw can still be asked about
    let (status, a) = ask(f, "4.19.0-okd-scos.9", &untested_to).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["from"]["stream"], Value::Null);
    assert_eq!(a["verdict"], "untested");
    assert_eq!(a["path"], Value::Null);
}

#[tokio::test]
async fn each_verdict_the_history_holds_on_sqlite() {
    verdicts(&fixture::fixture().await).await;
}

#[tokio::test]
async fn each_verdict_the_history_holds_on_postgres() {
    verdicts(&fixture::postgres_fixture("upgrade_verdicts").await).await;
}

#[tokio::test]
async fn questions_that_cannot_be_answered_are_refused_precisely() {
    let f = fixture::fixture().await;
    let stable = settled(&Dataset::demo(anchor()).expect("demo data"))[0]
        .name
        .clone();
    for (query, status, says) in [
        (
            format!("to={stable}"),
            StatusCode::BAD_REQUEST,
            "from is empty".to_string(),
        ),
        (
            format!("from={stable}"),
            StatusCode::BAD_REQUEST,
            "to is empty".to_string(),
        ),
        (
            format!("from=%3Cscript%3E&to={stable}"),
            StatusCode::BAD_REQUEST,
            "from contains '<'".to_string(),
        ),
        (
            format!("from={stable}&to={}", "9".repeat(129)),
            StatusCode::BAD_REQUEST,
            "at most 128".to_string(),
        ),
        (
            format!("from={stable}&to=4.99.0-okd-scos.1"),
            StatusCode::NOT_FOUND,
            "release 4.99.0-okd-scos.1 not found".to_string(),
        ),
        (
            format!("from={stable}&to={stable}&from=x"),
            StatusCode::BAD_REQUEST,
            "duplicate field".to_string(),
        ),
    ] {
        let (got, body) = get(&f.app, &format!("/api/v1/upgrade?{query}")).await;
        assert_eq!(got, status, "{query}: {body}");
        let json: Value = serde_json::from_str(&body).expect("an error envelope");
        assert!(error(&json).contains(&says), "{query}: {body}");
    }
    let (status, _) = get(&f.app, "/upgrade?from=%3Cscript%3E&to=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_pages_ask_and_answer_the_question() {
    let f = fixture::fixture().await;
    let dataset = Dataset::demo(anchor()).expect("demo data");
    let tags = settled(&dataset);
    let (failed_from, failed_to) = tags
        .iter()
        .find_map(|t| {
            let e = t
                .upgrades_to
                .iter()
                .find(|e| e.runs.iter().all(|r| r.state == "Failed"))?;
            Some((e.from.clone(), t.name.clone()))
        })
        .expect("a failed edge");

    // the question alone: the form and how it works
    let (status, html) = get(&f.app, "/upgrade").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"<form method="get" action="/upgrade" class="upgrade-question">"#),
        "{html}"
    );
    assert!(html.contains("seeded random sample of 3"));

    // the answer, without JavaScript
    let (status, html) = get(
        &f.app,
        &format!("/upgrade?from={failed_from}&to={failed_to}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-verdict="tested_failed""#), "{html}");
    assert!(html.contains("No: tested and failed"));
    assert!(
        html.contains(&format!(r#"value="{failed_from}""#)),
        "the form keeps the question"
    );

    // an unknown target is a 404 page that says what was asked
    let (status, html) = get(
        &f.app,
        &format!("/upgrade?from={failed_from}&to=4.99.0-okd-scos.1"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("4.99.0-okd-scos.1"));

    // the release page counts the failed edge as tested and says it is not offered, and asks
    let (status, html) = get(&f.app, &format!("/releases/{failed_to}?stream={STABLE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("tested and failed, will not be offered"),
        "{html}"
    );
    assert!(html.contains(r#"action="/upgrade""#));
    // what changed, in one line before the details
    assert!(
        html.contains(r#"<p class="what-changed">Since 4."#),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"value="{failed_to}""#)),
        "the form asks about this release"
    );
    assert!(html.contains("#upgrade-graph"));

    // the stable stream draws its graph on the server, each edge coloured by its result
    let (status, html) = get(&f.app, &format!("/streams/{STABLE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="upgrade-graph""#));
    assert!(
        html.contains(&format!(
            r#"data-from="{failed_from}" data-to="{failed_to}" class="edge edge-failed""#
        )),
        "{html}"
    );
    assert!(html.contains(r#"class="edge edge-succeeded""#));
    // newest on top: the oldest release is the last row
    let oldest = tags.first().expect("a stable release");
    let newest = tags.last().expect("a stable release");
    let at = |name: &str| {
        html.find(&format!(">{name}</text>"))
            .unwrap_or_else(|| panic!("{name} drawn"))
    };
    assert!(at(&newest.name) < at(&oldest.name));
    // a CI stream has none: it is not an update target
    let (_, html) = get(&f.app, &format!("/streams/{CI}")).await;
    assert!(!html.contains(r#"id="upgrade-graph""#));
}
