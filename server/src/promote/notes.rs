//! Release notes of a promoted release, in Markdown, laid out as okd-project/okd's GitHub
//! releases are: where it came from and where to pull it, the component versions
//! (`kubernetes`, `machine-os`, … from the payload's `io.openshift.build.versions`), the
//! versions clusters may update from, the changes since the target's previous promotion
//! (with links to the source differences), and the gates of the CI release.
//!
//! Names, states and URLs in the notes come from the release-controller, so they are
//! untrusted: text is escaped so that it cannot make links, HTML or table cells of its own,
//! an upstream URL becomes a link only when it is `http(s)` ([`app::model::safe_url`]), and
//! the HTML for the page is sanitised by ammonia ([`to_html`]) whatever the Markdown holds.

use std::fmt::Write;

use app::model::{safe_url, Comparison, SanitizedHtml};

use crate::backend::StoreBackend;
use crate::store::promotions::PromotionRow;
use crate::store::{Store, StoreError};

/// The notes of promotion `row`; `base` is this Streamgate's URL for links (may be empty).
pub async fn release_notes(
    store: &Store,
    backend: &StoreBackend,
    row: &PromotionRow,
    base: &str,
) -> Result<String, StoreError> {
    let previous = store.previous_success(&row.target, row.id).await?;
    let comparison = match &previous {
        Some(p) => Some(
            backend
                .comparison(&p.source_release, &row.source_release)
                .await?,
        ),
        None => None,
    };
    let gates = store.gates(&row.source_stream, &row.source_release).await?;
    let versions = match store.payload(&row.source_digest).await? {
        Some(payload) => component_versions(payload.components.iter().map(|c| c.versions.as_str())),
        None => Vec::new(),
    };
    Ok(render(
        row,
        previous.as_ref(),
        comparison.as_ref(),
        &gates,
        &versions,
        base,
    ))
}

/// The component versions a payload declares: every `key=version` of its images'
/// `io.openshift.build.versions` (`kubernetes=1.31.4`, `machine-os=9.0.2025…`), by key,
/// the first image naming a key winning, as `oc adm release info` lists them.
fn component_versions<'a>(declared: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut out: std::collections::BTreeMap<String, String> = Default::default();
    for pair in declared.flat_map(|v| v.split(',')) {
        if let Some((key, version)) = pair.split_once('=') {
            let (key, version) = (key.trim(), version.trim());
            if !key.is_empty() && !version.is_empty() {
                out.entry(key.to_string())
                    .or_insert_with(|| version.to_string());
            }
        }
    }
    out.into_iter().collect()
}

