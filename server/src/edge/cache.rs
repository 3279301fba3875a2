//! HTTP caching for the public reads (the JSON API and the feeds): a strong `ETag` that is
//! a hash of the body, `304 Not Modified` when the client's `If-None-Match` holds it, and
//! `Cache-Control: public, max-age=30`. Only successful `GET`/`HEAD` answers are tagged;
//! errors are never cached.
//!
//! [`public_reads`] puts the layers in order: compression innermost, so the tag is a hash
//! of the bytes actually sent and a gzip answer and an identity answer (different bytes)
//! get different strong tags, as RFC 9110 requires; the server-wide compression layer
//! leaves an already encoded answer alone. CORS is outermost so `304`s carry it too.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};

/// What public reads may be cached for.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=30";

/// The largest body hashed; anything larger passes through untagged.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// `router`'s routes as public reads: compressed, tagged and cached, open to any origin.
pub fn public_reads<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(etag))
        .layer(cors())
}

/// CORS for public reads: any origin, `GET`, `HEAD` and `OPTIONS`, no credentials.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers(Any)
        .expose_headers(Any)
}

/// Middleware: tags a successful `GET`/`HEAD` answer with a strong `ETag` and
/// `Cache-Control`, and answers `304` (no body) when `If-None-Match` matches.
pub async fn etag(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "could not buffer a response body to tag it");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let tag = strong_etag(&bytes);
    let Ok(tag_value) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.insert(ETAG, tag_value.clone());
    parts
        .headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(CACHE_CONTROL_VALUE));
    if if_none_match.is_some_and(|v| matches_any(&v, &tag)) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        copy_validators(&parts.headers, not_modified.headers_mut());
        return not_modified;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `"` + the first 128 bits of the body's SHA-256 in hex + `"`.
pub fn strong_etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` value (a list, or `*`) names `tag`. RFC 9110 compares
/// weakly here, so `W/"x"` matches `"x"`.
fn matches_any(header: &HeaderValue, tag: &str) -> bool {
    let Ok(list) = header.to_str() else {
        return false;
    };
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

/// The headers a `304` must repeat (RFC 9110 §15.4.5), plus CORS so browsers accept it.
fn copy_validators(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let name_str = name.as_str();
        if matches!(
            name_str,
            "etag" | "cache-control" | "vary" | "content-location" | "expires" | "date"
        ) || name_str.starts_with("access-control-")
        {
            to.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        let tag = strong_etag(b"body");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        let value = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
        assert!(matches_any(&value(&tag), &tag));
        assert!(matches_any(&value(&format!("\"x\", W/{tag}")), &tag));
        assert!(matches_any(&value("*"), &tag));
        assert!(!matches_any(&value("\"other\""), &tag));
    }
}
