#!/usr/bin/env bash
# Compares `scratchc build` with `docker buildx build` of the essay's
# Dockerfile, on the same daemon and the same Go source (examples/hello):
#   cold      build cache pruned before each run
#   warm      nothing changed
#   edit      one line of main.go changed before each run
#   context   a large tree (50 MB of files) next to the source
#   size      the resulting image sizes
# Needs: the Docker Engine (scripts/setup.sh), hyperfine, a release build
# of scratchc (cargo build --release). Results: docs/benchmarks.md.
# RUNS=N runs per case (default 5); ONLY=cold,warm,edit,context,size runs
# just those cases (default: all).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SCRATCHC:-$root/target/release/scratchc}
runs=${RUNS:-5}
only=${ONLY:-cold,warm,edit,context,size}
want() { [[ ",$only," == *",$1,"* ]]; }
[ -x "$bin" ] || { echo "build scratchc first: cargo build --release" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "the Docker Engine is not running (scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/hello/." "$work/"
# The essay's Dockerfile (short form), building the same package.
cat >"$work/Dockerfile" <<'DOCKERFILE'
FROM golang:1.24 AS build
WORKDIR /build/src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o app .
FROM scratch
COPY --from=build /build/src/app /usr/bin/app
ENTRYPOINT ["/usr/bin/app"]
DOCKERFILE
printf 'Dockerfile\n.dockerignore\nedit.sh\n' >"$work/.dockerignore"

sc="$bin build $work/app.scratch --progress quiet -t bench-scratchc:latest"
bx="docker buildx build --builder default -q -t bench-buildx:latest $work"
# A one-line change: a new comment line in main.go (invalidates the compile).
cat >"$work/edit.sh" <<'EDIT'
echo "// edit $RANDOM$RANDOM" >>"$(dirname "$0")/main.go"
EDIT
edit="bash $work/edit.sh"

out=$root/target/bench-build
mkdir -p "$out"

if want cold; then
echo "== cold (docker builder prune -af before each run)"
hyperfine --runs "$runs" --prepare 'docker builder prune -af >/dev/null' \
  -n scratchc "$sc" -n buildx "$bx" --export-markdown "$out/cold.md"
fi

if want warm; then
echo "== warm, no change"
hyperfine --runs "$runs" --warmup 1 -n scratchc "$sc" -n buildx "$bx" --export-markdown "$out/warm.md"
fi

if want edit; then
echo "== after a one-line .go change"
hyperfine --runs "$runs" --warmup 1 --prepare "$edit" \
  -n scratchc "$sc" -n buildx "$bx" --export-markdown "$out/edit.md"
fi

if want context; then
echo "== large context (50 MB in 500 files)"
mkdir -p "$work/assets"
for i in $(seq 1 500); do head -c 100000 /dev/urandom >"$work/assets/f$i.bin"; done
hyperfine --runs "$runs" --prepare "touch $work/assets/f1.bin; $edit" \
  -n scratchc "$sc" -n buildx "$bx" --export-markdown "$out/context.md"
fi

if want size; then
echo "== image size"
docker image inspect bench-scratchc:latest --format 'scratchc {{.Size}} bytes'
docker image inspect bench-buildx:latest --format 'buildx   {{.Size}} bytes'
fi
echo "tables in $out/"
