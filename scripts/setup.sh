#!/usr/bin/env bash
# scripts/setup.sh — prepare this machine to build and run scratchc's output.
#
# scratchc compiles to BuildKit LLB, so tests need a real Docker Engine whose
# builder is BuildKit on the containerd image store. This script:
#   1. adds a low-priority (100) trixie apt source, derived at run time from
#      the machine's own debian.sources, and installs docker.io (Engine 26),
#      containerd 1.7, docker-buildx, docker-compose (v2, the `docker
#      compose` plugin) and debootstrap from trixie, plus runc, hyperfine,
#      qemu-user-static, docker-registry and python3-venv from the host suite.
#      Only those named packages come from trixie ("pkg/trixie"): trixie's
#      runc, iptables and tini need glibc >= 2.38, which would drag libc6,
#      the gcc runtime libraries and base-files (the OS identity) to trixie;
#   2. enables the containerd snapshotter in /etc/docker/daemon.json;
#   3. starts containerd and dockerd in the background (there is no systemd);
#   4. builds the toolchain image golang:1.24 locally with debootstrap +
#      `docker import`, because this machine reaches no container registry:
#      no image can ever be pulled, so every base image must be made here.
#   5. copies that image's Go toolchain out to /var/cache/scratchc/go-1.24
#      (for tests that build Go binaries offline) and installs spdx-tools
#      from PyPI (tests validate SBOMs with `pyspdxtools`);
#   6. installs kubernetes-validate (PyPI) in a venv of its own, for the
#      tests that check `scratchc k8s` output against the Kubernetes
#      OpenAPI schemas, and checks `docker compose` is there;
#   7. builds the frontend image (scripts/frontend-image.sh), and installs
#      the static scratchc binary it stages into $PREFIX/bin (default
#      /usr/local), with its bash, zsh and fish completions and its man
#      pages, so `scratchc` works from any shell (README, "Quick start").
#
# Every step is skipped when already done; a re-run takes a few seconds.
# Usage: scripts/setup.sh [--quiet]      PREFIX=/opt/x scripts/setup.sh
set -euo pipefail

QUIET=0
for arg in "$@"; do
  case "$arg" in
    -q|--quiet) QUIET=1 ;;
    -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown argument: $arg (use --quiet or --help)" >&2; exit 2 ;;
  esac
done

