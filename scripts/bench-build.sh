#!/usr/bin/env bash
# Compares `scratchc build` with `docker buildx build` of the essay's
# Dockerfile, on the same daemon and the same Go source, side by side in one
# run, and reports each case as a ratio to buildx:
#   cold      build cache pruned before each run (examples/hello)
#   warm      nothing changed
#   edit      one line of main.go changed before each run
#   label     only an image label changed (app.scratch / the Dockerfile)
#   context   a large tree (50 MB in 500 files) next to the source, one
#             line of main.go changed
#   apps      two apps of one module (examples/multi; buildx: two targets)
#   size      the resulting image sizes
#   basics    what each runtime basic (tmp, passwd, certs, mime-types,
#             tzdata, zoneinfo) adds to the image, in bytes and files
# Needs: the Docker Engine (scripts/setup.sh), hyperfine, python3, a release
# build of scratchc (cargo build --release). Results: docs/benchmarks.md.
# RUNS=N runs per case (default 5); ONLY=cold,warm,... runs just those cases
# (default: all). The tables and the ratio summary land in target/bench-build/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SCRATCHC:-$root/target/release/scratchc}
runs=${RUNS:-5}
only=${ONLY:-cold,warm,edit,label,context,apps,size,basics}
want() { [[ ",$only," == *",$1,"* ]]; }
[ -x "$bin" ] || { echo "build scratchc first: cargo build --release" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "the Docker Engine is not running (scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d)
records=$(mktemp -d)
trap 'rm -rf "$work" "$records"' EXIT
# scratchc's records of last builds (the no-change path) live here, so a
# run starts from none.
export SCRATCHC_CACHE_DIR=$records
unset SOURCE_DATE_EPOCH
cp -r "$root/examples/hello/." "$work/"
# The essay's Dockerfile (short form), building the same package.
cat >"$work/Dockerfile" <<'DOCKERFILE'
FROM golang:1.24 AS build
WORKDIR /build/src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o app .
FROM scratch
COPY --from=build /build/src/app /usr/bin/app
LABEL bench=0
ENTRYPOINT ["/usr/bin/app"]
DOCKERFILE
# scratchc leaves its own files (app.scratch, scratch.lock, .dockerignore)
# out of the context by itself; buildx reads Dockerfile.dockerignore
# instead of .dockerignore, so the same context goes to both.
printf 'Dockerfile\nedit.sh\nlabel.sh\n' >"$work/.dockerignore"
printf 'Dockerfile\n.dockerignore\nedit.sh\nlabel.sh\napp.scratch\n' >"$work/Dockerfile.dockerignore"

sc="$bin build $work/app.scratch --progress quiet -t bench-scratchc:latest"
bx="docker buildx build --builder default -q -t bench-buildx:latest $work"
# A one-line change: a new comment line in main.go (invalidates the compile).
cat >"$work/edit.sh" <<'EDIT'
echo "// edit $RANDOM$RANDOM" >>"$(dirname "$0")/main.go"
EDIT
edit="bash $work/edit.sh"
# A label-only change: the same image but for one label, on both sides.
cat >"$work/label.sh" <<'LABEL'
d=$(dirname "$0"); n=$RANDOM$RANDOM
printf 'app hello {\n  port 8080\n  label bench=%s\n}\n' "$n" >"$d/app.scratch"
sed -i "s/^LABEL bench=.*/LABEL bench=$n/" "$d/Dockerfile"
LABEL
label="bash $work/label.sh"

out=$root/target/bench-build
mkdir -p "$out"
rm -f "$out"/*.json

# hyperfine with both commands, exported as JSON for the summary.
compare() {
  local case=$1
  shift
  hyperfine --runs "$runs" "$@" --export-json "$out/$case.json" --export-markdown "$out/$case.md"
}

if want cold; then
  echo "== cold (docker builder prune -af before each run)"
  compare cold --prepare 'docker builder prune -af >/dev/null' -n scratchc "$sc" -n buildx "$bx"
fi

if want warm; then
  echo "== warm, no change"
  compare warm --warmup 1 -n scratchc "$sc" -n buildx "$bx"
fi

if want edit; then
  echo "== after a one-line .go change"
  compare edit --warmup 1 --prepare "$edit" -n scratchc "$sc" -n buildx "$bx"
fi

if want label; then
  echo "== after a label-only change"
  compare label --warmup 1 --prepare "$label" -n scratchc "$sc" -n buildx "$bx"
fi

if want context; then
  echo "== large context (50 MB in 500 files), one-line change"
  mkdir -p "$work/assets"
  for i in $(seq 1 500); do head -c 100000 /dev/urandom >"$work/assets/f$i.bin"; done
  compare context --warmup 1 --prepare "touch $work/assets/f1.bin; $edit" \
    -n scratchc "$sc" -n buildx "$bx"
  rm -rf "$work/assets"
fi

if want apps; then
  echo "== two apps of one module (examples/multi), one-line change"
  multi=$(mktemp -d)
  cp -r "$root/examples/multi/." "$multi/"
  cat >"$multi/Dockerfile" <<'DOCKERFILE'
FROM golang:1.24 AS build
WORKDIR /build/src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/api ./cmd/api \
 && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/worker ./cmd/worker
FROM scratch AS api
COPY --from=build /out/api /usr/bin/api
ENTRYPOINT ["/usr/bin/api"]
FROM scratch AS worker
COPY --from=build /out/worker /usr/bin/worker
ENTRYPOINT ["/usr/bin/worker"]
DOCKERFILE
  printf 'Dockerfile\n.dockerignore\n' >"$multi/.dockerignore"
  medit="bash -c 'echo // edit \$RANDOM >>$multi/cmd/api/main.go'"
  compare apps --warmup 1 --prepare "$medit" \
    -n scratchc "$bin build $multi/app.scratch --progress quiet" \
    -n buildx "bash -c 'docker buildx build --builder default -q --target api -t bench-api:latest $multi && docker buildx build --builder default -q --target worker -t bench-worker:latest $multi'"
  rm -rf "$multi"
fi

if want label; then
echo "== after a label change"
hyperfine --runs "$runs" --warmup 1 --prepare "$label" --prepare "$label" \
  -n scratchc "$sc" -n buildx "$bx" --export-markdown "$out/label.md"
# The compile is CACHED after a label change (plain progress shows it).
bash "$work/label.sh"
$bin build "$work/app.scratch" --progress plain -t bench-scratchc:latest 2>&1 \
  | awk '/build: go build/ {id=$1} $0 == id" CACHED" {c=1} END {print (c ? "compile step: CACHED" : "compile step: RUN")}'
fi

if want size; then
  echo "== image size"
  docker image inspect bench-scratchc:latest --format 'scratchc {{.Size}} bytes'
  docker image inspect bench-buildx:latest --format 'buildx   {{.Size}} bytes'
fi

# The ratios, scratchc / buildx, from each case's means and medians.
python3 - "$out" <<'PY' | tee "$out/summary.md"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| case | scratchc median | buildx median | ratio (median) | ratio (mean) |")
print("|---|---|---|---|---|")
for case in ["cold", "warm", "edit", "label", "context", "apps"]:
    f = out / f"{case}.json"
    if not f.exists():
        continue
    r = {x["command"]: x for x in json.loads(f.read_text())["results"]}
    s, b = r["scratchc"], r["buildx"]
    print(f"| {case} | {s['median']:.3f} s | {b['median']:.3f} s | "
          f"{s['median'] / b['median']:.2f}x | {s['mean'] / b['mean']:.2f}x |")
PY
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)" | tee -a "$out/summary.md"

if want basics; then
echo "== what each runtime basic adds (one layer; bytes of the gzip blob, of the tar, entries)"
b=$work/basics
mkdir -p "$b"
cp "$root/examples/hello/go.mod" "$root/examples/hello/main.go" "$b/"
variant() { # NAME SETTINGS...
  local name=$1; shift
  printf 'app hello {\n' >"$b/app.scratch"
  for s in "$@"; do printf '  %s\n' "$s" >>"$b/app.scratch"; done
  printf '}\n' >>"$b/app.scratch"
  "$bin" build "$b/app.scratch" --progress quiet -o "type=oci,dest=$b/$name.tar" >/dev/null 2>&1
  python3 - "$b/$name.tar" "$name" <<'PY'
import gzip, io, json, sys, tarfile
oci = tarfile.open(sys.argv[1])
blob = lambda d: oci.extractfile("blobs/sha256/" + d.split(":")[1]).read()
index = json.loads(oci.extractfile("index.json").read())
manifest = json.loads(blob(index["manifests"][0]["digest"]))
layer = manifest["layers"][0]
raw = gzip.decompress(blob(layer["digest"]))
members = tarfile.open(fileobj=io.BytesIO(raw)).getmembers()
files = [m for m in members if not m.isdir()]
content = sum(m.size for m in files)
print(f"{sys.argv[2]:<12} gzip {layer['size']:>9} B  tar {len(raw):>9} B  "
      f"files {len(files):>4} ({content} B)  dirs {len(members) - len(files):>3}")
PY
}
variant none "tmp false" "passwd false"
variant default
variant tmp "passwd false"
variant passwd "tmp false"
variant certs certs
variant mime-types mime-types
variant tzdata tzdata
variant zoneinfo zoneinfo
fi
echo "tables in $out/"
