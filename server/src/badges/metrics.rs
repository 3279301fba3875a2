//! Text-width metrics for badge layout, using the real Verdana glyph advances
//! that shields.io measures with.
//!
//! The tables in `server/data/verdana-*.json` are copied byte-for-byte from the
//! npm package `anafanafo@2.0.0` (MIT, see `server/data/LICENSE-anafanafo`).
//! Each is a JSON array of `[first_codepoint, last_codepoint, width_px]`
//! ranges, sorted and non-overlapping. Widths follow anafanafo's rules: ASCII
//! control characters (U+0000–U+001F, U+007F) are zero-width, and a character
//! missing from the table is measured as the letter `m` of the same font.
//! Widths are summed left to right in `f64`, exactly as anafanafo does, so the
//! results (including their floating-point noise, which matters when callers
//! truncate them) are identical to what shields.io computes.
//!
//! The tables are embedded with `include_str!` and parsed once on first use. If
//! a table ever failed to parse or validate, measuring does not panic: every
//! printable character is given a rough average width instead, and
//! [`metrics_available`] reports `false` for that font.

use std::sync::LazyLock;

/// A font face and size for which glyph-width tables are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Font {
    /// Verdana, 11px, normal weight: the font of the `flat` and `flat-square`
    /// badge styles.
    Verdana11,
    /// Verdana, 10px, normal weight: the label font of the `for-the-badge`
    /// style.
    Verdana10,
    /// Verdana, 10px, bold: the message font of the `for-the-badge` style.
    Verdana10Bold,
}

/// Raw glyph-width table for Verdana 11px normal.
const VERDANA_11_JSON: &str = include_str!("../../data/verdana-11px-normal.json");
/// Raw glyph-width table for Verdana 10px normal.
const VERDANA_10_JSON: &str = include_str!("../../data/verdana-10px-normal.json");
/// Raw glyph-width table for Verdana 10px bold.
const VERDANA_10_BOLD_JSON: &str = include_str!("../../data/verdana-10px-bold.json");

static VERDANA_11: LazyLock<WidthTable> = LazyLock::new(|| WidthTable::load(VERDANA_11_JSON, 6.5));
static VERDANA_10: LazyLock<WidthTable> = LazyLock::new(|| WidthTable::load(VERDANA_10_JSON, 6.0));
static VERDANA_10_BOLD: LazyLock<WidthTable> =
    LazyLock::new(|| WidthTable::load(VERDANA_10_BOLD_JSON, 7.0));

/// A parsed glyph-width table.
#[derive(Debug)]
struct WidthTable {
    /// Sorted, non-overlapping `(first, last, width)` code point ranges.
    ranges: Vec<(u32, u32, f64)>,
    /// Width used for characters not covered by `ranges`.
    unknown_width: f64,
    /// Whether `ranges` came from a successfully parsed table.
    loaded: bool,
}

impl WidthTable {
    /// Parses `json`; on failure returns an empty table that measures every
    /// printable character as `fallback_width`.
    fn load(json: &str, fallback_width: f64) -> Self {
        match parse_ranges(json) {
            Some(ranges) => {
                let mut table = Self {
                    ranges,
                    unknown_width: fallback_width,
                    loaded: true,
                };
                // anafanafo (char-width-table-consumer) guesses unknown
                // characters as the width of "m".
                if let Some(m) = table.lookup(u32::from('m')) {
                    table.unknown_width = m;
                }
                table
            }
            None => Self {
                ranges: Vec::new(),
                unknown_width: fallback_width,
                loaded: false,
            },
        }
    }

    /// Binary-searches the range containing `code_point`.
    fn lookup(&self, code_point: u32) -> Option<f64> {
        let idx = self
            .ranges
            .partition_point(|&(first, _, _)| first <= code_point);
        let &(_, last, width) = self.ranges.get(idx.checked_sub(1)?)?;
        (code_point <= last).then_some(width)
    }

    /// Width of one character in pixels.
    fn char_width(&self, c: char) -> f64 {
        let code_point = u32::from(c);
        if code_point <= 31 || code_point == 127 {
            0.0
        } else {
            self.lookup(code_point).unwrap_or(self.unknown_width)
        }
    }
}

/// Parses and validates a `[[first, last, width], …]` table.
fn parse_ranges(json: &str) -> Option<Vec<(u32, u32, f64)>> {
    let ranges: Vec<(u32, u32, f64)> = serde_json::from_str(json).ok()?;
    let well_formed = !ranges.is_empty()
        && ranges
            .iter()
            .all(|&(first, last, width)| first <= last && width.is_finite() && width >= 0.0)
        && ranges.windows(2).all(|pair| pair[0].1 < pair[1].0);
    well_formed.then_some(ranges)
}

