//! Everything that brings data in: the release-controller poller, the payload reader and
//! its background worker, bounded reads from registries, and registry notifications.

pub mod integrity;
pub mod payload;
pub mod payload_worker;
pub mod release_controller;
