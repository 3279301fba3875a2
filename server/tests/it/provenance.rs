//! Component provenance over real payloads read from a real registry on loopback: two OCP
//! CI releases of an `ocp` stream, three OKD/SCOS CI releases sharing most component images
//! with them, an OKD-only component, a machine OS image and a payload that could not be
//! read. Store stories on SQLite and PostgreSQL, then the three pages through the router.

use crate::support::registry;

use crate::support::http::get;
use crate::support::payloads::{
    image_references, payload_config, payload_layers, postgres, push_component, reader,
    release_metadata, spec, sqlite, Spec, NEW_INSTALLER, OKD_COMPONENTS,
};
use crate::support::registry::{Pushed, Pusher, Registry};
use app::model::{ComponentInfo, JobState, PayloadView, Provenance};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use server::backend::StoreBackend;
use server::events::{ingest, RC_RELEASE, RC_TAGS};
use server::ingest::payload::{Limits, PayloadRequest};
use server::ingest::release_controller::PollRegistry;
use server::store::events::NewEvent;
use server::store::Store;

const OCP_STREAM: &str = "4.21.0-0.ci";
/// The earlier OCP CI release: CVO, cli and hyperkube.
const OCP_A: &str = "4.21.0-0.ci-2026-02-09-101010";
/// The later OCP CI release: those and the old installer, and OCP's own MCO.
const OCP_B: &str = "4.21.0-0.ci-2026-02-10-101010";
const OKD_STREAM: &str = "4.21.0-0.okd-scos";
/// Old installer (mirrored), ovirt-csi-driver.
const OKD_A: &str = "4.21.0-0.okd-scos-2026-02-11-071519";
/// New installer (built for OKD), console added, ovirt-csi-driver removed.
const OKD_B: &str = "4.21.0-0.okd-scos-2026-02-12-071519";
/// The same payload as OKD_B.
const OKD_C: &str = "4.21.0-0.okd-scos-2026-02-13-071519";
/// A release whose payload is not in the registry.
const OKD_BROKEN: &str = "4.21.0-0.okd-scos-2026-02-14-071519";
/// A release whose payload was never read.
const OKD_UNREAD: &str = "4.21.0-0.okd-scos-2026-02-15-071519";

const OCP_MCO: Spec<'static> = spec(
    "machine-config-operator",
    "aaaabbbbccccddddeeeeffff0000111122223333",
    "https://github.com/openshift/machine-config-operator",
    "",
);
const OVIRT: Spec<'static> = spec(
    "ovirt-csi-driver",
    "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    "https://github.com/openshift/ovirt-csi-driver",
    "",
);
const CONSOLE: Spec<'static> = spec(
    "console",
    "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00",
    "https://github.com/openshift/console",
    "",
);

fn okd(name: &str) -> &'static Spec<'static> {
    OKD_COMPONENTS
        .iter()
        .find(|s| s.name == name)
        .expect("known component")
}

/// The payloads in the registry, by pull spec.
struct World {
    registry: Registry,
    specs: Vec<(&'static str, &'static str, String)>,
}

