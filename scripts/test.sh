#!/usr/bin/env bash
# Install everything the tests need, then run all of them: lint, jest, pytest (which starts its
# own Ray head and Jupyter servers) on the newest Ray, then the Ray-backed tests again on the
# oldest supported Ray, less the slow fault tests (scripts/test-oldest-ray.sh).
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
python -m pytest --durations=15 "$@" || status=$?
if [ "${IOG_SKIP_OLDEST_RAY:-0}" != 1 ]; then
  echo "== pytest on the oldest supported Ray: the Ray-backed tests"
  bash scripts/test-oldest-ray.sh || status=$?
fi
tracked_after="$(git status --porcelain 2>/dev/null || true)"
if [ "$tracked_before" != "$tracked_after" ]; then
  echo "== the test run changed the checkout (git status before vs after):"
  diff <(echo "$tracked_before") <(echo "$tracked_after") || true
  status=1
fi
exit "$status"
