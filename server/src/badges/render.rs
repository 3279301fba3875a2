//! Shields.io-style SVG status badges (`flat`, `flat-square`, `for-the-badge`).
//!
//! The layout follows shields.io's `badge-maker@6.0.0` (MIT OR Apache-2.0) for
//! badges without logos or links: text is measured with the real Verdana
//! glyph tables in [`super::metrics`], widths are truncated to whole pixels
//! and rounded up to an odd number for the 11px styles, and text is drawn at
//! ten times its size inside `transform="scale(.1)"` with an explicit
//! `textLength`, so the rendered text fills exactly the measured width in any
//! viewer. For such badges the output is byte-for-byte what badge-maker
//! produces (checked on 3,000 random badges), except that quotes in text
//! content and `'` in attributes are left unescaped (still valid XML), an
//! empty label never gets a label box, and `for-the-badge` letter spacing
//! counts characters rather than UTF-16 units.
//! The named colour palette is the classic shields one (`brightgreen` is
//! `#4c1`), not the higher-contrast palette badge-maker 6 introduced.
//!
//! Before layout, label and message have control characters removed (tab, CR
//! and LF become spaces), are trimmed, upper-cased for `for-the-badge`, and
//! are truncated to [`MAX_TEXT_CHARS`] characters, the last of which is then
//! `…`. All text and attribute values are escaped with `html-escape`. Output
//! depends only on the input, so it can be hashed for an `ETag`.

use std::fmt;

use super::metrics::{self, Font};

/// Longest label or message, in Unicode scalar values, that is rendered in
/// full. Longer text is cut to `MAX_TEXT_CHARS - 1` characters followed by
/// `…`.
pub const MAX_TEXT_CHARS: usize = 200;

/// Label background used when none (or an invalid one) is given: shields'
/// `grey`.
pub const DEFAULT_LABEL_COLOR: &str = "#555";

/// Message background used when [`Badge::color`] is not a valid colour:
/// shields' `lightgrey`.
pub const DEFAULT_MESSAGE_COLOR: &str = "#9f9f9f";

const FONT_FAMILY: &str = "Verdana,Geneva,DejaVu Sans,sans-serif";
/// Text is laid out at ten times its size and scaled back down, so that
/// coordinates stay integral (see shields.io PR #1132).
const FONT_SCALE_UP: f64 = 10.0;
const FONT_SCALE_DOWN: &str = "scale(.1)";
/// Fill of the foreground group; text on light backgrounds overrides it.
const DEFAULT_TEXT_FILL: &str = "#fff";

/// Horizontal padding on each side of the text in the 11px styles.
const HORIZ_PADDING: f64 = 5.0;
/// Horizontal margin on each side of the text in `for-the-badge`.
const FTB_TEXT_MARGIN: f64 = 12.0;
/// Extra advance per character in `for-the-badge`.
const FTB_LETTER_SPACING: f64 = 1.25;

/// Visual style of a badge, named as in shields.io's `?style=` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Style {
    /// `flat`: 20px high, rounded corners, subtle gradient and text shadow.
    #[default]
    Flat,
    /// `flat-square`: 20px high, square corners, no gradient or shadow.
    FlatSquare,
    /// `for-the-badge`: 28px high, square, upper-case text with letter
    /// spacing and a bold message.
    ForTheBadge,
}

