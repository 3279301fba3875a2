//! Stories of the projection that reach into the store's reads: events ingested through
//! [`super::ingest`], then the payload tables and the payload worker's queue read back, on
//! SQLite and PostgreSQL; and reprojection leaving credentials alone.

pub(crate) mod payloads {
    use chrono::TimeZone;

    use crate::events::{
        ingest, reproject, EventError, PAYLOAD_FAILED, PAYLOAD_READ, PAYLOAD_RELEASE,
    };
    use crate::formats::payload::{Component, DeclaredMetadata, PayloadRead, PlatformImage};
    use crate::store::events::NewEvent;
    use crate::store::testing;
    use crate::store::{Store, StoreError};
    use chrono::Utc;

    pub(crate) const STREAM: &str = "4.21.0-0.okd-scos";
    pub(crate) const NEW: &str = "4.21.0-0.okd-scos-2026-02-11-071519";
    const BROKEN: &str = "4.21.0-0.okd-scos-2026-02-12-010101";

    pub(crate) fn digest(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    pub(crate) fn event(kind: &str, subject: &str, payload: String, minute: u32) -> NewEvent {
        NewEvent {
            source: "registry.ci.openshift.org".into(),
            kind: kind.into(),
            subject: subject.into(),
            payload,
            received_at: Utc
                .with_ymd_and_hms(2026, 2, 11, 12, minute, 0)
                .single()
                .expect("valid"),
            external_id: None,
        }
    }

    pub(crate) fn read(d: &str, pull_spec: &str, previous: &[&str]) -> PayloadRead {
        let component = |name: &str, n: u8, commit: &str| Component {
            name: name.into(),
            image: format!("quay.io/okd/scos-content@{}", digest(n)),
            image_digest: digest(n),
            source_location: format!("https://github.com/openshift/{name}"),
            commit_id: commit.into(),
            commit_ref: String::new(),
            versions: String::new(),
        };
        PayloadRead {
            digest: d.into(),
            pull_spec: pull_spec.into(),
            media_type: streamgate_formats::media_type::OCI_INDEX.into(),
            image_digest: Some(digest(99)),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            // arm64 has its own cli image and shares the installer
            platform_images: vec![
                PlatformImage {
                    platform: "linux/amd64".into(),
                    digest: digest(99),
                    components: [("cli".into(), digest(10)), ("installer".into(), digest(11))]
                        .into(),
                },
                PlatformImage {
                    platform: "linux/arm64/v8".into(),
                    digest: digest(98),
                    components: [("cli".into(), digest(20)), ("installer".into(), digest(11))]
                        .into(),
                },
            ],
            labels: [("io.openshift.release".to_string(), NEW.to_string())].into(),
            name: NEW.into(),
            created: Some("2026-02-11T07:15:19Z".into()),
            annotations: Default::default(),
            release_metadata: Some(DeclaredMetadata {
                version: NEW.into(),
                previous: previous.iter().map(|p| p.to_string()).collect(),
                metadata: Default::default(),
            }),
            components: vec![
                component("cli", 10, "4ddd828c588c1277361d89e03933a97595795b48"),
                component("installer", 11, "5b0f1c3d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b"),
            ],
        }
    }

    pub(crate) fn spec(tag: &str) -> String {
        format!("registry.ci.openshift.org/origin/release-scos:{tag}")
    }

    /// A payload read, bound to its release, re-delivered, failed elsewhere and replayed.
    async fn payload_story(store: Store) {
        let a = digest(1);
        let body =
            serde_json::to_string(&read(&a, &spec(NEW), &["4.20.0-okd-scos.1"])).expect("json");
        assert!(ingest(&store, event(PAYLOAD_READ, &a, body.clone(), 0))
            .await
            .expect("read")
            .is_some());
        let binding = serde_json::json!({"digest": a, "pull_spec": spec(NEW)}).to_string();
        ingest(
            &store,
            event(
                PAYLOAD_RELEASE,
                &format!("{STREAM}/{NEW}"),
                binding.clone(),
                1,
            ),
        )
        .await
        .expect("bound");

        let got = store
            .release_payload(STREAM, NEW)
            .await
            .expect("query")
            .expect("stored");
        assert_eq!(got.payload.digest, a);
        assert_eq!(got.payload.version.as_deref(), Some(NEW));
        assert_eq!(
            got.payload.previous_versions(),
            Some(vec!["4.20.0-okd-scos.1".to_string()])
        );
        assert_eq!(got.components.len(), 2);
        assert_eq!(got.components[0].name, "cli");
        assert_eq!(got.payload.primary_platform, "linux/amd64");
        assert_eq!(got.platform_names(), vec!["linux/amd64", "linux/arm64/v8"]);
        let arm_cli = got
            .platforms
            .iter()
            .find(|p| p.platform == "linux/arm64/v8" && p.name == "cli")
            .expect("arm64 cli");
        assert_eq!(arm_cli.image_digest, digest(20));
        assert_eq!(got.platforms.len(), 4);
        assert_eq!(
            got.components[1].commit_id,
            "5b0f1c3d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b"
        );
        assert_eq!(
            store.declared_previous(STREAM, NEW).await.expect("query"),
            Some(vec!["4.20.0-okd-scos.1".to_string()])
        );
        assert_eq!(
            store
                .declared_previous(STREAM, BROKEN)
                .await
                .expect("query"),
            None
        );

        // re-delivery writes nothing
        let before = store.projection_dump().await.expect("dump");
        assert!(ingest(&store, event(PAYLOAD_READ, &a, body, 5))
            .await
            .expect("again")
            .is_none());
        assert_eq!(store.projection_dump().await.expect("dump"), before);

        // a failed read of another release is recorded beside, touching nothing stored
        let failure = serde_json::json!({"pull_spec": spec(BROKEN), "stream": STREAM,
            "release": BROKEN, "kind": "corrupt_layer", "message": "corrupt layer sha256:…: bad"})
        .to_string();
        ingest(&store, event(PAYLOAD_FAILED, &spec(BROKEN), failure, 6))
            .await
            .expect("failure");
        let f = store
            .release_payload_failure(STREAM, BROKEN)
            .await
            .expect("query")
            .expect("failure stored");
        assert_eq!(f.kind, "corrupt_layer");
        let after = store.projection_dump().await.expect("dump");
        assert!(before.iter().all(|row| after.contains(row)));
        assert_eq!(after.len(), before.len() + 1);

        // refused inputs roll back
        let wrong_subject =
            serde_json::to_string(&read(&digest(2), &spec(BROKEN), &[])).expect("json");
        let err = ingest(&store, event(PAYLOAD_READ, &digest(3), wrong_subject, 7))
            .await
            .expect_err("subject mismatch");
        assert!(matches!(err, EventError::Malformed { .. }), "{err}");
        let unknown =
            serde_json::json!({"digest": digest(4), "pull_spec": spec(BROKEN)}).to_string();
        let err = ingest(
            &store,
            event(PAYLOAD_RELEASE, &format!("{STREAM}/{BROKEN}"), unknown, 7),
        )
        .await
        .expect_err("unknown payload");
        assert!(
            matches!(err, EventError::Store(StoreError::NotFound(_))),
            "{err}"
        );
        assert_eq!(store.projection_dump().await.expect("dump"), after);

        // a later successful read of the broken release clears its failure
        let b = digest(2);
        let body = serde_json::to_string(&read(&b, &spec(BROKEN), &[])).expect("json");
        ingest(&store, event(PAYLOAD_READ, &b, body, 8))
            .await
            .expect("read b");
        assert_eq!(
            store
                .release_payload_failure(STREAM, BROKEN)
                .await
                .expect("query"),
            None
        );

        // replaying the log rebuilds identical rows
        let projected = store.projection_dump().await.expect("dump");
        let stats = reproject(&store).await.expect("reproject");
        assert_eq!(stats.skipped, 0);
        assert_eq!(store.projection_dump().await.expect("dump"), projected);
    }

    #[tokio::test]
    async fn payload_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        payload_story(store).await;
    }

