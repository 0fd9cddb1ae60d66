#!/usr/bin/env bash
# Create .venv and install iog-jupyter into it, with the given extras; builds the labextension.
# Used by scripts/up.sh and scripts/test.sh; safe to run again (it only adds what is missing).
# pip stays quiet; each step says on stderr what it installs, so the wait is not silent.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-all}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
say() { echo "$*" >&2; }
if [ ! -x .venv/bin/python ]; then
  say "Creating .venv with $("$python" --version 2>&1)..."
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
# jlpm (from jupyter-builder) builds the frontend; put the venv first on PATH for the build hook.
export PATH="$PWD/.venv/bin:$PATH"
say "Installing the build tools (jupyter-builder, hatchling) into .venv..."
.venv/bin/python -m pip install --quiet "jupyter-builder>=1.3" "hatch-jupyter-builder>=0.9" "hatchling>=1.25"
say "Installing iog-jupyter[${extras}] (Ray, JupyterLab, ...) and building its JupyterLab extension;"
say "this takes a minute or two (less when already installed)..."
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
say "Installed iog-jupyter[${extras}] into .venv."
