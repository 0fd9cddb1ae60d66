#!/usr/bin/env bash
# The tests again, on the oldest Ray iog_jupyter supports
# (a second venv, .venv-ray<version>, with the same checkout installed editable). Called by
# scripts/test.sh alongside the main run; extra arguments go to pytest.
#
# Ray before 2.52 has no token authentication, so a multi-node test head's ports would answer
# anyone on the network: where this machine allows it, the run gets a network namespace of its
# own (`unshare -n`, loopback only), so nothing it starts is reachable from outside.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${IOG_OLDEST_RAY:-2.40.0}"
venv=".venv-ray${version}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
echo "ray==${version}" >"$constraints"
# The labextension was built by the main venv's install; this one reuses it (no node build).
export SKIP_JUPYTER_BUILDER=1
"$venv/bin/python" -m pip install --quiet -c "$constraints" "hatchling>=1.25" \
  "hatch-jupyter-builder>=0.9" "jupyter-builder>=1.3"
"$venv/bin/python" -m pip install --quiet -c "$constraints" -e ".[test]"
"$venv/bin/python" -c "import ray, sys; v = ray.__version__; print('Ray', v); sys.exit(v != '${version}')"
# Every test runs on this Ray too, the ones without a Ray head included (about a minute more:
# they build Ray's own types and read its capabilities, which differ by version), less the
# browser tests and those marked `slow` (head restarts and kills, worker nodes joining) and
# `tutorial` (the notebooks, whose Ray calls the integration tests make too): these run on the
# newest Ray only, as they exercise iog more than Ray's API, and keep the CI run short.
cmd=("$venv/bin/python" -m pytest -m "not slow and not tutorial" --ignore=tests/ui -p no:cacheprovider \
  --durations=10 "$@")
exec bash scripts/netns.sh "${cmd[@]}"