GO_VERSION=1.24
GO_IMAGE="golang:${GO_VERSION}"
SUITE=trixie
DEBIAN_SOURCES=/etc/apt/sources.list.d/debian.sources
TRIXIE_SOURCES=/etc/apt/sources.list.d/scratchc-trixie.sources
TRIXIE_PREFS=/etc/apt/preferences.d/scratchc-trixie
TRIXIE_PKGS=(docker.io containerd docker-buildx docker-compose debootstrap)
OTHER_PKGS=(runc hyperfine qemu-user-static docker-registry python3-venv)
CONTAINERD_SOCK=/run/containerd/containerd.sock
CONTAINERD_LOG=/var/log/scratchc-containerd.log
DOCKERD_LOG=/var/log/scratchc-dockerd.log
DAEMON_JSON=/etc/docker/daemon.json
CACHE_DIR=/var/cache/scratchc
ROOTFS_INCLUDE=golang-${GO_VERSION}-go,ca-certificates,media-types
ROOTFS_TAR=${CACHE_DIR}/golang-${GO_VERSION}-${SUITE}-rootfs.tar
GO_PATH_ENV=/usr/lib/go-${GO_VERSION}/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Checking tools from PyPI, in a venv of their own (no system package is
# touched), linked into /usr/local/bin. The tests look for them there.
TOOLS_VENV=/opt/scratchc-tools
KUBERNETES_VALIDATE_VERSION=1.37.0

export DEBIAN_FRONTEND=noninteractive
export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"
START_TS=$(date +%s)

log()  { if [ "$QUIET" = 0 ]; then echo "setup: $*"; fi; }
warn() { echo "setup: warning: $*" >&2; }
die()  { echo "setup: ERROR: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# Run a noisy command; with --quiet its output is shown only if it fails.
run() {
  if [ "$QUIET" = 0 ]; then "$@"; return; fi
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then cat "$out" >&2; fi
  rm -f "$out"
  return "$rc"
}

# Print "URIS<TAB>SIGNED_BY" of the first deb822 stanza of debian.sources
# whose Suites list the given codename (comment lines are skipped).
main_debian_entry() {
  awk -v RS= -F'\n' -v want="$1" '
    { uris=""; suites=""; signed="";
      for (i = 1; i <= NF; i++) {
        l = $i
        if (l ~ /^[ \t]*#/) continue
        if (l ~ /^URIs:/)           { sub(/^URIs:[ \t]*/, "", l); uris = l }
        else if (l ~ /^Suites:/)    { sub(/^Suites:[ \t]*/, "", l); suites = l }
        else if (l ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", l); signed = l }
      }
      n = split(suites, s, /[ \t]+/)
      for (j = 1; j <= n; j++) if (s[j] == want) { print uris "\t" signed; exit }
    }' "$DEBIAN_SOURCES"
}

# Write file $1 with content from stdin only if it differs; exit 0 if changed.
write_if_changed() {
  local f=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; return 1; fi
  install -D -m 0644 "$tmp" "$f"
  rm -f "$tmp"
  return 0
}

# Print the packages (NAME or NAME>=MINVERSION) that are not installed or too old.
pkgs_missing() {
  local spec p min st ver
  for spec in "$@"; do
    p=${spec%%>=*}; min=""
    [ "$p" != "$spec" ] && min=${spec#*>=}
    st=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)
    ver=${st#* }
    if [ "${st%% *}" != installed ] || { [ -n "$min" ] && ! dpkg --compare-versions "$ver" ge "$min"; }; then
      echo "$p"
    fi
  done
}

need_root
[ -r "$DEBIAN_SOURCES" ] || die "$DEBIAN_SOURCES not found"
. /etc/os-release
HOST_CODENAME=${VERSION_CODENAME:-bookworm}
ENTRY=$(main_debian_entry "$HOST_CODENAME")
[ -n "$ENTRY" ] || die "no '$HOST_CODENAME' entry in $DEBIAN_SOURCES"
MIRROR_URIS=${ENTRY%%$'\t'*}
SIGNED_BY=${ENTRY#*$'\t'}
MIRROR=${MIRROR_URIS%% *}     # first URI, for debootstrap

# ---------------------------------------------------------------- 1. apt
step_apt() {
  local changed=0 sb_line=""
  [ -n "$SIGNED_BY" ] && sb_line="Signed-By: ${SIGNED_BY}"
  if printf '%s\n' \
      "# Written by scratchc scripts/setup.sh, derived from ${DEBIAN_SOURCES}." \
      "Types: deb" "URIs: ${MIRROR_URIS}" "Suites: ${SUITE}" "Components: main" \
      ${sb_line:+"$sb_line"} | write_if_changed "$TRIXIE_SOURCES"; then
    changed=1; log "apt: wrote $TRIXIE_SOURCES"
  fi
  if printf '%s\n' \
      "# Written by scratchc scripts/setup.sh: ${SUITE} only on request (pkg/${SUITE} or -t ${SUITE})." \
      "Package: *" "Pin: release n=${SUITE}" "Pin-Priority: 100" \
      | write_if_changed "$TRIXIE_PREFS"; then
    changed=1; log "apt: wrote $TRIXIE_PREFS"
  fi

  local missing_t missing_o
  missing_t=$(pkgs_missing "docker.io>=26" "containerd>=1.7" docker-buildx "docker-compose>=2" "debootstrap>=1.0.134")
  missing_o=$(pkgs_missing "${OTHER_PKGS[@]}")
  if [ -z "$missing_t" ] && [ -z "$missing_o" ] && [ "$changed" = 0 ]; then
    log "apt: packages already installed"
    return
  fi

  # Never let package scripts start services (there is no init system).
  local policy_tmp=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_tmp=1
  fi
  local APT=(apt-get -y -q -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef
             --no-install-recommends)
  log "apt: apt-get update"
  run apt-get -q update
  # One transaction: "pkg/trixie" takes just that package from trixie and
  # lets its dependencies come from the host suite wherever they can.
  log "apt: installing ${TRIXIE_PKGS[*]/%//$SUITE} ${OTHER_PKGS[*]}"
  local rc=0
  run "${APT[@]}" install "${TRIXIE_PKGS[@]/%//$SUITE}" "${OTHER_PKGS[@]}" || rc=$?
  if [ "$policy_tmp" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$rc" = 0 ] || die "apt-get install failed (exit $rc)"
  missing_t=$(pkgs_missing "docker.io>=26" "containerd>=1.7" docker-buildx "docker-compose>=2" "debootstrap>=1.0.134" "${OTHER_PKGS[@]}")
  [ -z "$missing_t" ] || die "apt: still missing: $missing_t"
}

# Register qemu-user-static's binfmt handlers (no systemd-binfmt here), so
# BuildKit can run foreign-architecture RUN steps. Best effort, never fatal.
step_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc conf line name n=0
  if [ ! -e "$bm/register" ]; then
    mount -t binfmt_misc binfmt_misc "$bm" 2>/dev/null || { log "binfmt: binfmt_misc unavailable, skipped"; return 0; }
  fi
  for conf in /usr/lib/binfmt.d/qemu-*.conf; do
    [ -e "$conf" ] || continue
    line=$(grep -v '^#' "$conf" | head -n1)
    name=$(printf '%s' "$line" | cut -d: -f2)
    [ -n "$name" ] && [ ! -e "$bm/$name" ] || continue
    if printf '%s' "$line" >"$bm/register" 2>/dev/null; then n=$((n + 1)); fi
  done
  if [ "$n" -gt 0 ]; then log "binfmt: registered $n qemu handlers"; else log "binfmt: qemu handlers already registered"; fi
}

# ------------------------------------------------------------ 2. daemon.json
step_daemon_json() {
  local merged
  if [ -s "$DAEMON_JSON" ]; then
    merged=$(python3 - "$DAEMON_JSON" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    cfg = json.load(f)
cfg.setdefault("features", {})["containerd-snapshotter"] = True
print(json.dumps(cfg, indent=2, sort_keys=True))
EOF
) || die "cannot parse $DAEMON_JSON"
  else
    merged='{
  "features": {
    "containerd-snapshotter": true
  }
}'
  fi
  if printf '%s\n' "$merged" | write_if_changed "$DAEMON_JSON"; then
    log "docker: wrote $DAEMON_JSON (containerd snapshotter on)"
    DAEMON_JSON_CHANGED=1
  else
    log "docker: $DAEMON_JSON already set"
  fi
}

# ---------------------------------------------------------------- 3. daemons
containerd_up() {
  [ -S "$CONTAINERD_SOCK" ] &&
    timeout 5 ctr --connect-timeout 1s --address "$CONTAINERD_SOCK" version >/dev/null 2>&1
}
docker_up()     { docker info >/dev/null 2>&1; }

wait_for() {  # wait_for SECONDS CHECK_FN NAME LOG
  local i
  for ((i = 0; i < $1 * 5; i++)); do
    if "$2"; then return 0; fi
    sleep 0.2
  done
  echo "setup: ERROR: $3 did not come up within $1s; last lines of $4:" >&2
  tail -n 30 "$4" >&2 || true
  exit 1
}

pids_of() { pgrep -x "$1" 2>/dev/null || true; }

step_daemons() {
  if containerd_up; then
    log "containerd: already running"
  else
    if [ -n "$(pids_of containerd)" ]; then
      log "containerd: process exists but socket not answering yet; waiting"
    else
      log "containerd: starting (log $CONTAINERD_LOG)"
      mkdir -p "$(dirname "$CONTAINERD_SOCK")"
      setsid nohup containerd >>"$CONTAINERD_LOG" 2>&1 </dev/null &
    fi
    wait_for 30 containerd_up containerd "$CONTAINERD_LOG"
  fi

  if docker_up && [ "${DAEMON_JSON_CHANGED:-0}" = 1 ]; then
    local pid
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    [ -n "$pid" ] || die "daemon.json changed but dockerd pid unknown: restart dockerd by hand"
    log "dockerd: restarting (pid $pid) to apply $DAEMON_JSON"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  if docker_up; then
    log "dockerd: already running"
  else
    if [ -n "$(pids_of dockerd)" ]; then
      log "dockerd: process exists but 'docker info' fails yet; waiting"
    else
      log "dockerd: starting (log $DOCKERD_LOG)"
      setsid nohup dockerd --containerd="$CONTAINERD_SOCK" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    fi
    wait_for 60 docker_up dockerd "$DOCKERD_LOG"
  fi

  # With the containerd image store, 'docker info' shows "Storage Driver:
  # overlayfs" plus DriverStatus [["driver-type","io.containerd.snapshotter.v1"]].
  local driver status
  driver=$(docker info --format '{{.Driver}}' 2>/dev/null || true)
  status=$(docker info --format '{{json .DriverStatus}}' 2>/dev/null || true)
  case "$driver $status" in
    *io.containerd.snapshotter.v1*) ;;
    *) die "docker storage driver is '$driver' ($status), expected the containerd snapshotter (io.containerd.snapshotter.v1)" ;;
  esac
  docker buildx version >/dev/null 2>&1 || die "'docker buildx' is not available"
  log "docker: ready (storage driver $driver, driver-type io.containerd.snapshotter.v1)"
}

# ---------------------------------------------------------- 4. golang image
BUILD_DIR=""
cleanup_build_dir() {
  [ -n "$BUILD_DIR" ] && [ -d "$BUILD_DIR" ] || return 0
  local m
  # Undo any mounts debootstrap left inside before deleting the tree.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done \
    < <(findmnt -rn -o TARGET | grep -F "$BUILD_DIR/" | sort -r)
  if findmnt -rn -o TARGET | grep -qF "$BUILD_DIR/"; then
    warn "mounts remain under $BUILD_DIR; not deleting it"
  else
    rm -rf --one-file-system "$BUILD_DIR"
  fi
}
trap cleanup_build_dir EXIT

make_rootfs_tar() {
  mkdir -p "$CACHE_DIR"
  BUILD_DIR=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
  local root=$BUILD_DIR/root kr=()
  [ -n "$SIGNED_BY" ] && [ -f "$SIGNED_BY" ] && kr=(--keyring="$SIGNED_BY")
  log "image: debootstrap $SUITE (minbase + golang-${GO_VERSION}-go) into $root"
  run debootstrap --variant=minbase "${kr[@]}" --include="$ROOTFS_INCLUDE" \
    "$SUITE" "$root" "$MIRROR"
  cleanup_mounts_only
  # Keep the image small: drop caches, lists, logs and docs.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
         "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap
  : >"$root"/etc/machine-id 2>/dev/null || true
  rm -f "$root"/etc/hostname
  mkdir -p "$root"/go/bin "$root"/go/src
  chmod 1777 "$root"/go "$root"/go/bin "$root"/go/src
  [ -s "$root"/etc/ssl/certs/ca-certificates.crt ] || die "rootfs lacks /etc/ssl/certs/ca-certificates.crt"
  [ -s "$root"/etc/mime.types ] || die "rootfs lacks /etc/mime.types"
  [ -x "$root"/usr/lib/go-${GO_VERSION}/bin/go ] || die "rootfs lacks /usr/lib/go-${GO_VERSION}/bin/go"
  log "image: caching rootfs as $ROOTFS_TAR"
  tar -C "$root" --numeric-owner -cf "$ROOTFS_TAR.tmp" .
  mv -f "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  cleanup_build_dir
  BUILD_DIR=""
}

cleanup_mounts_only() {
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done \
    < <(findmnt -rn -o TARGET | grep -F "$BUILD_DIR/" | sort -r)
}

check_image() {
  docker run --rm --network=none "$GO_IMAGE" sh -ec '
    test -s /etc/ssl/certs/ca-certificates.crt
    test -s /etc/mime.types
    test -z "$(go env GOFLAGS)"
    test "$(go env GOTOOLCHAIN)" = local
    go version'
}

step_image() {
  if docker image inspect "$GO_IMAGE" >/dev/null 2>&1; then
    log "image: $GO_IMAGE already present"
    return
  fi
  if [ -s "$ROOTFS_TAR" ]; then
    log "image: using cached rootfs $ROOTFS_TAR"
  else
    make_rootfs_tar
  fi
  log "image: docker import -> $GO_IMAGE"
  docker import \
    --change "ENV PATH=${GO_PATH_ENV}" \
    --change 'ENV GOPATH=/go' \
    --change 'ENV GOTOOLCHAIN=local' \
    --change 'WORKDIR /go' \
    - "$GO_IMAGE" <"$ROOTFS_TAR" >/dev/null
  local out
  if ! out=$(check_image 2>&1); then
    docker image rm "$GO_IMAGE" >/dev/null 2>&1 || true
    rm -f "$ROOTFS_TAR"
    die "image check failed (image and cached rootfs removed): $out"
  fi
  log "image: $GO_IMAGE ok: $out"
}

# ------------------------------------------------- 5. Go toolchain, spdx-tools
# The Go toolchain of $GO_IMAGE, copied out once into $GO_TOOLCHAIN_DIR (the
# image's /usr/lib/go-X and the /usr/share/go-X its symlinks point into), so
# the tests that need real Go binaries (tests/gobin.rs) run `go build`
# directly: offline, fast, without the daemon. Re-copied only when the image
# changes (its id is kept in .image-id). GOROOT is $GO_TOOLCHAIN_DIR/goroot.
GO_TOOLCHAIN_DIR=${CACHE_DIR}/go-${GO_VERSION}
step_go_toolchain() {
  local id tmp old
  id=$(docker image inspect --format '{{.Id}}' "$GO_IMAGE") || die "cannot inspect $GO_IMAGE"
  if [ -x "$GO_TOOLCHAIN_DIR/goroot/bin/go" ] && [ "$(cat "$GO_TOOLCHAIN_DIR/.image-id" 2>/dev/null)" = "$id" ]; then
    log "go toolchain: $GO_TOOLCHAIN_DIR already extracted"
    return
  fi
  mkdir -p "$CACHE_DIR"
  tmp=$(mktemp -d "$CACHE_DIR/go-toolchain.XXXXXX")
  log "go toolchain: extracting /usr/lib/go-${GO_VERSION} of $GO_IMAGE into $GO_TOOLCHAIN_DIR"
  if ! docker run --rm --network=none "$GO_IMAGE" \
      tar -C / -cf - "usr/lib/go-${GO_VERSION}" "usr/share/go-${GO_VERSION}" | tar -C "$tmp" -xf -; then
    rm -rf --one-file-system "$tmp"
    die "go toolchain: copying the toolchain out of $GO_IMAGE failed"
  fi
  ln -s "usr/lib/go-${GO_VERSION}" "$tmp/goroot"
  if ! GOROOT="$tmp/goroot" GOTOOLCHAIN=local GOENV=off "$tmp/goroot/bin/go" version >/dev/null; then
    rm -rf --one-file-system "$tmp"
    die "go toolchain: the extracted go does not run"
  fi
  printf '%s\n' "$id" >"$tmp/.image-id"
  chmod 0755 "$tmp"
  # Swap in whole: a reader sees the old tree or the new one, never half.
  old=""
  if [ -e "$GO_TOOLCHAIN_DIR" ]; then
    old=$(mktemp -d "$CACHE_DIR/go-old.XXXXXX")
    mv "$GO_TOOLCHAIN_DIR" "$old/"
  fi
  mv "$tmp" "$GO_TOOLCHAIN_DIR"
  if [ -n "$old" ]; then rm -rf --one-file-system "$old"; fi
  log "go toolchain: $("$GO_TOOLCHAIN_DIR/goroot/bin/go" version)"
}

# spdx-tools (PyPI) validates the SPDX documents scratchc writes
# (`pyspdxtools -i FILE`), in tests/gobin.rs.
step_spdx_tools() {
  if command -v pyspdxtools >/dev/null 2>&1; then
    log "spdx-tools: already installed"
    return
  fi
  log "spdx-tools: pip install spdx-tools"
  run python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore spdx-tools \
    || die "pip install spdx-tools failed"
  command -v pyspdxtools >/dev/null 2>&1 || die "spdx-tools installed but pyspdxtools is not on PATH"
}

# ------------------------------------------------------- 6. checking tools
step_tools() {
  local kv=$TOOLS_VENV/bin/kubernetes-validate
  if [ -x "$kv" ] && [ "$("$kv" --version 2>/dev/null)" = "$KUBERNETES_VALIDATE_VERSION" ]; then
    log "tools: kubernetes-validate $KUBERNETES_VALIDATE_VERSION already installed"
  else
    log "tools: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $TOOLS_VENV"
    # Debian's interpreter, not whatever `python3` is first on PATH: the
    # venv must outlive a pyenv or a virtualenv of the session.
    [ -x "$TOOLS_VENV/bin/python3" ] || run /usr/bin/python3 -m venv "$TOOLS_VENV" \
      || die "cannot create the venv $TOOLS_VENV (is python3-venv installed?)"
    run "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
      || die "pip could not install kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
    [ "$("$kv" --version 2>/dev/null)" = "$KUBERNETES_VALIDATE_VERSION" ] \
      || die "kubernetes-validate does not run from $TOOLS_VENV"
  fi
  ln -sfn "$kv" /usr/local/bin/kubernetes-validate
  docker compose version >/dev/null 2>&1 || die "'docker compose' is not available (docker-compose package)"
}

# ------------------------------------------------------- 7. the scratchc CLI
# The binary frontend-image.sh staged (static, release), its completion
# scripts and man pages, each written only when it changed.
PREFIX=${PREFIX:-/usr/local}
step_cli() {
  local bin="$(dirname "$0")/../frontend/bin/scratchc" changed=0 tmp page
  [ -x "$bin" ] || die "cli: $bin is missing (scripts/frontend-image.sh stages it)"
  if ! cmp -s "$bin" "$PREFIX/bin/scratchc"; then
    install -D -m 0755 "$bin" "$PREFIX/bin/scratchc"
    changed=1
  fi
  "$bin" completions bash | write_if_changed "$PREFIX/share/bash-completion/completions/scratchc" && changed=1
  "$bin" completions zsh | write_if_changed "$PREFIX/share/zsh/site-functions/_scratchc" && changed=1
  "$bin" completions fish | write_if_changed "$PREFIX/share/fish/vendor_completions.d/scratchc.fish" && changed=1
  tmp=$(mktemp -d)
  "$bin" man --dir "$tmp" || { rm -rf "$tmp"; die "cli: scratchc man failed"; }
  for page in "$tmp"/*.1; do
    write_if_changed "$PREFIX/share/man/man1/$(basename "$page")" <"$page" && changed=1
  done
  rm -rf "$tmp"
  if [ "$changed" = 1 ]; then
    log "cli: $("$PREFIX/bin/scratchc" --version | head -1) installed in $PREFIX (completions, man pages)"
  else
    log "cli: $PREFIX/bin/scratchc up to date"
  fi
}

step_apt
step_binfmt
step_daemon_json
step_daemons
step_image
step_go_toolchain
step_spdx_tools
step_tools
# The BuildKit frontend image (`# syntax=scratchc/frontend:0.1`), built by
# scratchc itself and loaded so examples and tests use it offline.
"$(dirname "$0")/frontend-image.sh" $([ "$QUIET" = 1 ] && echo --quiet) \
  || die "scripts/frontend-image.sh failed"
step_cli

GO_VER=$(docker run --rm --network=none "$GO_IMAGE" go version 2>/dev/null | awk '{print $3}') \
  || die "'docker run --rm $GO_IMAGE go version' failed"
ENGINE=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
BUILDX=$(docker buildx version 2>/dev/null | awk '{print $2}')
COMPOSE=$(docker compose version --short 2>/dev/null || echo '?')
echo "setup: ready in $(( $(date +%s) - START_TS ))s: docker engine ${ENGINE} (containerd snapshotter), buildx ${BUILDX}, compose ${COMPOSE}, image ${GO_IMAGE} (${GO_VER}), kubernetes-validate ${KUBERNETES_VALIDATE_VERSION}"