    #[tokio::test]
    async fn payload_story_on_postgres() {
        payload_story(testing::postgres().await).await;
    }
}

mod payload_queue {
    use chrono::TimeZone;

    use crate::events::{ingest, PAYLOAD_FAILED, RC_TAGS, REGISTRY_EVENT};
    use crate::store::events::NewEvent;
    use crate::store::testing;
    use crate::store::Store;
    use chrono::{DateTime, Utc};

    const STREAM: &str = "4.21.0-0.okd-scos";

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 11, hour, 0, 0)
            .single()
            .expect("valid")
    }

    fn event(kind: &str, subject: &str, payload: String, hour: u32) -> NewEvent {
        NewEvent {
            source: "origin".into(),
            kind: kind.into(),
            subject: subject.into(),
            payload,
            received_at: at(hour),
            external_id: None,
        }
    }

    fn spec(name: &str) -> String {
        format!("registry.ci.openshift.org/origin/release_scos:{name}")
    }

    /// Which releases wait for their payload, and which pushes name a release.
    async fn payload_queue_story(store: Store) {
        let names = [
            "4.21.0-0.okd-scos-2026-02-09-010101",
            "4.21.0-0.okd-scos-2026-02-10-010101",
            "4.21.0-0.okd-scos-2026-02-11-010101",
        ];
        let tags: Vec<_> = names
            .iter()
            .map(|n| serde_json::json!({"name": n, "phase": "Accepted", "pullSpec": spec(n), "downloadURL": ""}))
            .collect();
        let body = serde_json::json!({"name": STREAM, "tags": tags}).to_string();
        ingest(&store, event(RC_TAGS, STREAM, body, 1))
            .await
            .expect("tags");
        let waiting = store
            .releases_awaiting_payload(at(0), 10)
            .await
            .expect("query");
        let order: Vec<&str> = waiting.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(order, [names[2], names[1], names[0]], "newest first");
        assert_eq!(waiting[0].pull_spec, spec(names[2]));
        assert_eq!(
            store
                .releases_awaiting_payload(at(0), 1)
                .await
                .expect("query")
                .len(),
            1
        );

        // a failure at 02:00 keeps the release out until the cut-off passes it
        let failure = serde_json::json!({"pull_spec": spec(names[2]), "stream": STREAM,
            "release": names[2], "kind": "registry", "message": "registry error on manifest: 503"})
        .to_string();
        ingest(&store, event(PAYLOAD_FAILED, &spec(names[2]), failure, 2))
            .await
            .expect("failure");
        let waiting = store
            .releases_awaiting_payload(at(1), 10)
            .await
            .expect("query");
        assert_eq!(waiting.len(), 2);
        assert!(waiting.iter().all(|r| r.name != names[2]));
        assert_eq!(
            store
                .releases_awaiting_payload(at(3), 10)
                .await
                .expect("query")
                .len(),
            3
        );

        // a push whose names are LIKE wildcards requeues nothing: names are compared as text
        let hostile = serde_json::json!({"id": "push-0", "timestamp": "2026-02-11T03:00:00Z",
            "action": "push", "target": {"repository": "%", "tag": "%",
            "digest": "sha256:%", "mediaType": "application/vnd.oci.image.index.v1+json"}})
        .to_string();
        let mut hostile = event(REGISTRY_EVENT, "%", hostile, 3);
        hostile.source = "registry".into();
        hostile.external_id = Some("push-0".into());
        ingest(&store, hostile).await.expect("hostile push");
        let waiting = store
            .releases_awaiting_payload(at(1), 10)
            .await
            .expect("query");
        assert_eq!(waiting.len(), 2, "a wildcard repository matched a release");

        // ... unless its image is pushed again after the failure
        let push = serde_json::json!({"id": "push-1", "timestamp": "2026-02-11T03:00:00Z",
            "action": "push", "target": {"repository": "origin/release_scos", "tag": names[2],
            "digest": "sha256:aa", "mediaType": "application/vnd.oci.image.index.v1+json"}})
        .to_string();
        let mut pushed = event(REGISTRY_EVENT, "origin/release_scos", push, 3);
        pushed.source = "registry".into();
        pushed.external_id = Some("push-1".into());
        ingest(&store, pushed).await.expect("push");
        let waiting = store
            .releases_awaiting_payload(at(1), 10)
            .await
            .expect("query");
        assert_eq!(waiting.len(), 3);

        // an expired release is not read any more
        let body = serde_json::json!({"name": STREAM, "tags": [tags[1], tags[2]]}).to_string();
        ingest(&store, event(RC_TAGS, STREAM, body, 4))
            .await
            .expect("pruned");
        let waiting = store
            .releases_awaiting_payload(at(3), 10)
            .await
            .expect("query");
        assert!(waiting.iter().all(|r| r.name != names[0]));

        // pushes name a release by repository and tag or digest; `_` is no wildcard
        let repo = "origin/release_scos";
        let count =
            |tag: Option<&'static str>, digest: Option<&'static str>, repo: &'static str| {
                let store = store.clone();
                async move {
                    store
                        .releases_matching_image(repo, tag, digest)
                        .await
                        .expect("query")
                }
            };
        assert_eq!(count(Some(names[1]), None, repo).await, 1);
        assert_eq!(count(Some(names[1]), None, "origin/releasexscos").await, 0);
        assert_eq!(count(Some("4.21.0"), Some("sha256:aa"), repo).await, 0);
        assert_eq!(count(None, None, repo).await, 0);
    }

    #[tokio::test]
    async fn payload_queue_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        payload_queue_story(store).await;
    }

    #[tokio::test]
    async fn payload_queue_story_on_postgres() {
        payload_queue_story(testing::postgres().await).await;
    }
}

