#!/usr/bin/env bash
# Runs every test: formatting, lints, and the whole cargo test suite, the
# daemon tests included, on two Docker Engines. Sets up the host's engine
# (BuildKit), the local Go toolchain image, the frontend image and the
# registry first when they are missing, and the second engine before its
# stage.
#
# Stages (all of them, in this order, unless some are named):
#   static  fmt, clippy, the benchmarks once each, unit, snapshot, CLI,
#           hostile-input, real-repository, Go-binary and deploy tests
#           (no daemon)
#   host    the daemon tests on the host's engine: Docker 26.1, BuildKit
#           0.13, buildx 0.13 (scripts/setup.sh)
#   sid     the daemon tests on Debian sid's engine: Docker 28.5, BuildKit
#           0.25, buildx 0.29 (scripts/sid-engine.sh), with the sid CLI and
#           buildx (SCRATCHC_TEST_DOCKER=scripts/sid-docker), and the
#           two-engine cache test with a second instance of it (`sid2`,
#           SCRATCHC_TEST_DOCKER_TWIN=scripts/sid2-docker). The slowest
#           tests whose subject does not depend on the engine run on the
#           host only (SID_SKIP below).
# Each stage prints its wall time.
#
# Usage: scripts/test.sh [static] [host] [sid]
set -eEuo pipefail
cd "$(dirname "$0")/.."

STAGES=("$@")
[ "${#STAGES[@]}" -gt 0 ] || STAGES=(static host sid)
for s in "${STAGES[@]}"; do
  case "$s" in
    static|host|sid) ;;
    *) echo "test: unknown stage: $s (static, host or sid)" >&2; exit 2 ;;
  esac
done

# Host engine only, with why:
# - verify_and_a_wiped_cache: reproducibility, four cold multi-platform
#   builds (the slowest test by far); the other cache and digest tests run
#   on both engines.
# - real_go_binaries, real_dynamically_linked: the ELF check on binaries
#   compiled with `docker run`; the engine only runs the Go toolchain.
# - a_terminal_gets_the_live_view: our terminal rendering, a no-cache build.
# - deploy::: our Compose file run by `docker compose` (the host's plugin;
#   sid's CLI has none installed): the file, not the engine, is the subject.
# - quickstart::: the README's commands as a user runs them, with the
#   host's `docker` on PATH and a port published on the host.
# - repos::a_monorepo_...: buildx tells the frontend where the app file
#   sits in the context from git (vcs:localdir), and the sid root's buildx
#   has no git; the frontend's reading of those attributes is the subject.
# - repos::a_private_module_...: a git server the build reaches at the
#   host's docker0 address, which the sid engine's network does not route.
SID_SKIP=(
  deploy::
  quickstart::
  repro::verify_and_a_wiped_cache_give_the_same_digest
  repro::real_go_binaries_pass_the_elf_check_for_their_platform_only
  repro::real_dynamically_linked_go_binary_is_refused
  build::a_terminal_gets_the_live_view
  repos::a_monorepo_builds_its_services_with_shared_templates
  repos::a_private_module_is_fetched_with_secrets_that_reach_no_layer
)

stage() {
  STAGE=$1 STAGE_T0=$(date +%s)
  echo "test: stage $STAGE"
  # -E: a failing command inside the stage's function reports the stage.
  trap 'echo "test: stage $STAGE FAILED after $(( $(date +%s) - STAGE_T0 ))s" >&2' ERR
  "$2"
  trap - ERR
  echo "test: stage $STAGE: $(( $(date +%s) - STAGE_T0 ))s"
}

static() {
  cargo fmt --all -- --check
  cargo clippy --all-targets --locked -- -D warnings
  # The benchmarks once each, as smoke tests (criterion's test mode),
  # then the unit, snapshot and CLI tests, hostile input through the
  # binary, real Go binaries built by the toolchain setup.sh copied out,
  # and the deploy outputs through their validators (none needs a daemon).
  cargo test --benches --locked
  cargo test --lib --bins --locked
  cargo test --test compile --test llb --test hostile --locked
  # The command line through the real binary: exit codes, init, FILE and
  # stdin, completions run by bash, man pages rendered by man.
  cargo test --test cli --test first_contact --locked
  # Real-shaped repositories (tests/repos): the definitions and the checks
  # before the daemon; their builds are daemon tests (repos::).
  cargo test --test repos --locked
  cargo test --test gobin --test deploy --locked
}

# The real-daemon tests run one at a time: several of them wipe the
# daemon's build cache or check what a build took from a cache, which a
# concurrent build on the same daemon would disturb.
host() {
  # two_engines:: needs the sid twin; lint:: needs buildx 0.15+ (--check):
  # both run in the sid stage.
  cargo test --test daemon --locked -- --test-threads=1 --skip two_engines:: --skip lint::
}

sid() {
  bash scripts/sid-engine.sh setup --quiet
  bash scripts/sid-engine.sh setup --name sid2 --quiet
  local skips=() t
  for t in "${SID_SKIP[@]}"; do skips+=(--skip "$t"); done
  SCRATCHC_TEST_DOCKER="$PWD/scripts/sid-docker" \
    SCRATCHC_TEST_DOCKER_TWIN="$PWD/scripts/sid2-docker" \
    cargo test --test daemon --locked -- --test-threads=1 "${skips[@]}"
}

T0=$(date +%s)
bash scripts/setup.sh --quiet
bash scripts/registry.sh --quiet
for s in "${STAGES[@]}"; do stage "$s" "$s"; done
echo "test: all stages passed in $(( $(date +%s) - T0 ))s"
