#!/usr/bin/env bash
# Run a command in a network namespace of its own (loopback only) where this machine allows one
# (`unshare -n`, as root), so nothing it starts is reachable from outside and its ports cannot
# meet another test run's; otherwise run it as it is, saying so.
set -euo pipefail
if unshare -n true 2>/dev/null && command -v ip >/dev/null 2>&1; then
  echo "== (in a network namespace of its own: loopback only)"
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "== (no network namespace available here: the test heads bind on this machine's network)"
exec "$@"
