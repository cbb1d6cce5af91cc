#!/usr/bin/env bash
# Context transfer alone, scratchc's session against buildx's, on the same
# daemon:
#   big     one 100 MB file
#   small   5,000 files of 2 KB in 100 nested directories
# scratchc: benches/transfer.rs, a raw Control.Solve of `local://ctx` with a
# fresh local.unique and shared key per run (no transfer cache applies).
# buildx: `docker buildx build --output type=cacheonly` of `COPY . /ctx/`
# from scratch, on a fresh copy of the tree per run (new mtimes, so the
# daemon's transfer cache re-requests every file); its time includes the
# CLI and the Dockerfile frontend, so it is an upper bound on its transfer.
# Needs the Docker Engine (scripts/setup.sh) and hyperfine.
# Results: docs/benchmarks.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "the Docker Engine is not running (scripts/setup.sh)" >&2; exit 2; }

bench=$(cd "$root" && cargo bench --bench transfer --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*transfer-[^"]*\)".*/\1/p' | tail -1)
[ -x "$bench" ] || { echo "could not build benches/transfer.rs" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/big" "$work/small" "$work/df"
head -c 100000000 /dev/urandom >"$work/big/blob.bin"
for d in $(seq 1 50); do
  mkdir -p "$work/small/d$d/sub"
  for f in $(seq 1 50); do
    head -c 2000 /dev/urandom >"$work/small/d$d/f$f"
    head -c 2000 /dev/urandom >"$work/small/d$d/sub/g$f"
  done
done
printf 'FROM scratch\nCOPY . /ctx/\n' >"$work/df/Dockerfile"

out=$root/target/bench-transfer
mkdir -p "$out"
uptime
for case in big small; do
  echo "== $case"
  hyperfine --runs "$runs" --warmup 1 \
    --prepare "rm -rf $work/copy && cp -r $work/$case $work/copy" \
    -n scratchc "$bench $work/copy 1" \
    -n buildx "docker buildx build --builder default -q --output type=cacheonly -f $work/df/Dockerfile $work/copy" \
    --export-markdown "$out/$case.md"
done
uptime
echo "tables in $out/"
