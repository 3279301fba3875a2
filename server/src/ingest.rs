//! Everything that brings data in: the release-controller poller, the payload reader and
//! its background worker, bounded reads from registries, and registry notifications.

pub mod capped;
pub mod distribution;
pub mod integrity;
pub mod payload;
pub mod payload_worker;
pub mod registry;
pub mod release_controller;
