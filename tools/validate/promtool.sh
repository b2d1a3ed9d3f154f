#!/usr/bin/env bash
# Checks deploy/prometheus with promtool: the alert rules (alerts.yml), their unit tests
# (alerts.test.yml: each alert fires on its series with its labels and summary) and the scrape config
# (prometheus.yml, which loads alerts.yml by a path relative to itself, so it is checked in place).
# Installs Debian's prometheus package, which ships promtool, when promtool is missing. (The package
# also ships a prometheus service; where an init system runs, apt may start it.)
#
#   tools/validate/promtool.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if ! command -v promtool >/dev/null; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  echo "Installing promtool (Debian package prometheus)..." >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

cd "$repo/deploy/prometheus"
promtool --version 2>&1 | sed -n 1p
promtool check rules alerts.yml
promtool test rules alerts.test.yml
promtool check config prometheus.yml
