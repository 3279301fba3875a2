//! Property tests of the release-controller wire types: any bytes, and near misses of real
//! answers, parse or fail without panicking; what parses holds no more items than it had
//! bytes and serializes back to itself; generated answers round-trip exactly.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use hostile::{any_bytes, config, hostile_string, json_fixture, near_misses};

const INFO: &str = "upstream/api-v1-release-info-4.12.1.json";
const TAGS: &str = "upstream/api-v1-releasestream-tags-4.12.0-0.nightly.json";
const LATEST: &str = "upstream/api-v1-releasestream-latest-4.11.15.json";

fn jobs(s: &VerificationJobsSummary) -> usize {
    [
        &s.blocking_jobs,
        &s.informing_jobs,
        &s.async_jobs,
        &s.pending_jobs,
    ]
    .into_iter()
    .flatten()
    .flat_map(|m| m.values())
    .map(|j| 1 + j.previous_attempt_urls.as_ref().map_or(0, Vec::len))
    .sum()
}

fn images(list: &Option<Vec<ChangeLogImage>>) -> usize {
    list.iter()
        .flatten()
        .map(|i| {
            1 + i
                .commits
                .iter()
                .flatten()
                .map(|c| 1 + c.issues.as_ref().map_or(0, BTreeMap::len))
                .sum::<usize>()
        })
        .sum()
}

/// Every item a release's details hold: jobs, attempts, upgrades, runs, changelog entries.
fn items(info: &ApiReleaseInfo) -> usize {
    let upgrades: usize = [&info.upgrades_to, &info.upgrades_from]
        .into_iter()
        .flatten()
        .flatten()
        .map(|u| 1 + u.history.as_ref().map_or(0, BTreeMap::len))
        .sum();
    let changelog = info.change_log_json.as_ref().map_or(0, |c| {
        c.components.as_ref().map_or(0, Vec::len)
            + images(&c.new_images)
            + images(&c.removed_images)
            + images(&c.rebuilt_images)
            + images(&c.updated_images)
    });
    info.results.as_ref().map_or(0, jobs) + upgrades + changelog
}

fn check_info(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(info) = serde_json::from_slice::<ApiReleaseInfo>(bytes) {
        prop_assert!(items(&info) <= bytes.len());
        let again: ApiReleaseInfo =
            serde_json::from_str(&serde_json::to_string(&info).expect("serializes"))
                .expect("what parsed once parses again");
        prop_assert_eq!(again, info);
    }
    Ok(())
}

fn check_tags(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(list) = serde_json::from_slice::<ApiRelease>(bytes) {
        prop_assert!(list.tags.len() <= bytes.len());
        let again: ApiRelease =
            serde_json::from_str(&serde_json::to_string(&list).expect("serializes"))
                .expect("what parsed once parses again");
        prop_assert_eq!(again, list);
    }
    if let Ok(streams) = serde_json::from_slice::<ReleaseStreams>(bytes) {
        let tags: usize = streams.values().flatten().map(Vec::len).sum();
        prop_assert!(streams.len() + tags <= bytes.len());
    }
    let _ = serde_json::from_slice::<ApiTag>(bytes);
    Ok(())
}

fn status() -> impl Strategy<Value = VerificationStatus> {
    (
        hostile_string(),
        hostile_string(),
        any::<Option<i64>>(),
        proptest::option::of(prop::collection::vec(hostile_string(), 0..3)),
        proptest::option::of(hostile_string()),
    )
        .prop_map(
            |(state, url, retries, previous_attempt_urls, transition_time)| VerificationStatus {
                state,
                url,
                retries,
                previous_attempt_urls,
                transition_time,
            },
        )
}

fn job_map() -> impl Strategy<Value = Option<BTreeMap<String, VerificationStatus>>> {
    proptest::option::of(prop::collection::btree_map(
        hostile_string(),
        status(),
        0..4,
    ))
}

fn upgrade() -> impl Strategy<Value = UpgradeHistory> {
    (
        hostile_string(),
        hostile_string(),
        any::<(i64, i64, i64)>(),
        proptest::option::of(prop::collection::btree_map(
            hostile_string(),
            (hostile_string(), hostile_string())
                .prop_map(|(state, url)| UpgradeResult { state, url }),
            0..3,
        )),
    )
        .prop_map(
            |(from, to, (success, failure, total), history)| UpgradeHistory {
                from,
                to,
                success,
                failure,
                total,
                history,
            },
        )
}

fn image() -> impl Strategy<Value = ChangeLogImage> {
    let commit = (
        proptest::option::of(prop::collection::btree_map(
            hostile_string(),
            hostile_string(),
            0..3,
        )),
        hostile_string(),
        any::<Option<i64>>(),
        proptest::option::of(hostile_string()),
    )
        .prop_map(|(issues, subject, pull_id, pull_url)| CommitInfo {
            issues,
            subject,
            pull_id,
            pull_url,
        });
    (
        (hostile_string(), hostile_string()),
        proptest::option::of(hostile_string()),
        proptest::option::of(hostile_string()),
        proptest::option::of(hostile_string()),
        proptest::option::of(prop::collection::vec(commit, 0..3)),
        proptest::option::of(hostile_string()),
    )
        .prop_map(
            |((name, path), short_commit, commit, image_ref, commits, full_change_log)| {
                ChangeLogImage {
                    name,
                    path,
                    short_commit,
                    commit,
                    image_ref,
                    commits,
                    full_change_log,
                }
            },
        )
}

