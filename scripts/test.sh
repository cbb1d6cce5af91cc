#!/usr/bin/env bash
# Runs every test: formatting, lints, and the whole cargo test suite, the
# daemon tests included. Sets up the Docker Engine (BuildKit), the local Go
# toolchain image and the frontend image first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --quiet
bash scripts/registry.sh --quiet
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The benchmarks once each, as smoke tests (criterion's test mode), then
# every test suite: unit, snapshot, CLI, and the real-daemon tests.
cargo test --benches --locked
cargo test --lib --bins --tests --locked
