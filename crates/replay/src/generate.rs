//! The deterministic generator behind [`Dataset::demo`] and [`Dataset::scaled`], from the
//! streams, jobs and components of `data/demo.json` ([`crate::data`]).
//!
//! Everything random comes from a splitmix64 generator seeded by stream name, so a given anchor
//! always yields the same data. CI streams get tags spread over their time span with a
//! Markov chain of Accepted/Rejected (runs of rejections), a few Failed payloads at fixed positions, verification
//! jobs with retries and Prow URLs whose build ids are snowflakes of the run's start time,
//! upgrade edges from the previous accepted tag (and from the previous minor's stream), and
//! changelogs produced by a per-minor "lineage" of component commits. Stable streams promote
//! accepted CI tags (same digest, `promotedFrom` = the CI pull spec) when the data set holds
//! one, and otherwise synthesize a plausible promotion.
//!
//! Every repository of a minor version moves along one timeline of commits shared by all
//! streams of that minor, so an OKD and an OCP payload built a few hours apart carry mostly
//! the same commits — and so the same component images, as OKD mirrors them from OCP CI —
//! while the machine OS and a few components OKD builds itself differ.

mod ci;
mod jobs;
mod payload;
mod rng;
mod stable;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use self::ci::{generate_ci, CiPlan, Generated};
use self::jobs::job_plans;
use self::payload::Os;
use self::rng::{seed, Rng};
use self::stable::{generate_stable, named_entries, promoted_as_they_are, StablePlan};
use crate::data::{self, CiStream, DataError, DemoData, PromotedStream};
use crate::dataset::{ControllerData, Dataset, StreamData};

/// The components OKD/SCOS payloads take from OCP CI as they are, by payload tag; every
/// other component is built as an OKD variant (since mid-2024).
pub fn mirrored_in_scos() -> Result<Vec<&'static str>, DataError> {
    Ok(data::demo()?
        .mirrored_in_scos
        .iter()
        .map(String::as_str)
        .collect())
}

/// The machine OS a data file names: `rhcos`, `scos` or `fcos-<major>`.
fn os(name: &str) -> Result<Os, DataError> {
    match name {
        "rhcos" => Ok(Os::Rhcos),
        "scos" => Ok(Os::Scos),
        _ => name
            .strip_prefix("fcos-")
            .and_then(|major| major.parse().ok())
            .map(Os::Fcos)
            .ok_or_else(|| DataError::Invalid(format!("{name:?} is not a machine OS"))),
    }
}

/// The plan of CI stream `stream` at `factor` times its releases.
fn ci_plan(
    data: &'static DemoData,
    stream: &'static CiStream,
    anchor: DateTime<Utc>,
    factor: usize,
) -> Result<CiPlan, DataError> {
    let os = os(&stream.os)?;
    let count = stream.count * factor;
    Ok(CiPlan {
        data,
        name: stream.name.clone(),
        pull_repo: stream.pull_repo.clone(),
        end_of_life: stream.end_of_life,
        minor: stream.minor,
        os,
        start: data::time(&stream.start, anchor)?,
        end: data::time(&stream.end, anchor)?,
        count,
        jobs: job_plans(
            data,
            &stream.name,
            &stream.jobs,
            stream.minor,
            matches!(os, Os::Fcos(_)),
        )?,
        exact_end: stream.exact_end,
        last_accepted: stream.last_accepted,
        failed_at: stream
            .failed_at
            .iter()
            .map(|&(n, d)| count * n / d.max(1))
            .collect(),
        mirror_from: stream.mirror_from.as_deref(),
    })
}

/// The promoted stream `stream`, from the CI streams `generated`.
fn promoted(
    data: &'static DemoData,
    stream: &PromotedStream,
    generated: &[Generated],
    anchor: DateTime<Utc>,
    factor: usize,
) -> Result<StreamData, DataError> {
    let mut rng = Rng::new(seed(&["promotions", &stream.name]));
    let mut entries = match &stream.promotes {
        Some(promotes) => promoted_as_they_are(&mut rng, promotes, generated, factor),
        None => Vec::new(),
    };
    for releases in &stream.releases {
        entries.extend(named_entries(&mut rng, releases, anchor, factor)?);
    }
    generate_stable(
        StablePlan {
            data,
            name: stream.name.clone(),
            pull_repo: stream.pull_repo.clone(),
            os: os(&stream.os)?,
            resolve_scos_sources: stream.resolve_scos_sources,
            upgrade_jobs: stream.upgrade_jobs,
            entries,
        },
        generated,
    )
}

