#!/usr/bin/env bash
# Durable reserve+settle pairs per second on one month's BudgetGrain, against Azurite.
# Starts its own Azurite (free ports, temporary data) and one silo process on loopback, runs
# tools/LedgerBench for each concurrency level, and stops everything. Bounded by time.
# Usage: tools/bench/ledger-bench.sh [seconds-per-level=10] [levels=1,16,256]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

SECONDS_PER_LEVEL=${1:-10}
LEVELS=${2:-1,16,256}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigator-bench.XXXXXX")
cleanup() {
  stop_started
  rm -rf "$WORK"
}
trap cleanup EXIT

ensure_azurite_installed
dotnet build Silo/Silo.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet build tools/LedgerBench/LedgerBench.csproj -c Release -nologo -v q -clp:ErrorsOnly

BLOB_PORT=$(free_port); TABLE_PORT=$(free_port)
start_azurite "$WORK/azurite" "$BLOB_PORT" "$TABLE_PORT" "$WORK/azurite.log"
STARTED+=("$AZURITE_PID")

export ConnectionStrings__AzureStorage Orleans__ClusterId=bench Orleans__ServiceId="bench-$RANDOM"
ConnectionStrings__AzureStorage=$(azurite_connection_string "$BLOB_PORT" "$TABLE_PORT")
Logging__LogLevel__Default=Warning start_silo_process "$WORK/silo.log"

echo "Ledger benchmark: $(nproc) cores, ${SECONDS_PER_LEVEL}s per level, Azurite $(node_modules/.bin/azurite --version 2>/dev/null || echo '?')"
timeout $(( SECONDS_PER_LEVEL * 10 + 120 )) dotnet tools/LedgerBench/bin/Release/net10.0/Navigator.LedgerBench.dll "$SECONDS_PER_LEVEL" "$LEVELS"
