//! groves' orchestrator: the parent that drives a run, the invokers that start units (the
//! in-process pool, AWS Lambda), and the S3 trigger that starts a run when a raw file lands.
//!
//! It knows the units only by their events and their records in the store; a unit's work is
//! `groves_stages`'.

pub mod invoke;
pub mod parent;
pub mod trigger;

/// What built the parent: the crate version and the git commit (`build.rs`; `unknown` when
/// built outside a clone). Recorded in the parent's stage logs and shown in the report.
pub const CODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("GROVES_GIT_COMMIT"));
