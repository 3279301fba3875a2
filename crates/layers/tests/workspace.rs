//! Streamgate's own crates have no import cycles: among the children of any module the
//! references run one way (see the crate's documentation for the rule).

use std::path::Path;

fn check(root: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(root);
    match layers::Crate::read(&root) {
        Ok(krate) => krate
            .cycles()
            .iter()
            .map(|c| format!("{root:?} {c}"))
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

#[test]
fn no_import_cycles_in_the_workspace() {
    let cycles: Vec<String> = [
        "server/src/lib.rs",
        "app/src/lib.rs",
        "crates/store/src/lib.rs",
        "crates/formats/src/lib.rs",
        "crates/replay/src/lib.rs",
    ]
    .iter()
    .flat_map(|root| check(root))
    .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