/// Builds the demo data set with `factor` times the tags per stream: the CI streams in the
/// data file's order (each after those it mirrors or upgrades from), then the promoted
/// streams from them, then the hostile release, each controller listing its streams.
fn build(anchor: DateTime<Utc>, factor: usize) -> Result<Dataset, DataError> {
    let anchor = DateTime::from_timestamp(anchor.timestamp(), 0).unwrap_or(anchor);
    let data = data::demo()?;
    let mut generated: Vec<Generated> = Vec::with_capacity(data.ci_streams.len());
    for stream in &data.ci_streams {
        let plan = ci_plan(data, stream, anchor, factor)?;
        let next = generate_ci(&plan, &generated);
        generated.push(next);
    }
    let promoted = data
        .promoted_streams
        .iter()
        .map(|stream| promoted(data, stream, &generated, anchor, factor))
        .collect::<Result<Vec<StreamData>, DataError>>()?;

    // after the promoted streams took what they promote, so only the CI release is poisoned
    if let Some(g) = generated
        .iter_mut()
        .find(|g| g.stream.name == crate::hostile::HOSTILE_STREAM)
    {
        crate::hostile::poison(&mut g.stream, anchor);
    }

    let mut streams: BTreeMap<String, StreamData> = generated
        .into_iter()
        .map(|g| (g.stream.name.clone(), g.stream))
        .chain(promoted.into_iter().map(|s| (s.name.clone(), s)))
        .collect();
    let controllers = data
        .controllers
        .iter()
        .map(|c| ControllerData {
            name: c.name.clone(),
            artifacts_url: c.artifacts_url.clone(),
            streams: c
                .streams
                .iter()
                .filter_map(|name| streams.remove(name))
                .collect(),
        })
        .collect();
    Ok(Dataset { controllers })
}

impl Dataset {
    /// The demo data set: OKD (`origin`) and OCP (`ocp`) streams whose history ends at
    /// `anchor` ("now"), about 250 tags. Deterministic: the same anchor gives the same data.
    pub fn demo(anchor: DateTime<Utc>) -> Result<Dataset, DataError> {
        build(anchor, 1)
    }

