//! Everything that brings data in: today the release-controller poller.

pub mod release_controller;
