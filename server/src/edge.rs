//! The HTTP edge every route shares: the one error type and its extractors ([`error`]),
//! whether a request wants a page or JSON ([`answer`]),
//! caching of public reads ([`cache`]), where absolute links point ([`links`]) and who the
//! client is ([`peer`]). It depends on nothing above the store.

pub mod answer;
pub mod cache;
pub mod error;
pub mod links;
pub mod page_cache;
pub mod peer;
