//! The demo: recorded-format release-controllers on loopback, their history played into the
//! store by the real poller, then polled live.
//!
//! The data set is anchored at the time the demo was first loaded into this database (kept
//! in `settings`), so restarts continue the same history instead of inventing a new one.
//! Loading steps the replay's clock through the history and polls at each step, exactly as
//! a Streamgate that had been running all along would have seen it — including releases the
//! controller has since pruned, which stay here marked "expired upstream".
//!
//! With a demo registry ([`registry`]), the releases worth showing get real payload and
//! component images there, and the replay's pull specs name that registry, so payloads are
//! read, provenance is computed and releases can be promoted as in production.

pub mod guard;
#[cfg(feature = "demo")]
pub mod image;
#[cfg(feature = "demo")]
pub mod operators;
#[cfg(feature = "demo")]
mod play;
#[cfg(feature = "demo")]
pub mod registry;

#[cfg(feature = "demo")]
pub use play::{ensure_targets, load, DemoError, Loaded, Seeding};

/// The setting holding when the demo was first loaded into a database (its data set's
/// anchor); a database that has one has had the demo.
const ANCHOR_KEY: &str = "demo_anchor";