fn changelog_side() -> impl Strategy<Value = ChangeLogReleaseInfo> {
    (
        hostile_string(),
        hostile_string(),
        hostile_string(),
        proptest::option::of(hostile_string()),
    )
        .prop_map(
            |(name, created, digest, promoted_from)| ChangeLogReleaseInfo {
                name,
                created,
                digest,
                promoted_from,
            },
        )
}

fn changelog() -> impl Strategy<Value = ChangeLog> {
    let component = (
        (hostile_string(), hostile_string()),
        proptest::option::of(hostile_string()),
        proptest::option::of(hostile_string()),
        proptest::option::of(hostile_string()),
        proptest::option::of(hostile_string()),
    )
        .prop_map(|((name, version), version_url, from, from_url, diff_url)| {
            ChangeLogComponent {
                name,
                version,
                version_url,
                from,
                from_url,
                diff_url,
            }
        });
    let list = || proptest::option::of(prop::collection::vec(image(), 0..2));
    (
        changelog_side(),
        changelog_side(),
        proptest::option::of(prop::collection::vec(component, 0..3)),
        (list(), list(), list(), list()),
    )
        .prop_map(
            |(from, to, components, (new, removed, rebuilt, updated))| ChangeLog {
                from,
                to,
                components,
                new_images: new,
                removed_images: removed,
                rebuilt_images: rebuilt,
                updated_images: updated,
            },
        )
}

fn release_info() -> impl Strategy<Value = ApiReleaseInfo> {
    let summary = (job_map(), job_map(), job_map(), job_map()).prop_map(
        |(blocking_jobs, informing_jobs, async_jobs, pending_jobs)| VerificationJobsSummary {
            blocking_jobs,
            informing_jobs,
            async_jobs,
            pending_jobs,
        },
    );
    let upgrades = || proptest::option::of(prop::collection::vec(upgrade(), 0..3));
    (
        (hostile_string(), hostile_string()),
        proptest::option::of(summary),
        upgrades(),
        upgrades(),
        proptest::option::of(hostile_string()),
        proptest::option::of(changelog()),
    )
        .prop_map(
            |((name, phase), results, upgrades_to, upgrades_from, change_log, change_log_json)| {
                ApiReleaseInfo {
                    name,
                    phase,
                    results,
                    upgrades_to,
                    upgrades_from,
                    change_log,
                    change_log_json,
                }
            },
        )
}

fn tag() -> impl Strategy<Value = ApiTag> {
    (
        hostile_string(),
        hostile_string(),
        hostile_string(),
        hostile_string(),
    )
        .prop_map(|(name, phase, pull_spec, download_url)| ApiTag {
            name,
            phase,
            pull_spec,
            download_url,
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in any_bytes()) {
        check_info(&bytes)?;
        check_tags(&bytes)?;
    }

    #[test]
    fn near_misses_of_real_release_details_parse_or_fail_cleanly(
        bytes in near_misses(json_fixture(INFO))
    ) {
        check_info(&bytes)?;
    }

    #[test]
    fn near_misses_of_real_tag_lists_parse_or_fail_cleanly(
        bytes in near_misses(json_fixture(TAGS))
    ) {
        check_tags(&bytes)?;
    }

    #[test]
    fn near_misses_of_real_latest_tags_parse_or_fail_cleanly(
        bytes in near_misses(json_fixture(LATEST))
    ) {
        if let Ok(tag) = serde_json::from_slice::<ApiTag>(&bytes) {
            let again: ApiTag = serde_json::from_str(&serde_json::to_string(&tag).expect("serializes"))
                .expect("parses again");
            prop_assert_eq!(again, tag);
        }
    }

    #[test]
    fn generated_release_details_round_trip(info in release_info()) {
        let text = serde_json::to_string(&info).expect("serializes");
        let again: ApiReleaseInfo = serde_json::from_str(&text).expect("parses");
        prop_assert_eq!(again, info);
    }

    #[test]
    fn generated_tag_lists_and_stream_lists_round_trip(
        name in hostile_string(),
        tags in prop::collection::vec(tag(), 0..8),
        streams in prop::collection::btree_map(
            hostile_string(),
            proptest::option::of(prop::collection::vec(hostile_string(), 0..4)),
            0..6,
        ),
    ) {
        let list = ApiRelease { name, tags };
        let again: ApiRelease =
            serde_json::from_str(&serde_json::to_string(&list).expect("serializes")).expect("parses");
        prop_assert_eq!(again, list);
        let again: ReleaseStreams =
            serde_json::from_str(&serde_json::to_string(&streams).expect("serializes")).expect("parses");
        prop_assert_eq!(again, streams);
    }
}
