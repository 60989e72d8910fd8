#!/usr/bin/env bash
# Redis for the local stack's shared rate limits (Memorystore for Redis in production).
# Installs Debian's redis-server when it is missing and this runs as root; otherwise says how.
# No daemon is left running: the local stack starts its own redis-server on a port of its own.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing redis-server (Debian package) for the local stack..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: the package must not start a system-wide daemon of its own.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  if [ "$created_policy" = "1" ]; then rm -f "$policy"; fi
  exit 0
fi
echo "error: redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run make again." >&2
exit 1
