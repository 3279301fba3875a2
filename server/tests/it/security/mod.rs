//! Attacks on the real HTTP stack, one module per hole a hostile review found: each test
//! does what an attacker would (made-up methods, anonymous reads of secrets, hostile
//! upstream answers, floods) against a server on loopback and checks that it holds.

mod bounds;
mod fuzz;
mod identities;
mod limits;
mod links;
mod publish;
mod targets;
mod xss;
