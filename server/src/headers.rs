//! Security headers on every response — pages, API, feeds, badges, assets, errors and
//! server-sent events alike — so that whatever slips into a page cannot run.
//!
//! The Content-Security-Policy allows scripts and styles from this origin only, plus inline
//! ones carrying this response's nonce: Leptos' hydration script and the serialised page
//! data are inline `<script>`s, and the API description page has an inline `<style>`. Each
//! request gets a fresh random nonce, put into the request's extensions as a
//! [`leptos::nonce::Nonce`]; `app::shell` hands it to Leptos, which writes it on every script
//! it emits, and [`docs`](crate::api::docs) writes it on its style. `'wasm-unsafe-eval'` lets
//! the page compile its WebAssembly; nothing allows `eval`, inline event handlers,
//! `javascript:` URLs or style attributes. Images may come from anywhere over `https` (and
//! `data:`), since READMEs and notes embed them; frames, plugins and `<base>` are refused.
//!
//! A page answered from memory ([`crate::edge::page_cache`]) keeps the nonce it was rendered
//! with: its policy names that one.
//!
//! Alongside: `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//! strict-origin-when-cross-origin` and `X-Frame-Options: DENY` (for browsers without
//! `frame-ancestors`). No `Cross-Origin-Resource-Policy`: GitHub's image proxy fetches the
//! badges from another origin.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use leptos::nonce::Nonce;

use crate::edge::page_cache::PageNonce;

/// A fresh nonce: 16 random bytes, base64url without padding (CSP's nonce grammar).
fn fresh_nonce() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// The Content-Security-Policy of a response whose inline scripts and styles carry `nonce`.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data: https:; connect-src 'self'; \
         font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'"
    )
}

/// Middleware: gives the request its nonce and sets the security headers on the response,
/// replacing any a handler set.
pub async fn secure(mut request: Request, next: Next) -> Response {
    let nonce = fresh_nonce();
    request
        .extensions_mut()
        .insert(Nonce::from_value(nonce.as_str()));
    let mut response = next.run(request).await;
    // a page from memory carries the nonce it was rendered with
    let nonce = match response.extensions().get::<PageNonce>() {
        Some(PageNonce(kept)) => kept.clone(),
        None => nonce,
    };
    let headers = response.headers_mut();
    match HeaderValue::from_str(&content_security_policy(&nonce)) {
        Ok(policy) => {
            headers.insert(CONTENT_SECURITY_POLICY, policy);
        }
        // a base64url nonce always makes a valid header value; refuse everything if not
        Err(_) => {
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            );
        }
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_and_fit_the_policy_grammar() {
        let a = fresh_nonce();
        let b = fresh_nonce();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let policy = content_security_policy(&a);
        assert!(HeaderValue::from_str(&policy).is_ok());
        assert!(policy.contains(&format!(
            "script-src 'self' 'nonce-{a}' 'wasm-unsafe-eval';"
        )));
        assert!(!policy.contains("unsafe-inline"));
    }
}
