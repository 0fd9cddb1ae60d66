#!/usr/bin/env bash
# Install everything the tests need, then run all of them: lint, jest, pytest (which starts its
# own Ray head and Jupyter servers) on the newest Ray, its browser and slow tests as a second
# stream alongside, and, alongside both, the tests again on the oldest supported Ray, less the
# slow, tutorial and browser tests (scripts/test-oldest-ray.sh). Arguments go to the main pytest
# run (which then runs just what they name, with no second stream).
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
# Streams that run alongside the main pytest run: most of each is waiting on Ray heads, kernels
# and browsers, not CPU. Each streams into its own log in build/, printed after the main run's,
# and its exit status counts. Each starts its own Ray head; the side streams run in a network
# namespace of their own where the machine allows one (scripts/netns.sh), so no ports meet.
mkdir -p build
side_pids=()
side_logs=()
side() { # side NAME COMMAND...: start COMMAND in the background, its output in build/NAME.log
  local log="build/$1.log"
  shift
  echo "== $log: $* (starts alongside)"
  "$@" >"$log" 2>&1 &
  side_pids+=("$!")
  side_logs+=("$log")
}
if [ "${IOG_SKIP_OLDEST_RAY:-0}" != 1 ]; then
  side pytest-oldest-ray bash scripts/test-oldest-ray.sh
fi
main_args=("$@")
if [ "$#" -eq 0 ]; then
  # A whole run: the browser tests and the slow ones (head kills and restarts, worker nodes
  # joining, `iog up`) are a stream of their own, on the same Ray as the main run.
  side pytest-ui-and-slow bash scripts/netns.sh python -m pytest -m "ui or slow" -p no:cacheprovider \
    --durations=10
  main_args=(-m "not (ui or slow)")
fi
python -m pytest --durations=15 "${main_args[@]}" || status=$?
for i in "${!side_pids[@]}"; do
  side_status=0
  wait "${side_pids[$i]}" || side_status=$?
  echo "== ${side_logs[$i]} (exit $side_status)"
  cat "${side_logs[$i]}"
  [ "$side_status" -eq 0 ] || status=$side_status
done
tracked_after="$(git status --porcelain 2>/dev/null || true)"
if [ "$tracked_before" != "$tracked_after" ]; then
  echo "== the test run changed the checkout (git status before vs after):"
  diff <(echo "$tracked_before") <(echo "$tracked_after") || true
  status=1
fi
exit "$status"
