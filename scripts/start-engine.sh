#!/usr/bin/env bash
# Start a Docker engine when none answers, then wait (bounded) until `docker info` succeeds.
set -euo pipefail

wait_seconds=${ENGINE_WAIT_SECONDS:-90}

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "start-engine: no engine answers at DOCKER_HOST=$DOCKER_HOST: start it there, or unset DOCKER_HOST" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
log=${TMPDIR:-/tmp}/slimmer-dockerd.log
echo "start-engine: starting dockerd (log: $log)"
# setsid: the engine outlives this script and the make that ran it
"${sudo[@]}" setsid dockerd >"$log" 2>&1 < /dev/null &
for ((i = 0; i < wait_seconds; i++)); do
  if docker info >/dev/null 2>&1; then
    echo "start-engine: engine ready after ${i}s"
    exit 0
  fi
  sleep 1
done
echo "start-engine: dockerd did not answer within ${wait_seconds}s; last log lines:" >&2
tail -n 20 "$log" >&2 || true
exit 1
