//! Property tests of the payload files: any bytes and near misses of a real
//! `image-references` and `release-metadata` parse or fail without panicking and hold no
//! more items than bytes; a component is only ever taken with a sha256 digest its image
//! ends with; a read built from them validates exactly when its components are unique; and
//! generated `payload.read` bodies round-trip.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use hostile::{any_bytes, config, hostile_string, hostile_value, json_fixture, near_misses};

const REFERENCES: &str = "payload/image-references-4.10.0-0.nightly-2021-11-14-184249.json";
const METADATA: &str = "payload/release-metadata-4.1.0.json";

fn digest() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
        "sha256:[0-9a-fA-F]{62,66}",
        "(sha256|sha512|SHA256):[0-9a-f]{64}",
        hostile_string(),
    ]
}

fn check_references(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(stream) = serde_json::from_slice::<ImageStream>(bytes) else {
        return Ok(());
    };
    let tags = stream.spec.tags.unwrap_or_default();
    prop_assert!(tags.len() <= bytes.len());
    let mut components = Vec::new();
    for tag in &tags {
        if let Ok(c) = Component::from_tag(tag) {
            prop_assert!(is_sha256_digest(&c.image_digest));
            let pinned = format!("@{}", c.image_digest);
            prop_assert!(c.image.ends_with(&pinned));
            prop_assert!(!c.name.trim().is_empty());
            components.push(c);
        }
    }
    if components.len() == tags.len() {
        components.sort_by(|a, b| a.name.cmp(&b.name));
        let unique = components
            .iter()
            .map(|c| &c.name)
            .collect::<BTreeSet<_>>()
            .len()
            == components.len();
        let read = PayloadRead {
            digest: format!("sha256:{}", "0".repeat(64)),
            pull_spec: "quay.io/okd/scos-release:4.21.0".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            image_digest: None,
            platforms: vec!["linux/amd64".into()],
            platform_images: Vec::new(),
            labels: BTreeMap::new(),
            name: stream.metadata.name,
            created: stream.metadata.creation_timestamp,
            annotations: stream.metadata.annotations.unwrap_or_default(),
            release_metadata: None,
            components,
        };
        prop_assert_eq!(read.validate().is_ok(), unique);
    }
    Ok(())
}

fn check_metadata(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = serde_json::from_slice::<ReleaseMetadata>(bytes) {
        let items =
            m.previous.as_ref().map_or(0, Vec::len) + m.metadata.as_ref().map_or(0, |x| x.len());
        prop_assert!(items <= bytes.len());
    }
    Ok(())
}

fn component() -> impl Strategy<Value = Component> {
    (
        (hostile_string(), hostile_string(), digest()),
        (
            hostile_string(),
            hostile_string(),
            hostile_string(),
            hostile_string(),
        ),
    )
        .prop_map(
            |((name, image, image_digest), (source_location, commit_id, commit_ref, versions))| {
                Component {
                    name,
                    image,
                    image_digest,
                    source_location,
                    commit_id,
                    commit_ref,
                    versions,
                }
            },
        )
}

fn platform_image() -> impl Strategy<Value = PlatformImage> {
    (
        hostile_string(),
        digest(),
        prop::collection::btree_map(hostile_string(), digest(), 0..4),
    )
        .prop_map(|(platform, digest, components)| PlatformImage {
            platform,
            digest,
            components,
        })
}

