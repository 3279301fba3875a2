//! Property tests of the notification parsers: any bytes and near misses of real
//! distribution envelopes and Quay pushes parse or fail without panicking; an envelope
//! yields no more events than it has bytes, each valid and re-parsing from its stored raw
//! form; generated envelopes are taken exactly when every event is usable; a push's tags
//! are sorted, unique and non-blank, and its dedup key is a hash for any arrival time.

use proptest::prelude::*;

use super::*;
use hostile::{any_bytes, config, hostile_string, json_fixture, near_misses};

const ENVELOPES: &[&str] = &[
    "registry/manifest-push-tag.json",
    "registry/manifest-push-by-digest.json",
    "registry/docker-v2s2-push.json",
    "registry/manifest-pull.json",
    "registry/blob-push.json",
    "registry/blob-mount.json",
    "registry/blob-head-pull.json",
    "registry/delete-manifest.json",
    "registry/delete-tag.json",
    "registry/distribution-docs-push-envelope.json",
    "registry/distribution-docs-manifest-pull.json",
];

fn real_envelope() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(ENVELOPES).prop_flat_map(|path| near_misses(json_fixture(path)))
}

fn real_quay_push() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        near_misses(json_fixture("registry/quay-repo-push-docs.json")),
        near_misses(json_fixture("registry/quay-repo-push-legacy-2013.json")),
    ]
}

fn check_envelope(body: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(events) = parse_envelope(body) {
        prop_assert!(events.len() <= body.len());
        for r in &events {
            prop_assert!(r.event.validate().is_ok());
            prop_assert!(r.raw.len() <= body.len());
            let again: DistributionEvent =
                serde_json::from_str(&r.raw).expect("the stored raw event parses");
            prop_assert_eq!(&again, &r.event);
            let _ = (r.event.is_manifest_change(), r.event.occurred_at());
        }
    }
    Ok(())
}

fn check_quay(body: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(push) = QuayPush::parse(body) {
        let tags = push.tags();
        prop_assert!(tags.len() <= body.len());
        prop_assert!(tags.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        prop_assert!(tags.iter().all(|t| !t.trim().is_empty()));
        prop_assert!(!push.repository.trim().is_empty());
        let _ = push.host();
    }
    Ok(())
}

fn event() -> impl Strategy<Value = DistributionEvent> {
    (
        (
            hostile_string(),
            proptest::option::of(hostile_string()),
            hostile_string(),
        ),
        (
            proptest::option::of(hostile_string()),
            proptest::option::of(hostile_string()),
            hostile_string(),
            proptest::option::of(hostile_string()),
            proptest::option::of(hostile_string()),
        ),
        proptest::option::of(proptest::option::of(hostile_string())),
    )
        .prop_map(
            |((id, timestamp, action), (media_type, digest, repository, url, tag), request)| {
                DistributionEvent {
                    id,
                    timestamp,
                    action,
                    target: Target {
                        media_type,
                        digest,
                        repository,
                        url,
                        tag,
                    },
                    request: request.map(|host| RequestInfo { host }),
                }
            },
        )
}

fn usable(e: &DistributionEvent) -> bool {
    !e.id.trim().is_empty() && !e.action.trim().is_empty() && !e.target.repository.trim().is_empty()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_are_an_envelope_or_a_refusal(body in any_bytes()) {
        check_envelope(&body)?;
        check_quay(&body)?;
    }

    #[test]
    fn near_misses_of_real_envelopes_are_valid_or_refused(body in real_envelope()) {
        check_envelope(&body)?;
    }

    #[test]
    fn near_misses_of_real_quay_pushes_are_valid_or_refused(body in real_quay_push()) {
        check_quay(&body)?;
    }

    #[test]
    fn generated_envelopes_are_taken_exactly_when_every_event_is_usable(
        events in prop::collection::vec(event(), 0..5),
    ) {
        let body = serde_json::to_vec(&serde_json::json!({ "events": events })).expect("serializes");
        match parse_envelope(&body) {
            Ok(received) => {
                prop_assert!(events.iter().all(usable));
                let parsed: Vec<_> = received.into_iter().map(|r| r.event).collect();
                prop_assert_eq!(parsed, events);
            }
            Err(e) => {
                prop_assert!(!events.iter().all(usable));
                prop_assert!(e.starts_with("malformed notification"), "{}", e);
            }
        }
    }

    #[test]
    fn generated_quay_pushes_round_trip_and_key_any_arrival(
        repository in hostile_string(),
        docker_url in hostile_string(),
        tags in prop::collection::vec(hostile_string(), 0..6),
        legacy in any::<bool>(),
        at in any::<i64>(),
    ) {
        let updated_tags = if legacy {
            UpdatedTags::Map(tags.iter().map(|t| (t.clone(), "img".to_string())).collect())
        } else {
            UpdatedTags::List(tags.clone())
        };
        let push = QuayPush { repository, docker_url, updated_tags };
        let body = serde_json::to_vec(&push).expect("serializes");
        let usable = !push.repository.trim().is_empty() && tags.iter().all(|t| !t.trim().is_empty());
        match QuayPush::parse(&body) {
            Ok(again) => {
                prop_assert!(usable);
                prop_assert_eq!(&again, &push);
            }
            Err(_) => prop_assert!(!usable),
        }
        let at = DateTime::from_timestamp(at % 8_000_000_000_000, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
        for when in [at, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let key = push.dedup_key(when);
            prop_assert_eq!(key.len(), 64);
            prop_assert_eq!(key, push.dedup_key(when));
        }
    }
}
