//! Set-up shared by the integration tests: real stores, a real registry, real server
//! processes, payload builders and HTTP helpers.

pub mod fixture;
pub mod gpg;
pub mod http;
pub mod payloads;
pub mod process;
pub mod promotion;
pub mod registry;
pub mod sse;
pub mod stores;
