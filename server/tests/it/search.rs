//! Search, from release-controller data and a payload read as they are recorded: a CI
//! stream whose first two releases were rejected and whose third was accepted, a preview
//! stream that promoted the fix later, changelogs naming pull requests, bugs and the
//! commits images were built from, and a payload naming components and digests. The store
//! answers on SQLite and PostgreSQL; the page and the API through the router.

use crate::support::http::{get, site};
use crate::support::payloads::{postgres, sqlite};
use crate::support::registry;
use app::model::search::{FoundKind, Query};
use app::model::Phase;
use axum::http::StatusCode;
use server::backend::StoreBackend;
use server::events::{ingest, reproject, PAYLOAD_READ, PAYLOAD_RELEASE, RC_RELEASE, RC_TAGS};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::store::Store;

const CI: &str = "4.21.0-0.okd-scos";
const NEXT: &str = "4-scos-next";
const FIRST: &str = "4.21.0-0.okd-scos-2026-02-09-010101";
const SECOND: &str = "4.21.0-0.okd-scos-2026-02-10-010101";
const THIRD: &str = "4.21.0-0.okd-scos-2026-02-11-010101";
const EC3: &str = "4.21.0-okd-scos.ec.3";
/// The commit the installer image of FIRST was built from (named by its changelog).
const BUILT: &str = "1111111111aaaaaaaaaa2222222222bbbbbbbbbb";
/// The commit the payload of THIRD says its installer was built from.
const LABELLED: &str = "cccccccccc3333333333dddddddddd4444444444";
/// A subject as hostile as upstream may send.
const HOSTILE: &str = "<script>alert(1)</script> NO-JIRA: tidy";

fn event(kind: &str, subject: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        source: "origin".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload: payload.to_string(),
        received_at: chrono::Utc::now(),
        external_id: None,
    }
}

fn digest(seed: &str) -> String {
    registry::sha256(seed.as_bytes())
}

