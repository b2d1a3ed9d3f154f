#!/usr/bin/env bash
# Regenerates docs/diagram.png from docs/diagram.dot with Graphviz. Installs graphviz with apt-get
# when `dot` is missing (Debian/Ubuntu; needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v dot >/dev/null 2>&1; then
  echo "Graphviz (dot) is missing: installing it with apt-get..."
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y graphviz >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y graphviz >/dev/null; }
fi

dot -Tpng -Gdpi=110 docs/diagram.dot -o docs/diagram.png
echo "docs/diagram.png regenerated from docs/diagram.dot ($(dot -V 2>&1))"
