//! Signing the releases Streamgate promotes, over the real registry on loopback: with a
//! throwaway `gpg` key configured, a promotion signs its new payload digest into the
//! signature store directory; the running server serves it at `/signatures/…`, where
//! Streamgate's own signature store client fetches it and `gpgv` verifies it against the
//! exported public key, and the API and the release pages say "signed by key …". A key that
//! `gpg` cannot sign with leaves the release published and says why; the real binary refuses
//! to start with such a key, or with half of the signing settings.

use std::time::Duration;

use app::model::promotion::{PromotionState, SigningStatus};
use app::viewer::Role;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use leptos::prelude::LeptosOptions;
use server::ingest::release_controller::PollRegistry;
use server::promote::signature::{verify, SignatureStore};
use server::promote::signature_dir::SignatureDir;
use server::promote::signing::{Signer, SigningError, CREATOR};
use server::store::Store;
use server::AppState;

use crate::promote::{promotions, request, run_all, viewer, world, GOOD, STREAM, TARGET};
use crate::support::gpg::Gpg;
use crate::support::http;
use crate::support::payloads::sqlite;

const NAME: &str = "4.21.0-okd-scos.ec.0";

/// The server's router over `store`, serving `signatures`, and its loopback address.
async fn serve(store: &Store, signatures: SignatureDir) -> (axum::Router, String) {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store.clone(), PollRegistry::default(), leptos);
    state.settings.signature_dir = Some(signatures);
    let app = server::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            served.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    (app, format!("http://{addr}"))
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = http::send(
        app,
        Request::get(uri)
            .header(header::HOST, "streamgate.test")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_promoted_release_is_signed_served_as_a_signature_store_and_verifies() {
    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let key = Gpg::new("Streamgate Release Signing <release@example.com>");
    let fingerprint = key.fingerprint();
    let files = tempfile::tempdir().expect("files");
    let keyring = key.export(&files.path().join("trusted.gpg"));
    let signatures = SignatureDir::open(&files.path().join("signatures")).expect("store");
    let signer = Signer::load(key.home(), &fingerprint)
        .await
        .expect("home copied");
    signer.check().await.expect("the key signs");
    let (promotions, worker) = promotions(&store, &w);
    let worker = worker.with_signing(signer, signatures.clone());

    let (id, _) = promotions
        .request(&viewer("mia", Role::Maintainer, None), &request(GOOD, None))
        .await
        .expect("requested");
    run_all(&worker).await;
    let row = store.promotion(id).await.expect("row").expect("stored");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    let digest = row.result_digest.clone().expect("published");
    let pull_spec = row.result_pull_spec.clone().expect("published");
    let signature = row.release_signature().expect("signed");
    let hex = digest.trim_start_matches("sha256:");
    assert_eq!(
        signature.status,
        SigningStatus::Signed {
            key: fingerprint.clone(),
            path: format!("sha256={hex}/signature-1"),
        }
    );
    assert_eq!(signature.digest, digest);

    // the running server is a signature store: Streamgate's own client fetches the
    // signature over HTTP and gpgv verifies it with the exported public key
    let (app, url) = serve(&store, signatures).await;
    let fetched = SignatureStore::new(format!("{url}/signatures"), Duration::from_secs(5))
        .expect("client")
        .fetch(&digest)
        .await
        .expect("fetched");
    assert_eq!(fetched.len(), 1, "one signature, then a 404");
    let verified = verify(&fetched[0], &keyring, &digest)
        .await
        .expect("gpgv verifies");
    assert_eq!(verified.fingerprint, fingerprint);
    assert_eq!(verified.digest, digest);
    assert_eq!(verified.identity, pull_spec);
    assert_eq!(verified.creator.as_deref(), Some(CREATOR));
    assert!(verified.timestamp.is_some_and(|t| t > 1_700_000_000));
    let answer = reqwest::get(format!("{url}/signatures/sha256={hex}/signature-1"))
        .await
        .expect("answer");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert_eq!(
        answer.headers().get(reqwest::header::CONTENT_TYPE),
        Some(&reqwest::header::HeaderValue::from_static(
            "application/octet-stream"
        ))
    );
    for missing in [
        format!("{url}/signatures/sha256={hex}/signature-2"),
        format!("{url}/signatures/sha256={hex}/signature-01"),
        format!("{url}/signatures/sha256={}/signature-1", &hex[1..]),
    ] {
        let answer = reqwest::get(&missing).await.expect("answer");
        assert_eq!(answer.status(), reqwest::StatusCode::NOT_FOUND, "{missing}");
    }

    // the API carries the status and the signed document
    let (status, text) = get(&app, &format!("/api/v1/promotions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["signature"]["status"], "signed", "{text}");
    assert_eq!(json["signature"]["key"], fingerprint.as_str());
    assert_eq!(
        json["signature"]["path"],
        format!("sha256={hex}/signature-1")
    );
    let message: serde_json::Value =
        serde_json::from_str(json["signature"]["message"].as_str().expect("message"))
            .expect("the document is JSON");
    assert_eq!(
        message["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    let (_, list) = get(&app, "/api/v1/promotions").await;
    assert!(list.contains("\"status\":\"signed\""), "{list}");
    let (status, document) = get(
        &app,
        &format!("/api/v1/promotions/{id}/signature-message.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document, signature.message, "the exact bytes signed");

    // the promoted release's page and the CI release's promotion history say so, with a
    // link to the signature
    let link = format!("/signatures/sha256={hex}/signature-1");
    let (status, page) = get(&app, &format!("/releases/{NAME}?stream={TARGET}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("signed by key {fingerprint}")),
        "{page}"
    );
    assert!(page.contains(&link), "{page}");
    let (_, page) = get(&app, &format!("/releases/{GOOD}?stream={STREAM}")).await;
    assert!(
        page.contains(&format!("signed by key {fingerprint}")),
        "{page}"
    );
    let (_, page) = get(&app, &format!("/promotions/{id}")).await;
    assert!(page.contains(&link), "{page}");
    assert!(page.contains("Signed document"), "{page}");
}

#[tokio::test]
async fn a_key_gpg_cannot_sign_with_leaves_the_release_published_and_says_why() {
    let (store, _dir) = sqlite().await;
    let w = world(&store).await;
    let key = Gpg::new("Streamgate Release Signing <release@example.com>");
    let files = tempfile::tempdir().expect("files");
    let signatures = SignatureDir::open(files.path()).expect("store");
    let signer = Signer::load(key.home(), "nobody@example.com")
        .await
        .expect("home copied");
    // start-up would have refused it
    let refused = signer.check().await;
    assert!(
        matches!(&refused, Err(SigningError::KeyMissing { key, .. }) if key == "nobody@example.com"),
        "{refused:?}"
    );
    let (promotions, worker) = promotions(&store, &w);
    let worker = worker.with_signing(signer, signatures.clone());
    let (app, _url) = serve(&store, signatures).await;

    let (id, _) = promotions
        .request(&viewer("mia", Role::Maintainer, None), &request(GOOD, None))
        .await
        .expect("requested");
    let (status, text) = get(
        &app,
        &format!("/api/v1/promotions/{id}/signature-message.json"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert!(
        text.contains("is planned and has no signature message"),
        "{text}"
    );
    run_all(&worker).await;
    let row = store.promotion(id).await.expect("row").expect("stored");
    assert_eq!(row.state(), PromotionState::Succeeded, "{}", row.detail);
    let signature = row.release_signature().expect("recorded");
    let SigningStatus::Failed { reason } = &signature.status else {
        panic!("not failed: {:?}", signature.status);
    };
    assert!(
        reason.starts_with("gpg could not sign with key \"nobody@example.com\":")
            && reason.contains("No secret key"),
        "{reason}"
    );
    assert!(!signature.message.is_empty(), "the message is kept");
    assert_eq!(
        std::fs::read_dir(files.path()).expect("dir").count(),
        0,
        "nothing stored"
    );
    let promoted = store.releases_named(NAME).await.expect("query");
    assert_eq!(promoted.len(), 1, "the release stays published");

    let (_, text) = get(&app, &format!("/api/v1/promotions/{id}")).await;
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["state"], "succeeded");
    assert_eq!(json["signature"]["status"], "failed", "{text}");
    assert_eq!(json["signature"]["reason"], reason.as_str());
    let (_, page) = get(&app, &format!("/releases/{NAME}?stream={TARGET}")).await;
    assert!(
        page.contains("signing failed: gpg could not sign"),
        "{page}"
    );
}

#[tokio::test]
async fn the_server_refuses_to_start_with_an_unusable_signing_setting() {
    let key = Gpg::new("Streamgate Release Signing <release@example.com>");
    let files = tempfile::tempdir().expect("files");
    let db = format!("sqlite://{}/sg.db", files.path().display());
    let store_dir = files.path().join("signatures");
    let home = key.home().display().to_string();
    let store_dir = store_dir.display().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--no-poll",
                "--no-payloads",
            ])
            .args(["--database-url", &db])
            .args(args)
            .env_remove("STREAMGATE_SIGNING_GNUPG_HOME")
            .env_remove("STREAMGATE_SIGNING_KEY")
            .env_remove("STREAMGATE_SIGNATURE_STORE_DIR")
            .env("LEPTOS_OUTPUT_NAME", "streamgate")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .output()
            .expect("server runs");
        assert!(!out.status.success(), "started with {args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let half = run(&[
        "--signing-gnupg-home",
        &home,
        "--signature-store-dir",
        &store_dir,
    ]);
    assert!(half.contains("--signing-key"), "{half}");
    let no_home = run(&["--signing-key", "release@example.com"]);
    assert!(no_home.contains("--signing-gnupg-home"), "{no_home}");
    let no_store = run(&["--signing-gnupg-home", &home, "--signing-key", "x"]);
    assert!(no_store.contains("--signature-store-dir"), "{no_store}");
    let wrong = run(&[
        "--signing-gnupg-home",
        &home,
        "--signing-key",
        "nobody@example.com",
        "--signature-store-dir",
        &store_dir,
    ]);
    assert!(
        wrong.contains(&format!(
            "signing key \"nobody@example.com\" has no secret key in the gnupg home {home}"
        )),
        "{wrong}"
    );
}
