//! Badges through the real router: what they say, their styles, caching headers, 304s,
//! staleness, and refusals of bad input.

use crate::support::fixture::{fixture, fixture_with, get, get_with};
use axum::http::{header, StatusCode};

#[tokio::test]
async fn stream_badge_shows_the_latest_accepted_release_in_green() {
    let f = fixture().await;
    let latest = f
        .store
        .latest_release("4-scos-stable", Some("Accepted"))
        .await
        .expect("query")
        .expect("accepted");
    let (status, headers, body) = get_with(&f.app, "/badges/4-scos-stable.svg", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml;charset=utf-8");
    assert!(headers[header::CACHE_CONTROL]
        .to_str()
        .expect("ascii")
        .contains("max-age=120"));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let svg = String::from_utf8(body).expect("utf-8");
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("<title>OKD/SCOS 4-scos-stable: "), "{svg}");
    assert!(svg.contains(&latest.name));
    assert!(svg.contains("#4c1"), "accepted is bright green");

    // the same answer again is a 304 for a client holding its ETag
    let etag = headers[header::ETAG].to_str().expect("ascii").to_string();
    let (status, _, body) = get_with(
        &f.app,
        "/badges/4-scos-stable.svg",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());

    // shields.io endpoint JSON
    let (status, json) = get(&f.app, "/badges/4-scos-stable.json").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["label"], "OKD/SCOS 4-scos-stable");
    assert_eq!(json["message"], latest.name.as_str());
    assert_eq!(json["color"], "brightgreen");
}

#[tokio::test]
async fn styles_labels_release_and_gate_badges() {
    let f = fixture().await;
    let (_, flat) = get(&f.app, "/badges/4.21.0-0.okd-scos.svg").await;
    let (_, square) = get(&f.app, "/badges/4.21.0-0.okd-scos.svg?style=flat-square").await;
    let (_, big) = get(
        &f.app,
        "/badges/4.21.0-0.okd-scos.svg?style=for-the-badge&label=okd%20ci",
    )
    .await;
    assert!(flat.contains("linearGradient") && !square.contains("linearGradient"));
    assert!(big.contains("OKD CI") && big.contains("height=\"28\""));
    assert_ne!(flat, square);

    let rejected = f
        .store
        .latest_release("4.21.0-0.okd-scos", Some("Rejected"))
        .await
        .expect("query")
        .expect("rejected");
    let (status, svg) = get(
        &f.app,
        &format!("/badges/4.21.0-0.okd-scos/{}.svg", rejected.name),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        svg.contains("rejected") && svg.contains("#e05d44"),
        "rejected is red"
    );

    let (status, json) = get(&f.app, "/badges/4.21.0-0.okd-scos/gates.json").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["label"], "OKD/SCOS 4.21.0-0.okd-scos gates");
    assert!(
        json["message"]
            .as_str()
            .expect("message")
            .contains("/1 passed"),
        "{json}"
    );

    // hostile labels are escaped, not injected
    let (status, svg) = get(
        &f.app,
        "/badges/4-scos-stable.svg?label=%3Cscript%3Ealert(1)%3C/script%3E",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn bad_requests_are_refused_precisely() {
    let f = fixture().await;
    let (status, body) = get(&f.app, "/badges/4-scos-stable.svg?style=3d").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown style \"3d\""));
    let (status, body) = get(&f.app, "/badges/no-such-stream.svg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("not found"),
        "a not-found badge is still an image"
    );
    let (status, _) = get(&f.app, "/badges/4-scos-stable/4.99.0-okd-scos.0.svg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&f.app, "/badges/4-scos-stable.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains(".svg or .json"));
}

#[tokio::test]
async fn stale_data_is_not_shown_green() {
    let f = fixture_with(|state| state.settings.stale_after = std::time::Duration::from_millis(1))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, json) = get(&f.app, "/badges/4-scos-stable.json").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["color"], "lightgrey");
    assert!(json["message"]
        .as_str()
        .expect("message")
        .ends_with("· data stale"));
    assert!(f.polls.get("origin").is_some());
}

#[tokio::test]
async fn badge_page_offers_streams_and_snippets() {
    let f = fixture().await;
    let (status, headers, body) = get_with(
        &f.app,
        "/badges?stream=4-scos-stable&style=flat-square",
        &[("host", "status.example.org")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{headers:?}");
    let html = String::from_utf8(body).expect("utf-8");
    assert!(html.contains("Badges for your README"));
    assert!(html.contains("/badges/4-scos-stable.svg?style=flat-square"));
    assert!(
        html.contains("http://status.example.org/badges/4-scos-stable.svg"),
        "snippets use the request's host"
    );
}