/// One updated image of a changelog with its commits (subject, pull number, bugs).
fn image(repo: &str, commit: &str, commits: &[(&str, u64, &[&str])]) -> serde_json::Value {
    serde_json::json!({
        "name": repo, "path": format!("https://github.com/openshift/{repo}/tree/{commit}"),
        "commits": commits.iter().map(|(subject, pull, bugs)| serde_json::json!({
            "subject": subject, "pullID": pull,
            "pullURL": format!("https://github.com/openshift/{repo}/pull/{pull}"),
            "issues": bugs.iter().map(|b| (b.to_string(), serde_json::Value::from(format!("https://issues.redhat.com/browse/{b}"))))
                .collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
    })
}

async fn details(
    store: &Store,
    stream: &str,
    name: &str,
    phase: &str,
    images: Vec<serde_json::Value>,
) {
    ingest(
        store,
        event(
            RC_RELEASE,
            &format!("{stream}/{name}"),
            serde_json::json!({"name": name, "phase": phase, "changeLogJson": {
                "from": {"name": "before", "created": "2026-02-08T00:00:00Z", "digest": ""},
                "to": {"name": name, "created": "2026-02-12T00:00:00Z", "digest": ""},
                "updatedImages": images}}),
        ),
    )
    .await
    .expect("details");
}

async fn fill(store: &Store) {
    let tags = |stream: &str, list: &[(&str, &str)]| {
        event(
            RC_TAGS,
            stream,
            serde_json::json!({"name": stream, "tags": list.iter().map(|(n, p)| serde_json::json!({
                "name": n, "phase": p, "pullSpec": format!("quay.io/okd/scos-release:{n}"), "downloadURL": ""}))
                .collect::<Vec<_>>()}),
        )
    };
    ingest(
        store,
        tags(
            CI,
            &[
                (FIRST, "Rejected"),
                (SECOND, "Rejected"),
                (THIRD, "Accepted"),
            ],
        ),
    )
    .await
    .expect("ci tags");
    ingest(store, tags(NEXT, &[(EC3, "Accepted")]))
        .await
        .expect("next tags");

    let fix: &[(&str, u64, &[&str])] = &[(
        "OCPBUGS-12345: fix the installer's bootstrap",
        1234,
        &["OCPBUGS-12345"],
    )];
    details(
        store,
        CI,
        FIRST,
        "Rejected",
        vec![image("installer", BUILT, fix)],
    )
    .await;
    details(
        store,
        CI,
        SECOND,
        "Rejected",
        vec![image(
            "machine-config-operator",
            &"e".repeat(40),
            &[(HOSTILE, 77, &[]), ("Bump the OS", 78, &[])],
        )],
    )
    .await;
    details(store, CI, THIRD, "Accepted", vec![]).await;
    details(
        store,
        NEXT,
        EC3,
        "Accepted",
        vec![image("installer", BUILT, fix)],
    )
    .await;

    let payload = serde_json::json!({
        "digest": digest(THIRD), "pull_spec": format!("quay.io/okd/scos-release@{}", digest(THIRD)),
        "media_type": "application/vnd.oci.image.manifest.v1+json", "image_digest": digest(THIRD),
        "platforms": ["linux/amd64"], "labels": {}, "name": THIRD, "created": null,
        "annotations": {}, "release_metadata": null,
        "components": [{
            "name": "installer", "image": format!("quay.io/okd/scos-content@{}", digest("installer")),
            "image_digest": digest("installer"), "source_location": "https://github.com/openshift/installer",
            "commit_id": LABELLED, "commit_ref": "", "versions": "",
        }, {
            "name": "installer-artifacts", "image": format!("quay.io/okd/scos-content@{}", digest("artifacts")),
            "image_digest": digest("artifacts"), "source_location": "https://github.com/openshift/installer",
            "commit_id": LABELLED, "commit_ref": "", "versions": "",
        }],
    });
    ingest(store, event(PAYLOAD_READ, &digest(THIRD), payload.clone()))
        .await
        .expect("read");
    ingest(
        store,
        event(
            PAYLOAD_RELEASE,
            &format!("{CI}/{THIRD}"),
            serde_json::json!({"digest": digest(THIRD), "pull_spec": payload["pull_spec"]}),
        ),
    )
    .await
    .expect("bound");
}

async fn find(backend: &StoreBackend, q: &str) -> app::model::search::SearchResults {
    let query = Query::parse(q).expect("searchable");
    backend.search(q, query).await.expect("search")
}

/// (stream, first release, first accepted) of each appearance.
fn where_first(found: &app::model::search::Found) -> Vec<(&str, &str, Option<&str>)> {
    found
        .appearances
        .iter()
        .map(|a| (a.stream.as_str(), a.release.as_str(), a.accepted.as_deref()))
        .collect()
}

async fn search_story(store: Store) {
    fill(&store).await;
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());

    for q in [
        "openshift/installer#1234",
        "https://github.com/openshift/installer/pull/1234",
        "ocpbugs-12345",
    ] {
        let r = find(&backend, q).await;
        assert_eq!(r.found.len(), 1, "{q}: {r:?}");
        let fix = &r.found[0];
        assert_eq!(
            where_first(fix),
            [(CI, FIRST, Some(THIRD)), (NEXT, EC3, Some(EC3))],
            "{q}: first rejected, accepted two releases later, then promoted"
        );
        assert_eq!(fix.appearances[0].phase, Phase::Rejected);
        assert_eq!(fix.first_promoted().map(|a| a.release.as_str()), Some(EC3));
        assert_eq!(fix.title, "OCPBUGS-12345: fix the installer's bootstrap");
    }

    // a commit named by a changelog, by its start; one labelled in a payload, in full
    let r = find(&backend, &BUILT[..7]).await;
    assert_eq!(r.found.len(), 1);
    assert_eq!(
        (r.found[0].kind, r.found[0].key.as_str()),
        (FoundKind::Commit, BUILT)
    );
    assert_eq!(where_first(&r.found[0])[0], (CI, FIRST, Some(THIRD)));
    let r = find(&backend, LABELLED).await;
    assert_eq!(r.found.len(), 1);
    assert_eq!(
        r.found[0].title, "installer, installer-artifacts",
        "every image built from it"
    );
    assert_eq!(where_first(&r.found[0]), [(CI, THIRD, Some(THIRD))]);

    // digests: of a component image, of the payload, pasted as a pull spec
    let r = find(
        &backend,
        &format!("quay.io/okd/scos-content@{}", digest("artifacts")),
    )
    .await;
    assert_eq!(r.found.len(), 1);
    assert_eq!(
        (r.found[0].kind, r.found[0].title.as_str()),
        (FoundKind::Image, "installer-artifacts")
    );
    let r = find(&backend, &digest(THIRD)).await;
    assert_eq!(r.found[0].kind, FoundKind::Payload);
    assert_eq!(where_first(&r.found[0]), [(CI, THIRD, Some(THIRD))]);

    // words: a component's name and a title's words, the last one as typed so far
    let r = find(&backend, "installer").await;
    let kinds: Vec<(FoundKind, &str)> = r.found.iter().map(|f| (f.kind, f.key.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (FoundKind::Component, "installer"),
            (FoundKind::Component, "installer-artifacts"),
            (FoundKind::Pull, "openshift/installer#1234"),
        ]
    );
    let r = find(&backend, "Installer's boot").await;
    let keys: Vec<&str> = r.found.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["openshift/installer#1234"]);
    let r = find(&backend, "bump os").await;
    assert_eq!(r.found[0].key, "openshift/machine-config-operator#78");

    // release names by their start, greatest first
    let r = find(&backend, "4.21.0-0.OKD-scos-2026-02-1").await;
    let names: Vec<&str> = r.releases.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, [THIRD, SECOND]);
    assert!(r.found.is_empty());

    // nothing found is an answer
    for q in [
        "OCPBUGS-99999",
        "openshift/installer#9",
        "no such words",
        "abcdef0",
    ] {
        let r = find(&backend, q).await;
        assert!(r.is_empty(), "{q}: {r:?}");
    }

    // suggestions while typing
    let labels: Vec<String> = backend
        .suggestions("instal")
        .await
        .expect("suggest")
        .into_iter()
        .map(|s| format!("{} {}", s.kind, s.href))
        .collect();
    assert_eq!(
        labels,
        [
            "component /components/installer",
            "component /components/installer-artifacts",
            "pull request /search?q=openshift%2Finstaller%231234",
        ]
    );
    let releases = backend
        .suggestions("4.21.0-0.okd-scos-2026")
        .await
        .expect("suggest");
    assert_eq!(releases[0].href, format!("/releases/{THIRD}?stream={CI}"));

    // a changelog read again replaces what the release named, and a replay rebuilds it all
    details(&store, CI, SECOND, "Rejected", vec![]).await;
    assert!(find(&backend, "openshift/machine-config-operator#78")
        .await
        .is_empty());
    let before = find(&backend, "ocpbugs-12345").await;
    reproject(&store).await.expect("reproject");
    assert_eq!(find(&backend, "ocpbugs-12345").await, before);
    assert!(find(&backend, "openshift/machine-config-operator#78")
        .await
        .is_empty());
    assert_eq!(find(&backend, "installer").await.found.len(), 3);
}