async fn push_payload(
    p: &Pusher,
    base: &[u8],
    repo: &str,
    tags: &[&str],
    components: &[(&Spec<'_>, &Pushed)],
) -> Vec<String> {
    let host = p_host(repo);
    let content = format!("{host}/{}", component_repo(repo));
    let references = image_references(tags[0], &content, components);
    let layers = payload_layers(base, &references, Some(&release_metadata(tags[0], &[])));
    let mut specs = Vec::new();
    for tag in tags {
        let cvo = components[0].1;
        p.image(
            &repo_path(repo),
            Some(tag),
            &payload_config(tags[0], "amd64", cvo),
            &layers,
            false,
        )
        .await;
        specs.push(format!("{repo}:{tag}"));
    }
    specs
}

fn p_host(repo: &str) -> &str {
    repo.split_once('/').map_or(repo, |(h, _)| h)
}

fn repo_path(repo: &str) -> String {
    repo.split_once('/').map_or("", |(_, r)| r).to_string()
}

fn component_repo(repo: &str) -> &'static str {
    if repo.contains("/ocp/") {
        "ocp/4.21-art-dev"
    } else {
        "okd/scos-content"
    }
}

async fn world() -> World {
    let registry = Registry::start().await;
    let host = registry.host().to_string();
    let p = Pusher::new(&host).await;
    let base = registry::tar_gz(&[("etc/os-release", b"NAME=\"CentOS Stream\"\n")]);
    let mut pushed = std::collections::HashMap::new();
    // shared images are in both repositories with the same digest, as a mirror leaves them
    for (repos, s) in [
        (
            &["ocp/4.21-art-dev", "okd/scos-content"][..],
            okd("cluster-version-operator"),
        ),
        (&["ocp/4.21-art-dev", "okd/scos-content"], okd("cli")),
        (&["ocp/4.21-art-dev", "okd/scos-content"], okd("hyperkube")),
        (&["ocp/4.21-art-dev", "okd/scos-content"], okd("installer")),
        (&["ocp/4.21-art-dev"], &OCP_MCO),
        (&["okd/scos-content"], okd("machine-config-operator")),
        (&["okd/scos-content"], okd("stream-coreos")),
        (&["okd/scos-content"], &NEW_INSTALLER),
        (&["okd/scos-content"], &OVIRT),
        (&["okd/scos-content"], &CONSOLE),
    ] {
        for repo in repos {
            let image = push_component(&p, repo, s, &base).await;
            pushed.insert((s.name, s.commit), image);
        }
    }
    let get = |s: &'static Spec<'static>| (s, &pushed[&(s.name, s.commit)]);
    let cvo = get(okd("cluster-version-operator"));
    let cli = get(okd("cli"));
    let kube = get(okd("hyperkube"));
    let old_installer = get(okd("installer"));
    let ocp = format!("{host}/ocp/release");
    let okd_repo = format!("{host}/okd/release-scos");
    let mut specs = Vec::new();
    for (tag, spec) in push_payload(&p, &base, &ocp, &[OCP_A], &[cvo, cli, kube])
        .await
        .into_iter()
        .map(|s| (OCP_A, s))
        .chain(
            push_payload(
                &p,
                &base,
                &ocp,
                &[OCP_B],
                &[cvo, cli, kube, old_installer, get(&OCP_MCO)],
            )
            .await
            .into_iter()
            .map(|s| (OCP_B, s)),
        )
    {
        specs.push((OCP_STREAM, tag, spec));
    }
    let mco = get(okd("machine-config-operator"));
    let coreos = get(okd("stream-coreos"));
    let a = push_payload(
        &p,
        &base,
        &okd_repo,
        &[OKD_A],
        &[cvo, cli, kube, old_installer, mco, coreos, get(&OVIRT)],
    )
    .await;
    specs.push((OKD_STREAM, OKD_A, a[0].clone()));
    let bc = push_payload(
        &p,
        &base,
        &okd_repo,
        &[OKD_B, OKD_C],
        &[
            cvo,
            cli,
            kube,
            get(&NEW_INSTALLER),
            mco,
            coreos,
            get(&CONSOLE),
        ],
    )
    .await;
    specs.push((OKD_STREAM, OKD_B, bc[0].clone()));
    specs.push((OKD_STREAM, OKD_C, bc[1].clone()));
    specs.push((OKD_STREAM, OKD_BROKEN, format!("{okd_repo}:{OKD_BROKEN}")));
    World { registry, specs }
}

fn event(source: &str, kind: &str, subject: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        source: source.into(),
        kind: kind.into(),
        subject: subject.into(),
        payload: payload.to_string(),
        received_at: chrono::Utc::now(),
        external_id: None,
    }
}