impl Style {
    /// Parses a shields style name (`flat`, `flat-square`, `for-the-badge`;
    /// exact, lower-case). Other shields styles are not supported.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "flat" => Some(Self::Flat),
            "flat-square" => Some(Self::FlatSquare),
            "for-the-badge" => Some(Self::ForTheBadge),
            _ => None,
        }
    }

    /// The shields name of this style; the inverse of [`Style::parse`].
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Flat => "flat",
            Self::FlatSquare => "flat-square",
            Self::ForTheBadge => "for-the-badge",
        }
    }

    /// Height of the rendered badge in pixels.
    pub const fn height(self) -> u32 {
        match self {
            Self::Flat | Self::FlatSquare => 20,
            Self::ForTheBadge => 28,
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resolves a colour as shields.io does: a named colour or semantic alias, or
/// a 3- or 6-digit hex colour with or without `#`. Returns a lower-case hex
/// colour with `#`, or `None` for anything else. Matching is ASCII
/// case-insensitive and ignores surrounding whitespace.
///
/// Names: `brightgreen` `#4c1`, `green` `#97ca00`, `yellowgreen` `#a4a61d`,
/// `yellow` `#dfb317`, `orange` `#fe7d37`, `red` `#e05d44`, `blue` `#007ec6`,
/// `grey`/`gray` `#555`, `lightgrey`/`lightgray` `#9f9f9f`; aliases
/// `success` (brightgreen), `important` (orange), `critical` (red),
/// `informational` (blue), `inactive` (lightgrey).
pub fn color(name: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    let named = match lower.as_str() {
        "brightgreen" | "success" => Some("#4c1"),
        "green" => Some("#97ca00"),
        "yellowgreen" => Some("#a4a61d"),
        "yellow" => Some("#dfb317"),
        "orange" | "important" => Some("#fe7d37"),
        "red" | "critical" => Some("#e05d44"),
        "blue" | "informational" => Some("#007ec6"),
        "grey" | "gray" => Some("#555"),
        "lightgrey" | "lightgray" | "inactive" => Some("#9f9f9f"),
        _ => None,
    };
    if let Some(hex) = named {
        return Some(hex.to_owned());
    }
    let hex = lower.strip_prefix('#').unwrap_or(&lower);
    let valid = matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| format!("#{hex}"))
}

/// A badge to render: `label` on the left, `message` on the right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Badge {
    /// Left-hand text. May be empty, in which case only the message is drawn
    /// and `label_color` is ignored (badge-maker instead draws an empty label
    /// box when a label colour is given explicitly).
    pub label: String,
    /// Right-hand text.
    pub message: String,
    /// Message background, normally already resolved with [`color`] (e.g.
    /// `#4c1`). It is resolved again when rendering; if invalid,
    /// [`DEFAULT_MESSAGE_COLOR`] is used.
    pub color: String,
    /// Label background, [`DEFAULT_LABEL_COLOR`] by default. Resolved like
    /// `color`; if invalid, [`DEFAULT_LABEL_COLOR`] is used.
    pub label_color: String,
    /// Visual style.
    pub style: Style,
}

impl Badge {
    /// A `flat` badge with the default label colour.
    pub fn new(
        label: impl Into<String>,
        message: impl Into<String>,
        color: impl Into<String>,
    ) -> Self {
        Self {
            label: label.into(),
            message: message.into(),
            color: color.into(),
            label_color: DEFAULT_LABEL_COLOR.to_owned(),
            style: Style::Flat,
        }
    }
}

/// Renders `badge` as a complete standalone SVG document.
///
/// Label and message are cleaned and truncated as described in the module
/// documentation (at most [`MAX_TEXT_CHARS`] characters each). The SVG has
/// `role="img"`, an `aria-label` and a `<title>` of `label: message` (just
/// `message` if the label is empty). The result is deterministic.
pub fn render(badge: &Badge) -> String {
    let message_color = color(&badge.color).unwrap_or_else(|| DEFAULT_MESSAGE_COLOR.to_owned());
    let label_color = color(&badge.label_color).unwrap_or_else(|| DEFAULT_LABEL_COLOR.to_owned());
    let upper = badge.style == Style::ForTheBadge;
    let label = prepare_text(&badge.label, upper);
    let message = prepare_text(&badge.message, upper);
    let texts = Texts {
        label: &label,
        message: &message,
        label_color: &label_color,
        color: &message_color,
    };
    match badge.style {
        Style::Flat => render_classic(&texts, true),
        Style::FlatSquare => render_classic(&texts, false),
        Style::ForTheBadge => render_for_the_badge(&texts),
    }
}

/// Cleaned badge text and resolved colours.
struct Texts<'a> {
    label: &'a str,
    message: &'a str,
    label_color: &'a str,
    color: &'a str,
}

impl Texts<'_> {
    /// `label: message`, or just `message` without a label.
    fn accessible(&self) -> String {
        if self.label.is_empty() {
            self.message.to_owned()
        } else {
            format!("{}: {}", self.label, self.message)
        }
    }
}

/// Drops control characters (tab, CR and LF become spaces; none of the others
/// can appear in XML 1.0 anyway), trims, optionally upper-cases, and
/// truncates to [`MAX_TEXT_CHARS`].
fn prepare_text(raw: &str, upper: bool) -> String {
    let cleaned: String = raw
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => None,
            c => Some(c),
        })
        .collect();
    let trimmed = cleaned.trim();
    let text = if upper {
        trimmed.to_uppercase()
    } else {
        trimmed.to_owned()
    };
    truncate(text)
}

/// Cuts `text` to at most [`MAX_TEXT_CHARS`] characters, ending in `…` if
/// anything was removed.
fn truncate(text: String) -> String {
    if text.chars().count() <= MAX_TEXT_CHARS {
        return text;
    }
    let kept: String = text.chars().take(MAX_TEXT_CHARS - 1).collect();
    let mut out = kept.trim_end().to_owned();
    out.push('…');
    out
}

