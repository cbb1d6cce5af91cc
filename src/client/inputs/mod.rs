//! What a build takes from this machine, beside the compiler's sources:
//! the user's files read safely (`userfile`: regular, inside the root,
//! bounded), `.dockerignore` patterns (`patterns`), the pins of
//! `scratch.lock` (`lock`) and the one timestamp, SOURCE_DATE_EPOCH
//! (`epoch`).
//!
//! No module here talks to the daemon; `lock` writes `scratch.lock`
//! whole through [`super::artefacts::atomic`].

pub mod epoch;
pub mod lock;
pub mod patterns;
pub mod userfile;
