#!/usr/bin/env bash
# Regenerate the wire contract: openapi.json (the server's OpenAPI document, from its pydantic
# models) and labextension/src/api/schema.d.ts (TypeScript types generated from it by
# openapi-typescript). Commit both; never edit either by hand.
# Needs the package importable by `python` (or $PYTHON) and `jlpm install` done in labextension.
set -euo pipefail
cd "$(dirname "$0")/.."
# Write through a temporary file so that a failing generator leaves the committed document intact.
tmp="$(mktemp openapi.json.XXXXXX)"
trap 'rm -f "$tmp"' EXIT
"${PYTHON:-python}" -m iog_jupyter.openapi >"$tmp"
chmod 644 "$tmp"
mv "$tmp" openapi.json
cd labextension
# --empty-objects-unknown: a free-form object (runtime_env) is Record<string, unknown>, not never.
# --default-non-nullable=false: a request field with a default stays optional (SubmitRequest).
node_modules/.bin/openapi-typescript ../openapi.json -o src/api/schema.d.ts --empty-objects-unknown \
  --default-non-nullable=false