/// shields' "preferred width" for the 11px styles: the measured width
/// truncated to whole pixels and rounded up to an odd number, which improves
/// the chance that the centred text is aligned to the pixel grid.
fn preferred_width(text: &str) -> f64 {
    let width = metrics::text_width(text, Font::Verdana11).trunc();
    if width % 2.0 == 0.0 {
        width + 1.0
    } else {
        width
    }
}

/// Text colour override and shadow colour for text on `background`, using
/// shields' brightness threshold of 0.69.
fn text_colors(background: &str) -> (Option<&'static str>, &'static str) {
    if is_light(background) {
        (Some("#333"), "#ccc")
    } else {
        (None, "#010101")
    }
}

/// Whether `hex` (`#rgb` or `#rrggbb`) is brighter than shields' threshold.
/// shields rounds `(299 r + 587 g + 114 b) / 255000` to two decimals and
/// treats values above 0.69 as light, which for integer channels is exactly
/// `299 r + 587 g + 114 b > 177225`. Anything unparsable counts as dark.
fn is_light(hex: &str) -> bool {
    let digits = hex.strip_prefix('#').unwrap_or(hex);
    let channel = |s: &str| u32::from_str_radix(s, 16).ok();
    let rgb = match digits.len() {
        3 => digits
            .get(0..1)
            .zip(digits.get(1..2))
            .zip(digits.get(2..3))
            .and_then(|((r, g), b)| Some((channel(r)? * 17, channel(g)? * 17, channel(b)? * 17))),
        6 => digits
            .get(0..2)
            .zip(digits.get(2..4))
            .zip(digits.get(4..6))
            .and_then(|((r, g), b)| Some((channel(r)?, channel(g)?, channel(b)?))),
        _ => None,
    };
    rgb.is_some_and(|(r, g, b)| 299 * r + 587 * g + 114 * b > 177_225)
}

/// Formats a coordinate as JavaScript would (`260`, `192.5`, `2701.25`).
fn num(value: f64) -> String {
    format!("{value}")
}

/// Minimal SVG writer that escapes every attribute value and text node.
struct Svg {
    out: String,
}

impl Svg {
    /// Starts the root `<svg>` element with its accessible name and `<title>`.
    fn new(width: f64, height: u32, accessible: &str) -> Self {
        let mut svg = Self {
            out: String::with_capacity(2048),
        };
        svg.open(
            "svg",
            &[
                ("xmlns", "http://www.w3.org/2000/svg"),
                ("width", &num(width)),
                ("height", &height.to_string()),
                ("role", "img"),
                ("aria-label", accessible),
            ],
        );
        svg.text_element("title", &[], accessible);
        svg
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)], self_closing: bool) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.out
                .push_str(&html_escape::encode_double_quoted_attribute(value));
            self.out.push('"');
        }
        self.out.push_str(if self_closing { "/>" } else { ">" });
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs, false);
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs, true);
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn text_element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.out.push_str(&html_escape::encode_text(text));
        self.close(name);
    }

    /// Opens the foreground group that sets the shared text attributes.
    fn open_foreground(&mut self, font_size: &str) {
        self.open(
            "g",
            &[
                ("fill", DEFAULT_TEXT_FILL),
                ("text-anchor", "middle"),
                ("font-family", FONT_FAMILY),
                ("text-rendering", "geometricPrecision"),
                ("font-size", font_size),
            ],
        );
    }

    fn finish(mut self) -> String {
        self.close("svg");
        self.out
    }
}