#[tokio::test]
async fn search_finds_first_appearances_on_sqlite() {
    let (store, _dir) = sqlite().await;
    search_story(store).await;
}

#[tokio::test]
async fn search_finds_first_appearances_on_postgres() {
    search_story(postgres().await).await;
}

#[tokio::test]
async fn the_search_page_and_api_answer_and_refuse_precisely() {
    let (store, _dir) = sqlite().await;
    fill(&store).await;
    let app = site(&store);

    // every page has the search box, a plain GET form
    let (_, html) = get(&app, "/").await;
    assert!(
        html.contains("role=\"search\"") && html.contains("action=\"/search\""),
        "{html}"
    );

    let (status, html) = get(&app, "/search?q=OCPBUGS-12345").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(
        "First in {FIRST} ({CI}, Rejected). First accepted in {THIRD} ({CI}). First promoted in {EC3} ({NEXT})."
    )), "{html}");
    assert!(html.contains("href=\"https://issues.redhat.com/browse/OCPBUGS-12345\""));
    assert!(html.contains(&format!("href=\"/releases/{EC3}?stream={NEXT}\"")));

    // the hostile subject is text
    let (status, html) = get(&app, "/search?q=tidy").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; NO-JIRA: tidy"));

    // nothing found says what was searched, and is not a 404
    let (status, html) = get(&app, "/search?q=%3Cb%3Enothing%3C%2Fb%3E").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Nothing found for “&lt;b&gt;nothing&lt;/b&gt;”"),
        "{html}"
    );
    let (status, html) = get(&app, "/search").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Which release has my fix?"));

    let (status, body) = get(&app, "/api/v1/search?q=openshift/installer%231234").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["read_as"], "pull");
    assert_eq!(json["found"][0]["first_promoted"], EC3);
    assert_eq!(json["found"][0]["appearances"][0]["release"], FIRST);
    assert_eq!(json["found"][0]["appearances"][0]["first_accepted"], THIRD);
    assert_eq!(json["found"][0]["appearances"][1]["stream_kind"], "next");
    let (status, body) = get(&app, "/api/v1/search?q=OCPBUGS-99999").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"found\":[]"), "{body}");

    let long = "x".repeat(257);
    for (uri, detail) in [
        ("/api/v1/search".to_string(), "q is required"),
        ("/api/v1/search?q=%20".to_string(), "q is required"),
        (format!("/api/v1/search?q={long}"), "at most 256 characters"),
        (
            "/api/v1/search?q=a%00b".to_string(),
            "without control characters",
        ),
    ] {
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body.contains(detail), "{uri}: {body}");
    }
    let (status, html) = get(&app, &format!("/search?q={long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("at most 256 characters"));
}

const FOURTH: &str = "4.21.0-0.okd-scos-2026-02-12-010101";
const FIFTH: &str = "4.21.0-0.okd-scos-2026-02-13-010101";

/// After [`fill`]: THIRD's details again with the machine OS, FOURTH (rejected) naming two
/// pull requests with a payload whose installer image changed, and FIFTH not read yet.
async fn fill_after_accepted(store: &Store) {
    fill(store).await;
    let os = |from: &str, to: &str| serde_json::json!([{"name": "CentOS Stream CoreOS", "version": to, "from": from}]);
    let mut tags: Vec<serde_json::Value> = [(FIRST, "Rejected"), (SECOND, "Rejected"), (THIRD, "Accepted"), (FOURTH, "Rejected"), (FIFTH, "Ready")]
        .iter()
        .map(|(n, p)| serde_json::json!({"name": n, "phase": p, "pullSpec": format!("quay.io/okd/scos-release:{n}"), "downloadURL": ""}))
        .collect();
    tags.reverse();
    ingest(
        store,
        event(RC_TAGS, CI, serde_json::json!({"name": CI, "tags": tags})),
    )
    .await
    .expect("tags");
    for (name, phase, from, to, images) in [
        (
            THIRD,
            "Accepted",
            "9.0.20260201-0",
            "9.0.20260210-0",
            vec![],
        ),
        (
            FOURTH,
            "Rejected",
            "9.0.20260210-0",
            "9.0.20260212-0",
            vec![image(
                "console",
                &"f".repeat(40),
                &[("Fix the console", 501, &[]), ("Tidy", 502, &[])],
            )],
        ),
    ] {
        ingest(
            store,
            event(
                RC_RELEASE,
                &format!("{CI}/{name}"),
                serde_json::json!({"name": name, "phase": phase, "changeLogJson": {
                    "from": {"name": "before", "created": "2026-02-08T00:00:00Z", "digest": ""},
                    "to": {"name": name, "created": "2026-02-12T00:00:00Z", "digest": ""},
                    "components": os(from, to), "updatedImages": images}}),
            ),
        )
        .await
        .expect("details");
    }
    let components: Vec<serde_json::Value> = [("installer", "installer-2"), ("installer-artifacts", "artifacts")]
        .iter()
        .map(|(c, seed)| serde_json::json!({
            "name": c, "image": format!("quay.io/okd/scos-content@{}", digest(seed)),
            "image_digest": digest(seed), "source_location": "https://github.com/openshift/installer",
            "commit_id": LABELLED, "commit_ref": "", "versions": "",
        }))
        .collect();
    let payload = serde_json::json!({
        "digest": digest(FOURTH), "pull_spec": format!("quay.io/okd/scos-release@{}", digest(FOURTH)),
        "media_type": "application/vnd.oci.image.manifest.v1+json", "image_digest": digest(FOURTH),
        "platforms": ["linux/amd64"], "labels": {}, "name": FOURTH, "created": null,
        "annotations": {}, "release_metadata": null, "components": components,
    });
    ingest(store, event(PAYLOAD_READ, &digest(FOURTH), payload.clone()))
        .await
        .expect("read");
    ingest(
        store,
        event(
            PAYLOAD_RELEASE,
            &format!("{CI}/{FOURTH}"),
            serde_json::json!({"digest": digest(FOURTH), "pull_spec": payload["pull_spec"]}),
        ),
    )
    .await
    .expect("bound");
}

async fn since_accepted_story(store: Store) {
    fill_after_accepted(&store).await;
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());
    let since = |name: &'static str| {
        let backend = backend.clone();
        async move {
            backend
                .release_detail(name, Some(CI))
                .await
                .expect("release")
                .since_accepted
        }
    };
    assert_eq!(since(THIRD).await, None, "nothing accepted before it");
    let fourth = since(FOURTH).await.expect("after THIRD");
    assert_eq!(
        fourth,
        app::model::SinceAccepted {
            release: THIRD.into(),
            releases: 1,
            pulls: 2,
            unread: 0,
            new_images: Some(1),
            os: Some((
                "CentOS Stream CoreOS".into(),
                "9.0.20260210-0".into(),
                "9.0.20260212-0".into()
            )),
        }
    );
    assert_eq!(
        fourth.sentence(),
        format!(
            "Since the previous accepted release, {THIRD} (the release before this one): 1 component \
             with a new image, 2 pull requests, CentOS Stream CoreOS 9.0.20260212-0 (was 9.0.20260210-0)."
        )
    );
    let fifth = since(FIFTH).await.expect("after THIRD");
    assert_eq!(
        (
            fifth.releases,
            fifth.pulls,
            fifth.unread,
            fifth.new_images,
            fifth.os.clone()
        ),
        (2, 2, 1, None, None),
        "FIFTH's changelog and payload are not read yet"
    );
    assert!(fifth
        .sentence()
        .contains("2 releases before this one): at least 2 pull requests (1 changelog not read)"));
}

#[tokio::test]
async fn the_release_page_says_what_changed_since_the_previous_accepted_release_on_sqlite() {
    let (store, _dir) = sqlite().await;
    since_accepted_story(store.clone()).await;
    let app = site(&store);
    let (status, html) = get(&app, &format!("/releases/{FOURTH}?stream={CI}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Since the previous accepted release, "),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"/compare/{THIRD}/{FOURTH}\"")));
    let (_, body) = get(&app, &format!("/api/v1/releases/{FOURTH}?stream={CI}")).await;
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["since_accepted"]["release"], THIRD);
    assert_eq!(json["since_accepted"]["new_images"], 1);
    assert_eq!(json["since_accepted"]["machine_os_was"], "9.0.20260210-0");
}

#[tokio::test]
async fn the_release_page_says_what_changed_since_the_previous_accepted_release_on_postgres() {
    since_accepted_story(postgres().await).await;
}
