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
# the unit, snapshot and CLI tests, the deploy outputs through their
# validators (no daemon), then the real-daemon tests. Those run
# one at a time: several of them wipe the daemon's build cache or check
# what a build took from a cache, which a concurrent build on the same
# daemon would disturb.
cargo test --benches --locked
cargo test --lib --bins --locked
cargo test --test compile --test llb --locked
# The command line through the real binary: exit codes, init, FILE and
# stdin, completions run by bash, man pages rendered by man.
cargo test --test cli --test first_contact --locked
# Real Go binaries built by the toolchain setup.sh copied out (no daemon).
cargo test --test gobin --locked
cargo test --test deploy --locked
cargo test --test daemon --locked -- --test-threads=1
