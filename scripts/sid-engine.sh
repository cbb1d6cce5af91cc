#!/usr/bin/env bash
# scripts/sid-engine.sh — a second Docker Engine for tests: Debian sid's
# Docker 28.5 (BuildKit 0.25 line), buildx 0.29 and containerd 2.1, running
# beside the host's engine.
#
#   setup   make the sid root (once), start the engine, load the images
#   start   start the engine (the root must exist)
#   stop    stop everything this script started, drop its namespaces
#   status  say what runs; exit 0 only when the engine answers
#
# How it is laid out:
# - The root: a debootstrap of Debian sid (minbase) at $SID_ROOT with
#   docker.io, docker-cli, docker-buildx, containerd, runc and socat from
#   sid. It is made in a temp dir and renamed into place when complete, with
#   a stamp naming the recipe; a later `setup` with the same recipe reuses
#   it (a few seconds). The engine's data (images, build cache) lives inside
#   it, apart from the host engine's.
# - The daemons run chrooted into the root, inside a network namespace and
#   a mount namespace of their own, kept as bind mounts in $RUN/ns. Never
#   in the host's network namespace: a second dockerd there deletes or
#   rewrites the host's docker0, its sysctls and iptables, and every build of
#   the host engine fails. In their own namespace they use Docker's defaults
#   (their own docker0 and iptables, invisible to the host).
# - The chroot's mounts (itself, proc, a sysfs of that network namespace,
#   the cgroup tree, dev, a private /run, the host's /tmp) exist only in the
#   private mount namespace; the host's mount table is not touched. The root
#   is bound onto itself there because containerd and dockerd look their
#   directories up in /proc/self/mountinfo, which has no mount for "/" in a
#   plain chroot. /tmp is the host's so that paths the tests hand the engine
#   (`docker run -v /tmp/...`) mean the same files.
# - The host reaches the engine on unix://$RUN/docker.sock ($RUN is bound
#   into the chroot at the same path).
# - The registry of scripts/registry.sh (127.0.0.1:5000 on the host) is
#   127.0.0.1:5000 inside the engine's namespace too: a socat there relays
#   to $RUN/registry.sock, where a socat on the host side relays to the
#   registry. A unix socket is a file, so it crosses network namespaces.
#   Loopback on both sides, so both engines push to it over plain HTTP
#   without being told it is insecure, under the same image names.
# - The host engine's `golang:1.24` and `scratchc/frontend:0.1` are copied
#   in (docker save | docker load) whenever their IDs differ, so a rebuilt
#   frontend image reaches this engine at the next `setup`.
# - The sid docker CLI and buildx 0.29: scripts/sid-docker (a wrapper).
# - `--name NAME` runs another instance of the same engine from the same
#   root ("two machines of one team"): its own namespaces, socket
#   (/run/scratchc-NAME/docker.sock), logs and data (images, build cache:
#   /var/lib/scratchc-instances/NAME in the root, bound over the root's
#   /var/lib/docker and /var/lib/containerd in its mount namespace only).
#   The default name is `sid`; scripts/sid2-docker is the CLI of `sid2`.
#
# `setup` reads images from the host engine (docker save) and nothing else;
# run it where the host engine's lock is held if your team requires that.
# Usage: scripts/sid-engine.sh setup|start|stop|status [--name NAME] [--quiet]
set -euo pipefail

SID_ROOT=${SCRATCHC_SID_ROOT:-/var/lib/scratchc-sid/root}
HOST_SOCK=/var/run/docker.sock
IMAGES=(golang:1.24 scratchc/frontend:0.1)
PACKAGES=(docker.io docker-cli docker-buildx containerd runc socat ca-certificates iptables)
# Bump when the recipe of the root changes: a root with another stamp is
# made again.
RECIPE="sid-root v1: minbase + ${PACKAGES[*]}"
STAMP=.scratchc-sid-recipe
DEBIAN_SOURCES=/etc/apt/sources.list.d/debian.sources
PATH_IN_ROOT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

QUIET=0
CMD=""
NAME=sid
while [ $# -gt 0 ]; do
  arg=$1; shift
  case "$arg" in
    setup|start|stop|status) CMD=$arg ;;
    -q|--quiet) QUIET=1 ;;
    --name) NAME=${1:-}; shift || true ;;
    -h|--help) sed -n '2,52p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sid-engine: unknown argument: $arg (use setup, start, stop, status, --name, --quiet or --help)" >&2; exit 2 ;;
  esac
done
[ -n "$CMD" ] || { echo "sid-engine: say setup, start, stop or status (--help for more)" >&2; exit 2; }
case "$NAME" in
  ''|*[!a-z0-9]*) echo "sid-engine: --name takes lower-case letters and digits: '$NAME'" >&2; exit 2 ;;