/// Lists the releases as their controllers would, records gates of two OKD releases and
/// reads every payload (the OCP CI ones last, the later one first).
async fn fill(store: &Store, w: &World) {
    for (controller, stream) in [("ocp", OCP_STREAM), ("origin", OKD_STREAM)] {
        let mut tags: Vec<serde_json::Value> = w
            .specs
            .iter()
            .filter(|(s, _, _)| *s == stream)
            .map(|(_, t, spec)| serde_json::json!({"name": t, "phase": "Accepted", "pullSpec": spec, "downloadURL": ""}))
            .collect();
        if stream == OKD_STREAM {
            tags.push(serde_json::json!({"name": OKD_UNREAD, "phase": "Ready",
                "pullSpec": format!("example.invalid/okd:{OKD_UNREAD}"), "downloadURL": ""}));
        }
        ingest(
            store,
            event(
                controller,
                RC_TAGS,
                stream,
                serde_json::json!({"name": stream, "tags": tags}),
            ),
        )
        .await
        .expect("tags");
    }
    for (tag, aws, upgrade) in [
        (OKD_A, "Succeeded", Some("Failed")),
        (OKD_B, "Failed", None),
    ] {
        let mut blocking = serde_json::json!({"aws": {"state": aws, "url": "https://prow.ci.openshift.org/view/gs/aws"}});
        if let Some(u) = upgrade {
            blocking["upgrade"] =
                serde_json::json!({"state": u, "url": "https://prow.ci.openshift.org/view/gs/up"});
        }
        ingest(
            store,
            event(
                "origin",
                RC_RELEASE,
                &format!("{OKD_STREAM}/{tag}"),
                serde_json::json!({"name": tag, "phase": "Accepted",
                    "results": {"blockingJobs": blocking, "informingJobs": {
                        "metal": {"state": "Succeeded", "url": "https://prow.ci.openshift.org/view/gs/metal"}}}}),
            ),
        )
        .await
        .expect("details");
    }
    let reader = reader(&w.registry, Limits::default());
    let mut order: Vec<&(&str, &str, String)> = w.specs.iter().collect();
    order.sort_by_key(|(s, t, _)| (*s == OCP_STREAM, std::cmp::Reverse(*t)));
    for (stream, tag, spec) in order {
        let outcome = reader
            .read_into(
                store,
                &PayloadRequest {
                    pull_spec: spec.clone(),
                    release: Some((stream.to_string(), tag.to_string())),
                },
            )
            .await;
        assert_eq!(outcome.is_err(), *tag == OKD_BROKEN, "{tag}: {outcome:?}");
    }
}

fn by_name<'a>(components: &'a [ComponentInfo], name: &str) -> &'a ComponentInfo {
    components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("component {name}"))
}

/// Built for OKD: the OCP CI release of the same days has another image, or none.
fn built() -> Provenance {
    Provenance::BuiltForOkd {
        compared_with: OCP_B.to_string(),
        stream: OCP_STREAM.to_string(),
    }
}

fn mirrored(release: &str) -> Provenance {
    Provenance::Mirrored {
        release: release.to_string(),
        stream: OCP_STREAM.to_string(),
    }
}