    /// The demo shape with `factor` times as many tags per stream over the same time spans
    /// (factor 10 gives about 2,500 tags), for benchmarks. A factor of 0 counts as 1.
    pub fn scaled(anchor: DateTime<Utc>, factor: usize) -> Result<Dataset, DataError> {
        build(anchor, factor.max(1))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::ci::spread;
    use super::rng::build_id;
    use super::*;
    use crate::dataset::{BuiltBy, ComponentData, TagData, PHASE_FAILED};
    use chrono::{Duration, NaiveDate};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_opt(h, mi, s))
            .map(|naive| naive.and_utc())
            .expect("a time")
    }

    #[test]
    fn build_ids_are_nineteen_digit_snowflakes() {
        let mut rng = Rng::new(1);
        let id = build_id(&mut rng, utc(2026, 2, 11, 9, 0, 0));
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("2021"), "{id}");
        let old = build_id(&mut rng, utc(2023, 8, 14, 0, 0, 0));
        assert_eq!(old.len(), 19);
    }

    #[test]
    fn spread_is_strictly_increasing_and_spans() {
        let mut rng = Rng::new(7);
        let start = utc(2026, 1, 1, 0, 0, 0);
        let end = utc(2026, 1, 2, 0, 0, 0);
        let times = spread(&mut rng, start, end, 700, true);
        assert_eq!(times.len(), 700);
        assert!(times.first().is_some_and(|t| *t >= start));
        assert_eq!(times.last(), Some(&end));
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }

    fn stream<'a>(data: &'a Dataset, controller: &str, name: &str) -> &'a StreamData {
        data.controllers
            .iter()
            .find(|c| c.name == controller)
            .and_then(|c| c.stream(name))
            .expect("stream")
    }

    fn built(tag: &TagData) -> Vec<&ComponentData> {
        tag.components
            .iter()
            .filter(|c| c.built_by == BuiltBy::Ocp)
            .collect()
    }

    #[test]
    fn payload_components_are_deterministic_and_complete() {
        let anchor = utc(2026, 2, 11, 12, 0, 0);
        let data = build(anchor, 1).expect("data");
        assert_eq!(Ok(&data), build(anchor, 1).as_ref());
        assert_ne!(Ok(&data), build(anchor + Duration::days(1), 1).as_ref());
        for controller in &data.controllers {
            for stream in &controller.streams {
                for tag in &stream.tags {
                    if tag.final_phase == PHASE_FAILED {
                        assert!(tag.components.is_empty(), "{}", tag.name);
                        continue;
                    }
                    assert_eq!(
                        tag.components.len(),
                        data::demo().expect("data").components.len() + 1,
                        "{}",
                        tag.name
                    );
                    assert!(tag.components.windows(2).all(|w| w[0].name < w[1].name));
                    assert!(tag.components.iter().all(|c| c.commit.len() == 40
                        && c.source.starts_with("https://github.com/openshift/")));
                    let os: Vec<&ComponentData> = tag
                        .components
                        .iter()
                        .filter(|c| c.versions.starts_with("machine-os="))
                        .collect();
                    assert_eq!(os.len(), 1, "{}", tag.name);
                    let expected = if controller.name == "ocp" {
                        "rhel-coreos"
                    } else if stream.name.contains("scos") {
                        "centos-stream-coreos-9"
                    } else {
                        "fedora-coreos"
                    };
                    assert_eq!(os[0].name, expected, "{}", tag.name);
                }
            }
        }
    }

    #[test]
    fn scos_payloads_build_most_components_and_mirror_a_handful() {
        let anchor = utc(2026, 2, 11, 12, 0, 0);
        let data = build(anchor, 1).expect("data");
        let okd = stream(&data, "origin", "4.21.0-0.okd-scos");
        let ocp = stream(&data, "ocp", "4.21.0-0.ci");
        let ocp_builds: std::collections::BTreeSet<(&str, &str)> = ocp
            .tags
            .iter()
            .flat_map(built)
            .map(|c| (c.name.as_str(), c.commit.as_str()))
            .collect();
        let newest: Vec<&TagData> = okd
            .tags
            .iter()
            .rev()
            .filter(|t| t.final_phase != PHASE_FAILED)
            .take(6)
            .collect();
        let (mut mirrored, mut total) = (0, 0);
        for tag in &newest {
            for c in built(tag) {
                total += 1;
                if ocp_builds.contains(&(c.name.as_str(), c.commit.as_str())) {
                    mirrored += 1;
                }
            }
            // OKD/SCOS builds every component as an OKD variant but a handful
            let mut taken: Vec<&str> = built(tag).iter().map(|c| c.name.as_str()).collect();
            taken.sort_unstable();
            let mut handful = mirrored_in_scos().expect("data");
            handful.sort_unstable();
            assert_eq!(taken, handful, "{}", tag.name);
            let own = tag
                .components
                .iter()
                .filter(|c| c.built_by == BuiltBy::Okd)
                .count();
            assert!(own > 3 * taken.len(), "{own} built for OKD");
        }
        assert!(mirrored * 10 >= total * 7, "{mirrored} of {total} mirrored");
        // the OCP payload nearest to the newest OKD one shares most commits with it
        let last = newest[0];
        let nearest = ocp
            .tags
            .iter()
            .filter(|t| t.final_phase != PHASE_FAILED)
            .min_by_key(|t| (t.created - last.created).num_seconds().abs())
            .expect("ocp tag");
        let same = built(last)
            .iter()
            .filter(|c| built(nearest).contains(c))
            .count();
        assert!(
            same + 2 >= built(last).len(),
            "{same} shared with {}",
            nearest.name
        );
        assert!(ocp
            .tags
            .iter()
            .all(|t| t.components.iter().all(|c| c.built_by == BuiltBy::Ocp)));
        // changelogs name the commits the components carry
        for tag in okd
            .tags
            .iter()
            .filter(|t| t.changelog.updated_images.is_some())
        {
            for image in tag.changelog.updated_images.iter().flatten() {
                let commit = image.path.rsplit('/').next().expect("commit");
                assert!(
                    tag.components.iter().any(|c| c.commit == commit),
                    "{} names {commit}",
                    tag.name
                );
            }
        }
    }

    #[test]
    fn promotions_keep_the_ci_payload_components() {
        let data = build(utc(2026, 2, 11, 12, 0, 0), 1).expect("data");
        let okd = stream(&data, "origin", "4.21.0-0.okd-scos");
        let stable = stream(&data, "origin", "4-scos-stable");
        let mut promoted = 0;
        for tag in &stable.tags {
            let Some(from) = tag.changelog.to.promoted_from.as_deref() else {
                continue;
            };
            if let Some(source) = okd
                .tags
                .iter()
                .find(|t| from.ends_with(&format!(":{}", t.name)))
            {
                assert_eq!(source.components, tag.components, "{}", tag.name);
                // a payload of its own: promotion gives it a new name and `previous`
                assert_ne!(source.digest, tag.digest, "{}", tag.name);
                promoted += 1;
            }
        }
        assert!(promoted > 0);
    }
}
