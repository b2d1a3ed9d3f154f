#!/usr/bin/env bash
# Regenerates docs/diagram.png from docs/diagram.dot with Graphviz. Installs graphviz with apt-get
# when `dot` is missing (Debian/Ubuntu; needs root or sudo).
# --check: renders to a temporary file and fails unless it is byte for byte the committed PNG
# (./test.sh runs this, so the picture never drifts from its source).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v dot >/dev/null 2>&1; then
  echo "Graphviz (dot) is missing: installing it with apt-get..."
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y graphviz >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y graphviz >/dev/null; }
fi

if [ "${1:-}" = "--check" ]; then
  rendered=$(mktemp --suffix=.png)
  trap 'rm -f "$rendered"' EXIT
  dot -Tpng -Gdpi=110 docs/diagram.dot -o "$rendered"
  if ! cmp -s "$rendered" docs/diagram.png; then
    echo "docs/diagram.png does not match docs/diagram.dot ($(dot -V 2>&1)): run tools/docs/diagram.sh and commit the PNG." >&2
    exit 1
  fi
  echo "docs/diagram.png matches docs/diagram.dot"
  exit 0
fi

dot -Tpng -Gdpi=110 docs/diagram.dot -o docs/diagram.png
echo "docs/diagram.png regenerated from docs/diagram.dot ($(dot -V 2>&1))"