/// Upstream text for a table cell or a line: the characters that would start a link, an
/// autolink, raw HTML, a code span or another cell are escaped, line breaks become spaces.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '[' | ']' | '<' | '>' | '`' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `[text](url)` when `url` is `http(s)`, the text alone otherwise. Characters that would
/// end the link destination early are percent-encoded.
fn link(text: &str, url: &str) -> String {
    match safe_url(url) {
        Some(url) => {
            let url = url
                .replace('(', "%28")
                .replace(')', "%29")
                .replace('<', "%3C")
                .replace('>', "%3E");
            format!("[{text}]({url})")
        }
        None => text.to_string(),
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn render(
    row: &PromotionRow,
    previous: Option<&PromotionRow>,
    comparison: Option<&Comparison>,
    gates: &[crate::store::queries::GateRow],
    versions: &[(String, String)],
    base: &str,
) -> String {
    let mut md = String::new();
    let release_link = |stream: &str, name: &str| {
        format!(
            "[{}]({base}/releases/{}?stream={})",
            cell(name),
            crate::percent::encode(name),
            crate::percent::encode(stream)
        )
    };
    let _ = writeln!(md, "# {}\n", cell(&row.name));
    let when = row
        .finished_at
        .unwrap_or(row.requested_at)
        .format("%Y-%m-%d %H:%M UTC");
    let _ = writeln!(
        md,
        "Promoted to `{}` from the CI release {} on {when} by {}.\n",
        row.target,
        release_link(&row.source_stream, &row.source_release),
        cell(&row.requested_by)
    );
    if let Some(spec) = &row.result_pull_spec {
        let _ = writeln!(md, "- Pull From: `{spec}`");
    }
    let _ = writeln!(md, "- Tag: `{}:{}`", row.release_repo, row.name);
    let _ = writeln!(md, "- Images mirrored to: `{}`", row.content_repo);
    if let Some(reason) = &row.override_reason {
        let _ = writeln!(
            md,
            "- **Gates overridden** by {}: {}",
            cell(&row.requested_by),
            cell(reason)
        );
    }
    md.push('\n');

    let _ = writeln!(md, "## Component Versions\n");
    if versions.is_empty() {
        let _ = writeln!(md, "The payload declares no component versions.\n");
    } else {
        for (key, version) in versions {
            let _ = writeln!(md, "- {} {}", cell(key), cell(version));
        }
        md.push('\n');
    }

    let _ = writeln!(md, "## Upgrades\n");
    let previous_versions = row.previous();
    if previous_versions.is_empty() {
        let _ = writeln!(
            md,
            "Clusters update to it from: none (no earlier release of this minor).\n"
        );
    } else {
        let _ = writeln!(
            md,
            "Clusters update to it from: {}.\n",
            cell(&previous_versions.join(", "))
        );
    }

    match (previous, comparison) {
        (Some(p), Some(c)) => {
            let _ = writeln!(
                md,
                "## Changes from {} (CI release {})\n",
                cell(&p.name),
                release_link(&p.source_stream, &p.source_release)
            );
            if !c.payloads_read.0 || !c.payloads_read.1 {
                let _ = writeln!(
                    md,
                    "Component changes are not known: a payload was not read.\n"
                );
            } else if c.changed.is_empty() && c.added.is_empty() && c.removed.is_empty() {
                let _ = writeln!(md, "No component changed.\n");
            } else {
                if !c.changed.is_empty() {
                    let _ = writeln!(md, "| Component | From | To | Source |\n|---|---|---|---|");
                    for ch in &c.changed {
                        let source = match &ch.diff_url {
                            Some(url) if safe_url(url).is_some() => link("diff", url),
                            _ => cell(&ch.to.source),
                        };
                        let _ = writeln!(
                            md,
                            "| {} | `{}` | `{}` | {} |",
                            cell(&ch.to.name),
                            short(&ch.from.commit),
                            short(&ch.to.commit),
                            source
                        );
                    }
                    md.push('\n');
                }
                for (what, list) in [("Added", &c.added), ("Removed", &c.removed)] {
                    if !list.is_empty() {
                        let names: Vec<String> = list.iter().map(|i| cell(&i.name)).collect();
                        let _ = writeln!(md, "{what}: {}.\n", names.join(", "));
                    }
                }
            }
            let _ = writeln!(md, "{} components unchanged.\n", c.unchanged);
        }
        _ => {
            let _ = writeln!(
                md,
                "The first release Streamgate promoted to `{}`.\n",
                row.target
            );
        }
    }

    let _ = writeln!(md, "## Gates of {}\n", cell(&row.source_release));
    if gates.is_empty() {
        let _ = writeln!(md, "No verification jobs were recorded.");
    } else {
        let _ = writeln!(md, "| Job | Kind | State |\n|---|---|---|");
        let mut sorted: Vec<_> = gates.iter().collect();
        sorted.sort_by(|a, b| {
            (a.kind.as_str(), a.name.as_str()).cmp(&(b.kind.as_str(), b.name.as_str()))
        });
        for g in sorted {
            let state = link(g.state.as_str(), &g.url);
            let _ = writeln!(md, "| {} | {} | {} |", cell(&g.name), g.kind, state);
        }
    }
    md
}

/// A relative URL stays only when it is a path on this site (`/releases/…`), not a
/// protocol-relative `//host` nor a would-be scheme that is no valid one.
fn own_page(url: &str) -> Option<std::borrow::Cow<'_, str>> {
    (url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\"))
        .then_some(std::borrow::Cow::Borrowed(url))
}

/// Most cell separators (unescaped `|`) a line may hold while the notes keep their tables.
/// The notes' own tables have five a row; only hostile text makes more. The renderer pads
/// every short row of a table to the width of its header, so a wide header over many
/// one-letter rows would grow a few kilobytes of Markdown into megabytes of cells.
const MAX_TABLE_PIPES: usize = 8;

/// The unescaped `|` of `line` (a table's cell separators).
fn table_pipes(line: &str) -> usize {
    let mut pipes = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            // `\\|` is an escaped backslash and a separator, `\|` an escaped pipe
            '\\' => {
                chars.next();
            }
            '|' => pipes += 1,
            _ => {}
        }
    }
    pipes
}