/// Provenance, the release page's payload view, compare and history on one store.
async fn provenance_story(store: Store) {
    let w = world().await;
    fill(&store, &w).await;
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());

    // provenance of the newer OKD release
    let b = backend
        .release_detail(OKD_B, Some(OKD_STREAM))
        .await
        .expect("release");
    let PayloadView::Read {
        components,
        previous_read,
        ..
    } = &b.payload
    else {
        panic!("read payload: {:?}", b.payload)
    };
    assert!(previous_read);
    assert_eq!(components.len(), 7);
    for name in ["cli", "cluster-version-operator", "hyperkube"] {
        let c = by_name(components, name);
        assert_eq!(
            c.provenance,
            mirrored(OCP_A),
            "{name}: the earliest OCP CI release"
        );
        assert_eq!(c.changed, Some(false), "{name}");
    }
    for name in ["installer", "machine-config-operator", "console"] {
        assert_eq!(by_name(components, name).provenance, built(), "{name}");
    }
    let coreos = by_name(components, "stream-coreos");
    assert_eq!(
        coreos.provenance,
        Provenance::MachineOs {
            version: Some("9.0.20260210-0".into())
        }
    );
    assert_eq!(coreos.commit_url, None);
    let installer = by_name(components, "installer");
    assert_eq!(installer.changed, Some(true));
    assert_eq!(installer.commit, NEW_INSTALLER.commit);
    assert_eq!(
        installer.commit_url.as_deref(),
        Some("https://github.com/openshift/installer/commit/9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b5b0f1c3d")
    );
    assert!(installer.image.ends_with(&installer.digest));
    assert_eq!(by_name(components, "console").changed, Some(true));

    // the older one: the old installer came from the later OCP CI release, the only one with it
    let a = backend
        .release_detail(OKD_A, Some(OKD_STREAM))
        .await
        .expect("release");
    let PayloadView::Read {
        components,
        previous_read,
        ..
    } = &a.payload
    else {
        panic!("read payload: {:?}", a.payload)
    };
    assert!(
        !previous_read,
        "the first release has nothing to compare with"
    );
    assert_eq!(by_name(components, "installer").provenance, mirrored(OCP_B));
    assert_eq!(by_name(components, "installer").changed, None);
    assert_eq!(
        by_name(components, "ovirt-csi-driver").provenance,
        built(),
        "an OKD-only component: the OCP CI release of the same days has none"
    );

    // unread and failed payloads say so
    let unread = backend
        .release_detail(OKD_UNREAD, Some(OKD_STREAM))
        .await
        .expect("release");
    assert_eq!(unread.payload, PayloadView::NotRead);
    let broken = backend
        .release_detail(OKD_BROKEN, Some(OKD_STREAM))
        .await
        .expect("release");
    let PayloadView::Failed { message, .. } = &broken.payload else {
        panic!("failed read: {:?}", broken.payload)
    };
    assert!(!message.is_empty());

    // compare
    let cmp = backend.comparison(OKD_A, OKD_B).await.expect("compare");
    assert_eq!(cmp.payloads_read, (true, true));
    let names = |list: &[ComponentInfo]| list.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&cmp.added), ["console"]);
    assert_eq!(names(&cmp.removed), ["ovirt-csi-driver"]);
    assert_eq!(cmp.changed.len(), 1);
    let change = &cmp.changed[0];
    assert_eq!(change.to.name, "installer");
    assert_eq!(change.from.commit, okd("installer").commit);
    assert_eq!(change.to.commit, NEW_INSTALLER.commit);
    assert_eq!(change.from.provenance, mirrored(OCP_B));
    assert_eq!(change.to.provenance, built());
    assert_eq!(
        change.diff_url.as_deref(),
        Some(
            "https://github.com/openshift/installer/compare/\
             1f666fd6a58bbb6a6e57d02cb4c1e2d029eb0f20...9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b5b0f1c3d"
        )
    );
    assert_eq!(cmp.unchanged, 5);
    let gates: Vec<(String, Option<JobState>, Option<JobState>)> = cmp
        .gates
        .iter()
        .map(|g| (g.name.clone(), g.from, g.to))
        .collect();
    assert_eq!(
        gates,
        [
            (
                "aws".into(),
                Some(JobState::Succeeded),
                Some(JobState::Failed)
            ),
            ("upgrade".into(), Some(JobState::Failed), None),
        ]
    );
    let same = backend.comparison(OKD_B, OKD_C).await.expect("compare");
    assert_eq!(
        (
            same.added.len(),
            same.removed.len(),
            same.changed.len(),
            same.unchanged
        ),
        (0, 0, 0, 7)
    );
    let half = backend
        .comparison(OKD_C, OKD_UNREAD)
        .await
        .expect("compare");
    assert_eq!(half.payloads_read, (true, false));
    assert!(matches!(
        backend
            .comparison(OKD_A, "4.99.0-0.okd-scos-2099-01-01-000000")
            .await,
        Err(server::store::StoreError::NotFound(_))
    ));

    // history: newest image first, where it appeared and which releases kept it
    let h = backend.history("installer", None).await.expect("history");
    assert_eq!(h.stream, OKD_STREAM, "the OKD/SCOS CI stream by default");
    assert_eq!(h.streams, [OCP_STREAM]);
    assert_eq!(h.entries.len(), 2);
    assert_eq!(h.entries[0].first, OKD_B);
    assert_eq!(h.entries[0].stayed_in, [OKD_C]);
    assert_eq!(h.entries[0].component.commit, NEW_INSTALLER.commit);
    assert_eq!(h.entries[0].component.provenance, built());
    assert_eq!(h.entries[1].first, OKD_A);
    assert!(h.entries[1].stayed_in.is_empty());
    assert_eq!(h.entries[1].component.provenance, mirrored(OCP_B));
    let cli = backend
        .history("cli", Some(OCP_STREAM))
        .await
        .expect("history");
    assert_eq!(cli.entries.len(), 1);
    assert_eq!(cli.entries[0].first, OCP_A);
    assert_eq!(cli.entries[0].stayed_in, [OCP_B]);
    assert!(matches!(
        backend.history("no-such-component", None).await,
        Err(server::store::StoreError::NotFound(_))
    ));
    assert!(matches!(
        backend.history("console", Some(OCP_STREAM)).await,
        Err(server::store::StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn provenance_story_on_sqlite() {
    let (store, _dir) = sqlite().await;
    provenance_story(store).await;
}

#[tokio::test]
async fn provenance_story_on_postgres() {
    provenance_story(postgres().await).await;
}

fn rows(html: &str) -> Vec<String> {
    html.split("<tr data-component=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn component_pages_render_provenance_compare_and_history() {
    let (store, _dir) = sqlite().await;
    let w = world().await;
    fill(&store, &w).await;
    let app = crate::support::http::site(&store);

    let page = format!("/releases/{OKD_B}");
    let (status, html) = get(&app, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h2 id=\"components-h\">Components</h2>"));
    assert_eq!(rows(&html).len(), 7);
    assert!(html.contains(&format!("/releases/{OCP_A}?stream={OCP_STREAM}")));
    assert!(html.contains("mirrored from OCP CI"));
    assert!(html.contains(
        "https://github.com/openshift/installer/commit/9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b5b0f1c3d"
    ));
    assert!(html.contains("9.0.20260210-0"));
    assert!(
        html.contains(&format!("/compare/{OKD_A}/{OKD_B}")),
        "compare with previous"
    );

    let (status, html) = get(&app, &format!("{page}?provenance=okd")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rows(&html),
        ["console", "installer", "machine-config-operator"]
    );
    let (_, html) = get(&app, &format!("{page}?provenance=os")).await;
    assert_eq!(rows(&html), ["stream-coreos"]);
    let (_, html) = get(&app, &format!("{page}?provenance=mirrored")).await;
    assert_eq!(
        rows(&html),
        ["cli", "cluster-version-operator", "hyperkube"]
    );
    let (_, html) = get(&app, &format!("{page}?changed=1")).await;
    assert_eq!(rows(&html), ["console", "installer"]);
    let (_, html) = get(&app, &format!("{page}?changed=1&provenance=mirrored")).await;
    assert!(rows(&html).is_empty());

    let (status, html) = get(&app, &format!("{page}?provenance=sideways")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown provenance"));

    let (_, html) = get(&app, &format!("/releases/{OKD_UNREAD}")).await;
    assert!(html.contains("The payload has not been read yet"));
    let (_, html) = get(&app, &format!("/releases/{OKD_BROKEN}")).await;
    assert!(html.contains("Reading the payload failed"));

    let (status, html) = get(&app, &format!("/compare/{OKD_A}/{OKD_B}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 added, 1 removed, 1 changed, 5 unchanged."));
    assert_eq!(rows(&html), ["console", "ovirt-csi-driver", "installer"]);
    assert!(html.contains(
        "https://github.com/openshift/installer/compare/\
         1f666fd6a58bbb6a6e57d02cb4c1e2d029eb0f20...9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b5b0f1c3d"
    ));
    assert!(html.contains("data-gate=\"aws\"") && html.contains("data-gate=\"upgrade\""));
    assert!(html.contains("not run"));

    let (status, html) = get(&app, "/components/installer").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("class=\"history-entry\"").count(), 2);
    assert!(html.contains(&format!("/releases/{OKD_C}?stream={OKD_STREAM}")));
    assert!(html.contains("built for OKD") && html.contains(OCP_B));
    // the component's new images as an Atom feed
    let (status, _, xml) = crate::support::http::get_with(
        &app,
        &format!("/components/installer/feed.atom?stream={OKD_STREAM}"),
        &[("host", "streamgate.example")],
    )
    .await;
    let xml = String::from_utf8_lossy(&xml);
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(xml.matches("<entry>").count(), 2, "{xml}");
    let newest = xml
        .find(&format!("installer: new image in {OKD_B}"))
        .expect("newest");
    let oldest = xml
        .find(&format!("installer: new image in {OKD_A}"))
        .expect("oldest");
    assert!(newest < oldest, "newest first");
    assert!(
        xml.contains("<category term=\"okd\"/>") && xml.contains("<category term=\"mirrored\"/>")
    );
    assert!(xml.contains("https://github.com/openshift/installer/commit/"));
    let (status, _, _) = crate::support::http::get_with(
        &app,
        "/components/no-such-component/feed.atom",
        &[("host", "streamgate.example")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, html) = get(&app, &format!("/components/cli?stream={OCP_STREAM}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("class=\"history-entry\"").count(), 1);

    // the server functions the pages hydrate with
    for (endpoint, form, check) in [
        (
            "/api/compare",
            format!("from={OKD_A}&to={OKD_B}"),
            "unchanged",
        ),
        (
            "/api/component_history",
            "name=installer".to_string(),
            "entries",
        ),
    ] {
        let (status, _, body) = crate::support::http::send(
            &app,
            Request::post(endpoint)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{endpoint}");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert!(json.get(check).is_some(), "{endpoint}: {json}");
    }

    for uri in [
        format!("/compare/{OKD_A}/4.99.0-0.okd-scos-2099-01-01-000000"),
        "/compare/nope/nada".to_string(),
        "/components/no-such-component".to_string(),
        format!("/components/console?stream={OCP_STREAM}"),
    ] {
        let (status, html) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(html.contains("Not found"), "{uri}");
    }
}

/// One payload of `components` (name, image seed) as the reader would record it.
fn synthetic_read(name: &str, components: &[(String, String)]) -> serde_json::Value {
    let digest = registry::sha256(name.as_bytes());
    serde_json::json!({
        "digest": digest, "pull_spec": format!("example.invalid/release:{name}"),
        "media_type": registry::OCI_MANIFEST, "amd64_digest": null,
        "platforms": ["linux/amd64"], "labels": {}, "name": name, "created": null,
        "annotations": {}, "release_metadata": null,
        "components": components.iter().map(|(c, seed)| {
            let image = registry::sha256(seed.as_bytes());
            serde_json::json!({"name": c, "image": format!("example.invalid/c@{image}"),
                "image_digest": image, "source_location": format!("https://github.com/openshift/{c}"),
                "commit_id": &image[7..47], "commit_ref": "", "versions": ""})
        }).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn provenance_queries_stay_fast_at_realistic_size_on_sqlite() {
    let (store, _dir) = sqlite().await;
    provenance_at_realistic_size(store).await;
}

#[tokio::test]
async fn provenance_queries_stay_fast_at_realistic_size_on_postgres() {
    provenance_at_realistic_size(postgres().await).await;
}

/// The release page, compare and history over 200 OCP CI and 100 OKD releases of 190
/// components each (each image changes every 40 releases; 30 components built for OKD).
async fn provenance_at_realistic_size(store: Store) {
    const COMPONENTS: usize = 190;
    let tag = |stream: &str, i: usize| {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc)
            + chrono::Duration::hours(i as i64 * 8);
        format!("{stream}-{}", t.format("%Y-%m-%d-%H%M%S"))
    };
    let seed = |c: usize, i: usize, okd_only: bool| {
        if okd_only {
            format!("okd-{c}-{}", (i + c) / 40)
        } else {
            format!("ci-{c}-{}", (i + c) / 40)
        }
    };
    let started = std::time::Instant::now();
    for (controller, stream, count) in [("ocp", OCP_STREAM, 200), ("origin", OKD_STREAM, 100)] {
        let tags: Vec<serde_json::Value> = (0..count)
            .map(|i| serde_json::json!({"name": tag(stream, i), "phase": "Accepted",
                "pullSpec": format!("example.invalid/release:{}", tag(stream, i)), "downloadURL": ""}))
            .collect();
        ingest(
            &store,
            event(
                controller,
                RC_TAGS,
                stream,
                serde_json::json!({"name": stream, "tags": tags}),
            ),
        )
        .await
        .expect("tags");
        for i in 0..count {
            let name = tag(stream, i);
            // OKD release i carries OCP CI release 2i's images, but for its own 30
            let components: Vec<(String, String)> = (0..COMPONENTS)
                .map(|c| {
                    let okd_only = stream == OKD_STREAM && c < 30;
                    let at = if stream == OKD_STREAM { 2 * i } else { i };
                    (format!("component-{c:03}"), seed(c, at, okd_only))
                })
                .collect();
            let read = synthetic_read(&name, &components);
            let digest = read["digest"].as_str().expect("digest").to_string();
            ingest(
                &store,
                event(
                    "example.invalid",
                    server::events::PAYLOAD_READ,
                    &digest,
                    read.clone(),
                ),
            )
            .await
            .expect("read");
            ingest(
                &store,
                event(
                    "example.invalid",
                    server::events::PAYLOAD_RELEASE,
                    &format!("{stream}/{name}"),
                    serde_json::json!({"digest": digest, "pull_spec": read["pull_spec"]}),
                ),
            )
            .await
            .expect("bound");
        }
    }
    eprintln!(
        "ingested 300 payloads of {COMPONENTS} components: {:?}",
        started.elapsed()
    );
    let backend = StoreBackend::new(store.clone(), PollRegistry::default());

    let newest = tag(OKD_STREAM, 99);
    let t = std::time::Instant::now();
    let detail = backend
        .release_detail(&newest, None)
        .await
        .expect("release");
    let release_page = t.elapsed();
    let PayloadView::Read { components, .. } = &detail.payload else {
        panic!("read: {:?}", detail.payload)
    };
    assert_eq!(components.len(), COMPONENTS);
    assert_eq!(
        components
            .iter()
            .filter(|c| matches!(c.provenance, Provenance::BuiltForOkd { .. }))
            .count(),
        30
    );
    // component 100 at OCP CI release 198 has image (198 + 100) / 40 = 7, first in release 180
    assert_eq!(
        by_name(components, "component-100").provenance,
        mirrored(&tag(OCP_STREAM, 180))
    );

    let t = std::time::Instant::now();
    let cmp = backend
        .comparison(&tag(OKD_STREAM, 0), &newest)
        .await
        .expect("compare");
    let compare_page = t.elapsed();
    assert_eq!(cmp.changed.len() as u32 + cmp.unchanged, COMPONENTS as u32);

    let t = std::time::Instant::now();
    let history = backend
        .history("component-100", None)
        .await
        .expect("history");
    let history_page = t.elapsed();
    assert_eq!(history.stream, OKD_STREAM);
    assert_eq!(
        history.entries.len(),
        6,
        "images 2..=7 over OCP CI releases 0..198"
    );

    eprintln!(
        "release page {release_page:?}, compare {compare_page:?}, history {history_page:?} \
         (debug build, {})",
        store.backend()
    );
    for (what, took) in [
        ("release page", release_page),
        ("compare", compare_page),
        ("history", history_page),
    ] {
        assert!(
            took < std::time::Duration::from_secs(2),
            "{what} took {took:?}"
        );
    }
}
