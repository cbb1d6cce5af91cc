#!/usr/bin/env bash
# scripts/frontend-image.sh — build the scratchc BuildKit frontend image.
#
# 1. cargo builds scratchc as one statically linked binary (glibc,
#    `crt-static`; no musl target needed) in target/frontend;
# 2. the binary is staged at frontend/bin/scratchc;
# 3. scratchc builds frontend/app.scratch (the `prebuilt` template: the
#    binary FROM scratch, entrypoint `scratchc frontend`, the labels BuildKit
#    checks) and loads it into the local Docker Engine as $IMAGE.
#
# Then `# syntax=scratchc/frontend:0.1` as the first line of an app.scratch
# makes `docker buildx build -f app.scratch .` use it, offline.
#
# Usage: scripts/frontend-image.sh [--quiet]
#   IMAGE=registry.example.com/scratchc/frontend:0.1 scripts/frontend-image.sh
#   then `docker push "$IMAGE"` publishes a company's own copy.
set -euo pipefail

IMAGE=${IMAGE:-scratchc/frontend:0.1}
TARGET=x86_64-unknown-linux-gnu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET_DIR=${ROOT}/target/frontend
BIN=${TARGET_DIR}/${TARGET}/release/scratchc
STAGED=${ROOT}/frontend/bin/scratchc
QUIET=0
for arg in "$@"; do
  case "$arg" in
    -q|--quiet) QUIET=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "frontend-image: unknown argument: $arg (use --quiet or --help)" >&2; exit 2 ;;
  esac
done
log() { [ "$QUIET" = 1 ] || echo "frontend-image: $*"; }
die() { echo "frontend-image: error: $*" >&2; exit 1; }

cd "$ROOT"
log "cargo: static release build of scratchc ($TARGET, crt-static)"
# With an explicit --target, RUSTFLAGS apply to the binary only, not to
# build scripts and proc macros (which must stay dynamic).
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --quiet --target "$TARGET" --target-dir "$TARGET_DIR" --bin scratchc

if file "$BIN" | grep -q 'dynamically linked'; then
  die "$BIN is dynamically linked; is the glibc static library (libc6-dev) installed?"
fi
mkdir -p "$(dirname "$STAGED")"
install -m 0755 "$BIN" "$STAGED"
log "binary: $(du -h "$STAGED" | cut -f1) $(file -b "$STAGED" | cut -d, -f1-2)"

# The staged binary builds its own image (dogfooding).
PROGRESS=auto
[ "$QUIET" = 1 ] && PROGRESS=quiet
"$STAGED" build frontend/app.scratch -t "$IMAGE" --progress "$PROGRESS"
SIZE=$(docker image inspect "$IMAGE" --format '{{.Size}}')
log "image: $IMAGE loaded ($(( SIZE / 1024 )) KiB)"
