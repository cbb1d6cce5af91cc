#!/usr/bin/env bash
# What the SBOM costs: `scratchc build` of examples/hello (one platform)
# and examples/server (three platforms, CA bundle and MIME table) to an
# OCI tarball, with the SBOM (the default) and with --sbom=false, side by
# side in one run:
#   time    wall time of a build whose steps are all cached (the record of
#           the last build is removed before each run, so every run is a
#           real build: solve, binary check, SBOM, export), where the
#           SBOM's own cost is the largest share it can be
#   size    the OCI tarball, the attestation blobs, the documents
#   sbom    the SBOM lines of the build summary (bytes hashed, time)
# Needs: the Docker Engine (scripts/setup.sh), hyperfine, python3, a
# release build of scratchc (cargo build --release). Run it under the
# host-daemon lock. RUNS=N runs per case (default 5). Results:
# docs/benchmarks.md ("The SBOM").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SCRATCHC:-$root/target/release/scratchc}
runs=${RUNS:-5}
[ -x "$bin" ] || { echo "build scratchc first: cargo build --release" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "the Docker Engine is not running (scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SCRATCHC_CACHE_DIR=$work/records
export SOURCE_DATE_EPOCH=1714557600
out=$root/target/bench-sbom
mkdir -p "$out"

for app in hello server; do
  src=$work/$app
  mkdir -p "$src"
  cp -r "$root/examples/$app/." "$src/"
  # Warm the cache (and check both builds work) before timing.
  for sbom in true false; do
    "$bin" build "$src/app.scratch" --progress quiet --sbom=$sbom \
      -o "type=oci,dest=$work/$app-$sbom.tar" 2>"$work/$app-$sbom.log"
  done
  hyperfine --runs "$runs" --warmup 1 --export-markdown "$out/$app.md" \
    --prepare "rm -rf '$SCRATCHC_CACHE_DIR'" \
    -n "$app sbom" "'$bin' build '$src/app.scratch' --progress quiet -o type=oci,dest=$work/t.tar" \
    -n "$app --sbom=false" "'$bin' build '$src/app.scratch' --progress quiet --sbom=false -o type=oci,dest=$work/t.tar"
  echo "== $app: sizes"
  python3 - "$work/$app-true.tar" "$work/$app-false.tar" <<'PY'
import json, sys, tarfile
def walk(path):
    t = tarfile.open(path)
    blob = lambda d: t.extractfile("blobs/sha256/" + d[7:]).read()
    top = json.loads(t.extractfile("index.json").read())
    index = json.loads(blob(top["manifests"][0]["digest"]))
    att, docs = 0, []
    for m in index.get("manifests", []):
        if m.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest":
            continue
        man = json.loads(blob(m["digest"]))
        att += m["size"] + man["config"]["size"]
        for l in man["layers"]:
            att += l["size"]
            docs.append(len(json.dumps(json.loads(blob(l["digest"]))["predicate"], separators=(",", ":"))))
    import os
    return os.path.getsize(path), att, docs
on, off = walk(sys.argv[1]), walk(sys.argv[2])
print(f"  OCI tarball: {on[0]} B with the SBOM, {off[0]} B without (+{on[0]-off[0]} B)")
print(f"  attestation blobs (manifests, configs, statements): {on[1]} B; documents: {on[2]} B each")
PY
  echo "== $app: the build's SBOM lines"
  grep ': sbom ' "$work/$app-true.log" | sed 's/^/  /'
done
