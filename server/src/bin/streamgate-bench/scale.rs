//! The scale data set of the page, search and job-page benchmarks: one stream of
//! [`SCALE_RELEASES`] releases with their gates and changelogs.

use std::time::Instant;

use chrono::Utc;

use crate::{err, fresh_store, BenchError};

/// Releases of the scale data set's one stream, one an hour back from now.
const SCALE_RELEASES: usize = 10_000;
/// Distinct verification jobs of the stream.
const SCALE_JOBS: usize = 200;
/// Jobs each release runs (one blocking): each job runs on every tenth release.
const SCALE_JOBS_PER_RELEASE: usize = 20;
/// Pull requests each release's changelog names.
const SCALE_PULLS_PER_RELEASE: usize = 3;
const SCALE_STREAM: &str = "4.21.0-0.okd-scos";
const SCALE_REPOS: [&str; 8] = [
    "installer",
    "machine-config-operator",
    "cluster-network-operator",
    "ovn-kubernetes",
    "cluster-ingress-operator",
    "console",
    "oc",
    "cluster-version-operator",
];
const SCALE_WORDS: [&str; 12] = [
    "bootstrap",
    "timeout",
    "retry",
    "ingress",
    "certificate",
    "rotation",
    "upgrade",
    "metrics",
    "leak",
    "proxy",
    "etcd",
    "route",
];

/// The scale data set, ingested as the poller would record it: one tag list of
/// [`SCALE_RELEASES`] releases and each release's details, with [`SCALE_JOBS_PER_RELEASE`] of
/// [`SCALE_JOBS`] jobs and a changelog naming [`SCALE_PULLS_PER_RELEASE`] pull requests (one
/// in three fixing a bug). Prints the queries to measure, as shell assignments.
pub async fn scale(url: &str) -> Result<(), BenchError> {
    let store = fresh_store(url).await?;
    let now = Utc::now();
    let names: Vec<String> = (0..SCALE_RELEASES)
        .map(|i| {
            let t = now - chrono::Duration::hours(i as i64 + 1);
            format!("{SCALE_STREAM}-{}", t.format("%Y-%m-%d-%H%M%S"))
        })
        .collect();
    let phase = |i: usize| if i % 3 == 1 { "Rejected" } else { "Accepted" };
    let event = |kind: &str, subject: &str, payload: String| server::store::events::NewEvent {
        source: "bench".into(),
        kind: kind.into(),
        subject: subject.into(),
        payload,
        received_at: now,
        external_id: None,
    };
    let tags: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| serde_json::json!({"name": n, "phase": phase(i), "pullSpec": format!("example.org/r:{n}"), "downloadURL": ""}))
        .collect();
    let list = serde_json::json!({"name": SCALE_STREAM, "tags": tags}).to_string();
    server::events::ingest(&store, event(server::events::RC_TAGS, SCALE_STREAM, list))
        .await
        .map_err(err)?;
    let started = Instant::now();
    for (i, name) in names.iter().enumerate() {
        let jobs: serde_json::Map<String, serde_json::Value> = (0..SCALE_JOBS_PER_RELEASE)
            .map(|k| {
                let job = (i * SCALE_JOBS_PER_RELEASE + k) % SCALE_JOBS;
                let failed = (i + job).is_multiple_of(7);
                let retries = u32::from((i + job).is_multiple_of(5));
                (
                    format!("e2e-scale-{job:03}"),
                    serde_json::json!({"state": if failed { "Failed" } else { "Succeeded" },
                        "retries": retries, "url": format!("https://prow.example/{i}/{job}")}),
                )
            })
            .collect();
        let commits: Vec<serde_json::Value> = (0..SCALE_PULLS_PER_RELEASE)
            .map(|k| {
                let n = i * SCALE_PULLS_PER_RELEASE + k;
                let repo = SCALE_REPOS[n % SCALE_REPOS.len()];
                let words = format!(
                    "{} {} {}",
                    SCALE_WORDS[n % 12],
                    SCALE_WORDS[(n / 12) % 12],
                    SCALE_WORDS[(n / 144) % 12]
                );
                let subject = if n.is_multiple_of(3) {
                    format!("OCPBUGS-{}: fix {words}", 10_000 + n)
                } else {
                    format!("NO-JIRA: {words}")
                };
                let issues = if n.is_multiple_of(3) {
                    serde_json::json!({format!("OCPBUGS-{}", 10_000 + n): "https://issues.redhat.com/browse/x"})
                } else {
                    serde_json::json!({})
                };
                serde_json::json!({"repo": repo, "subject": subject, "pullID": n + 1,
                    "pullURL": format!("https://github.com/openshift/{repo}/pull/{}", n + 1),
                    "issues": issues})
            })
            .collect();
        let images: Vec<serde_json::Value> = commits
            .iter()
            .map(|c| {
                let repo = c["repo"].as_str().unwrap_or("installer");
                serde_json::json!({"name": repo,
                    "path": format!("https://github.com/openshift/{repo}/tree/{:040x}", i * 7 + 1),
                    "commits": [c]})
            })
            .collect();
        let info = serde_json::json!({"name": name, "phase": phase(i),
            "results": {"blockingJobs": {}, "informingJobs": jobs},
            "changeLogJson": {"from": {"name": "x", "created": "2026-01-01T00:00:00Z", "digest": ""},
                "to": {"name": name, "created": "2026-01-01T00:00:00Z", "digest": ""},
                "updatedImages": images}});
        server::events::ingest(
            &store,
            event(
                server::events::RC_RELEASE,
                &format!("{SCALE_STREAM}/{name}"),
                info.to_string(),
            ),
        )
        .await
        .map_err(err)?;
    }
    eprintln!(
        "scale data set: {SCALE_RELEASES} releases ingested in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // what autovacuum does on its own soon after a load this size
    store.analyze().await.map_err(err)?;
    // a fix from the middle of the history, and the words of another's title
    let n = (SCALE_RELEASES / 2) * SCALE_PULLS_PER_RELEASE;
    let repo = SCALE_REPOS[n % SCALE_REPOS.len()];
    println!("STREAM={SCALE_STREAM}");
    println!("PULL=openshift/{repo}%23{}", n + 1);
    println!("BUG=OCPBUGS-{}", 10_000 + n);
    println!("WORDS=etcd+proxy+rout");
    println!(
        "PREFIX={}",
        &names[SCALE_RELEASES / 2][..SCALE_STREAM.len() + 8]
    );
    println!("JOB=e2e-scale-007");
    println!("RELEASE={}", names[SCALE_RELEASES / 2]);
    store.close().await;
    Ok(())
}
