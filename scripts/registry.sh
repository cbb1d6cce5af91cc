#!/usr/bin/env bash
# scripts/registry.sh — a plain-HTTP OCI registry on 127.0.0.1:5000 for tests.
#
# The push and registry-cache tests need a registry, and this machine reaches
# none, so we run Debian's `docker-registry` (distribution 2.8) locally:
# loopback only, no auth, storage under /var/lib/scratchc-registry, with a
# config of its own (Debian's /etc/docker/registry/config.yml asks for an
# htpasswd file and listens on every interface). BuildKit treats a loopback
# registry as plain HTTP without being told (`registry.insecure` is not
# needed), which is exactly what scratchc allows by default.
#
# Idempotent: when the registry already answers /v2/, nothing is done.
# Installs docker-registry and qemu-user-static with apt-get when missing.
# Usage: scripts/registry.sh [--quiet] [--stop]
set -euo pipefail

ADDR=127.0.0.1:5000
ROOT=/var/lib/scratchc-registry
CONFIG=/run/scratchc-registry.yml
LOG=/var/log/scratchc-registry.log
PIDFILE=/run/scratchc-registry.pid
QUIET=0
STOP=0
for arg in "$@"; do
  case "$arg" in
    -q|--quiet) QUIET=1 ;;
    --stop) STOP=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "registry: unknown argument: $arg (use --quiet, --stop or --help)" >&2; exit 2 ;;
  esac
done
say() { if [ "$QUIET" = 0 ]; then echo "registry: $*"; fi; }
up() { curl -fsS -m 2 -o /dev/null "http://${ADDR}/v2/" 2>/dev/null; }

if [ "$STOP" = 1 ]; then
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    say "stopped"
  fi
  rm -f "$PIDFILE"
  exit 0
fi

if up; then
  say "already up on ${ADDR}"
  exit 0
fi

missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
  }
fi

mkdir -p "$ROOT"
cat >"$CONFIG" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${ROOT}
  delete:
    enabled: true
http:
  addr: ${ADDR}
EOF

# setsid: the registry outlives this script and the shell that ran it.
setsid docker-registry serve "$CONFIG" >>"$LOG" 2>&1 < /dev/null &
echo $! >"$PIDFILE"

for _ in $(seq 1 50); do
  if up; then
    say "up on ${ADDR} (storage ${ROOT}, log ${LOG})"
    exit 0
  fi
  sleep 0.1
done
echo "registry: docker-registry did not answer on http://${ADDR}/v2/ within 5 s; see ${LOG}" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