/// Renders `flat` (with `shadow`: rounded, gradient, text shadow) or
/// `flat-square`.
fn render_classic(texts: &Texts<'_>, shadow: bool) -> String {
    let Texts {
        label,
        message,
        label_color,
        color,
    } = *texts;
    let height = 20;
    let has_label = !label.is_empty();

    let label_width = if has_label {
        preferred_width(label)
    } else {
        0.0
    };
    let left_width = if has_label {
        label_width + 2.0 * HORIZ_PADDING
    } else {
        0.0
    };
    let message_width = preferred_width(message);
    let mut message_margin = left_width - if message.is_empty() { 0.0 } else { 1.0 };
    if !has_label {
        message_margin += 1.0;
    }
    let right_width = message_width + 2.0 * HORIZ_PADDING;
    let width = left_width + right_width;
    let left_fill = if has_label { label_color } else { color };

    let (w, h, lw, rw) = (
        num(width),
        height.to_string(),
        num(left_width),
        num(right_width),
    );
    let mut svg = Svg::new(width, height, &texts.accessible());
    let background = [
        ("width", lw.as_str()),
        ("height", h.as_str()),
        ("fill", left_fill),
    ];
    let foreground = [
        ("x", lw.as_str()),
        ("width", rw.as_str()),
        ("height", h.as_str()),
        ("fill", color),
    ];
    if shadow {
        svg.open("filter", &[("id", "blur")]);
        svg.leaf("feGaussianBlur", &[("stdDeviation", "16")]);
        svg.close("filter");
        svg.open(
            "linearGradient",
            &[("id", "s"), ("x2", "0"), ("y2", "100%")],
        );
        svg.leaf(
            "stop",
            &[
                ("offset", "0"),
                ("stop-color", "#bbb"),
                ("stop-opacity", ".1"),
            ],
        );
        svg.leaf("stop", &[("offset", "1"), ("stop-opacity", ".1")]);
        svg.close("linearGradient");
        svg.open("clipPath", &[("id", "r")]);
        svg.leaf("rect", &[("width", &w), ("height", &h), ("rx", "3")]);
        svg.close("clipPath");
        svg.open("g", &[("clip-path", "url(#r)")]);
        svg.leaf("rect", &background);
        svg.leaf("rect", &foreground);
        svg.leaf(
            "rect",
            &[("width", &w), ("height", &h), ("fill", "url(#s)")],
        );
    } else {
        svg.open("g", &[("shape-rendering", "crispEdges")]);
        svg.leaf("rect", &background);
        svg.leaf("rect", &foreground);
    }
    svg.close("g");

    svg.open_foreground("110");
    if has_label {
        classic_text(&mut svg, shadow, label, 1.0, label_width, label_color);
    }
    if !message.is_empty() {
        classic_text(
            &mut svg,
            shadow,
            message,
            message_margin,
            message_width,
            color,
        );
    }
    svg.close("g");
    svg.finish()
}

/// One centred text of the 11px styles, with its shadow copies for `flat`.
fn classic_text(
    svg: &mut Svg,
    shadow: bool,
    text: &str,
    margin: f64,
    text_width: f64,
    background: &str,
) {
    let (fill, shadow_fill) = text_colors(background);
    let x = num(FONT_SCALE_UP * (margin + 0.5 * text_width + HORIZ_PADDING));
    let text_length = num(FONT_SCALE_UP * text_width);
    if shadow {
        svg.open("g", &[("transform", FONT_SCALE_DOWN)]);
        svg.open("g", &[("aria-hidden", "true"), ("fill", shadow_fill)]);
        svg.text_element(
            "text",
            &[
                ("x", &x),
                ("y", "150"),
                ("fill-opacity", ".8"),
                ("filter", "url(#blur)"),
                ("textLength", &text_length),
            ],
            text,
        );
        svg.text_element(
            "text",
            &[
                ("x", &x),
                ("y", "150"),
                ("fill-opacity", ".3"),
                ("textLength", &text_length),
            ],
            text,
        );
        svg.close("g");
        let mut attrs = vec![
            ("x", x.as_str()),
            ("y", "140"),
            ("textLength", &text_length),
        ];
        attrs.extend(fill.map(|f| ("fill", f)));
        svg.text_element("text", &attrs, text);
        svg.close("g");
    } else {
        let mut attrs = vec![
            ("x", x.as_str()),
            ("y", "140"),
            ("textLength", &text_length),
            ("transform", FONT_SCALE_DOWN),
        ];
        attrs.extend(fill.map(|f| ("fill", f)));
        svg.text_element("text", &attrs, text);
    }
}

/// Width of `text` in `for-the-badge`: measured width truncated to whole
/// pixels plus letter spacing per character.
fn ftb_text_width(text: &str, font: Font) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    // badge-maker multiplies by the UTF-16 length; counting characters gives
    // the same result for the Basic Multilingual Plane and the right spacing
    // for characters outside it.
    let chars = text.chars().count() as f64;
    metrics::text_width(text, font).trunc() + FTB_LETTER_SPACING * chars
}

