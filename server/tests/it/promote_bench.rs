//! Benchmark (ignored by `cargo test`; run by `bench/run`): promoting a release of 180
//! components of a few MB each (a shared base layer and an incompressible layer of their
//! own) plus its payload, with our copy engine and with a `skopeo copy` per image, within one
//! registry and across two, every run into fresh repositories (or registries). 40 of the
//! components are operators (two in every nine) whose manifests the promotion rebuilds into
//! the new payload, each naming its own image and the components up to the next operator.
//! `PROMOTE_BENCH_COMPONENTS` and `PROMOTE_BENCH_LAYER_KIB` set the size.

use crate::support::registry;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::payloads::{
    image_references, operator_manifests, payload_config, payload_layers, release_metadata, Spec,
};
use crate::support::registry::{Layer, Pushed, Pusher, Registry};
use futures_util::{stream, StreamExt};
use rand::RngCore;
use server::oci::credentials::Credentials;
use server::promote::copy::{Copier, CopyConfig, CopyItem, CopyStats, Progress};
use server::promote::rebuild::{publish, Rewrite};

const CONTENT: &str = "ocp/4.21-art-dev";
const CI_NAME: &str = "4.21.0-0.okd-scos-2026-02-10-101010";
const NAME: &str = "4.21.0-okd-scos.1";
/// Manifest files of each operator besides its Deployment, ClusterOperator and
/// `image-references`.
const OPERATOR_FILES: usize = 12;

/// Whether component `i` is an operator: two in every nine, 40 of 180.
fn is_operator(i: usize) -> bool {
    i.is_multiple_of(9) || i % 9 == 4
}