/// Returns the parsed table for `font`.
fn table(font: Font) -> &'static WidthTable {
    match font {
        Font::Verdana11 => &VERDANA_11,
        Font::Verdana10 => &VERDANA_10,
        Font::Verdana10Bold => &VERDANA_10_BOLD,
    }
}

/// Width in pixels of `text` set in `font`, as shields.io (anafanafo) measures
/// it: the sum of per-character advances, without kerning.
///
/// Characters are Unicode scalar values; control characters count as zero and
/// characters missing from the table count as the width of `m`.
pub fn text_width(text: &str, font: Font) -> f64 {
    let table = table(font);
    text.chars().fold(0.0, |sum, c| sum + table.char_width(c))
}

/// Whether the embedded glyph table for `font` parsed correctly. When this is
/// `false`, [`text_width`] uses a rough per-character average instead.
pub fn metrics_available(font: Font) -> bool {
    table(font).loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `text_width` against a value computed by
    /// `anafanafo@2.0.0` in node.
    fn assert_width(text: &str, font: Font, expected: f64) {
        let got = text_width(text, font);
        assert!(
            (got - expected).abs() < 0.01,
            "{text:?} in {font:?}: got {got}, anafanafo says {expected}"
        );
    }

    #[test]
    fn all_tables_load() {
        for font in [Font::Verdana11, Font::Verdana10, Font::Verdana10Bold] {
            assert!(metrics_available(font), "{font:?} table failed to load");
        }
    }

    #[test]
    fn widths_match_anafanafo_verdana_11() {
        // node -e "console.log(require('anafanafo')(TEXT, {font: '11px Verdana'}))"
        assert_width("OKD/SCOS 4-scos-stable", Font::Verdana11, 138.96);
        assert_width("4.20.0-okd-scos.6", Font::Verdana11, 100.86);
        assert_width("release", Font::Verdana11, 39.70);
        assert_width("m", Font::Verdana11, 10.7);
        assert_width("Ünïcödé 日本", Font::Verdana11, 69.71);
        assert_width("<script>&\"'", Font::Verdana11, 64.34);
        assert_width("", Font::Verdana11, 0.0);
    }

    #[test]
    fn widths_match_anafanafo_verdana_10() {
        // fonts 'bold 10px Verdana' and '10px Verdana'
        assert_width("4.20.0-OKD-SCOS.6", Font::Verdana10Bold, 110.43);
        assert_width("m", Font::Verdana10Bold, 10.58);
        assert_width("OKD/SCOS 4-SCOS-STABLE", Font::Verdana10, 141.66);
        assert_width("m", Font::Verdana10, 9.73);
    }

    #[test]
    fn unknown_is_m_and_controls_are_zero() {
        // U+1F600 is not in the table: measured as "m".
        assert_width("\u{1F600}", Font::Verdana11, 10.7);
        // Tab is a control character: zero width.
        assert_width("a\tb\u{1F600}", Font::Verdana11, 24.16);
        assert_eq!(text_width("\u{0}\u{1f}\u{7f}", Font::Verdana11), 0.0);
    }

    #[test]
    fn summation_matches_javascript_bit_for_bit() {
        // anafanafo returns 39.699999999999996 and 138.96000000000004; shields
        // truncates these with `| 0`, so the float noise must be identical.
        assert_eq!(text_width("release", Font::Verdana11), 39.699999999999996);
        assert_eq!(
            text_width("OKD/SCOS 4-scos-stable", Font::Verdana11),
            138.96000000000004
        );
    }

    #[test]
    fn broken_table_falls_back_without_panicking() {
        for bad in ["not json", "[]", "[[5,4,1.0]]", "[[1,9,1.0],[9,10,1.0]]"] {
            let table = WidthTable::load(bad, 6.5);
            assert!(!table.loaded, "{bad:?} should be rejected");
            assert_eq!(table.char_width('a') + table.char_width('b'), 13.0);
            assert_eq!(table.char_width('\n'), 0.0);
        }
    }

    #[test]
    fn lookup_edges() {
        let table = WidthTable::load("[[32,32,3.0],[40,41,5.0],[109,109,9.0]]", 1.0);
        assert!(table.loaded);
        assert_eq!(table.unknown_width, 9.0);
        assert_eq!(table.lookup(31), None);
        assert_eq!(table.lookup(32), Some(3.0));
        assert_eq!(table.lookup(33), None);
        assert_eq!(table.lookup(40), Some(5.0));
        assert_eq!(table.lookup(41), Some(5.0));
        assert_eq!(table.lookup(42), None);
        assert_eq!(table.lookup(u32::MAX), None);
        assert_eq!(table.char_width('!'), 9.0);
    }
}
