//! Rebuilding the projection from a long log: a generated log of [`EVENTS`] events in the
//! shapes upstream sends them, written once, then `reproject` timed against reading and
//! parsing the same log without projecting it (the baseline).
//!
//! The log is one stream's history, one step an hour. At each step a release is created:
//! the tag list is polled again (its newest [`TAG_WINDOW`] releases), the release's component
//! images are pushed to the mirror ([`PUSHES`] distribution notifications), and the details
//! of every release still being verified are read again ([`LIFETIME`] snapshots over its
//! life: [`JOBS`] jobs finishing one after another, its changelog, upgrade runs from the
//! release before it finishing one per read, then its final phase). A hundred events per
//! release.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use server::store::events::NewEvent;
use server::store::Store;

use crate::{anchor, err, fresh_store, BenchError};

/// Events in the log unless told otherwise.
pub const EVENTS: usize = 1_000_000;
/// Details snapshots read of each release while it is verified.
const LIFETIME: usize = 60;
/// Images pushed to the mirror per release.
const PUSHES: usize = 39;
/// Releases a tag list shows.
const TAG_WINDOW: usize = 100;
/// Verification jobs per release.
const JOBS: usize = 12;
const STREAM: &str = "4.22.0-0.okd-scos";
/// Events written per transaction.
const WRITE_BATCH: usize = 5_000;

/// Writes the log into a fresh database at `url`, rebuilds the projection from it and prints
/// a table row: database, events, seconds to write, to read and parse (the baseline), to
/// reproject, events/s, and the ratio of reprojecting to the baseline.
pub async fn run(url: &str, events: usize) -> Result<(), BenchError> {
    let store = fresh_store(url).await?;
    let started = Instant::now();
    let written = write_log(&store, events).await?;
    let write_s = started.elapsed().as_secs_f64();
    store.analyze().await.map_err(err)?;

    let started = Instant::now();
    let parsed = read_and_parse(&store).await?;
    let baseline_s = started.elapsed().as_secs_f64();
    if parsed != written {
        return Err(err(format!("{written} events written, {parsed} read back")));
    }

    let started = Instant::now();
    let stats = server::events::reproject(&store).await.map_err(err)?;
    let reproject_s = started.elapsed().as_secs_f64();
    if stats.skipped != 0 || stats.events as usize != written {
        return Err(err(format!(
            "reproject replayed {} and skipped {} of {written}",
            stats.events, stats.skipped
        )));
    }
    let backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    println!(
        "| {backend} | {written} | {write_s:.1} | {baseline_s:.1} | {reproject_s:.1} | {:.0} | {:.2} |",
        written as f64 / reproject_s,
        reproject_s / baseline_s
    );
    store.close().await;
    Ok(())
}

/// Writes `total` events (rounded to whole releases) as the pollers and the registry's
/// notifications would have stored them; returns how many.
async fn write_log(store: &Store, total: usize) -> Result<usize, BenchError> {
    let releases = (total / 100).max(1);
    let start = anchor() - Duration::hours(releases as i64 + LIFETIME as i64);
    let name = |i: usize| {
        let t = start + Duration::hours(i as i64);
        format!("{STREAM}-{}", t.format("%Y-%m-%d-%H%M%S"))
    };
    let mut written = 0;
    let mut pending: Vec<NewEvent> = Vec::with_capacity(200);
    let mut steps: Vec<Vec<NewEvent>> = Vec::new();
    for step in 0..releases + LIFETIME - 1 {
        let at = start + Duration::hours(step as i64);
        if step < releases {
            pending.push(event(
                server::events::RC_TAGS,
                STREAM,
                tag_list(step, &name),
                at,
                None,
            ));
            for k in 0..PUSHES {
                let (subject, payload, id) = push(step, k, &name(step), at);
                pending.push(event(
                    server::events::REGISTRY_EVENT,
                    &subject,
                    payload,
                    at,
                    Some(id),
                ));
            }
        }
        for i in step.saturating_sub(LIFETIME - 1)..=step.min(releases - 1) {
            let n = name(i);
            pending.push(event(
                server::events::RC_RELEASE,
                &format!("{STREAM}/{n}"),
                details(i, step - i, &name),
                at,
                None,
            ));
        }
        // one step's events together, as one poll of the stream stores them
        steps.push(std::mem::take(&mut pending));
        if steps.iter().map(Vec::len).sum::<usize>() >= WRITE_BATCH {
            written += store_raw(store, &mut steps).await?;
        }
    }
    written += store_raw(store, &mut steps).await?;
    Ok(written)
}

fn event(
    kind: &str,
    subject: &str,
    payload: String,
    at: DateTime<Utc>,
    external_id: Option<String>,
) -> NewEvent {
    NewEvent {
        source: if kind == server::events::REGISTRY_EVENT {
            "mirror".into()
        } else {
            "origin".into()
        },
        kind: kind.into(),
        subject: subject.into(),
        payload,
        received_at: at,
        external_id,
    }
}

/// Appends the events of `steps` to the log without projecting them, a step at a time in one
/// transaction, and empties it.
async fn store_raw(store: &Store, steps: &mut Vec<Vec<NewEvent>>) -> Result<usize, BenchError> {
    let mut tx = store.begin().await.map_err(err)?;
    let mut stored = 0;
    let mut total = 0;
    for events in std::mem::take(steps) {
        let refs: Vec<&NewEvent> = events.iter().collect();
        let ids = tx.append_events(&refs).await.map_err(err)?;
        stored += ids.iter().flatten().count();
        total += events.len();
    }
    tx.commit().await.map_err(err)?;
    if stored != total {
        return Err(err(format!(
            "{} of {total} generated events were duplicates",
            total - stored
        )));
    }
    Ok(stored)
}

