#!/usr/bin/env bash
# Lints an OpenAPI document with Spectral (tools/validate/spectral.yaml: spectral:oas plus the API's own
# rules) and fails on any warning or error.
#
#   tools/validate/openapi.sh <openapi.json | URL>
#   e.g. curl -fsS http://127.0.0.1:5080/openapi/v1.json -o /tmp/openapi.json && tools/validate/openapi.sh /tmp/openapi.json
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ $# -ne 1 ]; then
  echo "usage: $0 <openapi.json | URL>" >&2
  exit 2
fi
doc=$1
if [[ ! $doc =~ ^https?:// ]] && [ ! -f "$doc" ]; then
  echo "$doc: no such file" >&2
  exit 2
fi

spectral=$repo/node_modules/.bin/spectral
if [ ! -x "$spectral" ]; then
  echo "Installing the npm packages from package.json (npm ci)..." >&2
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

exec "$spectral" lint --ruleset "$repo/tools/validate/spectral.yaml" --fail-severity warn "$doc"
