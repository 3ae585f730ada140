//! Helpers shared by the test modules.

#[cfg(feature = "aleph")]
pub mod aleph;
pub mod digest;
