//! Attacks on the real HTTP stack, one module per hole a hostile review found: each test
//! does what an attacker would (made-up methods, anonymous reads of secrets, hostile
//! upstream answers, floods) against a server on loopback and checks that it holds.

#![expect(
    clippy::expect_used,
    reason = "a test fails loudly when its set-up fails"
)]

mod fuzz;
