//! A target's webhook, which is a credential: a chat webhook's address lets anyone who has it
//! post to the room. Only admins see it, masked to scheme and host ([`mask`]), in full once
//! right after they set it. Each webhook gets a random signing secret ([`new_secret`], a new
//! one every time the webhook is set) and every notice carries
//! `X-Streamgate-Signature: sha256=<hex>`, the HMAC-SHA256 of the body's exact bytes with
//! the secret as the key ([`signature`]), so receivers can tell Streamgate's notices from
//! anyone else's. The body carries `sent_at`, covered by the signature, for receivers to
//! refuse replays.
//!
//! The webhook an admin just set travels to `/admin/targets` in a one-minute cookie
//! ([`reveal_cookie`]); the page shows it only while it is still the target's
//! ([`read_reveal`]).

use app::model::promotion::NewWebhook;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::random_secret;

/// The header carrying a notice's signature.
pub const SIGNATURE_HEADER: &str = "x-streamgate-signature";

/// What every signing secret starts with, so that people and scanners recognise one.
pub const SECRET_PREFIX: &str = "sgwh_";

/// A new signing secret: `sgwh_` and 32 random bytes, base64url.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", random_secret())
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` with `secret` (its UTF-8 bytes) as the key.
pub fn signature(secret: &str, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// The address as admins see it after it was set: scheme and host (and port), then `…`.
/// Whatever does not parse as a URL shows as `…` alone.
pub fn mask(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", u.scheme()),
            (Some(host), None) => format!("{}://{host}/…", u.scheme()),
            (None, _) => "…".to_string(),
        },
        Err(_) => "…".to_string(),
    }
}

/// The value of the cookie carrying `hook` to `/admin/targets`: base64url of its JSON.
pub fn reveal_cookie(hook: &NewWebhook) -> String {
    let json = serde_json::to_vec(hook).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The webhook a [`reveal_cookie`] value carries, when it decodes.
pub fn read_reveal(value: &str) -> Option<NewWebhook> {
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.trim())
        .ok()?;
    serde_json::from_slice(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_to_scheme_and_host() {
        assert_eq!(
            mask("https://hooks.example.com/services/T0/B0/secret-part"),
            "https://hooks.example.com/…"
        );
        assert_eq!(
            mask("http://127.0.0.1:8080/hook?token=abc"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(
            mask("https://user:pass@chat.example.org/x"),
            "https://chat.example.org/…"
        );
        assert_eq!(mask("not a url"), "…");
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe"
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?").unwrap(),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let a = new_secret();
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 43);
        assert_ne!(a, new_secret());
        assert_ne!(signature(&a, b"{}"), signature(&a, b"{} "));
    }

    #[test]
    fn reveal_cookies_round_trip_and_refuse_garbage() {
        let hook = NewWebhook {
            target: "4-scos-next".into(),
            url: "https://hooks.example.com/a;b=c d".into(),
            secret: new_secret(),
        };
        let value = reveal_cookie(&hook);
        assert!(value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(read_reveal(&value), Some(hook));
        assert_eq!(read_reveal("%%%"), None);
        assert_eq!(read_reveal("e30"), None);
    }
}
