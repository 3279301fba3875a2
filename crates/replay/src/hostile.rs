//! One poisoned release in the demo, so that every page, feed and note is seen handling
//! hostile upstream data: a release-controller is not ours, and whatever it names — job
//! names, job, attempt and upgrade-run URLs, changelog links and commit subjects — reaches
//! Streamgate's pages. In [`HOSTILE_STREAM`], the second-newest release accepted by the
//! anchor gets three extra informing jobs named like markup (`</title><script>…`, `<img onerror>`, a
//! Markdown link), each with `javascript:` or `data:` URLs; an upgrade edge whose runs link
//! to `javascript:` and `data:`; and a changelog whose versioned component, new image,
//! commit, pull request and issue link to such URLs, with a commit subject in hostile
//! Markdown. Nothing else changes: its phase, its blocking jobs, the counts of releases and
//! phases all stay as generated, and the choice is deterministic.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::dataset::{
    JobData, JobKind, StreamData, TagData, UpgradeData, UpgradeRun, PHASE_ACCEPTED, STATE_FAILED,
    STATE_SUCCEEDED,
};
use streamgate_formats::release_controller::{ChangeLogImage, CommitInfo};

/// The stream holding the poisoned release.
pub const HOSTILE_STREAM: &str = "4.21.0-0.okd-scos";

/// The poisoned release's informing job named like a script element that first closes the
/// page's `<title>` (the job's history page is titled by its name).
pub const SCRIPT_JOB: &str = "</title><script>alert(1)</script>";
/// The poisoned release's informing job named like an image with an error handler.
pub const IMG_JOB: &str = "<img src=x onerror=alert(1)>";
/// The poisoned release's informing job named like a Markdown link.
pub const MARKDOWN_JOB: &str = "[click me](javascript:alert(1))";

/// Whether `tag` is the poisoned release.
pub fn is_hostile(tag: &TagData) -> bool {
    tag.jobs.iter().any(|job| job.name == SCRIPT_JOB)
}

fn accepted_by(tag: &TagData, anchor: DateTime<Utc>) -> bool {
    tag.final_phase == PHASE_ACCEPTED && tag.decided.is_some_and(|d| d <= anchor)
}

/// Poisons the second-newest release of `stream` accepted by `anchor` (nothing when there
/// are fewer than four accepted releases: the extra upgrade edge starts at the fourth, as
/// the third already has an edge into it).
pub(crate) fn poison(stream: &mut StreamData, anchor: DateTime<Utc>) {
    let accepted: Vec<usize> = (0..stream.tags.len())
        .rev()
        .filter(|i| accepted_by(&stream.tags[*i], anchor))
        .take(4)
        .collect();
    let [_, target, _, from] = accepted[..] else {
        return;
    };
    let from = stream.tags[from].name.clone();
    let tag = &mut stream.tags[target];
    let Some(first) = tag.jobs.first().cloned() else {
        return;
    };
    let halfway = first.started + (first.finished - first.started) / 2;
    let job = |name: &str, url: &str, attempts: &[&str]| JobData {
        name: name.to_string(),
        prow_job: name.to_string(),
        kind: JobKind::Informing,
        final_state: STATE_SUCCEEDED.to_string(),
        url: url.to_string(),
        retries: attempts.len() as u32,
        previous_attempt_urls: attempts.iter().map(|u| u.to_string()).collect(),
        previous_attempt_finished: vec![halfway; attempts.len()],
        started: first.started,
        finished: first.finished,
    };
    tag.jobs.extend([
        job(
            SCRIPT_JOB,
            "javascript:alert('job')",
            &["data:text/html,<script>alert('attempt')</script>"],
        ),
        job(
            IMG_JOB,
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            &[],
        ),
        job(MARKDOWN_JOB, "JaVaScRiPt:alert('markdown')", &[]),
    ]);
    tag.upgrades_to.push(UpgradeData {
        from,
        runs: vec![
            UpgradeRun {
                url: "javascript:alert('run')".to_string(),
                state: STATE_FAILED.to_string(),
                finished: halfway,
            },
            UpgradeRun {
                url: "data:text/html,<script>alert('run')</script>".to_string(),
                state: STATE_SUCCEEDED.to_string(),
                finished: first.finished,
            },
        ],
    });
    if let Some(first) = tag
        .changelog
        .components
        .as_mut()
        .and_then(|c| c.first_mut())
    {
        first.diff_url = Some("javascript:alert('diff')".to_string());
    }
    tag.changelog
        .new_images
        .get_or_insert_with(Vec::new)
        .push(ChangeLogImage {
            name: "<img src=x onerror=alert('image')>".to_string(),
            path: "javascript:alert('image')".to_string(),
            short_commit: None,
            commit: None,
            image_ref: None,
            commits: Some(vec![CommitInfo {
                issues: Some(BTreeMap::from([(
                    "<b>OCPBUGS-0</b>".to_string(),
                    "javascript:alert('issue')".to_string(),
                )])),
                subject:
                    "[click me](javascript:alert('subject')) <script>alert('subject')</script> \
                      ![x](javascript:alert('picture')) <a href=\"javascript:alert('a')\">a</a>"
                        .to_string(),
                pull_id: Some(1),
                pull_url: Some("data:text/html,<script>alert('pull')</script>".to_string()),
            }]),
            full_change_log: Some("vbscript:msgbox('full')".to_string()),
        });
}