mod credentials {
    use chrono::Utc;

    use crate::store::auth::NewUser;
    use crate::store::testing;

    /// The log's reprojection rebuilds what events make and leaves users, which are not
    /// events, alone.
    #[tokio::test]
    async fn reprojection_leaves_credentials_alone() {
        let (store, _dir) = testing::sqlite().await;
        let before = store.list_users().await.expect("listed").len();
        store
            .create_user(&NewUser {
                name: "ada".into(),
                role: app::viewer::Role::Maintainer,
                targets: None,
                password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
                proxy_csrf: "csrf".into(),
                created_at: Utc::now(),
            })
            .await
            .expect("created");
        crate::events::reproject(&store).await.expect("reprojected");
        assert_eq!(store.list_users().await.expect("listed").len(), before + 1);
    }
}

mod tag_lists {
    use chrono::{DateTime, TimeZone, Utc};

    use crate::events::{check, ingest_all, RC_RELEASE, RC_RELEASE_FAILED, RC_TAGS};
    use crate::store::events::NewEvent;
    use crate::store::testing;
    use crate::store::Store;
    use app::model::Phase;

    const STREAM: &str = "4.21.0-0.okd-scos";

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 11, 12, minute, 0)
            .single()
            .expect("valid")
    }

    fn name(n: usize) -> String {
        format!(
            "4.21.0-0.okd-scos-2026-02-{:02}-{:06}",
            1 + n / 100,
            n % 100
        )
    }

    fn event(kind: &str, subject: &str, payload: serde_json::Value, minute: u32) -> NewEvent {
        NewEvent {
            source: "origin".into(),
            kind: kind.into(),
            subject: subject.into(),
            payload: payload.to_string(),
            received_at: at(minute),
            external_id: None,
        }
    }

    fn tags(list: &[(String, &str)], minute: u32) -> NewEvent {
        let tags: Vec<_> = list
            .iter()
            .map(|(n, p)| {
                serde_json::json!({"name": n, "phase": p, "downloadURL": "",
                    "pullSpec": format!("registry.ci.openshift.org/origin/release-scos:{n}")})
            })
            .collect();
        event(
            RC_TAGS,
            STREAM,
            serde_json::json!({"name": STREAM, "tags": tags}),
            minute,
        )
    }

    /// Release `n`'s phase, when it last changed, and whether it is expired.
    async fn row(store: &Store, n: usize) -> (Phase, DateTime<Utc>, bool) {
        let rows = store.releases_named(&name(n)).await.expect("rows");
        let [r] = rows.as_slice() else {
            panic!("{} stored {} times", name(n), rows.len());
        };
        (r.phase, r.phase_changed_at, r.expired_at.is_some())
    }

    async fn listed(store: &Store) -> usize {
        store.release_states(STREAM).await.expect("states").len()
    }

    /// A tag list longer than one statement, naming one release twice, stored in one
    /// transaction with the details that follow it; then a list with one phase changed and
    /// some releases gone; then a batch that fails half-way, which stores nothing.
    async fn tag_list_story(store: Store) {
        let mut list: Vec<(String, &str)> = (0..250).map(|n| (name(n), "Ready")).collect();
        // upstream's list names one release twice: the last listing wins
        list.push((name(7), "Accepted"));
        let details = event(
            RC_RELEASE,
            &format!("{STREAM}/{}", name(3)),
            serde_json::json!({"name": name(3), "phase": "Rejected"}),
            1,
        );
        let batch = vec![
            check(tags(&list, 0)).expect("tags parse"),
            check(details).expect("details parse"),
        ];
        let ids = ingest_all(&store, batch).await.expect("stored");
        assert!(ids.iter().all(Option::is_some), "{ids:?}");
        assert_eq!(listed(&store).await, 250);
        assert_eq!(row(&store, 7).await, (Phase::Accepted, at(0), false));
        assert_eq!(row(&store, 3).await, (Phase::Rejected, at(1), false));
        assert_eq!(row(&store, 200).await, (Phase::Ready, at(0), false));

        // the same list again is not stored; one with 200 accepted and 240.. gone is
        let again = ingest_all(&store, vec![check(tags(&list, 2)).expect("parse")])
            .await
            .expect("stored");
        assert_eq!(again, [None]);
        let mut next: Vec<(String, &str)> = (0..240).map(|n| (name(n), "Ready")).collect();
        next[200].1 = "Accepted";
        next[7].1 = "Accepted";
        next[3].1 = "Rejected";
        ingest_all(&store, vec![check(tags(&next, 3)).expect("parse")])
            .await
            .expect("stored");
        assert_eq!(listed(&store).await, 240);
        assert_eq!(row(&store, 200).await, (Phase::Accepted, at(3), false));
        assert_eq!(
            row(&store, 7).await,
            (Phase::Accepted, at(0), false),
            "unchanged"
        );
        assert_eq!(
            row(&store, 3).await,
            (Phase::Rejected, at(1), false),
            "unchanged"
        );
        assert_eq!(
            row(&store, 245).await,
            (Phase::Ready, at(0), true),
            "expired"
        );

        // details of a release no list named: the whole batch is refused, nothing stored
        let events = store.event_count().await.expect("count");
        let mut relisted = next.clone();
        relisted.push((name(245), "Ready"));
        let orphan = event(
            RC_RELEASE,
            &format!("{STREAM}/4.21.0-0.okd-scos-2026-03-01-000000"),
            serde_json::json!({"name": "4.21.0-0.okd-scos-2026-03-01-000000", "phase": "Ready"}),
            5,
        );
        let refused = ingest_all(
            &store,
            vec![
                check(tags(&relisted, 4)).expect("parse"),
                check(orphan).expect("parse"),
            ],
        )
        .await;
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(store.event_count().await.expect("count"), events);
        assert_eq!(
            row(&store, 245).await,
            (Phase::Ready, at(0), true),
            "still expired"
        );

        // details, then a list that names the release with another phase and names an
        // expired release again, in one batch: the list's phase is the newest word
        let details = event(
            RC_RELEASE,
            &format!("{STREAM}/{}", name(3)),
            serde_json::json!({"name": name(3), "phase": "Accepted"}),
            6,
        );
        let mut after = relisted.clone();
        after[3].1 = "Ready";
        ingest_all(
            &store,
            vec![
                check(details).expect("parse"),
                check(tags(&after, 7)).expect("parse"),
            ],
        )
        .await
        .expect("stored");
        assert_eq!(row(&store, 3).await, (Phase::Ready, at(7), false));
        let three = store.releases_named(&name(3)).await.expect("rows");
        assert_eq!(three[0].details_phase.as_deref(), Some("Accepted"));
        assert_eq!(three[0].details_at, Some(at(6)));
        assert_eq!(
            row(&store, 245).await,
            (Phase::Ready, at(0), false),
            "listed again"
        );
        assert_eq!(listed(&store).await, 241);

        // a list, details, a failed read of them (which writes the details first) and a list
        // naming the release as the first did, in one batch: the second list is the newest
        // word, not what the first left
        let mut first = after.clone();
        first[8].1 = "Accepted";
        let mut second = first.clone();
        second[9].1 = "Accepted";
        let failed = event(
            RC_RELEASE_FAILED,
            &format!("{STREAM}/{}", name(5)),
            serde_json::json!({"error": "timed out"}),
            10,
        );
        ingest_all(
            &store,
            vec![
                check(tags(&first, 8)).expect("parse"),
                check(event(
                    RC_RELEASE,
                    &format!("{STREAM}/{}", name(5)),
                    serde_json::json!({"name": name(5), "phase": "Accepted"}),
                    9,
                ))
                .expect("parse"),
                check(failed).expect("parse"),
                check(tags(&second, 11)).expect("parse"),
            ],
        )
        .await
        .expect("stored");
        assert_eq!(row(&store, 5).await, (Phase::Ready, at(11), false));
        assert_eq!(row(&store, 9).await, (Phase::Accepted, at(11), false));
    }

    #[tokio::test]
    async fn tag_list_story_on_sqlite() {
        let (store, _dir) = testing::sqlite().await;
        tag_list_story(store).await;
    }

    #[tokio::test]
    async fn tag_list_story_on_postgres() {
        tag_list_story(testing::postgres().await).await;
    }
}