/// Every event of the log, read in log order and parsed as `reproject` parses it.
async fn read_and_parse(store: &Store) -> Result<usize, BenchError> {
    let mut tx = store.begin().await.map_err(err)?;
    let mut after = 0;
    let mut parsed = 0;
    loop {
        let batch = tx.events_after(after, 500).await.map_err(err)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for e in batch {
            server::events::check(NewEvent {
                source: e.source,
                kind: e.kind,
                subject: e.subject,
                payload: e.payload,
                received_at: e.received_at,
                external_id: None,
            })
            .map_err(err)?;
            parsed += 1;
        }
    }
    tx.commit().await.map_err(err)?;
    Ok(parsed)
}

/// The final phase of release `i`.
fn final_phase(i: usize) -> &'static str {
    if i % 7 == 3 {
        "Rejected"
    } else {
        "Accepted"
    }
}

/// The tag list when release `newest` has just been created.
fn tag_list(newest: usize, name: &impl Fn(usize) -> String) -> String {
    let tags: Vec<serde_json::Value> = (newest.saturating_sub(TAG_WINDOW - 1)..=newest)
        .rev()
        .map(|i| {
            let n = name(i);
            let phase = if newest - i < LIFETIME - 1 {
                "Ready"
            } else {
                final_phase(i)
            };
            json!({"name": n, "phase": phase,
                "pullSpec": format!("quay.io/okd/scos-release:{n}"),
                "downloadURL": format!("https://okd-scos.apps.ci.example/{STREAM}/release/{n}")})
        })
        .collect();
    json!({"name": STREAM, "tags": tags}).to_string()
}

/// Release `i`'s details at the `k`th read of its life.
fn details(i: usize, k: usize, name: &impl Fn(usize) -> String) -> String {
    let n = name(i);
    let done = k + 1 >= LIFETIME;
    let jobs: serde_json::Map<String, serde_json::Value> = (0..JOBS)
        .map(|j| {
            // job j finishes at the (5j + 4)th read
            let state = if k < 5 * j + 4 {
                "Pending"
            } else if (i + j).is_multiple_of(9) {
                "Failed"
            } else {
                "Succeeded"
            };
            (
                format!("periodic-ci-openshift-release-master-okd-scos-4.22-e2e-job-{j:02}"),
                json!({"state": state, "url": format!("https://prow.ci.example/view/{i}/{j}"),
                    "retries": u32::from((i + j).is_multiple_of(11))}),
            )
        })
        .collect();
    let (blocking, informing): (serde_json::Map<_, _>, serde_json::Map<_, _>) =
        jobs.into_iter().partition(|(job, _)| job.ends_with("00"));
    let from = name(i.saturating_sub(1));
    let commits: Vec<serde_json::Value> = (0..2)
        .map(|c| {
            let pr = i * 2 + c + 1;
            json!({"name": "machine-config-operator",
                "path": format!("https://github.com/openshift/machine-config-operator/tree/{pr:040x}"),
                "commits": [{"subject": format!("OCPBUGS-{}: keep the rendered config", 20_000 + pr),
                    "pullID": pr, "pullURL": format!("https://github.com/openshift/machine-config-operator/pull/{pr}"),
                    "issues": {format!("OCPBUGS-{}", 20_000 + pr): "https://issues.redhat.com/browse/OCPBUGS"}}]})
        })
        .collect();
    let mut info = json!({
        "name": n,
        "phase": if done { final_phase(i) } else { "Ready" },
        "results": {"blockingJobs": blocking, "informingJobs": informing},
        "changeLogJson": {"from": {"name": from, "created": "2026-01-01T00:00:00Z", "digest": ""},
            "to": {"name": n, "created": "2026-01-01T00:00:00Z", "digest": ""},
            "updatedImages": commits},
    });
    // an upgrade run from the release before finishes between any two reads, so every read
    // differs from the last (the poller stores only what changed)
    if k >= 1 {
        let runs = k as i64;
        let failure = runs / 4;
        let previous = i
            .checked_sub(1)
            .map(name)
            .unwrap_or_else(|| "4.21.0-okd-scos.ec.3".to_string());
        info["upgradesTo"] = json!([{"From": previous, "To": n, "Success": runs - failure,
            "Failure": failure, "Total": runs,
            "History": {format!("https://prow.ci.example/upgrade/{i}"): {"state": "Succeeded",
                "url": format!("https://prow.ci.example/upgrade/{i}")}}}]);
    }
    info.to_string()
}

/// The `k`th image push of release `i`'s mirroring: its repository, the notification, and
/// its id.
fn push(i: usize, k: usize, release: &str, at: DateTime<Utc>) -> (String, String, String) {
    let repository = "okd/scos-content".to_string();
    let id = format!("{:08x}-{k:04x}-4000-8000-{i:012x}", i * PUSHES + k);
    let digest = format!("sha256:{:064x}", (i * PUSHES + k) * 7919 + 1);
    let payload = json!({
        "id": id,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "action": "push",
        "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1061,
            "digest": digest, "length": 1061, "repository": repository,
            "url": format!("https://quay.example/v2/{repository}/manifests/{digest}"),
            "tag": format!("{release}-component-{k:02}")},
        "request": {"id": format!("{id}-r"), "addr": "10.0.0.7:41000", "host": "quay.example",
            "method": "PUT", "useragent": "oc/4.22"},
        "actor": {}, "source": {"addr": "registry:5000", "instanceID": "bench"},
    })
    .to_string();
    (repository, payload, id)
}
