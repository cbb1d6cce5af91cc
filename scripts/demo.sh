#!/usr/bin/env bash
# The main job: build examples/hello into an image with scratchc and run it.
# Sets up the Docker Engine (BuildKit) and the local Go toolchain image first
# when they are missing (scripts/setup.sh), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --quiet
cargo build --release --locked --quiet
scratchc=target/release/scratchc

"$scratchc" build examples/hello/app.scratch -t scratchc-hello:demo

docker rm -f scratchc-hello-demo >/dev/null 2>&1 || true
docker run -d --name scratchc-hello-demo -p 127.0.0.1:18080:8080 scratchc-hello:demo >/dev/null
trap 'docker rm -f scratchc-hello-demo >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 50); do
  if answer=$(curl -fsS http://127.0.0.1:18080/ 2>/dev/null); then
    echo "scratchc-hello:demo answered: $answer"
    docker image ls scratchc-hello:demo
    exit 0
  fi
  sleep 0.1
done
echo "the container did not answer on 127.0.0.1:18080" >&2
docker logs scratchc-hello-demo >&2 || true
exit 1
