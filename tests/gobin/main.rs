//! `scratchc::gobin` and `scratchc::sbom` on real Go binaries, built here
//! by the Go 1.24 toolchain `scripts/setup.sh` extracts (no daemon, no
//! network): build info equal to `go version -m` on every ELF layout,
//! function names equal to `go tool nm`, the runtime needs of small
//! programs both ways, the range reads a stripped binary costs, and SPDX
//! documents that `pyspdxtools` accepts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod buildinfo;
mod go;
#[path = "../common/modules.rs"]
mod modules;
mod needs;
mod sbom;
