#!/usr/bin/env bash
# Install everything the tests need, then run all of them: lint, jest, pytest (which starts its
# own Ray head and Jupyter servers). This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
export PATH="$PWD/.venv/bin:$PATH"
echo "== lint"
ruff check iog_jupyter tests benchmarks
ruff format --check iog_jupyter tests benchmarks
echo "== frontend unit tests (jest)"
(cd labextension && jlpm install >/dev/null && jlpm test --silent)
echo "== pytest"
python -m pytest "$@"
