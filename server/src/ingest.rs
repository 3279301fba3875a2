//! Everything that brings data in: the release-controller poller and the payload reader.

pub mod payload;
pub mod release_controller;
