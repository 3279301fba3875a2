//! What text from upstream may become in a page. Release-controllers, registries and
//! image labels are not ours: a URL they name becomes a link only when it is `http` or
//! `https` ([`safe_url`]), and HTML reaches a page as markup only after the server's
//! sanitiser cleaned it ([`SanitizedHtml`]); everything else is shown as text.

use serde::{Deserialize, Serialize};

/// `url` when it is an absolute `http` or `https` URL that a browser reads exactly as
/// written, `None` for anything else (`javascript:`, `data:`, relative or scheme-less
/// URLs, and URLs with whitespace or control characters, which browsers strip before they
/// look at the scheme).
pub fn safe_url(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once(':')?;
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let plain = !url
        .bytes()
        .any(|b| b.is_ascii_control() || b.is_ascii_whitespace());
    let host = rest
        .strip_prefix("//")
        .is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
    (web && plain && host).then_some(url)
}

/// HTML that the server's sanitiser produced: only harmless elements and attributes, links
/// only to `http`, `https` and this site's own pages. The only HTML a page inserts as
/// markup; the browser receives it as the server serialised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SanitizedHtml(String);

impl SanitizedHtml {
    /// Wraps what the sanitiser returned. Only the server's sanitiser calls this (it is not
    /// compiled into the browser build).
    #[cfg(feature = "ssr")]
    pub fn from_sanitizer(html: String) -> SanitizedHtml {
        SanitizedHtml(html)
    }

    /// The HTML.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_and_https_urls_are_links() {
        for good in [
            "https://prow.ci.openshift.org/view/gs/test-platform-results/logs/job/1",
            "http://example.com",
            "HTTPS://github.com/openshift/oc/pull/1",
        ] {
            assert_eq!(safe_url(good), Some(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "\u{0}javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "https:alert(1)",
            "https:///path",
            "https://",
            "//evil.example/x",
            "/releases/4.21.0",
            "prow.ci.openshift.org/view",
            "https://example.com/a b",
            "https://example.com/\nx",
            "",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
    }
}