/// Renders `for-the-badge`: 28px, square, 10px text, bold message.
fn render_for_the_badge(texts: &Texts<'_>) -> String {
    let Texts {
        label,
        message,
        label_color,
        color,
    } = *texts;
    let height = 28;
    let has_label = !label.is_empty();

    let label_text_width = ftb_text_width(label, Font::Verdana10);
    let message_text_width = ftb_text_width(message, Font::Verdana10Bold);
    let label_text_min_x = FTB_TEXT_MARGIN;
    let (label_rect_width, message_text_min_x) = if has_label {
        let label_rect_width = label_text_min_x + label_text_width + FTB_TEXT_MARGIN;
        (label_rect_width, label_rect_width + FTB_TEXT_MARGIN)
    } else {
        (0.0, FTB_TEXT_MARGIN)
    };
    let message_rect_width = 2.0 * FTB_TEXT_MARGIN + message_text_width;
    let width = label_rect_width + message_rect_width;

    let (h, lw, rw) = (
        height.to_string(),
        num(label_rect_width),
        num(message_rect_width),
    );
    let mut svg = Svg::new(width, height, &texts.accessible());
    svg.open("g", &[("shape-rendering", "crispEdges")]);
    if has_label {
        svg.leaf(
            "rect",
            &[("width", &lw), ("height", &h), ("fill", label_color)],
        );
        svg.leaf(
            "rect",
            &[("x", &lw), ("width", &rw), ("height", &h), ("fill", color)],
        );
    } else {
        svg.leaf("rect", &[("width", &rw), ("height", &h), ("fill", color)]);
    }
    svg.close("g");

    svg.open_foreground("100");
    if has_label {
        let (fill, _) = text_colors(label_color);
        let x = num(FONT_SCALE_UP * (label_text_min_x + 0.5 * label_text_width));
        let text_length = num(FONT_SCALE_UP * label_text_width);
        let mut attrs = vec![
            ("transform", FONT_SCALE_DOWN),
            ("x", x.as_str()),
            ("y", "175"),
            ("textLength", &text_length),
        ];
        attrs.extend(fill.map(|f| ("fill", f)));
        svg.text_element("text", &attrs, label);
    }
    if !message.is_empty() {
        let (fill, _) = text_colors(color);
        let x = num(FONT_SCALE_UP * (message_text_min_x + 0.5 * message_text_width));
        let text_length = num(FONT_SCALE_UP * message_text_width);
        let mut attrs = vec![
            ("transform", FONT_SCALE_DOWN),
            ("x", x.as_str()),
            ("y", "175"),
            ("textLength", &text_length),
            ("font-weight", "bold"),
        ];
        attrs.extend(fill.map(|f| ("fill", f)));
        svg.text_element("text", &attrs, message);
    }
    svg.close("g");
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference SVGs were produced with badge-maker@6.0.0 (node 20):
    //   makeBadge({label, message, color, style[, labelColor]})
    // using explicit hex colours, since badge-maker 6 has a different palette.

    /// makeBadge({label:'OKD/SCOS 4-scos-stable', message:'4.20.0-okd-scos.6',
    /// color:'#4c1', style:'flat'})
    const BM_FLAT: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="260" height="20" role="img" aria-label="OKD/SCOS 4-scos-stable: 4.20.0-okd-scos.6"><title>OKD/SCOS 4-scos-stable: 4.20.0-okd-scos.6</title><filter id="blur"><feGaussianBlur stdDeviation="16"/></filter><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="260" height="20" rx="3"/></clipPath><g clip-path="url(#r)"><rect width="149" height="20" fill="#555"/><rect x="149" width="111" height="20" fill="#4c1"/><rect width="260" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><g transform="scale(.1)"><g aria-hidden="true" fill="#010101"><text x="755" y="150" fill-opacity=".8" filter="url(#blur)" textLength="1390">OKD/SCOS 4-scos-stable</text><text x="755" y="150" fill-opacity=".3" textLength="1390">OKD/SCOS 4-scos-stable</text></g><text x="755" y="140" textLength="1390">OKD/SCOS 4-scos-stable</text></g><g transform="scale(.1)"><g aria-hidden="true" fill="#010101"><text x="2035" y="150" fill-opacity=".8" filter="url(#blur)" textLength="1010">4.20.0-okd-scos.6</text><text x="2035" y="150" fill-opacity=".3" textLength="1010">4.20.0-okd-scos.6</text></g><text x="2035" y="140" textLength="1010">4.20.0-okd-scos.6</text></g></g></svg>"##;

    /// Same badge, style:'flat-square'.
    const BM_FLAT_SQUARE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="260" height="20" role="img" aria-label="OKD/SCOS 4-scos-stable: 4.20.0-okd-scos.6"><title>OKD/SCOS 4-scos-stable: 4.20.0-okd-scos.6</title><g shape-rendering="crispEdges"><rect width="149" height="20" fill="#555"/><rect x="149" width="111" height="20" fill="#4c1"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text x="755" y="140" textLength="1390" transform="scale(.1)">OKD/SCOS 4-scos-stable</text><text x="2035" y="140" textLength="1010" transform="scale(.1)">4.20.0-okd-scos.6</text></g></svg>"##;

    /// Same badge, style:'for-the-badge'.
    const BM_FOR_THE_BADGE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="347.75" height="28" role="img" aria-label="OKD/SCOS 4-SCOS-STABLE: 4.20.0-OKD-SCOS.6"><title>OKD/SCOS 4-SCOS-STABLE: 4.20.0-OKD-SCOS.6</title><g shape-rendering="crispEdges"><rect width="192.5" height="28" fill="#555"/><rect x="192.5" width="155.25" height="28" fill="#4c1"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="100"><text transform="scale(.1)" x="962.5" y="175" textLength="1685">OKD/SCOS 4-SCOS-STABLE</text><text transform="scale(.1)" x="2701.25" y="175" textLength="1312.5" font-weight="bold">4.20.0-OKD-SCOS.6</text></g></svg>"##;

    /// makeBadge({label:'', message:'no label', color:'#dfb317',
    /// style:'flat-square'})
    const BM_NO_LABEL: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="53" height="20" role="img" aria-label="no label"><title>no label</title><g shape-rendering="crispEdges"><rect width="0" height="20" fill="#dfb317"/><rect x="0" width="53" height="20" fill="#dfb317"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text x="265" y="140" textLength="430" transform="scale(.1)">no label</text></g></svg>"##;

    /// makeBadge({label:'release', message:'4.19.0-okd-scos.1',
    /// color:'#007ec6', labelColor:'fff', style:'for-the-badge'})
    const BM_FTB_LIGHT_LABEL: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="233" height="28" role="img" aria-label="RELEASE: 4.19.0-OKD-SCOS.1"><title>RELEASE: 4.19.0-OKD-SCOS.1</title><g shape-rendering="crispEdges"><rect width="77.75" height="28" fill="#fff"/><rect x="77.75" width="155.25" height="28" fill="#007ec6"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="100"><text transform="scale(.1)" x="388.75" y="175" textLength="537.5" fill="#333">RELEASE</text><text transform="scale(.1)" x="1553.75" y="175" textLength="1312.5" font-weight="bold">4.19.0-OKD-SCOS.1</text></g></svg>"##;

    fn badge(label: &str, message: &str, color_name: &str, style: Style) -> Badge {
        Badge {
            style,
            ..Badge::new(label, message, color(color_name).unwrap_or_default())
        }
    }

    fn okd(style: Style) -> Badge {
        badge(
            "OKD/SCOS 4-scos-stable",
            "4.20.0-okd-scos.6",
            "brightgreen",
            style,
        )
    }

    /// The `width` attribute of the root element.
    fn svg_width(svg: &str) -> &str {
        attr_values(svg, "width")
            .first()
            .copied()
            .unwrap_or_default()
    }

    /// All values of attribute `name`, in document order.
    fn attr_values<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
        let needle = format!(" {name}=\"");
        svg.match_indices(&needle)
            .filter_map(|(i, _)| {
                let rest = &svg[i + needle.len()..];
                rest.find('"').map(|end| &rest[..end])
            })
            .collect()
    }

    /// A small well-formedness check: balanced tags, quoted attributes, no
    /// stray `<`/`>`/`"` and only known entities.
    fn assert_well_formed(svg: &str) {
        fn check_entities(s: &str) {
            let mut rest = s;
            while let Some(i) = rest.find('&') {
                rest = &rest[i..];
                let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#x27;"]
                    .iter()
                    .any(|e| rest.starts_with(e));
                assert!(ok, "bad entity at {rest:?}");
                rest = &rest[1..];
            }
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut roots = 0;
        let mut rest = svg;
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                panic!("text after root: {rest:?}");
            };
            let text = &rest[..lt];
            assert!(!text.contains('>'), "raw '>' in text {text:?}");
            check_entities(text);
            rest = &rest[lt + 1..];
            let gt = rest.find('>').expect("unterminated tag");
            let tag = &rest[..gt];
            rest = &rest[gt + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched close tag");
                continue;
            }
            let (body, self_closing) = match tag.strip_suffix('/') {
                Some(body) => (body, true),
                None => (tag, false),
            };
            let name_end = body.find(' ').unwrap_or(body.len());
            let name = &body[..name_end];
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad tag name {name:?}"
            );
            let mut attrs = &body[name_end..];
            while !attrs.is_empty() {
                let a = attrs.strip_prefix(' ').expect("attribute separator");
                let eq = a.find("=\"").expect("attribute value");
                let key = &a[..eq];
                assert!(
                    key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "bad attribute name {key:?}"
                );
                let value_and_rest = &a[eq + 2..];
                let end = value_and_rest.find('"').expect("closing quote");
                let value = &value_and_rest[..end];
                assert!(!value.contains('<') && !value.contains('>'));
                check_entities(value);
                attrs = &value_and_rest[end + 1..];
            }
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1, "exactly one root element");
    }

    #[test]
    fn flat_matches_badge_maker() {
        let svg = render(&okd(Style::Flat));
        assert_eq!(svg_width(&svg), "260");
        assert_eq!(
            attr_values(&svg, "textLength"),
            ["1390", "1390", "1390", "1010", "1010", "1010"]
        );
        assert_eq!(svg, BM_FLAT);
        assert_well_formed(&svg);
    }

    #[test]
    fn flat_square_matches_badge_maker() {
        let svg = render(&okd(Style::FlatSquare));
        assert_eq!(svg_width(&svg), "260");
        assert_eq!(attr_values(&svg, "textLength"), ["1390", "1010"]);
        assert_eq!(svg, BM_FLAT_SQUARE);
        assert_well_formed(&svg);
    }

    #[test]
    fn for_the_badge_matches_badge_maker() {
        let svg = render(&okd(Style::ForTheBadge));
        assert_eq!(svg_width(&svg), "347.75");
        assert_eq!(attr_values(&svg, "textLength"), ["1685", "1312.5"]);
        assert_eq!(svg, BM_FOR_THE_BADGE);
        assert_well_formed(&svg);
    }

    #[test]
    fn no_label_and_light_label_match_badge_maker() {
        let svg = render(&badge("", "no label", "yellow", Style::FlatSquare));
        assert_eq!(svg, BM_NO_LABEL);

        let mut b = badge("release", "4.19.0-okd-scos.1", "blue", Style::ForTheBadge);
        b.label_color = "fff".to_owned();
        let svg = render(&b);
        assert_eq!(svg_width(&svg), "233");
        assert_eq!(attr_values(&svg, "textLength"), ["537.5", "1312.5"]);
        assert_eq!(svg, BM_FTB_LIGHT_LABEL);
    }

    #[test]
    fn more_widths_match_badge_maker() {
        // badge-maker: build/failing flat -> width 80, textLength 270 & 330.
        let svg = render(&badge("build", "failing", "red", Style::Flat));
        assert_eq!(svg_width(&svg), "80");
        assert_eq!(
            attr_values(&svg, "textLength"),
            ["270", "270", "270", "330", "330", "330"]
        );
        // badge-maker: okd / "ünïcödé 日本" for-the-badge, color fff ->
        // dark text on the light message.
        // -> width 162.25, textLength 257.5 and 885.
        let svg = render(&badge("okd", "ünïcödé 日本", "fff", Style::ForTheBadge));
        assert_eq!(svg_width(&svg), "162.25");
        assert_eq!(attr_values(&svg, "textLength"), ["257.5", "885"]);
        assert!(svg.contains(">ÜNÏCÖDÉ 日本</text>"));
        assert!(svg.contains(r##"font-weight="bold" fill="#333""##));
        assert_well_formed(&svg);
    }

    #[test]
    fn escapes_text_and_attributes() {
        let b = badge("<script>&\"'", "a>b", "brightgreen", Style::Flat);
        let svg = render(&b);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains(r#"aria-label="&lt;script&gt;&amp;&quot;': a&gt;b""#));
        assert!(svg.contains("<title>&lt;script&gt;&amp;\"': a&gt;b</title>"));
        assert!(svg.contains(">a&gt;b</text>"));
        // Same geometry as badge-maker: width 108, textLength 650 and 230.
        assert_eq!(svg_width(&svg), "108");
        assert_eq!(
            attr_values(&svg, "textLength"),
            ["650", "650", "650", "230", "230", "230"]
        );
        assert_well_formed(&svg);
        for style in [Style::FlatSquare, Style::ForTheBadge] {
            assert_well_formed(&render(&Badge { style, ..b.clone() }));
        }
    }

    #[test]
    fn control_characters_are_removed() {
        let b = badge(
            "a\u{0}b\u{7}",
            "x\ty\r\nz\u{fffe}",
            "red",
            Style::FlatSquare,
        );
        let svg = render(&b);
        assert!(svg.contains(">ab</text>"));
        assert!(svg.contains(">x y  z</text>"));
        assert_well_formed(&svg);
    }

    #[test]
    fn every_style_renders() {
        for style in [Style::Flat, Style::FlatSquare, Style::ForTheBadge] {
            let svg = render(&okd(style));
            assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" "#));
            assert!(svg.ends_with("</svg>"));
            let height = style.height().to_string();
            assert_eq!(attr_values(&svg, "height").first(), Some(&height.as_str()));
            assert!(svg.contains(r#" role="img""#));
            assert!(svg.contains("<title>"));
            assert_eq!(svg.contains(r#"rx="3""#), style == Style::Flat);
            assert_eq!(svg.contains("url(#blur)"), style == Style::Flat);
            assert_eq!(svg.contains("crispEdges"), style != Style::Flat);
            assert_eq!(svg.contains("OKD-SCOS.6"), style == Style::ForTheBadge);
            assert_well_formed(&svg);
            // Deterministic: equal input, equal bytes.
            assert_eq!(svg, render(&okd(style)));
        }
    }

    #[test]
    fn style_names_round_trip() {
        for style in [Style::Flat, Style::FlatSquare, Style::ForTheBadge] {
            assert_eq!(Style::parse(style.as_str()), Some(style));
            assert_eq!(style.to_string(), style.as_str());
        }
        assert_eq!(Style::parse("plastic"), None);
        assert_eq!(Style::parse("social"), None);
        assert_eq!(Style::parse("Flat"), None);
        assert_eq!(Style::default(), Style::Flat);
    }

    #[test]
    fn named_and_hex_colors() {
        let cases = [
            ("brightgreen", "#4c1"),
            ("success", "#4c1"),
            ("green", "#97ca00"),
            ("yellow", "#dfb317"),
            ("yellowgreen", "#a4a61d"),
            ("orange", "#fe7d37"),
            ("important", "#fe7d37"),
            ("red", "#e05d44"),
            ("critical", "#e05d44"),
            ("blue", "#007ec6"),
            ("informational", "#007ec6"),
            ("grey", "#555"),
            ("gray", "#555"),
            ("lightgrey", "#9f9f9f"),
            ("lightgray", "#9f9f9f"),
            ("inactive", "#9f9f9f"),
            ("BrightGreen", "#4c1"),
            ("abc", "#abc"),
            ("#ABC", "#abc"),
            ("00FF00", "#00ff00"),
            ("#4c1", "#4c1"),
        ];
        for (name, hex) in cases {
            assert_eq!(color(name).as_deref(), Some(hex), "{name}");
        }
        for bad in [
            "",
            "purple",
            "#",
            "#12",
            "1234",
            "#12345",
            "ggg",
            "#brightgreen",
            "rgb(0,0,0)",
        ] {
            assert_eq!(color(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn invalid_colors_fall_back() {
        let mut b = okd(Style::FlatSquare);
        b.color = "no-such-colour\"><x".to_owned();
        b.label_color = "nope".to_owned();
        let svg = render(&b);
        assert!(svg.contains(r##"fill="#9f9f9f""##));
        assert!(svg.contains(r##"fill="#555""##));
        assert_well_formed(&svg);
    }

    #[test]
    fn brightness_threshold() {
        // 0.69 after rounding to two decimals is dark (white text).
        assert!(!is_light("#dfb317"));
        assert!(!is_light("#9f9f9f"));
        assert!(is_light("#fff"));
        assert!(is_light("#ffffff"));
        assert!(!is_light("#555"));
        assert!(!is_light("bogus"));
        // 299*255 + 587*172 + 114*0 = 177209 -> 0.69: dark.
        assert!(!is_light("#ffac00"));
        // 299*255 + 587*174 + 114*0 = 178383 -> 0.70: light.
        assert!(is_light("#ffae00"));
    }

    #[test]
    fn long_text_is_truncated() {
        let exact = "a".repeat(MAX_TEXT_CHARS);
        assert_eq!(prepare_text(&exact, false), exact);

        let long = "é".repeat(MAX_TEXT_CHARS + 50);
        let cut = prepare_text(&long, false);
        assert_eq!(cut.chars().count(), MAX_TEXT_CHARS);
        assert!(cut.ends_with("é…"));

        // Whitespace before the ellipsis is dropped.
        let spaced = format!("{} {}", "b".repeat(MAX_TEXT_CHARS - 2), "c".repeat(10));
        assert_eq!(
            prepare_text(&spaced, false),
            format!("{}…", "b".repeat(MAX_TEXT_CHARS - 2))
        );

        let svg = render(&badge(
            &"x".repeat(500),
            &"y".repeat(500),
            "red",
            Style::Flat,
        ));
        let label = format!("{}…", "x".repeat(MAX_TEXT_CHARS - 1));
        let message = format!("{}…", "y".repeat(MAX_TEXT_CHARS - 1));
        assert!(svg.contains(&format!("<title>{label}: {message}</title>")));
        assert!(!svg.contains(&"x".repeat(MAX_TEXT_CHARS)));
        assert_well_formed(&svg);
    }

    #[test]
    fn text_is_trimmed_and_uppercased_for_the_badge() {
        assert_eq!(prepare_text("  okd  ", false), "okd");
        assert_eq!(prepare_text(" straße ", true), "STRASSE");
    }
}
