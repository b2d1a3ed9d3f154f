#!/usr/bin/env bash
# Starts the Career Path Navigator gateway locally: Azurite, one silo and the API on 127.0.0.1.
# Ctrl-C or SIGTERM stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"
source tools/dev/services.sh

API_PORT=${NAVIGATOR_API_PORT:-5080}
DATA_DIR=${NAVIGATOR_DATA_DIR:-$PWD/.data}
BLOB_PORT=${NAVIGATOR_AZURITE_BLOB_PORT:-10000}
TABLE_PORT=${NAVIGATOR_AZURITE_TABLE_PORT:-10002}
export NAVIGATOR_API_PORT=$API_PORT NAVIGATOR_DATA_DIR=$DATA_DIR
# Development: the well-known dev keys and the open silo dashboard on loopback. Anything else refuses
# default or weak keys (see "Keys" in the README).
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Development}
mkdir -p "$DATA_DIR/logs"

cleanup() {
  # A second Ctrl-C must not cut the clean-up short and leave services running.
  trap '' INT TERM
  trap - EXIT
  echo
  echo "Stopping gateway..."
  # Stop in reverse order: API, silo, then storage.
  stop_started
  echo "Stopped."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_azurite_installed
echo "Building..."
dotnet build Navigator.sln -c Release -nologo -v q -clp:ErrorsOnly

echo "Starting Azurite (data in $DATA_DIR/azurite)..."
start_azurite "$DATA_DIR/azurite" "$BLOB_PORT" "$TABLE_PORT" "$DATA_DIR/logs/azurite.log"
STARTED+=("$AZURITE_PID")
export ConnectionStrings__AzureStorage
ConnectionStrings__AzureStorage=$(azurite_connection_string "$BLOB_PORT" "$TABLE_PORT")

echo "Starting silo (dashboard on http://127.0.0.1:5090/dashboard)..."
SILO_BIN=$PWD/Silo/bin/Release/net10.0
dotnet "$SILO_BIN/Navigator.Silo.dll" --contentRoot "$SILO_BIN" >"$DATA_DIR/logs/silo.log" 2>&1 &
STARTED+=("$!")
wait_for_port 30000 60 "Silo gateway" "${STARTED[-1]}"

echo "Starting API on http://127.0.0.1:$API_PORT ..."
API_BIN=$PWD/Api/bin/Release/net10.0
dotnet "$API_BIN/Navigator.Api.dll" --contentRoot "$API_BIN" >"$DATA_DIR/logs/api.log" 2>&1 &
STARTED+=("$!")
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$API_PORT/health/ready" >/dev/null 2>&1; then break; fi
  for pid in "${STARTED[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "A service exited during start-up; see $DATA_DIR/logs/" >&2; exit 1; }; done
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$API_PORT/health/ready" >/dev/null || { echo "API not ready; see $DATA_DIR/logs/api.log" >&2; exit 1; }

cat <<MSG

Career Path Navigator gateway is ready at http://127.0.0.1:$API_PORT
  logs:      $DATA_DIR/logs/   telemetry: $DATA_DIR/telemetry/
  providers: $( [ -n "${OPENAI_API_KEY:-}" ] && echo "OpenAI real" || echo "OpenAI simulated" ), $( [ -n "${ANTHROPIC_API_KEY:-}" ] && echo "Anthropic real" || echo "Anthropic simulated" )

Try:
  curl -s http://127.0.0.1:$API_PORT/v1/career-paths \\
    -H 'Authorization: Bearer ${NAVIGATOR_CLIENT_KEY:-dev-client-key}' -H 'Content-Type: application/json' \\
    -d '{"userId":"u-123","userProfile":"Software Engineer, 5 years, Python/Java, interested in AI/ML","jobMarketData":"AI Engineer: \$120k-180k, ML Engineer: \$130k-200k, Data Scientist: \$110k-170k"}'

Press Ctrl-C to stop.
MSG

# Exit (and clean up) as soon as any service dies.
wait -n "${STARTED[@]}" || true # a service that dies with an error status must still get the message below (set -e)
echo "A service exited unexpectedly; see $DATA_DIR/logs/" >&2
exit 1
