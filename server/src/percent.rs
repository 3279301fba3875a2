//! Percent-encoding of one URL component — a path segment or a query value — for the links,
//! redirects and upstream requests Streamgate builds: everything but RFC 3986's unreserved
//! characters (letters, digits, `-`, `.`, `_`, `~`) is encoded.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const UNRESERVED_KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded as one path segment or query value.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED_KEPT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(encode("4.21.0-0.okd-scos"), "4.21.0-0.okd-scos");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode("x&y=z?#"), "x%26y%3Dz%3F%23");
        assert_eq!(
            encode("/releases/a?stream=b"),
            "%2Freleases%2Fa%3Fstream%3Db"
        );
    }
}