/// The manifests of operator `i` of `count`: its own image and every component up to the
/// next operator, and [`OPERATOR_FILES`] more files of a few KiB naming them and the
/// release's version.
fn bench_operator(i: usize, count: usize) -> Vec<(String, Vec<u8>)> {
    let name = |j: usize| format!("component-{j:03}");
    let end = (i + 1..count).find(|j| is_operator(*j)).unwrap_or(count);
    let names: Vec<String> = (i..end).map(name).collect();
    let named: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut files = operator_manifests(&name(i), &named);
    for f in 0..OPERATOR_FILES {
        let mut body = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}-{f}\n  annotations:\n    version: \"0.0.1-snapshot\"\ndata:\n",
            name(i)
        );
        for (k, n) in named.iter().enumerate().cycle().take(64) {
            body.push_str(&format!(
                "  image-{k}-{}: quay.io/openshift/origin-{n}:latest\n",
                body.len()
            ));
        }
        files.push((format!("manifests/{f:02}-config.yaml"), body.into_bytes()));
    }
    files
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A gzip-wrapped tar of one file of `size` random bytes, stored without compression (it
/// would not shrink anyway).
fn random_layer(name: &str, size: usize) -> Layer {
    let mut body = vec![0u8; size];
    rand::rng().fill_bytes(&mut body);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    {
        let mut tar = tar::Builder::new(&mut gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(size as u64);
        header.set_mode(0o755);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, format!("usr/bin/{name}"), &body[..])
            .expect("append");
        tar.finish().expect("tar");
    }
    gz.flush().expect("flush");
    Layer {
        media_type: registry::OCI_LAYER_GZIP.into(),
        bytes: gz.finish().expect("gzip"),
    }
}

fn copier(registries: &[&Registry]) -> Copier {
    Copier::new(CopyConfig {
        credentials: Credentials::default(),
        insecure_hosts: registries.iter().map(|r| r.host().to_string()).collect(),
        jobs: 8,
        timeout: Duration::from_secs(30),
    })
}

/// Our promotion: the components into `content`, then the payload rebuilt as `release`.
async fn promote(
    c: &Copier,
    components: &[(String, Pushed)],
    source_host: &str,
    payload: &str,
    content: &str,
    release: &str,
) -> (Duration, CopyStats) {
    let items: Vec<CopyItem> = components
        .iter()
        .map(|(_, p)| CopyItem {
            source: format!("{source_host}/{CONTENT}@{}", p.digest),
            target_repo: content.to_string(),
        })
        .collect();
    let rewrite = Rewrite {
        name: NAME.into(),
        previous: vec!["4.20.0-okd-scos.7".into()],
        images: components
            .iter()
            .map(|(n, p)| (n.clone(), format!("{content}@{}", p.digest)))
            .collect(),
        ..Rewrite::default()
    };
    let started = Instant::now();
    let stats = c
        .copy_images(&items, &Progress::new())
        .await
        .expect("components copied");
    let copied = started.elapsed();
    publish(c, payload, &rewrite, release)
        .await
        .expect("payload published");
    eprintln!(
        "{release}: images copied in {copied:?}, payload rebuilt and pushed in {:?}",
        started.elapsed() - copied
    );
    (started.elapsed(), stats)
}

/// `skopeo copy` of every image, one process after another, as a shell loop would.
fn skopeo_loop(images: &[String], target_repo: &str) -> Duration {
    let started = Instant::now();
    for (i, image) in images.iter().enumerate() {
        let out = std::process::Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--all",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .arg(format!("docker://{image}"))
            .arg(format!("docker://{target_repo}:image-{i}"))
            .output()
            .expect("skopeo runs (./dev setup installs it)");
        assert!(
            out.status.success(),
            "skopeo copy {image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    started.elapsed()
}

/// Forgets where skopeo has seen blobs, so that it cannot mount from earlier runs.
fn clear_skopeo_cache() {
    let mut paths = vec![std::path::PathBuf::from(
        "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
    )];
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(
            std::path::Path::new(&home)
                .join(".local/share/containers/cache/blob-info-cache-v1.boltdb"),
        );
    }
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by bench/run"]
async fn promotion_against_skopeo() {
    let count = env_or("PROMOTE_BENCH_COMPONENTS", 180);
    let layer_kib = env_or("PROMOTE_BENCH_LAYER_KIB", 2048);
    let source = Registry::start().await;
    let host = source.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[
        (
            "etc/os-release",
            b"NAME=\"CentOS Stream\"\nVERSION_ID=\"9\"\n",
        ),
        ("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
    ]);

    let pushing = Instant::now();
    let p = &p;
    let base = &base;
    let mut components: Vec<(String, Pushed)> = stream::iter(0..count)
        .map(|i| async move {
            let name = format!("component-{i:03}");
            let mut config = serde_json::json!({
                "architecture": "amd64", "os": "linux",
                "config": {"Labels": {"name": name}},
                "rootfs": {"type": "layers", "diff_ids": []},
            });
            let mut layers = vec![
                Layer {
                    media_type: registry::OCI_LAYER_GZIP.into(),
                    bytes: base.clone(),
                },
                random_layer(&name, layer_kib << 10),
            ];
            if is_operator(i) {
                config["config"]["Labels"]["io.openshift.release.operator"] = "true".into();
                let files = bench_operator(i, count);
                let files: Vec<(&str, &[u8])> =
                    files.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
                layers.push(Layer::oci(&files));
            }
            let pushed = p.image(CONTENT, None, &config, &layers, false).await;
            (name, pushed)
        })
        // one at a time: concurrent uploads of the shared base collide in the registry
        .buffered(1)
        .collect()
        .await;
    components.sort_by(|a, b| a.0.cmp(&b.0));
    let specs: Vec<Spec> = components
        .iter()
        .map(|(n, _)| Spec {
            name: n,
            commit: "4ddd828c588c1277361d89e03933a97595795b48",
            source: "https://github.com/openshift/oc",
            versions: "",
        })
        .collect();
    let refs: Vec<(&Spec, &Pushed)> = specs
        .iter()
        .zip(components.iter().map(|(_, p)| p))
        .collect();
    let references = image_references(CI_NAME, &format!("{host}/{CONTENT}"), &refs);
    let layers = payload_layers(base, &references, Some(&release_metadata(CI_NAME, &[])));
    let payload = p
        .image(
            "ocp/release",
            Some(CI_NAME),
            &payload_config(CI_NAME, "amd64", &components[0].1),
            &layers,
            false,
        )
        .await;
    let payload = format!("{host}/ocp/release@{}", payload.digest);
    eprintln!(
        "pushed {count} components of {layer_kib} KiB + a shared base and a payload in {:?}",
        pushing.elapsed()
    );
    let mut images: Vec<String> = components
        .iter()
        .map(|(_, p)| format!("{host}/{CONTENT}@{}", p.digest))
        .collect();
    images.push(payload.clone());

    // (a) ours, same registry: mounts
    let c = copier(&[&source]);
    let (ours_mount, stats) = promote(
        &c,
        &components,
        &host,
        &payload,
        &format!("{host}/okd/content-a"),
        &format!("{host}/okd/release-a:{NAME}"),
    )
    .await;
    assert_eq!(stats.blobs_copied, 0, "{stats:?}");
    eprintln!("ours, same registry: {ours_mount:?} {stats:?}");

    // (b) ours, across registries: streamed copies
    let target_b = Registry::start().await;
    let c = copier(&[&source, &target_b]);
    let (ours_copy, stats) = promote(
        &c,
        &components,
        &host,
        &payload,
        &format!("{}/okd/content", target_b.host()),
        &format!("{}/okd/release:{NAME}", target_b.host()),
    )
    .await;
    let operators = (0..count).filter(|i| is_operator(*i)).count();
    assert_eq!(
        stats.blobs_copied as usize,
        2 * count + operators + 1,
        "{stats:?}"
    );
    eprintln!("ours, across registries: {ours_copy:?} {stats:?}");

    // (c) skopeo, across registries, into a registry of its own, no blob-info cache
    let target_c = Registry::start().await;
    clear_skopeo_cache();
    let skopeo_copy = skopeo_loop(&images, &format!("{}/okd/content", target_c.host()));
    eprintln!("skopeo, across registries: {skopeo_copy:?}");

    // (d) skopeo, same registry (its cache knows the source repository by now: it mounts)
    let skopeo_mount = skopeo_loop(&images, &format!("{host}/okd/content-d"));
    eprintln!("skopeo, same registry: {skopeo_mount:?}");

    let mib = (count * layer_kib) as f64 / 1024.0;
    let s = |d: Duration| d.as_secs_f64();
    println!(
        "| promotion of {count} components ({operators} operators) × {layer_kib} KiB + payload ({mib:.0} MiB) | seconds | ratio |"
    );
    println!("|---|---|---|");
    println!(
        "| (c) skopeo copy loop, across registries (baseline) | {:.2} | 1.00 |",
        s(skopeo_copy)
    );
    println!(
        "| (d) skopeo copy loop, same registry | {:.2} | {:.3} of (c) |",
        s(skopeo_mount),
        s(skopeo_mount) / s(skopeo_copy)
    );
    println!(
        "| (a) ours, same registry (mount) | {:.2} | {:.3} of (c), {:.3} of (d) |",
        s(ours_mount),
        s(ours_mount) / s(skopeo_copy),
        s(ours_mount) / s(skopeo_mount)
    );
    println!(
        "| (b) ours, across registries (streamed copy) | {:.2} | {:.3} of (c) |",
        s(ours_copy),
        s(ours_copy) / s(skopeo_copy)
    );
}