esac
RUN=/run/scratchc-$NAME
NS=$RUN/ns
SOCK=$RUN/docker.sock
LOG_DIR=/var/log/scratchc-$NAME
# Inside the root: this instance's images and build cache (not for `sid`,
# which keeps the root's own /var/lib/docker and /var/lib/containerd).
DATA=/var/lib/scratchc-instances/$NAME

log() { if [ "$QUIET" = 0 ]; then echo "sid-engine($NAME): $*"; fi; }
die() { echo "sid-engine($NAME): ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
T0=$(date +%s)
# One setup, start or stop at a time, of any instance (they share the
# root, which setup may be making).
if [ "$CMD" != status ]; then
  exec 9>/run/scratchc-sid-engine.lock
  flock 9
fi

# Runs a command in the engine's namespaces, chrooted into the root, with
# a clean environment.
in_ns() {
  nsenter --mount="$NS/mnt" --net="$NS/net" \
    chroot "$SID_ROOT" env -i PATH="$PATH_IN_ROOT" HOME=/root "$@"
}

# Runs a noisy command; with --quiet its output is shown only if it fails.
run() {
  if [ "$QUIET" = 0 ]; then "$@"; return; fi
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then cat "$out" >&2; fi
  rm -f "$out"
  return "$rc"
}

engine_up() { docker -H "unix://$SOCK" version >/dev/null 2>&1; }

# The pid in $RUN/NAME.pid when that process still runs the expected
# program (a stale file after a reboot may name an unrelated process).
live_pid() {
  local f=$RUN/$1.pid pid comm
  pid=$(cat "$f" 2>/dev/null) || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$2" ] || return 1
  echo "$pid"
}

# Starts "$@" detached (its own session, stdin closed, output to LOG) and
# records its pid in $RUN/NAME.pid. The command must exec its way to the
# daemon (nsenter and chroot do), so the pid is the daemon's.
spawn() {
  local name=$1 logf=$2; shift 2
  # The daemon keeps no descriptor of ours but stdio: not this script's
  # lock (fd 9), nor a lock its caller holds (`flock FILE sid-engine.sh
  # setup` would otherwise stay locked for as long as the engine runs).
  (
    for fd in /proc/self/fd/*; do
      n=${fd##*/}
      [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null
    done
    exec setsid sh -c 'echo $$ >"$0"; exec "$@"' "$RUN/$name.pid" "$@"
  ) >>"$logf" 2>&1 </dev/null &
}

wait_for() {  # wait_for SECONDS WHAT LOG CMD...
  local secs=$1 what=$2 logf=$3 i; shift 3
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "sid-engine: ERROR: $what did not come up within ${secs}s; last lines of $logf:" >&2
  tail -n 30 "$logf" >&2 || true
  exit 1
}

# ------------------------------------------------------------------ root
first_mirror() {
  awk '/^URIs:/ { print $2; exit }' "$DEBIAN_SOURCES"
}

make_root() {
  local mirror keyring tmp
  command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/setup.sh installs it)"
  mirror=$(first_mirror)
  [ -n "$mirror" ] || die "no URIs in $DEBIAN_SOURCES"
  keyring=$(awk '/^Signed-By:/ { print $2; exit }' "$DEBIAN_SOURCES")
  tmp="$SID_ROOT.tmp"
  # A previous attempt that did not finish: start over. Nothing is mounted
  # there (the package step mounts only in a namespace that is gone).
  if [ -e "$tmp" ]; then
    findmnt -rn -o TARGET | grep -qF "$tmp/" && die "$tmp has mounts; unmount them first"
    rm -rf --one-file-system "$tmp"
  fi
  mkdir -p "$(dirname "$SID_ROOT")"
  log "root: debootstrap sid (minbase) from $mirror into $tmp"
  run debootstrap --variant=minbase ${keyring:+--keyring="$keyring"} sid "$tmp" "$mirror"
  # The mirror is a frozen snapshot: sid's Release is past its Valid-Until,
  # which only this root's apt is told to accept. Package scripts must not
  # start services (there is no init system in the root).
  echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99scratchc-frozen-mirror"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$tmp/usr/sbin/policy-rc.d"
  log "root: apt-get install ${PACKAGES[*]}"
  # In a throwaway mount namespace: proc and dev for the package scripts,
  # gone when apt is done.
  run unshare --mount --propagation private sh -euc '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    chroot "$root" env -i PATH='"$PATH_IN_ROOT"' HOME=/root DEBIAN_FRONTEND=noninteractive \
      apt-get -q update
    chroot "$root" env -i PATH='"$PATH_IN_ROOT"' HOME=/root DEBIAN_FRONTEND=noninteractive \
      apt-get -y -q --no-install-recommends install "$@"
    chroot "$root" apt-get clean
  ' sh "$tmp" "${PACKAGES[@]}"
  echo "$RECIPE" >"$tmp/$STAMP"
  if [ -e "$SID_ROOT" ]; then
    log "root: replacing $SID_ROOT (other recipe)"
    rm -rf --one-file-system "$SID_ROOT"
  fi
  mv "$tmp" "$SID_ROOT"
}

