//! Property tests of the notes' Markdown-to-HTML step: any text, and Markdown built from
//! the constructs that make renderers grow their output (tables with missing cells, nested
//! quotes and lists, reference links, entities), render without panicking into HTML whose
//! size is linear in the Markdown's.

use proptest::prelude::*;

use super::*;
use hostile::{config, hostile_string};

/// Most HTML bytes one Markdown byte may become (a row of a table eight cells wide that
/// gives one letter: 2 bytes, 90 of HTML), and the allowance every text gets (reference
/// links may repeat up to 100 kB of destinations, percent-encoded).
const GROWTH: usize = 48;
const ALLOWANCE: usize = 512 << 10;

fn inline() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,20}",
        hostile_string(),
        Just("*emphasis* **strong** ~~gone~~ `code`".to_string()),
        Just("[link](https://example.org \"title\")".to_string()),
        Just("[x](javascript:alert(1)) <javascript:alert(1)> ![img](x.png)".to_string()),
        Just("<b onclick=\"x()\">raw</b> <!-- c --> &amp; &#0; &#x10FFFF; &nbsp;".to_string()),
        (1usize..200).prop_map(|n| "[r]".repeat(n)),
        (1usize..200).prop_map(|n| "*".repeat(n)),
        (1usize..200).prop_map(|n| "&".repeat(n)),
        (1usize..200).prop_map(|n| "[".repeat(n)),
    ]
}

fn table() -> impl Strategy<Value = String> {
    let separator = prop_oneof![
        Just("|"),
        Just("\\|"),
        Just("\\\\|"),
        Just("`|`|"),
        Just("&#124;"),
    ];
    (1usize..600, separator, 0usize..600, inline()).prop_map(|(cols, sep, rows, cell)| {
        let mut md = format!(
            "|{}\n|{}\n",
            format!("a{sep}").repeat(cols),
            "-|".repeat(cols)
        );
        for _ in 0..rows {
            md.push_str(&format!("{cell}\n"));
        }
        md
    })
}

fn block() -> impl Strategy<Value = String> {
    prop_oneof![
        inline().prop_map(|t| format!("{t}\n")),
        (1usize..8, inline()).prop_map(|(n, t)| format!("{} {t}\n", "#".repeat(n))),
        table(),
        (1usize..200).prop_map(|n| format!("{}a\n", ">".repeat(n))),
        (1usize..100).prop_map(|n| (0..n)
            .map(|i| format!("{}- item\n", "  ".repeat(i)))
            .collect()),
        (hostile_string(), 1usize..300)
            .prop_map(|(url, n)| format!("[r]: <{url}>\n\n{}\n", "[r]".repeat(n))),
        (1usize..100, inline()).prop_map(|(n, t)| format!(
            "{}\n{t}\n{}\n",
            "`".repeat(n + 2),
            "`".repeat(n + 2)
        )),
        Just("\n".to_string()),
    ]
}

fn markdown() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        4 => prop::collection::vec(block(), 0..12).prop_map(|blocks| blocks.join("\n")),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_markdown_renders_into_html_linear_in_its_size(md in markdown()) {
        let html = to_html(&md);
        prop_assert!(
            html.as_str().len() <= GROWTH * md.len() + ALLOWANCE,
            "{} bytes of markdown became {} bytes of html",
            md.len(),
            html.as_str().len()
        );
    }
}
