#!/usr/bin/env bash
# Install everything the tests need, then run all of them: lint, jest, pytest (which starts its
# own Ray head and Jupyter servers) on the newest Ray and, alongside it, the tests again on the
# oldest supported Ray, less the slow, tutorial and browser tests (scripts/test-oldest-ray.sh).
# Arguments go to the main pytest run.
# This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# Browser tests (tests/ui) drive Debian's Chromium through Playwright; never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export IOG_CHROMIUM="${IOG_CHROMIUM:-/usr/bin/chromium}"
bash scripts/bootstrap.sh test
# A test run must leave the checkout as it found it (screenshots go to build/, ignored).
tracked_before="$(git status --porcelain 2>/dev/null || true)"
export PATH="$PWD/.venv/bin:$PATH"
echo "== lint"
ruff check iog_jupyter tests benchmarks
ruff format --check iog_jupyter tests benchmarks
echo "== layers (import-linter)"
lint-imports
echo "== frontend unit tests (jest)"
(cd labextension && jlpm install >/dev/null && jlpm test --silent)
echo "== pytest"
if [ "${IOG_SKIP_UI:-0}" != 1 ] && [ ! -x "$IOG_CHROMIUM" ]; then
  echo "== installing Chromium for the browser tests (apt)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
status=0
# The oldest-Ray pass runs alongside the main one: much of both is waiting on Ray heads, kernels
# and browsers, and the oldest-Ray heads live in a network namespace of their own where the
# machine allows one (scripts/netns.sh), else on ports of their own. Its output is kept in a file
# and printed after the main run's. The browser tests, timing-sensitive, sort last in the main
# run, by when the oldest pass (the shorter) has ended.
oldest_pid=""
if [ "${IOG_SKIP_OLDEST_RAY:-0}" != 1 ]; then
  mkdir -p build
  oldest_log="build/pytest-oldest-ray.log"
  echo "== pytest on the oldest supported Ray starts alongside (output in $oldest_log)"
  bash scripts/test-oldest-ray.sh >"$oldest_log" 2>&1 &
  oldest_pid=$!
fi
python -m pytest --durations=15 "$@" || status=$?
if [ -n "$oldest_pid" ]; then
  oldest_status=0
  wait "$oldest_pid" || oldest_status=$?
  echo "== pytest on the oldest supported Ray (exit $oldest_status)"
  cat "$oldest_log"
  [ "$oldest_status" -eq 0 ] || status=$oldest_status
fi
tracked_after="$(git status --porcelain 2>/dev/null || true)"
if [ "$tracked_before" != "$tracked_after" ]; then
  echo "== the test run changed the checkout (git status before vs after):"
  diff <(echo "$tracked_before") <(echo "$tracked_after") || true
  status=1
fi
exit "$status"