/// The notes as HTML for the page: raw HTML inside the Markdown is shown as text, and the
/// result is sanitised by ammonia (its safe elements and attributes; links and images only
/// to `http`, `https` or paths on this site), so no Markdown can reach the page as script.
/// The HTML grows linearly with the Markdown: tables are turned off when a line holds more
/// cell separators than a table of the notes has.
pub fn to_html(markdown: &str) -> SanitizedHtml {
    use pulldown_cmark::{html, Event, Options, Parser};
    // `lines` keeps a lone `\r` inside a line: a longer line only counts more pipes
    let narrow = markdown
        .lines()
        .all(|line| table_pipes(line) <= MAX_TABLE_PIPES);
    let options = if narrow {
        Options::ENABLE_TABLES
    } else {
        Options::empty()
    };
    let parser = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    let clean = ammonia::Builder::default()
        .url_schemes(std::collections::HashSet::from(["http", "https"]))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(own_page)))
        .link_rel(Some("noopener noreferrer"))
        .clean(&out)
        .to_string();
    SanitizedHtml::from_sanitizer(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_versions_are_listed_by_key_the_first_image_winning() {
        let versions = component_versions(
            [
                "",
                "kubernetes=1.34.2,kubernetes-tests=1.34.2",
                "machine-os=9.0.20251120-0",
                "kubernetes=1.33.0",
                "broken, =x,y=",
            ]
            .into_iter(),
        );
        assert_eq!(
            versions,
            [
                ("kubernetes".to_string(), "1.34.2".to_string()),
                ("kubernetes-tests".to_string(), "1.34.2".to_string()),
                ("machine-os".to_string(), "9.0.20251120-0".to_string()),
            ]
        );
    }

    #[test]
    fn raw_html_in_notes_is_text() {
        let html =
            to_html("# 4.21.0\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| `x` | y |\n");
        let html = html.as_str();
        assert!(html.contains("<h1>4.21.0</h1>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn notes_html_links_only_to_the_web_and_this_site() {
        let markdown = "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(2)) \
            [c](java&#x09;script:alert(3)) [d](data:text/html,%3Cscript%3Ealert(4)%3C/script%3E) \
            <javascript:alert(5)> [e](vbscript:msgbox(6)) ![f](javascript:alert(7)) \
            [g](https://prow.ci.openshift.org/view/gs/x/1) [h](/releases/4.21.0-okd-scos.ec.0) \
            [i](//evil.example/x) [j](relative/path) ![k](data:image/png;base64,AAAA)\n\n\
            <img src=x onerror=alert(8)> <a href=\"javascript:alert(9)\">l</a>\n";
        let html = to_html(markdown);
        let html = html.as_str();
        // text never holds a raw `<` (it is escaped), so these are the elements
        let element = regex::Regex::new(r"<(?:a|img)\s[^>]*>").expect("regex");
        let url = regex::Regex::new(r#"\s(?:href|src)="([^"]*)""#).expect("regex");
        let elements: Vec<&str> = element.find_iter(html).map(|m| m.as_str()).collect();
        let urls: Vec<&str> = elements
            .iter()
            .flat_map(|tag| url.captures_iter(tag))
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        assert_eq!(
            urls,
            [
                "https://prow.ci.openshift.org/view/gs/x/1",
                "/releases/4.21.0-okd-scos.ec.0"
            ],
            "{html}"
        );
        assert!(
            elements
                .iter()
                .all(|tag| !tag.starts_with("<a ") || tag.contains("rel=\"noopener noreferrer\"")),
            "{html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("<img src=\"x"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(8)&gt;"),
            "{html}"
        );
    }

    #[test]
    fn a_wide_table_over_short_rows_is_not_padded_out() {
        // 4 kB of Markdown was 2.3 MB of empty cells, and every such table more of them
        let md = format!(
            "|{}\n|{}\n{}",
            "a|".repeat(500),
            "-|".repeat(500),
            "x\n".repeat(500)
        );
        let html = to_html(&md);
        let html = html.as_str();
        assert!(html.len() < 8 * md.len(), "{} -> {}", md.len(), html.len());
        assert!(!html.contains("<td>"), "{html:.200}");
        // an escaped backslash does not escape the separator after it
        let md = format!(
            "|{}\n|{}\n{}",
            "\\\\|".repeat(500),
            "-|".repeat(500),
            "x\n".repeat(500)
        );
        assert!(to_html(&md).as_str().len() < 8 * md.len());
        // the notes' own tables, with a gate name full of escaped pipes, stay tables
        let html = to_html(&format!(
            "| Job | Kind | State |\n|---|---|---|\n| {} | blocking | ok |\n",
            cell(&"|".repeat(40))
        ));
        let html = html.as_str();
        assert!(html.contains("<td>blocking</td>"), "{html}");
    }

    #[test]
    fn upstream_text_and_urls_make_no_markdown_links() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(
            cell("[x](javascript:alert(1)) <script>`y`"),
            "\\[x\\](javascript:alert(1)) \\<script\\>\\`y\\`"
        );
        assert_eq!(link("Failed", "javascript:alert(1)"), "Failed");
        assert_eq!(link("Failed", "data:text/html,x"), "Failed");
        assert_eq!(
            link("Failed", "https://prow.example/a)[x](javascript:alert(1)"),
            "[Failed](https://prow.example/a%29[x]%28javascript:alert%281%29)"
        );
        let html = to_html(&format!(
            "| {} | {} |\n|---|---|\n| x | y |\n",
            cell("[click](javascript:alert(1))"),
            link("Failed", "https://prow.example/a)[x](javascript:alert(1)")
        ));
        assert!(
            !html.as_str().contains("href=\"javascript"),
            "{}",
            html.as_str()
        );
        assert_eq!(short("0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}

#[cfg(test)]
mod properties;
