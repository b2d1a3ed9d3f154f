#!/usr/bin/env bash
# The month's ledger under the lease protocol: simulated replicas reserve and settle N requests on
# their leases in memory and report every 250 ms to one month's BudgetGrain. Prints the ledger
# blob's size and a lease renewal's latency before and after, and checks spent = N x the cost.
# Starts its own Azurite (free ports, temporary data) and one silo process on loopback, and stops
# everything. Bounded by a timeout.
# Usage: tools/bench/ledger-bench.sh [requests=100000] [replicas=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

REQUESTS=${1:-100000}
REPLICAS=${2:-2}
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

echo "Ledger benchmark: $(nproc) cores, $REQUESTS requests over $REPLICAS replicas, Azurite $(node_modules/.bin/azurite --version 2>/dev/null || echo '?')"
timeout 600 dotnet tools/LedgerBench/bin/Release/net10.0/Navigator.LedgerBench.dll "$REQUESTS" "$REPLICAS"
