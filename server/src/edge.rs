//! The HTTP edge every route shares: the one error type and its extractors ([`error`]),
//! caching of public reads ([`cache`]), where absolute links point ([`links`]) and who the
//! client is ([`peer`]). It depends on nothing above the store.

pub mod cache;
pub mod error;
pub mod links;
pub mod peer;