fn payload_read() -> impl Strategy<Value = PayloadRead> {
    let metadata = (
        hostile_string(),
        prop::collection::vec(hostile_string(), 0..4),
        prop::collection::vec((hostile_string(), hostile_value()), 0..4),
    )
        .prop_map(|(version, previous, metadata)| DeclaredMetadata {
            version,
            previous,
            metadata: metadata.into_iter().collect(),
        });
    (
        (
            digest(),
            hostile_string(),
            hostile_string(),
            proptest::option::of(digest()),
        ),
        (
            prop::collection::vec(hostile_string(), 0..4),
            prop::collection::vec(platform_image(), 0..3),
        ),
        prop::collection::btree_map(hostile_string(), hostile_string(), 0..4),
        (hostile_string(), proptest::option::of(hostile_string())),
        prop::collection::btree_map(hostile_string(), hostile_string(), 0..4),
        proptest::option::of(metadata),
        prop::collection::vec(component(), 0..5),
    )
        .prop_map(
            |(
                (digest, pull_spec, media_type, image_digest),
                (platforms, platform_images),
                labels,
                (name, created),
                annotations,
                release_metadata,
                components,
            )| PayloadRead {
                digest,
                pull_spec,
                media_type,
                image_digest,
                platforms,
                platform_images,
                labels,
                name,
                created,
                annotations,
                release_metadata,
                components,
            },
        )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in any_bytes()) {
        check_references(&bytes)?;
        check_metadata(&bytes)?;
        let _ = serde_json::from_slice::<PayloadRead>(&bytes).map(|r| r.validate());
    }

    #[test]
    fn near_misses_of_real_image_references_give_only_digest_pinned_components(
        bytes in near_misses(json_fixture(REFERENCES))
    ) {
        check_references(&bytes)?;
    }

    #[test]
    fn near_misses_of_real_release_metadata_parse_or_fail_cleanly(
        bytes in near_misses(json_fixture(METADATA))
    ) {
        check_metadata(&bytes)?;
    }

    #[test]
    fn a_component_is_taken_only_when_pinned_by_a_sha256_digest(
        name in hostile_string(),
        repository in "[a-z0-9./:_-]{0,40}",
        at in prop_oneof![Just("@"), Just(":"), Just("@@"), Just("")],
        digest in digest().prop_filter("one @ only", |d| !d.contains('@')),
    ) {
        let tag = TagReference {
            name: name.clone(),
            annotations: None,
            from: Some(ObjectReference { kind: "DockerImage".into(), name: format!("{repository}{at}{digest}") }),
        };
        let pinned = !name.trim().is_empty() && at.ends_with('@') && is_sha256_digest(&digest);
        prop_assert_eq!(Component::from_tag(&tag).is_ok(), pinned);
    }

    #[test]
    fn sha256_digests_are_recognised_exactly(digest in digest()) {
        let model = digest.len() == 71
            && digest.starts_with("sha256:")
            && digest[7..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        prop_assert_eq!(is_sha256_digest(&digest), model);
    }

    #[test]
    fn platform_images_validate_exactly_when_unique_and_pinned(
        images in prop::collection::vec(platform_image(), 0..4)
    ) {
        let read = PayloadRead {
            digest: format!("sha256:{}", "0".repeat(64)),
            pull_spec: "quay.io/okd/scos-release:4.21.0".into(),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            image_digest: None,
            platforms: images.iter().map(|p| p.platform.clone()).collect(),
            platform_images: images.clone(),
            labels: BTreeMap::new(),
            name: "4.21.0".into(),
            created: None,
            annotations: BTreeMap::new(),
            release_metadata: None,
            components: Vec::new(),
        };
        let unique = images.iter().map(|p| &p.platform).collect::<BTreeSet<_>>().len() == images.len();
        let pinned = images.iter().all(|p| {
            is_sha256_digest(&p.digest) && p.components.values().all(|d| is_sha256_digest(d))
        });
        prop_assert_eq!(read.validate().is_ok(), unique && pinned);
        let rows = read.platform_components();
        prop_assert_eq!(rows.len(), images.iter().map(|p| p.components.len()).sum::<usize>());
        if let Some(first) = images.first() {
            prop_assert_eq!(read.primary_platform(), first.platform.as_str());
        }
    }

    #[test]
    fn generated_payload_reads_round_trip(read in payload_read()) {
        let text = serde_json::to_string(&read).expect("serializes");
        let again: PayloadRead = serde_json::from_str(&text).expect("parses");
        prop_assert_eq!(&again, &read);
        let _ = again.validate();
    }
}
