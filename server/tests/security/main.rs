//! Attacks on the real HTTP stack, one module per hole a hostile review found: each test
//! does what an attacker would (made-up methods, anonymous reads of secrets, hostile
//! upstream answers, floods) against a server on loopback and checks that it holds.

#![expect(
    clippy::expect_used,
    reason = "a test fails loudly when its set-up fails"
)]
#![expect(
    clippy::duplicate_mod,
    reason = "support/fixture.rs and support/payloads.rs include http.rs and stores.rs themselves"
)]

#[path = "../support/fixture.rs"]
mod fixture;
#[path = "../support/http.rs"]
mod http;
#[path = "../support/payloads.rs"]
mod payloads;
#[path = "../support/process.rs"]
mod process;
#[path = "../support/promotion.rs"]
mod promotion;
// the registry helpers live at the crate root: `support/payloads.rs` names them from there
#[path = "../support/registry.rs"]
mod registry;
#[path = "../support/stores.rs"]
mod stores;

mod bounds;
mod fuzz;
mod identities;
mod limits;
mod links;
mod publish;
mod targets;
mod xss;
