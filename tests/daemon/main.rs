//! Tests against a real BuildKit daemon (the Docker Engine set up by
//! `scripts/setup.sh`) and the local registry (`scripts/registry.sh`).
//! They fail, never skip, when either is down: CI starts both.

mod build;
mod frontend;
mod repro;
mod session;
