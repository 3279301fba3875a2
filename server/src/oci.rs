//! What reading payloads, promoting releases and the demo registry share about OCI
//! registries: credentials ([`credentials`]), the distribution API client with bounded
//! reads ([`distribution`]) and the streaming reader of image layers ([`layer`]).

pub mod credentials;
pub mod distribution;
pub mod layer;
