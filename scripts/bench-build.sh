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
#   several   the same two apps cold, built in one run (solved at once)
#             against one run per app
#   vendored  a module with its main under ./cmd/ and 150 vendored packages
#             (generated), one line of main.go changed; buildx builds the
#             Dockerfile a Go user writes for it
#   size      the resulting image sizes
#   basics    what each runtime basic (tmp, passwd, certs, mime-types,
#             tzdata, zoneinfo) adds to the image, in bytes and files
#   frontend  `docker buildx build -f app.scratch` (through the frontend
#             image) beside `scratchc build` and buildx of the Dockerfile:
#             warm with no change, then after a one-line change
#   multiarch 1 and 3 platforms (amd64, arm64, arm/v7, cross-compiled) to
#             OCI tarballs, cold (build cache and records cleared before
#             each run), then warm with no change; buildx builds a
#             cross-compiling Dockerfile (FROM --platform=$BUILDPLATFORM)
#   verify    `scratchc verify` (two --no-cache builds, digests compared)
#             for 1 and 3 platforms, against buildx making the same two
#             --no-cache builds (it has no comparison of its own)
#   llb       `scratchc llb examples/hello --format pb`, the whole process
#             (no daemon; the instruction count too when valgrind is there)
# Needs: the Docker Engine (scripts/setup.sh), hyperfine, python3, a release
# build of scratchc (cargo build --release); the frontend case, the
# frontend image (scripts/frontend-image.sh). Results: docs/benchmarks.md.
# RUNS=N runs per case (default 5); ONLY=cold,warm,... runs just those cases
# (default: all but multiarch and verify, which take minutes a run). The
# tables, the ratio summary and the load average at the end of each case
# land in target/bench-build/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SCRATCHC:-$root/target/release/scratchc}
runs=${RUNS:-5}
only=${ONLY:-cold,warm,edit,label,context,apps,several,vendored,size,basics,frontend,llb}
want() { [[ ",$only," == *",$1,"* ]]; }
[ -x "$bin" ] || { echo "build scratchc first: cargo build --release" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
if [ "$only" != llb ]; then
  docker info >/dev/null 2>&1 || { echo "the Docker Engine is not running (scripts/setup.sh)" >&2; exit 2; }
fi

work=$(mktemp -d)
records=$(mktemp -d)
# Outputs outside the context (scratchc refuses an output over it).
dest=$(mktemp -d)
trap 'rm -rf "$work" "$records" "$dest"' EXIT
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
# The same, cross-compiling for the target platform (as scratchc does)
# rather than running the toolchain of the target: no emulator needed.
cat >"$work/Dockerfile.cross" <<'DOCKERFILE'
FROM --platform=$BUILDPLATFORM golang:1.24 AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
WORKDIR /build/src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go build -trimpath -ldflags=-s -o app .
FROM scratch
COPY --from=build /build/src/app /usr/bin/app
LABEL bench=0
ENTRYPOINT ["/usr/bin/app"]
DOCKERFILE
# scratchc leaves its own files (app.scratch, scratch.lock, .dockerignore)
# out of the context by itself; buildx reads Dockerfile.dockerignore
# instead of .dockerignore, so the same context goes to both.
ignore='Dockerfile\nDockerfile.cross\n*.dockerignore\nedit.sh\nlabel.sh\n'
printf "$ignore" >"$work/.dockerignore"
printf "$ignore"'.dockerignore\napp.scratch\n' >"$work/Dockerfile.dockerignore"
cp "$work/Dockerfile.dockerignore" "$work/Dockerfile.cross.dockerignore"

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
printf '# syntax=scratchc/frontend:0.1\napp hello {\n  port 8080\n  label bench=%s\n}\n' "$n" >"$d/app.scratch"
sed -i "s/^LABEL bench=.*/LABEL bench=$n/" "$d/Dockerfile"
LABEL
label="bash $work/label.sh"

out=$root/target/bench-build
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.md "$out"/*.load "$out"/*.instructions

# hyperfine with the commands of one case, exported as JSON for the
# summary, with the load average at its end.
compare() {
  local case=$1
  shift
  hyperfine --runs "$runs" "$@" --export-json "$out/$case.json" --export-markdown "$out/$case.md"
  cut -d' ' -f1-3 /proc/loadavg >"$out/$case.load"
}
# Cold: no build cache, and no record of a last build (else scratchc would
# find its image unchanged and build nothing).
cold="docker builder prune -af >/dev/null; rm -rf $records/*"

if want cold; then
  echo "== cold (docker builder prune -af and no records before each run)"
  compare cold --prepare "$cold" -n scratchc "$sc" -n buildx "$bx"
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

if want apps || want several; then
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
  if want apps; then
    echo "== two apps of one module (examples/multi), one-line change"
    medit="bash -c 'echo // edit \$RANDOM >>$multi/cmd/api/main.go'"
    compare apps --warmup 1 --prepare "$medit" \
      -n scratchc "$bin build $multi/app.scratch --progress quiet" \
      -n buildx "bash -c 'docker buildx build --builder default -q --target api -t bench-api:latest $multi && docker buildx build --builder default -q --target worker -t bench-worker:latest $multi'"
  fi
  if want several; then
    echo "== two apps of one module (examples/multi), cold: one run against one run per app"
    one="$bin build $multi/app.scratch --progress quiet"
    compare several --prepare "$cold" \
      -n "scratchc one run" "$one" \
      -n "scratchc one by one" "bash -c '$one --app api && $one --app worker'"
  fi
  rm -rf "$multi"
fi

if want vendored; then
  echo "== a vendored module (main in ./cmd/big, 150 vendored packages), one-line change"
  vend=$(mktemp -d)
  # 150 packages of one vendored module, 200 small functions each, all
  # imported by the main package.
  python3 - "$vend" <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
mod, n = "example.com/big", 150
for i in range(n):
    d = root / "vendor" / mod / f"p{i:03}"
    d.mkdir(parents=True)
    funcs = "".join(f"func F{j}(x int) int {{ return x*{j + 1} + len(\"{i}-{j}\") }}\n" for j in range(200))
    (d / "p.go").write_text(f"package p{i:03}\n\n{funcs}")
imports = "".join(f'\t"{mod}/p{i:03}"\n' for i in range(n))
calls = "".join(f"\ts += p{i:03}.F{i % 200}(s)\n" for i in range(n))
(root / "cmd/big").mkdir(parents=True)
(root / "cmd/big/main.go").write_text(
    f"package main\n\nimport (\n\t\"fmt\"\n{imports})\n\nfunc main() {{\n\ts := 1\n{calls}\tfmt.Println(s)\n}}\n")
(root / "go.mod").write_text(f"module example.com/app\n\ngo 1.24\n\nrequire {mod} v1.0.0\n")
pkgs = "".join(f"{mod}/p{i:03}\n" for i in range(n))
(root / "vendor/modules.txt").write_text(f"# {mod} v1.0.0\n## explicit; go 1.24\n{pkgs}")
(root / "app.scratch").write_text("app big {\n  main ./cmd/big\n}\n")
(root / "Dockerfile").write_text("""FROM golang:1.24 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/big ./cmd/big
FROM scratch
COPY --from=build /out/big /usr/bin/big
ENTRYPOINT ["/usr/bin/big"]
""")
(root / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
PY
  vedit="bash -c 'echo // edit \$RANDOM\$RANDOM >>$vend/cmd/big/main.go'"
  compare vendored --warmup 1 --prepare "$vedit" \
    -n scratchc "$bin build $vend/app.scratch --progress quiet -t bench-vendored-scratchc:latest" \
    -n buildx "docker buildx build --builder default -q -t bench-vendored-buildx:latest $vend"
  rm -rf "$vend"
fi

if want label; then
  # The compile is CACHED after a label change (plain progress shows it).
  bash "$work/label.sh"
  $bin build "$work/app.scratch" --progress plain -t bench-scratchc:latest 2>&1 \
    | awk '/build: go -C . build/ {id=$1} $0 == id" CACHED" {c=1} END {print (c ? "label change, compile step: CACHED" : "label change, compile step: RUN")}'
fi

if want frontend; then
  docker image inspect scratchc/frontend:0.1 >/dev/null 2>&1 \
    || { echo "no frontend image: bash scripts/frontend-image.sh" >&2; exit 2; }
  fe="docker buildx build --builder default -q -f $work/app.scratch -t bench-frontend:latest $work"
  echo "== frontend, warm, no change"
  compare frontend --warmup 1 -n scratchc "$sc" -n frontend "$fe" -n buildx "$bx"
  echo "== frontend, after a one-line .go change"
  compare frontend-edit --warmup 1 --prepare "$edit" -n scratchc "$sc" -n frontend "$fe" -n buildx "$bx"
fi

# Multi-platform builds to OCI tarballs: PLATFORMS, DEST, extra flags.
p3=linux/amd64,linux/arm64,linux/arm/v7
sc_oci() { echo "$bin build $work/app.scratch --progress quiet --platform $1 -o type=oci,dest=$dest/$2 ${3:-}"; }
bx_oci() { echo "docker buildx build --builder default -q -f $work/Dockerfile.cross --platform $1 -o type=oci,dest=$dest/$2 ${3:-} $work"; }

if want multiarch; then
  echo "== 1 and 3 platforms, cold (build cache and records cleared before each run)"
  compare multiarch --prepare "$cold" \
    -n "scratchc 1 platform" "$(sc_oci linux/amd64 sc1.tar)" \
    -n "scratchc 3 platforms" "$(sc_oci $p3 sc3.tar)" \
    -n "buildx 1 platform" "$(bx_oci linux/amd64 bx1.tar)" \
    -n "buildx 3 platforms" "$(bx_oci $p3 bx3.tar)"
  echo "== 3 platforms, warm, no change"
  compare multiarch-warm --warmup 1 \
    -n "scratchc 3 platforms" "$(sc_oci $p3 sc3.tar)" \
    -n "buildx 3 platforms" "$(bx_oci $p3 bx3.tar)"
fi

if want verify; then
  echo "== verify (two --no-cache builds, every digest compared); buildx: the same two builds"
  twice() { echo "bash -c '$(bx_oci "$1" a.tar --no-cache) && $(bx_oci "$1" b.tar --no-cache)'"; }
  compare verify \
    -n "scratchc 1 platform" "$bin verify $work/app.scratch --platform linux/amd64" \
    -n "scratchc 3 platforms" "$bin verify $work/app.scratch --platform $p3" \
    -n "buildx 1 platform" "$(twice linux/amd64)" \
    -n "buildx 3 platforms" "$(twice $p3)"
fi

if want llb; then
  echo "== scratchc llb examples/hello --format pb, the whole process"
  hyperfine -N --warmup 5 --runs 100 "$bin llb $root/examples/hello/app.scratch --format pb" \
    --export-json "$out/llb.json" --export-markdown "$out/llb.md"
  cut -d' ' -f1-3 /proc/loadavg >"$out/llb.load"
  if command -v valgrind >/dev/null; then
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$bin" llb "$root/examples/hello/app.scratch" --format pb 2>&1 >/dev/null \
      | sed -n 's/.*Collected : */instructions (callgrind): /p' | tee "$out/llb.instructions"
  fi
fi

if want size; then
  echo "== image size"
  docker image inspect bench-scratchc:latest --format 'scratchc {{.Size}} bytes'
  docker image inspect bench-buildx:latest --format 'buildx   {{.Size}} bytes'
fi

# Every command as a ratio to buildx's command of the same case and
# platforms ("scratchc 3 platforms" to "buildx 3 platforms"; for several,
# "scratchc one run" to "scratchc one by one"), from the
# medians and the means; the load average (1, 5, 15 min) at each case's end.
python3 - "$out" <<'PY' | tee "$out/summary.md"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
t = lambda x: f"{x:.3f} s" if x >= 1 else f"{x * 1000:.1f} ms"
cases = ["cold", "warm", "edit", "label", "context", "apps", "several", "vendored", "frontend",
         "frontend-edit", "multiarch", "multiarch-warm", "verify", "llb"]
print("| case | command | median | mean ± σ | ratio to buildx (median) | (mean) | load at the end |")
print("|---|---|---|---|---|---|---|")
for case in cases:
    f = out / f"{case}.json"
    if not f.exists():
        continue
    load = out / f"{case}.load"
    load = load.read_text().strip() if load.exists() else ""
    results = json.loads(f.read_text())["results"]
    by = {r["command"]: r for r in results}
    for r in results:
        tool, _, rest = r["command"].partition(" ")
        base = by.get(f"buildx {rest}".strip()) if tool != "buildx" else None
        # Several apps: one run against one run per app.
        base = base or (by.get("scratchc one by one") if r["command"] == "scratchc one run" else None)
        sd = f" ± {t(r['stddev'])}" if r.get("stddev") is not None else ""
        ratios = (f"{r['median'] / base['median']:.2f}x | {r['mean'] / base['mean']:.2f}x"
                  if base else " | ")
        print(f"| {case} | {r['command']} | {t(r['median'])} | {t(r['mean'])}{sd} | "
              f"{ratios} | {load} |")
    if "frontend" in by and "scratchc" in by:
        print(f"| {case} | frontend minus scratchc | "
              f"{t(by['frontend']['median'] - by['scratchc']['median'])} | | | | |")
PY
echo "load now: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)" | tee -a "$out/summary.md"

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
if "manifests" in manifest:  # an index: the image beside its SBOM
    image = next(m for m in manifest["manifests"] if m["platform"]["os"] != "unknown")
    manifest = json.loads(blob(image["digest"]))
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
