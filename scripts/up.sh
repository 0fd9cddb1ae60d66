#!/usr/bin/env bash
# The main job: install iog-jupyter, start a loopback Ray head (token auth) and JupyterLab with
# the extension, and print the URL with its token. `.venv/bin/iog down` stops both.
# JupyterLab serves ~/iog-notebooks (made with the tutorials on first use), not this checkout;
# `iog up` adds --allow-root by itself when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh all
exec .venv/bin/iog up "$@"
