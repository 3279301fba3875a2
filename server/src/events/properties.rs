//! Property tests of the log's input check and projection: every kind takes any body and
//! subject without panicking, near misses of real upstream answers are either refused or
//! agree with their subject, a generated tag list is taken exactly when the projection can
//! use it, and hostile controller answers are stored or refused — never a database failure —
//! on both backends, leaving a log whose replay rebuilds the very same tables.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::*;
use crate::formats::release_controller::ApiTag;
use crate::store::testing;
use hostile::{any_bytes, config, hostile_string, json_fixture, near_misses};

const KINDS: &[&str] = &[
    RC_STREAMS,
    RC_TAGS,
    RC_RELEASE,
    PAYLOAD_READ,
    PAYLOAD_RELEASE,
    PAYLOAD_FAILED,
    REGISTRY_EVENT,
    QUAY_PUSH,
    INTEGRITY_CHECKED,
    PROMOTION_REQUESTED,
    PROMOTION_STATE,
    RC_RELEASE_FAILED,
    "rc.unknown",
    "",
];

/// What a parse that succeeded promises the projection.
fn check(kind: &str, subject: &str, payload: &str) -> Result<(), TestCaseError> {
    let Ok(parsed) = parse(kind, subject, payload) else {
        return Ok(());
    };
    match parsed {
        Parsed::Streams(map) => prop_assert!(map.len() <= payload.len()),
        Parsed::Tags(list) => {
            prop_assert_eq!(list.name.as_str(), subject);
            prop_assert!(list.tags.iter().all(|t| !t.name.trim().is_empty()));
            prop_assert!(list.tags.len() <= payload.len());
        }
        Parsed::Release { stream, info } => {
            prop_assert_eq!(format!("{stream}/{}", info.name), subject);
        }
        Parsed::ReleaseFailed {
            stream,
            release,
            failure,
        } => {
            prop_assert_eq!(format!("{stream}/{release}"), subject);
            prop_assert!(!failure.error.trim().is_empty());
        }
        Parsed::PayloadRead(read) => {
            prop_assert_eq!(read.digest.as_str(), subject);
            prop_assert!(read.validate().is_ok());
        }
        Parsed::RegistryEvent(event) => {
            prop_assert_eq!(event.target.repository.as_str(), subject);
            prop_assert!(event.validate().is_ok());
        }
        Parsed::QuayPush(push) => {
            prop_assert_eq!(push.repository.as_str(), subject);
            prop_assert!(push.tags().len() <= payload.len());
        }
        Parsed::PayloadFailed(failure) => prop_assert_eq!(failure.pull_spec.as_str(), subject),
        Parsed::PromotionRequested(p) => prop_assert_eq!(p.plan.target.name.as_str(), subject),
        Parsed::PromotionState { id, .. } => prop_assert_eq!(id.to_string(), subject),
        Parsed::PromotionStep { id, .. } => prop_assert_eq!(id.to_string(), subject),
        Parsed::PayloadRelease { .. } | Parsed::IntegrityChecked { .. } => {}
    }
    Ok(())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn one_event(path: &str) -> serde_json::Value {
    json_fixture(path)["events"][0].clone()
}

fn payload_read() -> serde_json::Value {
    let digest = format!("sha256:{}", "ab".repeat(32));
    serde_json::json!({
        "digest": digest, "pull_spec": "quay.io/okd/scos-release:4.21.0-okd-scos.1",
        "media_type": "application/vnd.oci.image.index.v1+json",
        "amd64_digest": format!("sha256:{}", "cd".repeat(32)),
        "platforms": ["linux/amd64", "linux/arm64"], "labels": {"a": "b"},
        "name": "4.21.0-okd-scos.1", "created": "2026-02-11T07:15:19Z",
        "annotations": {"release.openshift.io/from-image-stream": "origin/scos-4.21"},
        "release_metadata": {"version": "4.21.0", "previous": ["4.20.0"], "metadata": {}},
        "components": [{"name": "cli", "image": format!("quay.io/okd/x@sha256:{}", "ef".repeat(32)),
            "image_digest": format!("sha256:{}", "ef".repeat(32)), "source_location": "",
            "commit_id": "", "commit_ref": "", "versions": ""}]
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_kind_takes_any_body_and_subject_without_panicking(
        kind in prop::sample::select(KINDS),
        subject in hostile_string(),
        body in any_bytes(),
    ) {
        check(kind, &subject, &text(&body))?;
    }

    #[test]
    fn near_misses_of_a_real_tag_list_agree_with_their_subject(
        body in near_misses(json_fixture("upstream/api-v1-releasestream-tags-4.12.0-0.nightly.json")),
        subject in prop_oneof![Just("4.12.0-0.nightly".to_string()), hostile_string()],
    ) {
        check(RC_TAGS, &subject, &text(&body))?;
        check(RC_STREAMS, &subject, &text(&body))?;
    }

    #[test]
    fn near_misses_of_real_release_details_agree_with_their_subject(
        body in near_misses(json_fixture("upstream/api-v1-release-info-4.12.1.json")),
        subject in prop_oneof![Just("4-stable/4.12.1".to_string()), hostile_string()],
    ) {
        check(RC_RELEASE, &subject, &text(&body))?;
    }

    #[test]
    fn near_misses_of_real_registry_events_agree_with_their_subject(
        body in prop_oneof![
            near_misses(one_event("registry/manifest-push-tag.json")),
            near_misses(one_event("registry/delete-tag.json")),
            near_misses(one_event("registry/docker-v2s2-push.json")),
        ],
        subject in prop_oneof![Just("ocp/release".to_string()), hostile_string()],
    ) {
        check(REGISTRY_EVENT, &subject, &text(&body))?;
    }

    #[test]
    fn near_misses_of_quay_pushes_and_payload_reads_agree_with_their_subject(
        quay in prop_oneof![
            near_misses(json_fixture("registry/quay-repo-push-docs.json")),
            near_misses(json_fixture("registry/quay-repo-push-legacy-2013.json")),
        ],
        read in near_misses(payload_read()),
        subject in prop_oneof![
            Just("dgangaia/test".to_string()),
            Just(format!("sha256:{}", "ab".repeat(32))),
            hostile_string(),
        ],
    ) {
        check(QUAY_PUSH, &subject, &text(&quay))?;
        check(PAYLOAD_READ, &subject, &text(&read))?;
    }

    #[test]
    fn a_tag_list_is_taken_exactly_when_it_names_its_stream_and_every_tag(
        name in hostile_string(),
        other in hostile_string(),
        same in any::<bool>(),
        tags in prop::collection::vec(
            (hostile_string(), hostile_string()).prop_map(|(name, phase)| ApiTag {
                name, phase, pull_spec: String::new(), download_url: String::new(),
            }),
            0..6,
        ),
    ) {
        let subject = if same { name.clone() } else { other };
        let usable = name == subject && tags.iter().all(|t| !t.name.trim().is_empty());
        let body = serde_json::to_string(&ApiRelease { name, tags }).expect("serializes");
        prop_assert_eq!(parse(RC_TAGS, &subject, &body).is_ok(), usable);
    }

    #[test]
    fn any_tag_name_gives_a_creation_time_or_none(name in hostile_string()) {
        let _ = created_from_tag_name(&name);
    }

    #[test]
    fn dated_tag_names_give_their_date(
        prefix in hostile_string(),
        secs in 0i64..253_402_300_799,
    ) {
        let at = DateTime::from_timestamp(secs, 0).expect("in range");
        let name = format!("{prefix}-{}", at.format("%Y-%m-%d-%H%M%S"));
        prop_assert_eq!(created_from_tag_name(&name), Some(at));
    }
}

const INFO: &str = "upstream/api-v1-release-info-4.12.1.json";
const TAGS: &str = "upstream/api-v1-releasestream-tags-4.12.0-0.nightly.json";
const NIGHTLY: &str = "4.12.0-0.nightly";

/// One answer of a hostile controller: a near miss of a real tag list or release details,
/// the details named for a listed tag or for the fixture's own release.
fn answer() -> impl Strategy<Value = NewEvent> {
    let tag_names = serde_json::from_value::<ApiRelease>(json_fixture(TAGS))
        .map(|l| l.tags.into_iter().map(|t| t.name).collect::<Vec<_>>())
        .unwrap_or_default();
    prop_oneof![
        near_misses(json_fixture(TAGS)).prop_map(|body| (RC_TAGS, NIGHTLY.to_string(), body)),
        (
            near_misses(json_fixture(INFO)),
            prop::sample::select(tag_names)
        )
            .prop_map(|(body, tag)| {
                // the details must name the release of their subject to be taken
                let named = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|mut v| {
                        v.get_mut("name")?;
                        v["name"] = serde_json::Value::String(tag.clone());
                        serde_json::to_vec(&v).ok()
                    })
                    .unwrap_or(body);
                (RC_RELEASE, format!("{NIGHTLY}/{tag}"), named)
            }),
    ]
    .prop_map(|(kind, subject, body)| NewEvent {
        source: "origin".into(),
        kind: kind.into(),
        subject,
        payload: String::from_utf8_lossy(&body).into_owned(),
        received_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 2, 11, 12, 0, 0)
            .single()
            .expect("valid"),
        external_id: None,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Feeds `cases` hostile answers into `store`: each is taken or refused as malformed,
/// unknown or unstorable, never a failure of the database; then the log replays into the
/// same tables.
fn hostile_answers_are_stored_or_refused(
    runtime: &tokio::runtime::Runtime,
    store: Store,
    cases: u32,
) {
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(&answer(), |event| {
        runtime.block_on(async {
            match ingest(&store, event).await {
                Ok(_)
                | Err(EventError::Malformed { .. })
                | Err(EventError::Store(StoreError::NotFound(_) | StoreError::InvalidText(_))) => {
                    Ok(())
                }
                Err(e) => Err(TestCaseError::fail(format!("ingest failed: {e}"))),
            }
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    runtime.block_on(async {
        let projected = store.projection_dump().await.expect("the tables read back");
        let stats = reproject(&store).await.expect("the log replays");
        assert_eq!(stats.skipped, 0, "every logged answer parses again");
        assert_eq!(store.projection_dump().await.expect("dump"), projected);
    });
}

#[test]
fn hostile_answers_are_stored_or_refused_on_sqlite() {
    let runtime = runtime();
    let (store, _dir) = runtime.block_on(testing::sqlite());
    hostile_answers_are_stored_or_refused(&runtime, store, 96);
}

#[test]
fn hostile_answers_are_stored_or_refused_on_postgres() {
    let runtime = runtime();
    let store = runtime.block_on(testing::postgres());
    hostile_answers_are_stored_or_refused(&runtime, store, 64);
}
