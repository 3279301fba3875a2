//! Benchmark (ignored by `cargo test`; run by `bench/run`): reading a release payload of 180
//! components from a real registry, cold and warm (digest cached), and the compare page for
//! two such releases under `wrk`, against a static asset served by the same server.

use crate::support::registry;

use std::time::Instant;

use crate::support::payloads::{
    image_references, payload_config, payload_layers, push_component, reader, release_metadata,
    sqlite, Spec,
};
use crate::support::registry::{Pushed, Pusher, Registry};
use leptos::prelude::LeptosOptions;
use server::events::{ingest, RC_TAGS};
use server::ingest::payload::{Limits, PayloadRequest};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::{router, AppState};

const COMPONENTS: usize = 180;
const STREAM: &str = "4.21.0-0.okd-scos";
const FROM: &str = "4.21.0-0.okd-scos-2026-11-20-010000";
const TO: &str = "4.21.0-0.okd-scos-2026-11-21-010000";

fn wrk(url: &str) -> (f64, f64) {
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c16", "-d5s", "--latency", url])
        .output()
        .expect("wrk runs (installed by ./dev setup)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("requests/s");
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| {
            let v = v.trim();
            let (num, scale) = if let Some(n) = v.strip_suffix("us") {
                (n, 0.001)
            } else if let Some(n) = v.strip_suffix("ms") {
                (n, 1.0)
            } else {
                (v.trim_end_matches('s'), 1000.0)
            };
            num.parse::<f64>().expect("latency") * scale
        })
        .expect("p99");
    assert!(!text.contains("Non-2xx"), "{text}");
    (rps, p99)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by bench/run"]
async fn payload_read_and_compare_page() {
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let names: Vec<(String, String, String)> = (0..COMPONENTS)
        .map(|i| {
            (
                format!("component-{i:03}"),
                format!("{:040x}", 0xabc0_0000_u64 + i as u64),
                format!("https://github.com/openshift/component-{i:03}"),
            )
        })
        .collect();
    // the second release changes 10 components
    let changed: Vec<(String, String, String)> = names
        .iter()
        .take(10)
        .map(|(n, c, s)| (n.clone(), c.replace("abc", "def"), s.clone()))
        .collect();
    let pushing = Instant::now();
    let mut first: Vec<(Spec, Pushed)> = Vec::new();
    for (n, c, s) in &names {
        let spec = Spec {
            name: n,
            commit: c,
            source: s,
            versions: "",
        };
        let pushed = push_component(&p, "okd/scos-content", &spec, &base).await;
        first.push((spec, pushed));
    }
    let mut second: Vec<(Spec, Pushed)> = Vec::new();
    for (i, (n, c, s)) in names.iter().enumerate() {
        let (n, c, s) = changed
            .get(i)
            .map_or((n, c, s), |(n2, c2, s2)| (n2, c2, s2));
        let spec = Spec {
            name: n,
            commit: c,
            source: s,
            versions: "",
        };
        let pushed = push_component(&p, "okd/scos-content", &spec, &base).await;
        second.push((spec, pushed));
    }
    let content = format!("{host}/okd/scos-content");
    for (tag, images) in [(FROM, &first), (TO, &second)] {
        let refs: Vec<(&Spec, &Pushed)> = images.iter().map(|(s, p)| (s, p)).collect();
        let references = image_references(tag, &content, &refs);
        let layers = payload_layers(&base, &references, Some(&release_metadata(tag, &[])));
        p.image(
            "origin/release-scos",
            Some(tag),
            &payload_config(tag, "amd64", &images[0].1),
            &layers,
            false,
        )
        .await;
    }
    eprintln!(
        "pushed {} component images and 2 payloads in {:?}",
        2 * COMPONENTS,
        pushing.elapsed()
    );

    let (store, _dir) = sqlite().await;
    let tags: Vec<serde_json::Value> = [TO, FROM]
        .iter()
        .map(|t| serde_json::json!({"name": t, "phase": "Accepted", "pullSpec": format!("{host}/origin/release-scos:{t}"), "downloadURL": ""}))
        .collect();
    ingest(
        &store,
        NewEvent {
            source: "origin".into(),
            kind: RC_TAGS.into(),
            subject: STREAM.into(),
            payload: serde_json::json!({"name": STREAM, "tags": tags}).to_string(),
            received_at: chrono::Utc::now(),
            external_id: None,
        },
    )
    .await
    .expect("tags");

    let request = |tag: &str| PayloadRequest {
        pull_spec: format!("{host}/origin/release-scos:{tag}"),
        release: Some((STREAM.to_string(), tag.to_string())),
    };
    let r = reader(&registry, Limits::default());
    let t = Instant::now();
    r.read_into(&store, &request(FROM))
        .await
        .expect("cold read");
    let cold = t.elapsed();
    let t = Instant::now();
    r.read_into(&store, &request(FROM))
        .await
        .expect("warm read");
    let warm = t.elapsed();
    let t = Instant::now();
    r.read_into(&store, &request(TO))
        .await
        .expect("second payload");
    let second_read = t.elapsed();

    // the compare page over HTTP, against a static asset of the same server
    let site = tempfile::tempdir().expect("site");
    std::fs::write(
        site.path().join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .expect("asset");
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root(site.path().display().to_string())
        .build();
    let app = router(AppState::new(
        store.clone(),
        PollRegistry::default(),
        leptos,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let compare_url = format!("http://{addr}/compare/{FROM}/{TO}");
    let html = reqwest::get(&compare_url)
        .await
        .expect("compare")
        .text()
        .await
        .expect("body");
    assert!(
        html.contains("component-000"),
        "the compare page lists changed components"
    );
    let (s_rps, s_p99) =
        tokio::task::spawn_blocking(move || wrk(&format!("http://{addr}/favicon.svg")))
            .await
            .expect("wrk");
    let (c_rps, c_p99) = tokio::task::spawn_blocking(move || wrk(&compare_url))
        .await
        .expect("wrk");

    println!("| payload of {COMPONENTS} components | ms | ratio to cold |");
    println!("|---|---|---|");
    println!(
        "| cold read (manifest, config, streamed layer, store) | {:.1} | 1.00 |",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "| warm read (digest cached) | {:.2} | {:.3} |",
        warm.as_secs_f64() * 1e3,
        warm.as_secs_f64() / cold.as_secs_f64()
    );
    println!(
        "| second payload sharing 170 digests | {:.1} | {:.2} |",
        second_read.as_secs_f64() * 1e3,
        second_read.as_secs_f64() / cold.as_secs_f64()
    );
    println!();
    println!("| page (wrk, 16 connections, 5 s) | requests/s | p99 ms | requests/s ratio to static | p99 ratio to static |");
    println!("|---|---|---|---|---|");
    println!("| static asset (baseline) | {s_rps:.0} | {s_p99:.2} | 1.00 | 1.00 |");
    println!(
        "| /compare/{FROM}/{TO} | {c_rps:.0} | {c_p99:.2} | {:.3} | {:.1} |",
        c_rps / s_rps,
        c_p99 / s_p99
    );
}