# Configs inside the root (paths are the chroot's), written at every
# start. The data roots are the defaults, inside the root: nothing is
# shared with the host engine.
write_configs() {
  local root=$SID_ROOT
  mkdir -p "$root/etc/containerd" "$root/etc/docker"
  # The CRI plugins are for Kubernetes; dockerd does not use them.
  cat >"$root/etc/containerd/config.toml" <<'EOF'
# Written by scratchc scripts/sid-engine.sh.
version = 3
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.podsandbox.controller.v1.podsandbox"]
EOF
  # The containerd image store, as on the host engine (scripts/setup.sh).
  cat >"$root/etc/docker/daemon.json" <<'EOF'
{
  "features": { "containerd-snapshotter": true }
}
EOF
}

root_ready() { [ "$(cat "$SID_ROOT/$STAMP" 2>/dev/null)" = "$RECIPE" ]; }

# ------------------------------------------------------------ namespaces
ns_up() { mountpoint -q "$NS/net" && mountpoint -q "$NS/mnt"; }

make_namespaces() {
  mkdir -p "$RUN" "$NS" "$LOG_DIR"
  # The namespace files are bind mounts; their directory must be a private
  # mount, or binding a mount namespace into it could propagate into
  # that very namespace.
  if ! mountpoint -q "$NS"; then
    mount --bind "$NS" "$NS"
    mount --make-private "$NS"
  fi
  touch "$NS/net" "$NS/mnt"
  unshare --net="$NS/net" --mount="$NS/mnt" --propagation private true
  # The mounts of the chroot, made inside the new namespaces: sysfs must be
  # mounted from within the network namespace to show its devices.
  nsenter --mount="$NS/mnt" --net="$NS/net" sh -euc '
    root=$1 run=$2 data=$3
    ip link set lo up
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    mkdir -p "$root$run"
    mount --bind "$run" "$root$run"
    mount --bind /tmp "$root/tmp"
    if [ -n "$data" ]; then
      for d in docker containerd; do
        mkdir -p "$root$data/$d" "$root/var/lib/$d"
        mount --bind "$root$data/$d" "$root/var/lib/$d"
      done
    fi
  ' sh "$SID_ROOT" "$RUN" "$([ "$NAME" = sid ] || echo "$DATA")"
  cp /etc/resolv.conf "$SID_ROOT/etc/resolv.conf" 2>/dev/null || true
}

# ---------------------------------------------------------------- daemons
start_daemons() {
  root_ready || die "no sid root at $SID_ROOT (run: $0 setup --name $NAME)"
  ns_up || make_namespaces
  write_configs
  local pid
  if pid=$(live_pid containerd containerd); then
    log "containerd: running (pid $pid)"
  else
    log "containerd: starting (log $LOG_DIR/containerd.log)"
    spawn containerd "$LOG_DIR/containerd.log" \
      nsenter --mount="$NS/mnt" --net="$NS/net" \
      chroot "$SID_ROOT" env -i PATH="$PATH_IN_ROOT" HOME=/root containerd
    wait_for 30 containerd "$LOG_DIR/containerd.log" in_ns ctr version
  fi
  if pid=$(live_pid dockerd dockerd); then
    log "dockerd: running (pid $pid)"
  else
    log "dockerd: starting (log $LOG_DIR/dockerd.log)"
    # Its own cgroup parent, so its containers never share the host
    # engine's cgroups.
    spawn dockerd "$LOG_DIR/dockerd.log" \
      nsenter --mount="$NS/mnt" --net="$NS/net" \
      chroot "$SID_ROOT" env -i PATH="$PATH_IN_ROOT" HOME=/root \
      dockerd --host "unix://$SOCK" --containerd /run/containerd/containerd.sock \
      --cgroup-parent /scratchc-sid
  fi
  wait_for 60 dockerd "$LOG_DIR/dockerd.log" engine_up
  local driver
  driver=$(docker -H "unix://$SOCK" info --format '{{json .DriverStatus}}' 2>/dev/null || true)
  case "$driver" in
    *io.containerd.snapshotter.v1*) ;;
    *) die "the sid engine does not use the containerd image store: $driver" ;;
  esac
  start_registry_link
}

