//! What a user name and a promotion target's name may be: checked wherever one comes in
//! (forms, the API, the proxy's headers).

/// Whether `name` can be a user name: 1–64 letters, digits and `.`, `_`, `-`, `@`, `+`
/// (proxy users are often e-mail addresses).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@+".contains(&b))
}

/// Whether `target` can be a promotion target name (`4-scos-next`): 1–100 letters,
/// digits and `.`, `_`, `-`.
pub fn valid_target(target: &str) -> bool {
    (1..=100).contains(&target.len())
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}