mod batches {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use crate::events::{
        check, ingest, ingest_all, replay, reproject, RC_RELEASE, RC_TAGS, REGISTRY_EVENT,
    };
    use crate::store::events::NewEvent;
    use crate::store::testing;
    use crate::store::Store;

    const STREAM: &str = "4.22.0-0.okd-scos";

    fn at(step: usize) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
            .single()
            .expect("valid")
            + Duration::minutes(step as i64)
    }

    fn name(n: usize) -> String {
        format!("{STREAM}-2026-03-01-{:06}", n * 100)
    }

    fn event(kind: &str, subject: &str, payload: serde_json::Value, step: usize) -> NewEvent {
        NewEvent {
            source: "origin".into(),
            kind: kind.into(),
            subject: subject.into(),
            payload: payload.to_string(),
            received_at: at(step),
            external_id: None,
        }
    }

    /// A stream's history where one batch holds several details of the same release (its
    /// jobs finishing, its phase going back and forth, its changelog missing once), edges
    /// reported twice, a tag list that drops releases, and registry events named twice.
    fn history() -> Vec<NewEvent> {
        let mut events = Vec::new();
        for step in 0..12_usize {
            let newest = step / 2;
            let tags: Vec<_> = (newest.saturating_sub(3)..=newest)
                .map(|n| serde_json::json!({"name": name(n), "phase": if n + 2 <= newest { "Accepted" } else { "Ready" },
                    "pullSpec": format!("quay.io/okd/scos-release:{}", name(n)), "downloadURL": ""}))
                .collect();
            events.push(event(
                RC_TAGS,
                STREAM,
                serde_json::json!({"name": STREAM, "tags": tags}),
                step,
            ));
            for n in newest.saturating_sub(1)..=newest {
                for k in 0..2 {
                    let phase = match (step + k) % 3 {
                        0 => "Ready",
                        1 => "Rejected",
                        _ => "Accepted",
                    };
                    let mut info = serde_json::json!({"name": name(n), "phase": phase,
                        "results": {"blockingJobs": {format!("e2e-{k}"): {"state": "Succeeded", "url": "https://prow.example/1"}},
                            "informingJobs": {format!("e2e-upgrade-{step}"): {"state": "Failed", "url": "https://prow.example/2"}}}});
                    if (step + k) % 4 != 0 {
                        info["changeLogJson"] = serde_json::json!({"from": {"name": name(n.saturating_sub(1)), "created": "2026-03-01T00:00:00Z"},
                            "to": {"name": name(n), "created": "2026-03-01T00:00:00Z"},
                            "updatedImages": [{"name": "installer", "path": "https://github.com/openshift/installer/tree/abc",
                                "commits": [{"subject": format!("OCPBUGS-{step}{k}: fix"), "pullID": step * 10 + k,
                                    "pullURL": format!("https://github.com/openshift/installer/pull/{}", step * 10 + k),
                                    "issues": {format!("OCPBUGS-{step}{k}"): "https://issues.redhat.com/browse/x"}}]}]});
                    }
                    if n > 0 {
                        info["upgradesTo"] = serde_json::json!([{"From": name(n - 1), "To": name(n),
                            "Success": step + k, "Failure": k, "Total": step + 2 * k}]);
                    }
                    events.push(event(
                        RC_RELEASE,
                        &format!("{STREAM}/{}", name(n)),
                        info,
                        step,
                    ));
                }
            }
            for id in [step, step / 2] {
                let mut push = event(
                    REGISTRY_EVENT,
                    "okd/scos-content",
                    serde_json::json!({"id": format!("evt-{id}"), "timestamp": "2026-03-01T00:00:00Z",
                        "action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": format!("sha256:{:064x}", id + step), "repository": "okd/scos-content",
                            "tag": format!("t{id}")}}),
                    step,
                );
                push.source = "mirror".into();
                push.external_id = Some(format!("evt-{id}"));
                events.push(push);
            }
        }
        events
    }

    /// The same history stored one event at a time, in batches of every size, and replayed
    /// from the log gives the very same tables.
    async fn batches_project_as_single_events(one: Store, batched: Store) {
        for e in history() {
            ingest(&one, e).await.expect("stored singly");
        }
        let expected = one.projection_dump().await.expect("dump");
        assert!(
            expected.iter().any(|row| row.contains("OCPBUGS-")),
            "refs projected"
        );
        let events = history();
        let mut from = 0;
        for size in [1, 2, 3, 5, 8, 13, 21].into_iter().cycle() {
            if from >= events.len() {
                break;
            }
            let to = (from + size).min(events.len());
            let checked: Vec<_> = events[from..to]
                .iter()
                .cloned()
                .map(|e| check(e).expect("parses"))
                .collect();
            ingest_all(&batched, checked)
                .await
                .expect("stored in a batch");
            from = to;
        }
        assert_eq!(batched.projection_dump().await.expect("dump"), expected);
        assert_eq!(
            batched.event_count().await.expect("count"),
            one.event_count().await.expect("count")
        );
        let logged = batched.event_count().await.expect("count");
        let stats = reproject(&batched).await.expect("replayed");
        assert_eq!(batched.projection_dump().await.expect("dump"), expected);
        assert_eq!((stats.events as i64, stats.skipped), (logged, 0));
        // read in small batches, the log crosses from one to the next many times, with
        // several read ahead of the projection
        let stats = replay(&batched, 5)
            .await
            .expect("replayed in small batches");
        assert_eq!(batched.projection_dump().await.expect("dump"), expected);
        assert_eq!((stats.events as i64, stats.skipped), (logged, 0));
    }

    #[tokio::test]
    async fn batches_project_as_single_events_on_sqlite() {
        let (one, _a) = testing::sqlite().await;
        let (batched, _b) = testing::sqlite().await;
        batches_project_as_single_events(one, batched).await;
    }

    #[tokio::test]
    async fn batches_project_as_single_events_on_postgres() {
        batches_project_as_single_events(testing::postgres().await, testing::postgres().await)
            .await;
    }
}
