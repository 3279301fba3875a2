//! Static assets of the site (the WASM bundle, its JavaScript, the stylesheet, icons), read
//! once at start-up and served from memory: gzip-compressed ahead of time, with an `ETag`,
//! `304 Not Modified` on `If-None-Match`, and a cache lifetime.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Largest file loaded into memory.
const MAX_FILE: u64 = 32 * 1024 * 1024;

/// One asset and its precompressed form.
#[derive(Debug, Clone)]
struct Asset {
    body: Bytes,
    gzip: Option<Bytes>,
    content_type: &'static str,
    etag: HeaderValue,
}

/// The site's static files by URL path.
#[derive(Debug, Clone, Default)]
pub struct Assets(Arc<HashMap<String, Asset>>);

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "png" => "image/png",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.contains("wasm")
        || content_type.contains("svg")
        || content_type.contains("json")
}

fn gzip(data: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

impl Assets {
    /// Loads every file under `root` (missing root: no assets, e.g. in tests).
    pub fn load(root: &Path) -> Assets {
        let mut map = HashMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                let name = path.to_string_lossy();
                if meta.len() > MAX_FILE || name.ends_with(".gz") || name.ends_with(".br") {
                    continue;
                }
                let Ok(relative) = path.strip_prefix(root) else {
                    continue;
                };
                let url = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
                let Ok(data) = std::fs::read(&path) else {
                    continue;
                };
                let content_type = content_type(&url);
                let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&data))[..32]);
                let gzip = if compressible(content_type) && data.len() > 256 {
                    gzip(&data)
                } else {
                    None
                };
                if let Ok(etag) = HeaderValue::from_str(&etag) {
                    map.insert(
                        url,
                        Asset {
                            body: Bytes::from(data),
                            gzip,
                            content_type,
                            etag,
                        },
                    );
                }
            }
        }
        tracing::info!(files = map.len(), root = %root.display(), "static assets loaded");
        Assets(Arc::new(map))
    }

    /// The response for `path`, or `None` when there is no such asset.
    pub fn respond(&self, path: &str, headers: &HeaderMap) -> Option<Response> {
        let asset = self.0.get(path)?;
        let cache = HeaderValue::from_static("public, max-age=300");
        let not_modified = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == asset.etag || t.trim() == "*")
            });
        let mut builder = Response::builder()
            .header(header::ETAG, asset.etag.clone())
            .header(header::CACHE_CONTROL, cache)
            .header(header::VARY, "accept-encoding");
        if not_modified {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .ok();
        }
        builder = builder.header(header::CONTENT_TYPE, asset.content_type);
        let accepts_gzip = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        let body = match (&asset.gzip, accepts_gzip) {
            (Some(gz), true) => {
                builder = builder.header(header::CONTENT_ENCODING, "gzip");
                gz.clone()
            }
            _ => asset.body.clone(),
        };
        builder.body(Body::from(body)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_from_memory_with_etag_and_gzip() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("pkg")).expect("mkdir");
        let css = "body { color: red; }\n".repeat(40);
        std::fs::write(dir.path().join("pkg/site.css"), &css).expect("write");
        let assets = Assets::load(dir.path());

        let plain = assets
            .respond("/pkg/site.css", &HeaderMap::new())
            .expect("found");
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(
            plain.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let etag = plain.headers()[header::ETAG].clone();

        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        let gz = assets.respond("/pkg/site.css", &headers).expect("found");
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");

        headers.insert(header::IF_NONE_MATCH, etag);
        let cached = assets.respond("/pkg/site.css", &headers).expect("found");
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

        assert!(assets
            .respond("/pkg/missing.js", &HeaderMap::new())
            .is_none());
        assert!(assets
            .respond("/../etc/passwd", &HeaderMap::new())
            .is_none());
    }
}
