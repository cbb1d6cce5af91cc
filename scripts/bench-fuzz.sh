#!/usr/bin/env bash
# The fuzzing figures of docs/benchmarks.md ("Fuzzing"), from the repo alone:
#   fuzz     the `compile` target of fuzz/ (cargo-fuzz, nightly, AddressSanitizer)
#            for FUZZ_SECONDS (default 180) from the seeds in SEEDS
#            (directories, default fuzz/seeds/compile: the hostile shapes)
#            on a fresh, empty corpus: executions, their rate, coverage and
#            corpus size at the end (libFuzzer's last status line and final
#            stats)
#   random   `random_inputs_never_panic` (tests/compile.rs) with ITERATIONS
#            mutated inputs (default 50000), timed
# Needs: a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`) for
# `fuzz`; the first build of the fuzz crate compiles everything with
# sanitizers (about 17 minutes on the 2-core machine), and is not timed.
# ONLY=fuzz,random runs just those (default: both). The log and a summary
# land in target/bench-fuzz/. No daemon is used.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-180}
seeds=${SEEDS:-fuzz/seeds/compile}
iterations=${ITERATIONS:-50000}
only=${ONLY:-fuzz,random}
want() { [[ ",$only," == *",$1,"* ]]; }
out=$root/target/bench-fuzz
mkdir -p "$out"
: >"$out/summary.md"
note() { echo "$*" | tee -a "$out/summary.md"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

if want fuzz; then
  cargo +nightly fuzz --help >/dev/null 2>&1 \
    || { echo "needs a nightly toolchain and cargo-fuzz (cargo install cargo-fuzz)" >&2; exit 2; }
  cd "$root"
  echo "== building the fuzz target (not timed)"
  cargo +nightly fuzz build compile
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  echo "== cargo fuzz run compile, ${seconds}s from $seeds"
  # shellcheck disable=SC2086 # SEEDS is a list of directories
  cargo +nightly fuzz run compile "$corpus" $seeds -- \
    -max_total_time="$seconds" -print_final_stats=1 2>&1 | tee "$out/fuzz.log" | grep -E '^#[0-9]+.*(pulse|DONE)' || true
  last=$(grep -E '^#[0-9]+' "$out/fuzz.log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/fuzz.log")
  [ -n "$runs" ] || { echo "libFuzzer printed no final stats (see $out/fuzz.log)" >&2; exit 1; }
  note "fuzz compile: ${seconds} s, $runs executions ($rate/s), coverage $(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last") edges, corpus $(find "$corpus" -type f | wc -l) inputs, $(find $seeds -type f | wc -l) seeds in $seeds; load $(load)"
fi

if want random; then
  cd "$root"
  echo "== random_inputs_never_panic, $iterations inputs (the test binary built first, not timed)"
  cargo test -q --test compile --no-run
  start=$(date +%s.%N)
  SCRATCH_RANDOM_ITERATIONS=$iterations cargo test -q --test compile random_inputs_never_panic
  end=$(date +%s.%N)
  note "random_inputs_never_panic: $iterations inputs in $(python3 -c "print(f'{$end - $start:.1f}')") s; load $(load)"
fi
echo "summary in $out/summary.md"
