//! The outside formats, exactly as upstream writes them: the release-controller's JSON
//! ([`release_controller`]), a release payload's `image-references` and `release-metadata`
//! ([`payload`]), the manifests' media types ([`media_type`]), and registry notifications, CNCF distribution and Quay ([`registry`]).
//! Types and parsers only; nothing here depends on the rest of the crate.

pub mod media_type;
pub mod payload;
pub mod registry;
pub mod release_controller;
