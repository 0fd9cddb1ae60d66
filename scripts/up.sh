#!/usr/bin/env bash
# The main job: install iog-jupyter, start a loopback Ray head (token auth) and JupyterLab with
# the extension, and print the URL with its token. `.venv/bin/iog down` stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh all
args=()
# JupyterLab refuses to run as root unless told; containers and cloud head nodes often are root.
if [ "$(id -u)" = "0" ]; then args+=(--allow-root); fi
exec .venv/bin/iog up "${args[@]}" "$@"
