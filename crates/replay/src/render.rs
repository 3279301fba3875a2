//! How the release-controller writes a changelog into a release's `changeLog` field: a
//! short HTML rendering, base64-encoded as Go encodes a `[]byte`.

use chrono::DateTime;

use streamgate_formats::release_controller::ChangeLog;

/// Standard base64 with padding (Go's encoding of a `[]byte` field).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A short HTML rendering of a changelog, in the spirit of the controller's `changeLog`.
pub fn changelog_html(log: &ChangeLog) -> String {
    let from = &log.from.name;
    let created = DateTime::parse_from_rfc3339(&log.to.created)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_else(|_| log.to.created.clone());
    let mut html = format!(
        "<h2>Changes from <a target=\"_blank\" href=\"/releasetag/{from}\">{from}</a></h2>\n\n\
         <p>Created: {created}</p>\n\n<p>Image Digest: <code>{}</code></p>\n\n",
        log.to.digest
    );
    if let Some(promoted) = &log.to.promoted_from {
        html.push_str(&format!(
            "<p>Release {} was created from <code>{promoted}</code></p>\n\n",
            log.to.name
        ));
    }
    if let Some(components) = &log.components {
        html.push_str("<h3>Components</h3>\n\n<ul>\n");
        for c in components {
            match &c.from {
                Some(old) => html.push_str(&format!(
                    "<li>{} {} (upgraded from {old})</li>\n",
                    c.name, c.version
                )),
                None => html.push_str(&format!("<li>{} {}</li>\n", c.name, c.version)),
            }
        }
        html.push_str("</ul>\n\n");
    }
    if let Some(images) = &log.updated_images {
        html.push_str(&format!("<h3>Changes from {from}</h3>\n\n"));
        for image in images {
            html.push_str(&format!(
                "<h4><a target=\"_blank\" href=\"{}\">{}</a></h4>\n\n<ul>\n",
                image.path, image.name
            ));
            for c in image.commits.iter().flatten() {
                let pull = c.pull_id.map(|id| format!("#{id}")).unwrap_or_default();
                let url = c.pull_url.clone().unwrap_or_default();
                html.push_str(&format!(
                    "<li><a target=\"_blank\" href=\"{url}\">{pull}</a>: {}</li>\n",
                    c.subject
                ));
            }
            html.push_str("</ul>\n\n");
            if let Some(full) = &image.full_change_log {
                html.push_str(&format!(
                    "<p><a target=\"_blank\" href=\"{full}\">Full changelog</a></p>\n\n"
                ));
            }
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"<h2>Changes"), "PGgyPkNoYW5nZXM=");
    }
}