# 127.0.0.1:5000 in the engine's namespace relays to the host's registry.
start_registry_link() {
  local pid
  if pid=$(live_pid registry-host socat); then
    :
  else
    rm -f "$RUN/registry.sock"
    # On the host's network, chrooted only for the root's socat.
    spawn registry-host "$LOG_DIR/registry-link.log" \
      nsenter --mount="$NS/mnt" \
      chroot "$SID_ROOT" socat "UNIX-LISTEN:$RUN/registry.sock,fork,mode=600" TCP:127.0.0.1:5000
  fi
  if ! pid=$(live_pid registry-ns socat); then
    spawn registry-ns "$LOG_DIR/registry-link.log" \
      nsenter --mount="$NS/mnt" --net="$NS/net" \
      chroot "$SID_ROOT" socat TCP-LISTEN:5000,bind=127.0.0.1,fork,reuseaddr "UNIX-CONNECT:$RUN/registry.sock"
  fi
  wait_for 10 "the registry link" "$LOG_DIR/registry-link.log" test -S "$RUN/registry.sock"
  log "registry: 127.0.0.1:5000 in the engine's namespace relays to the host's"
}

# --------------------------------------------------------------- images
image_id() { docker -H "$1" image inspect --format '{{.Id}}' "$2" 2>/dev/null || true; }

copy_images() {
  local img host sid
  for img in "${IMAGES[@]}"; do
    host=$(image_id "unix://$HOST_SOCK" "$img")
    [ -n "$host" ] || die "the host engine has no $img (run scripts/setup.sh)"
    sid=$(image_id "unix://$SOCK" "$img")
    if [ "$host" = "$sid" ]; then
      log "image: $img already loaded"
      continue
    fi
    log "image: copying $img ($host)"
    docker -H "unix://$HOST_SOCK" save "$img" | run docker -H "unix://$SOCK" load
    sid=$(image_id "unix://$SOCK" "$img")
    [ "$host" = "$sid" ] || die "$img loaded as ${sid:-nothing}, expected $host"
  done
}

# ----------------------------------------------------------------- stop
stop_all() {
  local name comm pid
  for name in registry-ns:socat registry-host:socat dockerd:dockerd containerd:containerd; do
    comm=${name#*:}; name=${name%%:*}
    if pid=$(live_pid "$name" "$comm"); then
      kill "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "sid-engine: $name (pid $pid) did not stop in 30s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      log "$name: stopped"
    fi
    rm -f "$RUN/$name.pid"
  done
  # What the daemons left in their network namespace (container shims,
  # build steps) was started by them, hence by us: end it too. Found by
  # the namespace it lives in, never by name.
  if mountpoint -q "$NS/net"; then
    local ino p left=()
    ino=$(stat -L -c %i "$NS/net")
    for p in /proc/[0-9]*; do
      [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$ino" ] && left+=("${p#/proc/}")
    done
    if [ "${#left[@]}" -gt 0 ]; then
      log "ending ${#left[@]} leftover process(es) of the engine's namespace: ${left[*]}"
      kill "${left[@]}" 2>/dev/null || true
      sleep 1
      kill -KILL "${left[@]}" 2>/dev/null || true
    fi
  fi
  # Dropping the last references ends the namespaces and every mount made
  # in the private one.
  for f in net mnt; do
    if mountpoint -q "$NS/$f"; then umount "$NS/$f"; fi
  done
  if mountpoint -q "$NS"; then umount "$NS"; fi
  rm -f "$SOCK" "$RUN/registry.sock"
  log "stopped"
}

status() {
  local ok=0 name pid
  root_ready && log "root: $SID_ROOT ($RECIPE)" || { log "root: missing"; ok=1; }
  if ns_up; then log "namespaces: $NS/net, $NS/mnt"; else log "namespaces: none"; fi
  for name in containerd:containerd dockerd:dockerd registry-host:socat registry-ns:socat; do
    if pid=$(live_pid "${name%%:*}" "${name#*:}"); then log "${name%%:*}: pid $pid"; else log "${name%%:*}: not running"; fi
  done
  if engine_up; then
    echo "sid-engine($NAME): up on unix://$SOCK: $(versions)"
  else
    echo "sid-engine($NAME): down (run: $0 setup --name $NAME)"
    ok=1
  fi
  return "$ok"
}

versions() {
  local engine buildx
  engine=$(docker -H "unix://$SOCK" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
  buildx=$(SCRATCHC_SID_NAME=$NAME "$(dirname "$0")/sid-docker" buildx version 2>/dev/null | awk '{print $2}')
  echo "docker engine $engine (containerd image store), buildx ${buildx:-?}"
}

case "$CMD" in
  setup)
    if root_ready; then log "root: $SID_ROOT ready"; else make_root; fi
    start_daemons
    copy_images
    echo "sid-engine($NAME): ready in $(( $(date +%s) - T0 ))s on unix://$SOCK: $(versions)"
    ;;
  start)
    start_daemons
    echo "sid-engine($NAME): up on unix://$SOCK: $(versions)"
    ;;
  stop) stop_all ;;
  status) status ;;
esac
