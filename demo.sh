#!/usr/bin/env bash
# Tells the gateway's story in seven scenes, narrated live in the console: normal calls, the A/B split,
# the response cache, an OpenAI outage with failover and recovery, a budget pushed to its cap, a bad
# release rolled back, and the cluster-wide statistics. It starts Azurite, a silo, two API replicas and
# the fake upstream (behind the real OpenAI and Anthropic SDKs) on free loopback ports, with a data
# directory of its own (.demo/, wiped at each start, kept afterwards for its telemetry), and stops them all
# at the end.
# Usage: ./demo.sh [--plain] [--no-build] [--summary FILE]
#   --plain     no live view or colour (for logs and tests)
#   --no-build  use the Release binaries already built
#   --summary   write each scene's outcome as JSON to FILE
set -euo pipefail
cd "$(dirname "$0")"
source tools/dev/services.sh

BUILD=1
DEMO_ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --plain) DEMO_ARGS+=(--plain) ;;
    --no-build) BUILD= ;;
    --summary) [ $# -ge 2 ] || { echo "--summary needs a file" >&2; exit 2; }; DEMO_ARGS+=(--summary "$(realpath -m "$2")"); shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "Unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

DATA_DIR=${NAVIGATOR_DEMO_DIR:-$PWD/.demo}
rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR/logs"
trap 'trap "" INT TERM; stop_started' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_azurite_installed
if [ -n "$BUILD" ]; then
  echo "Building the silo, the API, the fake upstream and the demo (Release)..."
  for project in Silo/Silo.csproj Api/Api.csproj tools/FakeUpstream/FakeUpstream.csproj tools/Demo/Demo.csproj; do
    dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly
  done
fi

echo "Starting Azurite, the fake upstream, a silo and two API replicas on loopback (logs in $DATA_DIR/logs)..."
BLOB_PORT=$(free_port); TABLE_PORT=$(free_port)
start_azurite "$DATA_DIR/azurite" "$BLOB_PORT" "$TABLE_PORT" "$DATA_DIR/logs/azurite.log"
STARTED+=("$AZURITE_PID")
export ConnectionStrings__AzureStorage Orleans__ClusterId=demo Orleans__ServiceId="demo-$RANDOM" Logging__LogLevel__Default=Warning
ConnectionStrings__AzureStorage=$(azurite_connection_string "$BLOB_PORT" "$TABLE_PORT")
start_fake_upstream "$DATA_DIR/logs/upstream.log"
start_silo_process "$DATA_DIR/logs/silo.log"
REPLICAS=()
for name in a b; do
  start_api_process "$DATA_DIR/logs/api-$name.log" "$DATA_DIR/replica-$name" "$FAKE_UPSTREAM"
  REPLICAS+=(--api "$API_URL" --telemetry "$DATA_DIR/replica-$name/telemetry")
done

dotnet tools/Demo/bin/Release/net10.0/Navigator.Demo.dll "${REPLICAS[@]}" --upstream "$FAKE_UPSTREAM" \
  --feature-file config/features/career_path_navigator.json "${DEMO_ARGS[@]}"
