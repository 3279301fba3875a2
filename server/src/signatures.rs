//! `GET /signatures/sha256={hex}/signature-{n}`: the signature store directory
//! (`--signature-store-dir`), served read-only in the layout `oc`, the cluster-version
//! operator and Streamgate's own signature check read, so `https://<streamgate>/signatures`
//! is a signature store URL. Only names of that exact form are answered — 64 lowercase hex
//! digits, `n` from 1 without leading zeros — and nothing else in the directory (temporary
//! files, other names) is reachable; anything else, and a server without a store, is a
//! `404`. Signatures are never rewritten once stored, so a found one may be cached.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::edge::cache;
use crate::edge::error::{method_not_allowed, ApiError};
use crate::promote::signature_dir::SignaturePath;
use crate::AppState;

/// A signature's media type (an OpenPGP message, binary).
pub const SIGNATURE_CONTENT_TYPE: &str = "application/octet-stream";

/// How long a found signature may be cached: it never changes once stored.
const SIGNATURE_CACHE_CONTROL: &str = "public, max-age=86400";

/// The signature store route, open to any origin.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/signatures/{dir}/{file}",
            get(get_signature).fallback(method_not_allowed),
        )
        .layer(cache::cors())
}

/// One stored signature.
#[utoipa::path(
    get,
    path = "/signatures/{dir}/{file}",
    tag = "promotions",
    params(
        ("dir" = String, Path, description = "`sha256=` and the payload digest's 64 lowercase hex digits"),
        ("file" = String, Path, description = "`signature-` and a number from 1, without leading zeros"),
    ),
    responses(
        (status = 200, description = "an OpenPGP signed message", content_type = "application/octet-stream", body = String),
        (status = 404, description = "no such signature, a name of another form, or no signature store on this server", body = crate::edge::error::ErrorBody),
    )
)]
pub async fn get_signature(
    State(state): State<AppState>,
    Path((dir, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("signature".to_string());
    let store = state
        .settings
        .signature_dir
        .as_ref()
        .ok_or_else(not_found)?;
    let path = SignaturePath::parse(&dir, &file).ok_or_else(not_found)?;
    match store.read(&path).await {
        Ok(Some(bytes)) => Ok((
            [
                (CONTENT_TYPE, SIGNATURE_CONTENT_TYPE),
                (CACHE_CONTROL, SIGNATURE_CACHE_CONTROL),
            ],
            bytes,
        )
            .into_response()),
        Ok(None) => Err(ApiError::NotFound(format!("signature {}", path.relative()))),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::release_controller::PollRegistry;
    use crate::promote::signature_dir::SignatureDir;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    const HEX: &str = "817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e";

    async fn app(dir: Option<SignatureDir>) -> (Router, tempfile::TempDir) {
        let (store, db) = crate::store::testing::sqlite().await;
        let leptos = leptos::prelude::LeptosOptions::builder()
            .output_name("streamgate")
            .site_root("target/site")
            .build();
        let mut state = AppState::new(store, PollRegistry::default(), leptos);
        state.settings.signature_dir = dir;
        (router().with_state(state), db)
    }

    async fn get(app: &Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
        let response = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let status = response.status();
        let kind = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, kind, body.to_vec())
    }

    #[tokio::test]
    async fn stored_signatures_are_served_and_nothing_else_is() {
        let root = tempfile::tempdir().expect("root");
        let dir = SignatureDir::open(root.path()).expect("store");
        dir.store(&format!("sha256:{HEX}"), b"\x89signed")
            .await
            .expect("stored");
        std::fs::write(
            root.path().join(format!("sha256={HEX}/.signature-tmp")),
            b"x",
        )
        .expect("temp");
        std::fs::write(root.path().join("secret"), b"x").expect("other");
        let (app, _db) = app(Some(dir)).await;

        let (status, kind, body) =
            get(&app, &format!("/signatures/sha256={HEX}/signature-1")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(kind.as_deref(), Some(SIGNATURE_CONTENT_TYPE));
        assert_eq!(body, b"\x89signed");

        for uri in [
            format!("/signatures/sha256={HEX}/signature-2"),
            format!("/signatures/sha256={HEX}/signature-0"),
            format!("/signatures/sha256={HEX}/signature-01"),
            format!("/signatures/sha256={HEX}/.signature-tmp"),
            format!("/signatures/sha256={}/signature-1", HEX.to_uppercase()),
            format!("/signatures/sha256={}/signature-1", &HEX[2..]),
            "/signatures/..%2Fsecret/signature-1".to_string(),
            "/signatures/sha256=%2E%2E/secret".to_string(),
            "/signatures/x/secret".to_string(),
        ] {
            let (status, _, body) = get(&app, &uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert_ne!(body, b"x", "{uri}");
        }
    }

    #[tokio::test]
    async fn a_server_without_a_store_has_no_signatures() {
        let (app, _db) = app(None).await;
        let (status, _, _) = get(&app, &format!("/signatures/sha256={HEX}/signature-1")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
