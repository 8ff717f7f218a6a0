#!/usr/bin/env bash
# Install what slimmer needs on Debian/Ubuntu, only what is missing.
#   scripts/install-deps.sh          the engine and the build tools (make setup)
#   scripts/install-deps.sh --test   also the real servers the probe tests talk to and the real
#                                    tools tests check against (rpm), Compose (docker-compose) for
#                                    the tests of --compose-file, a JDK for the JVM fixture (make
#                                    test); they are installed without starting system services
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v apparmor_parser >/dev/null || need+=(apparmor)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v musl-gcc >/dev/null || need+=(musl-tools)
command -v crun >/dev/null || need+=(crun)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ "${1:-}" = "--test" ]; then
  for pkg in redis-server memcached postgresql mariadb-server nginx openssl qemu-user rpm; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)   # the JVM fixture's class
  # Compose: the plugin (docker compose) or Debian's docker-compose
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null ||
    need+=(docker-compose)
  # the HTML reports of xray and diff are tested in a real headless browser
  command -v chromium >/dev/null || need+=(chromium)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-deps: missing ${need[*]} and no apt-get here: install them with your package manager" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-deps: installing ${need[*]}"
# policy-rc.d: packages must not start their services (the tests start their own servers)
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  created_policy=true
fi
cleanup() { if $created_policy; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
